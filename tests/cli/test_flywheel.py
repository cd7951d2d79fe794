"""``baryon flywheel run|list|show`` in process, on the tiny intent model of the flywheel tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clikit import run
from flywheel.cyclekit import MODEL, label, make_intent_model, new_word_texts

from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.workspace import Workspace


@pytest.fixture
def home(cli_home: Path, tmp_path: Path) -> Path:
    """A home with the operator's champion ``intent`` and 12 new consensus labels."""
    clock = FixedClock()
    with Workspace.open(Settings(home=cli_home), clock=clock) as ws:
        make_intent_model(ws, tmp_path)
        clock.advance(3600)
        label(ws, clock, new_word_texts(12))
    return cli_home


def test_flywheel_run_wait_prints_report_then_list_and_show(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["--home", str(home), "flywheel", "run", MODEL, "--wait"], capsys)
    assert code == 0, err
    assert "status promoted" in out
    assert "rows added: queue:intent 12" in out
    assert "decision: promoted" in out
    assert "beats champion v1" in out
    assert "accuracy" in out
    assert "+0.2500" in out
    code, out, _ = run(["--home", str(home), "flywheel", "list", "--json"], capsys)
    assert code == 0
    cycles = json.loads(out)
    assert [c["status"] for c in cycles] == ["promoted"]
    cycle_id = cycles[0]["id"]
    assert cycles[0]["report"]["trigger"] == "cli"
    code, out, _ = run(["--home", str(home), "flywheel", "show", cycle_id], capsys)
    assert code == 0
    assert cycle_id in out
    assert "decision: promoted" in out
    code, out, _ = run(["--home", str(home), "flywheel", "list"], capsys)
    assert code == 0
    assert "+0.2500" in out


def test_flywheel_run_queues_a_job_the_worker_runs_it(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["--home", str(home), "flywheel", "run", MODEL, "--json"], capsys)
    assert code == 0, err
    queued = json.loads(out)
    assert (queued["status"], queued["job_status"]) == ("queued", "queued")
    code, _, err = run(["--home", str(home), "worker", "--burst", "--name", "cli"], capsys)
    assert code == 0, err
    code, out, _ = run(["--home", str(home), "flywheel", "show", queued["id"], "--json"], capsys)
    shown = json.loads(out)
    assert (shown["status"], shown["job_status"]) == ("promoted", "succeeded")
    code, out, _ = run(["--home", str(home), "flywheel", "run", MODEL, "--wait"], capsys)
    assert code == 0
    assert "decision: nothing_new" in out


def test_flywheel_run_errors_are_one_line_with_a_code(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["--home", str(home), "flywheel", "run", "nope", "--wait"], capsys)
    assert code == 1
    assert "error[model_not_found]" in err
    assert "Traceback" not in err
    assert run(["--home", str(home), "orgs", "create", "acme"], capsys)[0] == 0
    code, _, err = run(["--home", str(home), "--org", "acme", "flywheel", "run", MODEL], capsys)
    assert code == 1
    assert "error[model_not_found]" in err
    code, _, err = run(["--home", str(home), "flywheel", "show", "fw_nope"], capsys)
    assert code == 1
    assert "error[cycle_not_found]" in err
    code, _, err = run(
        ["--home", str(home), "flywheel", "run", MODEL, "--iteration", "it_nope"], capsys
    )
    assert code == 1
    assert "error[iteration_not_found]" in err
