"""``baryon federated run``: one-line errors for bad input; ``--background`` queues a job."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clikit import run

from baryon.core.config import Settings
from baryon.workspace import Workspace


@pytest.fixture
def home(cli_home: Path, tmp_path: Path) -> Path:
    """A home with two split text datasets, ``north`` and ``south``."""
    with Workspace.open(Settings(home=cli_home)) as ws:
        for name in ("north", "south"):
            path = tmp_path / f"{name}.csv"
            rows = [f"my {w} issue {i},{w}" for i in range(20) for w in ("card", "loan")]
            path.write_text("text,label\n" + "\n".join(rows) + "\n", encoding="utf-8")
            ws.datasets.ingest(path, name=name, roles={"text": "text", "label": "label"})
            ws.datasets.split(name, strategy="random", seed=0)
    return cli_home


BASE = ["federated", "run", "--model", "intents", "--kind", "hashed_text_classifier"]


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        (["--silos", "north"], "invalid_silos"),
        (["--silos", "north,south", "--strategy", "krum"], "invalid_strategy"),
        (["--silos", "north,south", "--rounds", "0"], "invalid_rounds"),
        (["--silos", "north,south", "--dp-noise", "1.0"], "invalid_dp"),
        (["--silos", "north,south", "--param", "depth=3"], "invalid_param"),
        (["--silos", "north,nowhere"], "dataset_not_found"),
    ],
)
def test_federated_run_bad_input_is_one_error_line(
    home: Path, capsys: pytest.CaptureFixture[str], extra: list[str], code: str
) -> None:
    status, _, err = run(["--home", str(home), *BASE, *extra], capsys)
    assert status != 0
    assert err.strip().splitlines()[-1].startswith(f"error[{code}]")
    with Workspace.open(Settings(home=home)) as ws:
        assert ws.runs.list() == []


def test_federated_run_background_queues_a_federated_job(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--home", str(home), *BASE, "--silos", "north,south", "--rounds", "2"]
    status, out, _ = run([*argv, "--strategy", "fedtrimmedavg", "--background", "--json"], capsys)
    assert status == 0
    submitted = json.loads(out)
    assert submitted["status"] == "queued"
    with Workspace.open(Settings(home=home)) as ws:
        queued = ws.runs.get(submitted["run_id"])
    assert queued.params["strategy"] == "fedtrimmedavg"
    assert queued.params["silos"] == ["north", "south"]
