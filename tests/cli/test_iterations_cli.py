"""``baryon iterations create|list|show|add|move|close`` through the real entry point."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from clikit import run
from iterationkit import add_cycle, register_model, succeeded_run

from baryon.cli.iterations import parse_when
from baryon.commerce.orgs import create_org
from baryon.core.config import Settings
from baryon.core.errors import InvalidInput
from baryon.core.scope import OPERATOR_ORG_ID, SYSTEM
from baryon.workspace import Workspace


@pytest.fixture
def home(cli_home: Path) -> tuple[Path, str, str]:
    """A home whose operator org has model support-intent (champion accuracy 0.91), a
    run, and a promoted flywheel cycle (0.91 → 0.95) on 2026-12-10; org acme exists."""
    with Workspace.open(Settings(home=cli_home)) as ws:
        register_model(ws, "support-intent", {"accuracy": 0.91})
        run_id = succeeded_run(ws, {"accuracy": 0.95})
        at = datetime(2026, 12, 10, tzinfo=UTC)
        cycle = add_cycle(ws, OPERATOR_ORG_ID, "support-intent", status="promoted", at=at,
                          champion=0.91, candidate=0.95)  # fmt: skip
        with ws.db.session(SYSTEM) as s:
            create_org(s, name="acme")
    return cli_home, run_id, cycle


def _create(h: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, Any]:
    code, out, err = run(
        ["--home", str(h), "iterations", "create", "2026-w51", "--starts", "2026-12-07",
         "--ends", "2026-12-21", "--goal", "support-intent accuracy>=0.94", "--json", *extra],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    return dict(json.loads(out))


def test_iterations_cli_create_add_move_show_close(
    home: tuple[Path, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    h, run_id, cycle = home
    made = _create(h, capsys)
    assert (made["starts_at"], made["ends_at"]) == (
        "2026-12-07T00:00:00+00:00", "2026-12-21T23:59:59.999999+00:00",
    )  # fmt: skip
    [goal] = made["goals"]
    assert (goal["value"], goal["met"]) == (0.91, False)
    assert [(p["cycle_id"], p["value"]) for p in goal["trajectory"]] == [(cycle, 0.95)]
    base = ["--home", str(h), "iterations"]
    code, out, err = run([*base, "add", "2026-w51", "run", run_id, "--owner", "ana", "--json"],
                         capsys)  # fmt: skip
    assert code == 0, err
    item = json.loads(out)
    assert (item["kind"], item["ref"], item["owner"]) == ("run", run_id, "ana")
    code, out, err = run([*base, "add", "2026-w51", "task", "--title", "runbook [v2]"], capsys)
    assert code == 0, err
    assert "runbook [v2]" in out
    code, out, err = run([*base, "move", "2026-w51", item["id"], "done", "--unassign"], capsys)
    assert code == 0, err
    assert f"{item['id']} is done, unassigned" in out
    code, out, err = run([*base, "show", "2026-w51"], capsys)
    assert code == 0, err
    for text in ("todo (1)", "doing (0)", "done (1)", "runbook [v2]", "0.9500 (promoted)",
                 "0.9100 (v1)", "succeeded"):  # fmt: skip
        assert text in out, text
    code, out, err = run([*base, "list", "--json"], capsys)
    assert [(i["name"], i["counts"]) for i in json.loads(out)] == [
        ("2026-w51", {"todo": 1, "doing": 0, "done": 1})
    ]
    code, out, err = run([*base, "close", "2026-w51", "--json"], capsys)
    assert code == 0, err
    closed = json.loads(out)
    assert (closed["status"], closed["summary"]["met"], closed["summary"]["total"]) == (
        "closed", 0, 1,
    )  # fmt: skip
    code, out, err = run([*base, "close", "2026-w51"], capsys)
    assert (code, err.strip()) == (1, "error[iteration_closed]: iteration '2026-w51' is closed")


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["create", "s", "--ends", "2026-12-21T00:00"], "invalid_datetime"),  # no time zone
        (["create", "s", "--ends", "21/12/2026"], "invalid_datetime"),
        (["create", "s", "--ends", "2026-12-21", "--goal", "support-intent accuracy"],
         "invalid_goal"),
        (["create", "s", "--ends", "2026-12-21", "--goal", "nope accuracy>=0.9"],
         "unknown_goal_model"),
        (["create", "s", "--starts", "2026-12-22", "--ends", "2026-12-21"], "invalid_time_box"),
        (["show", "nope"], "iteration_not_found"),
        (["add", "2026-w51", "run", "run_01jd8x3k6q9w2f7c0m4t5v8b1a"], "run_not_found"),
        (["add", "2026-w51", "task"], "missing_title"),
        (["move", "2026-w51", "iti_01jd8x3k6q9w2f7c0m4t5v8b1a", "done"], "item_not_found"),
        (["move", "2026-w51", "x", "--owner", "a", "--unassign"], "invalid_owner"),
        (["list", "--status", "gone"], "invalid_status"),
    ],
)  # fmt: skip
def test_iterations_cli_bad_input_is_one_line_error(
    home: tuple[Path, str, str], capsys: pytest.CaptureFixture[str], args: list[str], code: str
) -> None:
    h, _, _ = home
    _create(h, capsys)
    status, _, err = run(["--home", str(h), "iterations", *args], capsys)
    assert status == 1
    assert err.startswith(f"error[{code}]: ")
    assert len(err.strip().splitlines()) == 1


def test_iterations_cli_org_option_acts_as_that_org(
    home: tuple[Path, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    h, run_id, _ = home
    _create(h, capsys)
    acme = ["--home", str(h), "--org", "acme", "iterations"]
    code, out, _ = run([*acme, "list", "--json"], capsys)
    assert (code, json.loads(out)) == (0, [])
    code, _, err = run([*acme, "show", "2026-w51"], capsys)
    assert (code, err.split(":")[0]) == (1, "error[iteration_not_found]")
    code, _, err = run([*acme, "create", "s", "--ends", "2026-12-21", "--goal",
                        "support-intent accuracy>=0.9"], capsys)  # fmt: skip
    assert err.split(":")[0] == "error[unknown_goal_model]"  # the operator's model, not acme's
    code, _, err = run([*acme, "create", "2026-w51", "--ends", "2026-12-21"], capsys)
    assert code == 0, err  # names are per organization
    code, _, err = run([*acme, "add", "2026-w51", "run", run_id], capsys)
    assert err.split(":")[0] == "error[run_not_found]"


@pytest.mark.parametrize(
    ("text", "end", "expected"),
    [
        ("2026-12-21", False, datetime(2026, 12, 21, tzinfo=UTC)),
        ("2026-12-21", True, datetime(2026, 12, 21, 23, 59, 59, 999999, tzinfo=UTC)),
        ("2026-12-21T17:00:00+01:00", True, datetime(2026, 12, 21, 16, tzinfo=UTC)),
        (" 2026-12-21T16:00Z ", False, datetime(2026, 12, 21, 16, tzinfo=UTC)),
    ],
)
def test_parse_when_reads_days_and_zoned_datetimes(
    text: str, end: bool, expected: datetime
) -> None:
    assert parse_when(text, end=end) == expected


@pytest.mark.parametrize("text", ["2026-12-21T17:00", "20261221", "tomorrow", ""])
def test_parse_when_without_zone_or_unreadable_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_when(text)
    assert err.value.code == "invalid_datetime"
