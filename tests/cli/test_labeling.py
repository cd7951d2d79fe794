"""``baryon labeling`` through the real entry point, on a workspace with a real model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from clikit import run

from baryon.cli.labeling import app as labeling_app
from baryon.commerce.orgs import create_org
from baryon.core.config import Settings
from baryon.core.scope import SYSTEM, Scope
from baryon.labeling.queue import enqueue, get_queue
from baryon.tenancy.tables import OrganizationRow
from baryon.training.trainer import Trainer
from baryon.workspace import Workspace


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with org acme owning a decision tree "risk" (classes hi, lo) as champion."""
    home = tmp_path_factory.mktemp("labeling-cli") / "home"
    rng = np.random.default_rng(0)
    x1, x2 = rng.uniform(-1, 1, 80), rng.uniform(-1, 1, 80)
    frame = pd.DataFrame({"x1": x1, "x2": x2, "label": np.where(x1 + x2 > 0, "hi", "lo")})
    csv = home.parent / "risk.csv"
    frame.to_csv(csv, index=False)
    with Workspace.open(Settings(home=home)) as ws:
        with ws.db.session(SYSTEM) as s:
            create_org(s, name="acme")
        acme = ws.for_org("acme")
        acme.datasets.ingest(csv, name="risk", roles={"label": "label"})
        acme.datasets.split("risk", strategy="stratified", seed=1)
        Trainer(acme).train("decision_tree", "risk", register="risk")
    return home


@pytest.fixture
def home(template: Path, tmp_path: Path) -> Path:
    import shutil

    copy = tmp_path / "home"
    shutil.copytree(template, copy)
    return copy


def _enqueue(home: Path, *texts: str) -> list[str]:
    with Workspace.open(Settings(home=home)) as ws:
        with ws.db.session() as s:
            org_id = s.query(OrganizationRow.id).filter(OrganizationRow.name == "acme").scalar()
        with ws.db.session(Scope.own(org_id, "acme")) as s:
            queue = get_queue(s, "risk-q")
            return [
                enqueue(
                    s,
                    queue,
                    input={"x1": n, "x2": -n},
                    source="import",
                    reason="import",
                    clock=ws.clock,
                    suggested_label="hi",
                )
                for n, _ in enumerate(texts)
            ]


def _json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> Any:
    code, out, err = run(argv, capsys)
    assert code == 0, err
    return json.loads(out)


def test_labeling_app_is_importable_with_every_command() -> None:
    names = {c.name for c in labeling_app.registered_commands}
    assert names >= {"queues", "create", "show", "tasks", "claim", "submit", "skip", "review"}


def test_labeling_cli_create_claim_submit_review_as_org(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--home", str(home), "--org", "acme", "labeling"]
    made = _json([*base, "create", "risk-q", "--model", "risk", "--overlap", "2", "--json"], capsys)
    assert made["classes"] == ["hi", "lo"]
    assert made["model"] == "risk"
    (task_id,) = _enqueue(home, "one")
    claim = _json([*base, "claim", "risk-q", "--as", "ann", "--json"], capsys)
    assert claim["task"]["id"] == task_id
    assert claim["task"]["suggested_label"] == "hi"
    one = _json([*base, "submit", task_id, "hi", "--as", "ann", "--json"], capsys)
    assert one["task"]["status"] == "open"
    code, out, _ = run([*base, "submit", task_id, "lo", "--as", "dev"], capsys)
    assert code == 0
    assert "task review" in out
    code, out, _ = run([*base, "review", task_id, "lo"], capsys)
    assert code == 0
    assert "done: lo (review)" in out
    shown = _json([*base, "show", "risk-q", "--json"], capsys)
    assert shown["tasks"]["done"] == 1
    assert {a["annotator"] for a in shown["annotators"]} == {"ann", "dev"}
    code, out, _ = run([*base, "show", "risk-q"], capsys)
    assert code == 0
    assert "done 1" in out


def test_labeling_cli_skip_then_nothing_to_claim(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--home", str(home), "--org", "acme", "labeling"]
    assert run([*base, "create", "risk-q", "--model", "risk"], capsys)[0] == 0
    (task_id,) = _enqueue(home, "one")
    code, out, _ = run([*base, "skip", task_id, "--reason", "cannot tell", "--as", "a1"], capsys)
    assert code == 0
    assert "skipped" in out
    code, out, _ = run([*base, "claim", "risk-q", "--as", "a1"], capsys)
    assert code == 0
    assert "nothing to label" in out
    tasks = _json([*base, "tasks", "risk-q", "--status", "open", "--json"], capsys)
    assert [t["id"] for t in tasks] == [task_id]
    assert [q["name"] for q in _json([*base, "queues", "--json"], capsys)] == ["risk-q"]


def test_labeling_cli_errors_are_one_line_with_code(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--home", str(home), "--org", "acme", "labeling"]
    code, _, err = run([*base, "create", "q", "--model", "nope"], capsys)
    assert (code, err.strip()) == (1, "error[model_not_found]: " + err.split(": ", 1)[1].strip())
    assert run([*base, "create", "q", "--model", "risk"], capsys)[0] == 0
    code, _, err = run([*base, "create", "q", "--model", "risk"], capsys)
    assert code == 1
    assert err.startswith("error[queue_exists]")
    code, _, err = run([*base, "submit", "task_nope", "hi"], capsys)
    assert err.startswith("error[task_not_found]")
    # the operator organization does not see acme's queue
    code, _, err = run(["--home", str(home), "labeling", "show", "q"], capsys)
    assert code == 1
    assert err.startswith("error[queue_not_found]")
