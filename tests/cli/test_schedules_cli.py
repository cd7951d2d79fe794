"""``baryon flywheel schedule`` and ``baryon jobs schedules list|show|pause|resume|remove``,
and ``baryon worker`` firing a due schedule, in process on the flywheel tests' intent model."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from clikit import run
from flywheel.cyclekit import MODEL, label, make_intent_model, new_word_texts
from sqlalchemy import update

from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.core.scope import SYSTEM
from baryon.jobs.tables import JobScheduleRow
from baryon.workspace import Workspace


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with the operator's champion ``intent`` and 12 new consensus labels."""
    home = tmp_path_factory.mktemp("cli-schedules") / "home"
    clock = FixedClock()
    with Workspace.open(Settings(home=home), clock=clock) as ws:
        make_intent_model(ws, home.parent)
        clock.advance(3600)
        label(ws, clock, new_word_texts(12))
    return home


@pytest.fixture
def home(template: Path, tmp_path: Path) -> Path:
    shutil.copytree(template, tmp_path / "home")
    return tmp_path / "home"


def test_flywheel_schedule_then_list_show_pause_resume_remove(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    h = ["--home", str(home)]
    code, out, err = run([*h, "flywheel", "schedule", MODEL, "--every", "1d", "--json"], capsys)
    assert code == 0, err
    made = json.loads(out)
    assert (made["name"], made["kind"], made["every"]) == ("flywheel-intent", "flywheel", "1d")
    assert made["payload"] == {"model": MODEL, "min_delta": 0.0}
    assert made["created_by"].startswith("cli:")
    code, out, _ = run([*h, "jobs", "schedules", "list", "--json"], capsys)
    assert [s["id"] for s in json.loads(out)] == [made["id"]]
    code, out, _ = run([*h, "jobs", "schedules", "list"], capsys)
    assert "flywheel-intent" in out
    assert "every 1d" in out
    code, out, _ = run([*h, "jobs", "schedules", "show", made["id"]], capsys)
    assert code == 0
    assert "every 1d" in out
    assert "{'model': 'intent', 'min_delta': 0.0}" in out
    code, out, _ = run([*h, "jobs", "schedules", "pause", "flywheel-intent"], capsys)
    assert (code, out.strip()) == (0, f"Paused flywheel-intent ({made['id']})")
    code, out, _ = run([*h, "jobs", "schedules", "show", "flywheel-intent", "--json"], capsys)
    assert json.loads(out)["paused"] is True
    code, out, _ = run([*h, "jobs", "schedules", "resume", "flywheel-intent"], capsys)
    assert code == 0
    assert out.startswith(f"Resumed flywheel-intent ({made['id']}); next run ")
    code, out, _ = run([*h, "jobs", "schedules", "remove", made["id"], "--json"], capsys)
    assert (code, json.loads(out)["id"]) == (0, made["id"])
    code, out, err = run([*h, "jobs", "schedules", "show", made["id"]], capsys)
    assert code != 0
    assert err.strip().startswith("error[schedule_not_found]:")
    code, out, _ = run([*h, "jobs", "schedules", "list"], capsys)
    assert out.strip() == "no schedules"


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--every", "10s"], "interval_too_short"),
        (["--every", "1w"], "invalid_interval"),
        (["--cron", "0 3 * *"], "invalid_cron"),
        (["--every", "1d", "--cron", "0 3 * * *"], "invalid_schedule"),
        ([], "invalid_schedule"),
        (["--every", "1d", "--min-delta", "-1"], "invalid_min_delta"),
        (["--every", "1d", "--name", "no spaces"], "invalid_schedule_name"),
    ],
)
def test_flywheel_schedule_bad_input_is_one_line_and_writes_nothing(
    home: Path, capsys: pytest.CaptureFixture[str], args: list[str], code: str
) -> None:
    h = ["--home", str(home)]
    exit_code, _, err = run([*h, "flywheel", "schedule", MODEL, *args], capsys)
    assert exit_code != 0
    assert err.strip().startswith(f"error[{code}]:")
    assert len(err.strip().splitlines()) == 1
    assert run([*h, "jobs", "schedules", "list", "--json"], capsys)[1].strip() == "[]"


def test_unknown_model_twice_and_another_org(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    h = ["--home", str(home)]
    _, _, err = run([*h, "flywheel", "schedule", "nope", "--every", "1d"], capsys)
    assert err.strip().startswith("error[model_not_found]:")
    assert run([*h, "flywheel", "schedule", MODEL, "--cron", "0 3 * * *"], capsys)[0] == 0
    _, _, err = run([*h, "flywheel", "schedule", MODEL, "--every", "1d"], capsys)
    assert err.strip().startswith("error[schedule_exists]:")
    assert run([*h, "orgs", "create", "acme"], capsys)[0] == 0
    _, out, _ = run([*h, "--org", "acme", "jobs", "schedules", "list", "--json"], capsys)
    assert json.loads(out) == []
    code, _, err = run(
        [*h, "--org", "acme", "jobs", "schedules", "remove", "flywheel-intent"], capsys
    )
    assert code != 0
    assert err.strip().startswith("error[schedule_not_found]:")


def test_worker_fires_a_due_flywheel_schedule_and_runs_the_cycle(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    h = ["--home", str(home)]
    _, out, _ = run([*h, "flywheel", "schedule", MODEL, "--every", "1h", "--json"], capsys)
    made = json.loads(out)
    with Workspace.open(Settings(home=home)) as ws, ws.db.session(SYSTEM) as session:
        session.execute(  # an hour has passed: the schedule is due
            update(JobScheduleRow).values(next_run_at=ws.clock.now() - timedelta(minutes=1))
        )
    code, _, err = run([*h, "worker", "--burst", "--no-schedules"], capsys)
    assert code == 0, err
    assert "fires schedules" not in err
    _, out, _ = run([*h, "jobs", "schedules", "show", made["id"], "--json"], capsys)
    assert json.loads(out)["last_outcome"] is None  # --no-schedules fired nothing

    code, _, err = run([*h, "worker", "--burst"], capsys)

    assert code == 0, err
    assert "fires schedules of billing_close, flywheel, source_run" in " ".join(err.split())
    _, out, _ = run([*h, "jobs", "schedules", "show", made["id"], "--json"], capsys)
    shown = json.loads(out)
    assert (shown["last_outcome"], shown["run_count"]) == ("enqueued", 1)
    _, out, _ = run([*h, "flywheel", "list", "--json"], capsys)
    [cycle] = json.loads(out)
    assert (cycle["job_id"], cycle["status"]) == (shown["last_job_id"], "promoted")
    assert cycle["report"]["trigger"] == "schedule"
