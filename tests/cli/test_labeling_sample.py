"""``baryon labeling sample``: the command in :mod:`baryon.cli.labeling_sample`.

The lead mounts its ``app`` under ``baryon labeling``; here a small root with the
global ``--home`` and ``--org`` mounts it the same way.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from baryon.cli.main import app as root
from baryon.commerce.orgs import create_org
from baryon.core.config import Settings
from baryon.core.errors import InvalidInput
from baryon.core.scope import SYSTEM
from baryon.labeling.queue import ensure_queue
from baryon.training.trainer import Trainer
from baryon.workspace import Workspace


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A home where acme has champion ``intent``, queue ``intent`` and dataset ``inbox``."""
    home = tmp_path / "home"
    with Workspace.open(Settings(home=home)) as ws:
        with ws.db.session(SYSTEM) as s:
            org_id = create_org(s, name="acme").id
        view = ws.for_org(org_id)
        texts = [f"{w} {i}" for i in range(5) for w in ("refund my card", "refund please",
                 "where is my parcel", "parcel is late")]  # fmt: skip
        labels = ["refund" if "refund" in t else "delivery" for t in texts]
        pd.DataFrame({"body": texts, "intent": labels}).to_csv(tmp_path / "t.csv", index=False)
        view.datasets.ingest(
            tmp_path / "t.csv", name="tickets", roles={"body": "text", "intent": "label"}
        )
        view.datasets.split("tickets", strategy="stratified", seed=0)
        Trainer(view).train(
            "text_classifier",
            dataset="tickets",
            register="intent",
            params={"model": "logistic", "calibration": None},
        ).raise_for_status()
        with view.db.session(view.scope) as s:
            ensure_queue(
                s,
                org_id=org_id,
                model_name="intent",
                classes=["delivery", "refund"],
                clock=ws.clock,
            )
        inbox = ["my refund", "parcel where", "refund for the late parcel"]
        pd.DataFrame({"message": inbox}).to_csv(tmp_path / "inbox.csv", index=False)
        view.datasets.ingest(tmp_path / "inbox.csv", name="inbox", roles={"message": "text"})
    return home


def test_labeling_sample_json_queues_the_ambiguous_row(home: Path) -> None:
    args = ["--home", str(home), "--org", "acme", "labeling", "sample", "intent", "inbox"]
    result = CliRunner().invoke(root, [*args, "--n", "1", "--strategy", "margin", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["enqueued"] == 1
    assert out["tasks"][0]["input"] == {"text": "refund for the late parcel"}
    table = CliRunner().invoke(root, [*args, "--n", "5", "--diversity"])
    assert table.exit_code == 0, table.output
    assert "Queued 2 of 5 on intent" in table.stdout
    assert "1 already queued" in table.stdout


def test_labeling_sample_bad_strategy_named_error(home: Path) -> None:
    result = CliRunner().invoke(
        root,
        [
            "--home",
            str(home),
            "--org",
            "acme",
            "labeling",
            "sample",
            "intent",
            "inbox",
            "--strategy",
            "bald",
        ],
    )
    assert isinstance(result.exception, InvalidInput)
    assert result.exception.code == "invalid_strategy"
