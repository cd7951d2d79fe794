"""``baryon jobs list|show|cancel`` and ``baryon worker`` (in process; kill -9 is in tests/jobs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clikit import run

from baryon.core.config import Settings
from baryon.core.scope import SYSTEM
from baryon.jobs import JobQueue
from baryon.workspace import Workspace


@pytest.fixture
def home_with_jobs(cli_home: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, list[str]]:
    """A home with org ``acme`` and two queued jobs: ``noop`` then ``sleep``."""
    assert run(["--home", str(cli_home), "orgs", "create", "acme"], capsys)[0] == 0
    with Workspace.open(Settings(home=cli_home)) as ws:
        from baryon.commerce.orgs import get_org

        with ws.db.session(SYSTEM) as session:
            org_id = get_org(session, "acme").id
        queue = JobQueue(ws.db, ws.clock)
        ids = [
            queue.enqueue("noop", org_id=org_id).id,
            queue.enqueue("sleep", {"seconds": 0.01}, org_id=org_id).id,
        ]
    return cli_home, ids


def test_jobs_list_json_shows_queued_jobs_newest_first(
    home_with_jobs: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    home, ids = home_with_jobs
    code, out, _ = run(["--home", str(home), "jobs", "list", "--org", "acme", "--json"], capsys)
    assert code == 0
    jobs = json.loads(out)
    assert [j["id"] for j in jobs] == ids[::-1]
    assert {j["status"] for j in jobs} == {"queued"}


def test_worker_burst_runs_queued_jobs_then_show_reports_result(
    home_with_jobs: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    home, ids = home_with_jobs
    code, _, err = run(["--home", str(home), "worker", "--burst", "--name", "cli"], capsys)
    assert code == 0, err
    assert "stopped after 2 jobs" in err
    code, out, _ = run(["--home", str(home), "jobs", "show", ids[0], "--json"], capsys)
    assert code == 0
    shown = json.loads(out)
    assert (shown["status"], shown["result"], shown["attempts"]) == ("succeeded", {"ok": True}, 1)
    code, out, _ = run(["--home", str(home), "jobs", "show", ids[1]], capsys)
    assert code == 0
    assert "succeeded" in out


def test_worker_kind_option_runs_only_that_kind(
    home_with_jobs: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    home, ids = home_with_jobs
    code, _, err = run(["--home", str(home), "worker", "--burst", "--kind", "sleep"], capsys)
    assert code == 0, err
    argv = ["--home", str(home), "jobs", "list", "--status", "queued", "--json"]
    code, out, _ = run(argv, capsys)
    assert [j["id"] for j in json.loads(out)] == [ids[0]]


def test_jobs_cancel_queued_job_then_finished_job_is_refused(
    home_with_jobs: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    home, ids = home_with_jobs
    code, out, _ = run(["--home", str(home), "jobs", "cancel", ids[1]], capsys)
    assert code == 0
    assert out.strip() == f"Cancelled {ids[1]}"
    code, out, _ = run(
        ["--home", str(home), "audit", "list", "--json", "--action", "job.*"], capsys
    )
    [event] = json.loads(out)
    assert (event["action"], event["object_id"], event["actor"][:4]) == (
        "job.cancel",
        ids[1],
        "cli:",
    )
    assert event["details"] == {"kind": "sleep", "at_once": True}
    assert run(["--home", str(home), "worker", "--burst"], capsys)[0] == 0
    code, _, err = run(["--home", str(home), "jobs", "cancel", ids[0]], capsys)
    assert code == 1
    assert err.startswith("error[job_finished]: ")


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["jobs", "show", "job_missing"], "job_not_found"),
        (["jobs", "list", "--status", "done"], "invalid_job_status"),
        (["jobs", "list", "--org", "nobody"], "org_not_found"),
        (["worker", "--kind", "no_such_kind"], "unknown_job_kind"),
        (["worker", "--handlers", "no_such_module:handlers"], "invalid_handlers"),
        (["worker", "--handlers", "json:no_such_function"], "invalid_handlers"),
        (["worker", "--handlers", "json:dumps"], "invalid_handlers"),
        (["worker", "--handlers", "missing-colon"], "invalid_handlers"),
    ],
)
def test_jobs_and_worker_bad_input_print_one_error_line(
    cli_home: Path, capsys: pytest.CaptureFixture[str], argv: list[str], code: str
) -> None:
    exit_code, _, err = run(["--home", str(cli_home), *argv], capsys)
    assert exit_code == 1
    assert err.startswith(f"error[{code}]: ")
    assert len(err.strip().splitlines()) == 1
