"""Job schedules: due-time arithmetic, making, reading, pausing, resuming and removing
schedules, their bad input and their audit events (firing: ``test_scheduler.py``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from jobkit import make_org
from sqlalchemy import func, select

from baryon.core.audit import AuditEvent
from baryon.core.clock import FixedClock
from baryon.core.errors import Conflict, InvalidInput, NotFound
from baryon.core.scope import Scope
from baryon.jobs.schedules import (
    Schedule,
    ScheduledKind,
    check_cron,
    create_schedule,
    format_every,
    get_schedule,
    list_schedules,
    next_due,
    parse_every,
    pause_schedule,
    plan_schedule,
    remove_schedule,
    resume_schedule,
)
from baryon.jobs.tables import JobScheduleRow
from baryon.workspace import Workspace

T0 = datetime(2026, 1, 1, tzinfo=UTC)
KINDS = {"noop": ScheduledKind("noop")}


def _make(ws: Workspace, org_id: str, **spec: object) -> Schedule:
    view = ws.with_scope(Scope.own(org_id))
    planned = plan_schedule(view, KINDS, **{"kind": "noop", **spec})  # type: ignore[arg-type]
    with ws.db.session(view.scope) as session:
        return create_schedule(session, planned, org_id=org_id, actor="tester", clock=ws.clock)


def _count(ws: Workspace, org_id: str) -> int:
    with ws.db.session(Scope.own(org_id)) as session:
        return int(session.scalar(select(func.count()).select_from(JobScheduleRow)) or 0)


# ------------------------------------------------------------------ timing
@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("60s", 60),
        ("15m", 900),
        ("2h", 7200),
        ("1d", 86400),
        (" 90 m ", 5400),
        ("366d", 366 * 86400),
    ],
)
def test_parse_every_units_to_seconds(text: str, seconds: int) -> None:
    assert parse_every(text) == seconds


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("30s", "interval_too_short"),
        ("59s", "interval_too_short"),
        ("0m", "interval_too_short"),
        ("1w", "invalid_interval"),
        ("15", "invalid_interval"),
        ("-5m", "invalid_interval"),
        ("1.5h", "invalid_interval"),
        ("367d", "invalid_interval"),
        (900, "invalid_interval"),
        ("", "invalid_interval"),
    ],
)
def test_parse_every_bad_interval_is_named(text: object, code: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_every(text)
    assert info.value.code == code


def test_format_every_uses_the_largest_unit_that_divides() -> None:
    assert [format_every(s) for s in (90, 900, 5400, 7200, 86400, 93600)] == [
        "90s", "15m", "90m", "2h", "1d", "26h",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "cron", ["0 3 * *", "* * * * * *", "61 * * * *", "0 25 * * *", "@daily", "", None, "a b c d e"]
)
def test_check_cron_refuses_anything_but_five_valid_fields(cron: object) -> None:
    with pytest.raises(InvalidInput) as info:
        check_cron(cron)
    assert info.value.code == "invalid_cron"


def test_check_cron_normalises_spaces() -> None:
    assert check_cron("  */15   9-17 * *  mon-fri ") == "*/15 9-17 * * mon-fri"


def test_next_due_interval_ahead_is_unchanged() -> None:
    due = T0 + timedelta(hours=1)
    assert next_due(every_seconds=3600, cron=None, due_at=due, now=T0) == (due, 0)


def test_next_due_interval_stays_on_its_grid_and_counts_missed_times() -> None:
    # due at 01:00 every hour; at 05:30 the times 01:00..05:00 (5) passed, next is 06:00
    due = T0 + timedelta(hours=1)
    now = T0 + timedelta(hours=5, minutes=30)
    assert next_due(every_seconds=3600, cron=None, due_at=due, now=now) == (
        T0 + timedelta(hours=6),
        5,
    )
    # exactly on a grid point: that point is due, the next is one step later
    on_point = T0 + timedelta(hours=2)
    assert next_due(every_seconds=3600, cron=None, due_at=due, now=on_point) == (
        T0 + timedelta(hours=3),
        2,
    )


def test_next_due_cron_daily_counts_each_missed_day() -> None:
    due = T0 + timedelta(hours=3)  # 2026-01-01 03:00, "0 3 * * *"
    now = T0 + timedelta(days=3, hours=4)  # 2026-01-04 04:00: Jan 1..4 at 03:00 passed
    following, count = next_due(every_seconds=None, cron="0 3 * * *", due_at=due, now=now)
    assert (following, count) == (datetime(2026, 1, 5, 3, tzinfo=UTC), 4)
    assert following.tzinfo is not None


def test_next_due_cron_weekdays_skips_the_weekend() -> None:
    friday = datetime(2026, 1, 2, 9, tzinfo=UTC)  # 2026-01-02 is a Friday
    following, count = next_due(
        every_seconds=None, cron="0 9 * * mon-fri", due_at=friday, now=friday
    )
    assert (following, count) == (datetime(2026, 1, 5, 9, tzinfo=UTC), 1)


# ----------------------------------------------------------------- records
def test_create_every_first_due_one_interval_later_and_audited(ws: Workspace, org_id: str) -> None:
    made = _make(ws, org_id, every="15m", payload={"n": 1}, description=" nightly ")
    assert made.id.startswith("sch_")
    assert (made.name, made.kind, made.payload) == ("noop", "noop", {"n": 1})
    assert (made.every, made.every_seconds, made.cron, made.paused) == ("15m", 900, None, False)
    assert made.next_run_at == ws.clock.now() + timedelta(minutes=15)
    assert made.description == "nightly"
    assert (made.run_count, made.skip_count, made.missed_count, made.last_outcome) == (
        0, 0, 0, None,
    )  # fmt: skip
    assert made.to_dict()["timezone"] == "UTC"
    assert made.to_dict()["next_run_at"] == made.next_run_at.isoformat()
    with ws.db.session(Scope.own(org_id)) as session:
        [event] = session.scalars(select(AuditEvent).where(AuditEvent.object_id == made.id)).all()
        assert (event.action, event.actor, event.org_id) == ("schedule.create", "tester", org_id)


def test_create_cron_first_due_is_the_next_matching_minute(ws: Workspace, org_id: str) -> None:
    made = _make(ws, org_id, cron="30 3 * * *", name="nightly")
    now = ws.clock.now()
    assert made.next_run_at == now.replace(hour=3, minute=30, second=0, microsecond=0) + (
        timedelta(days=1) if now.hour * 60 + now.minute >= 3 * 60 + 30 else timedelta(0)
    )
    assert (made.every, made.cron) == (None, "30 3 * * *")


@pytest.mark.parametrize(
    ("spec", "code"),
    [
        ({"kind": "train", "every": "1h"}, "unknown_schedule_kind"),
        ({"kind": "sleep", "every": "1h"}, "unknown_schedule_kind"),
        ({"every": "1h", "cron": "0 3 * * *"}, "invalid_schedule"),
        ({}, "invalid_schedule"),
        ({"every": "30s"}, "interval_too_short"),
        ({"every": "soon"}, "invalid_interval"),
        ({"cron": "0 3 * *"}, "invalid_cron"),
        ({"every": "1h", "payload": {"x": float("nan")}}, "invalid_job_payload"),
        ({"every": "1h", "payload": [1, 2]}, "invalid_job_payload"),
        ({"every": "1h", "name": "bad name"}, "invalid_schedule_name"),
        ({"every": "1h", "name": "-x"}, "invalid_schedule_name"),
        ({"every": "1h", "description": "a\x00b"}, "invalid_description"),
    ],
)
def test_bad_schedule_is_refused_with_a_named_code_and_writes_nothing(
    ws: Workspace, org_id: str, spec: dict[str, object], code: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        _make(ws, org_id, **spec)
    assert info.value.code == code
    assert _count(ws, org_id) == 0


def test_same_name_twice_is_schedule_exists(ws: Workspace, org_id: str) -> None:
    _make(ws, org_id, every="1h")
    with pytest.raises(Conflict) as info:
        _make(ws, org_id, every="2h")
    assert info.value.code == "schedule_exists"
    assert _count(ws, org_id) == 1
    _make(ws, org_id, every="2h", name="noop-2")  # another name is another schedule
    assert _count(ws, org_id) == 2


def test_other_org_sees_nothing_and_gets_404(ws: Workspace, org_id: str) -> None:
    made = _make(ws, org_id, every="1h")
    other = make_org(ws)
    _make(ws, other, every="1h")  # the same name in another organization is fine
    with ws.db.session(Scope.own(other)) as session:
        assert [s.org_id for s in list_schedules(session)] == [other]
        for verb in (pause_schedule, resume_schedule, remove_schedule):
            with pytest.raises(NotFound) as info:
                verb(session, made.id, actor="intruder", clock=ws.clock)
            assert info.value.code == "schedule_not_found"
        with pytest.raises(NotFound):
            get_schedule(session, made.id)
    with ws.db.session(Scope.own(org_id)) as session:
        kept = get_schedule(session, made.id)
    assert (kept.paused, kept.updated_at) == (False, made.updated_at)


def test_pause_resume_remove_by_name_or_id_each_audited_once(
    ws: Workspace, org_id: str, clock: FixedClock
) -> None:
    made = _make(ws, org_id, every="1h")
    scope = Scope.own(org_id)
    with ws.db.session(scope) as session:
        paused = pause_schedule(session, "noop", actor="a", clock=clock)
        again = pause_schedule(session, made.id, actor="a", clock=clock)  # no-op
    assert (paused.paused, again.paused) == (True, True)
    clock.advance(5.5 * 3600)  # paused through 01:00 .. 05:00
    with ws.db.session(scope) as session:
        resumed = resume_schedule(session, made.id, actor="a", clock=clock)
        resume_schedule(session, "noop", actor="a", clock=clock)  # no-op
    assert resumed.paused is False
    assert resumed.next_run_at == made.next_run_at + timedelta(hours=5)  # next grid point
    assert resumed.next_run_at > clock.now()
    with ws.db.session(scope) as session:
        removed = remove_schedule(session, "noop", actor="a", clock=clock)
        assert removed.id == made.id
        assert list_schedules(session) == []
        actions = [
            e.action
            for e in session.scalars(
                select(AuditEvent)
                .where(AuditEvent.object_id == made.id)
                .order_by(AuditEvent.at, AuditEvent.id)
            )
        ]
    assert sorted(actions) == [  # one each: the no-op pause and resume wrote nothing
        "schedule.create", "schedule.pause", "schedule.remove", "schedule.resume",
    ]  # fmt: skip


def test_list_filters_by_kind_and_orders_by_name(ws: Workspace, org_id: str) -> None:
    _make(ws, org_id, every="1h", name="b")
    _make(ws, org_id, every="1h", name="a")
    with ws.db.session(Scope.own(org_id)) as session:
        assert [s.name for s in list_schedules(session)] == ["a", "b"]
        assert [s.name for s in list_schedules(session, kind="noop")] == ["a", "b"]
        assert list_schedules(session, kind="flywheel") == []
