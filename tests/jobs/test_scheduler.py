"""Firing schedules: once per due time across workers, no pile-up after downtime, a skip
while the previous job is unfinished, paused schedules, failures recorded, the worker."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from jobkit import make_org
from pgkit import pg_settings
from sqlalchemy import delete, func, select

from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.core.errors import Conflict, NotFound
from baryon.core.scope import SYSTEM, Scope
from baryon.jobs import JobQueue, Scheduler, Worker, builtin_handlers
from baryon.jobs.queue import Job
from baryon.jobs.scheduler import ENQUEUED, FAILED_TO_FIRE, SKIPPED
from baryon.jobs.schedules import (
    Schedule,
    ScheduledKind,
    create_schedule,
    get_schedule,
    pause_schedule,
    plan_schedule,
    resume_schedule,
)
from baryon.jobs.tables import JobRow, JobScheduleRow
from baryon.workspace import Workspace

KINDS: dict[str, ScheduledKind] = {"noop": ScheduledKind("noop")}


def _make(ws: Workspace, org_id: str, **spec: Any) -> Schedule:
    view = ws.with_scope(Scope.own(org_id))
    planned = plan_schedule(view, KINDS, **{"kind": "noop", **spec})
    with ws.db.session(view.scope) as session:
        return create_schedule(session, planned, org_id=org_id, actor="tester", clock=ws.clock)


def _show(ws: Workspace, org_id: str, schedule_id: str) -> Schedule:
    with ws.db.session(Scope.own(org_id)) as session:
        return get_schedule(session, schedule_id)


def _jobs(ws: Workspace) -> list[JobRow]:
    with ws.db.session(SYSTEM) as session:
        return list(session.scalars(select(JobRow).order_by(JobRow.created_at, JobRow.id)))


def _finish_all(ws: Workspace) -> None:
    worker = Worker(ws, builtin_handlers())
    while worker.run_once() is not None:
        pass


def test_due_schedule_enqueues_its_kind_with_its_payload(
    ws: Workspace, org_id: str, clock: FixedClock
) -> None:
    made = _make(ws, org_id, every="1h", payload={"seconds": 0})
    scheduler = Scheduler(ws, KINDS)
    assert scheduler.run_due() == []  # not due yet
    clock.advance(3600)

    [firing] = scheduler.run_due()

    assert (firing.outcome, firing.missed, firing.due_at) == (ENQUEUED, 0, made.next_run_at)
    [job] = _jobs(ws)
    assert (job.id, job.kind, job.payload, job.org_id) == (
        firing.job_id, "noop", {"seconds": 0}, org_id,
    )  # fmt: skip
    shown = _show(ws, org_id, made.id)
    assert (shown.last_outcome, shown.last_job_id, shown.run_count) == (ENQUEUED, job.id, 1)
    assert shown.last_run_at == clock.now()
    assert shown.next_run_at == made.next_run_at + timedelta(hours=1)
    assert scheduler.run_due() == []  # the same due time never fires twice


def test_no_pile_up_after_downtime_fires_once_and_counts_the_missed(
    ws: Workspace, org_id: str, clock: FixedClock
) -> None:
    made = _make(ws, org_id, every="1h")
    clock.advance(10.5 * 3600)  # no worker for 10.5 h: due at 1:00, 2:00, ... 10:00

    firings = Scheduler(ws, KINDS).run_due()

    assert [(f.outcome, f.missed) for f in firings] == [(ENQUEUED, 9)]
    assert len(_jobs(ws)) == 1
    shown = _show(ws, org_id, made.id)
    assert shown.next_run_at == made.next_run_at + timedelta(hours=10)  # 11:00, on the grid
    assert (shown.run_count, shown.missed_count) == (1, 9)
    assert Scheduler(ws, KINDS).run_due() == []


def test_cron_schedule_fires_at_matching_minutes_once_after_days_down(
    ws: Workspace, org_id: str, clock: FixedClock
) -> None:
    made = _make(ws, org_id, cron="0 3 * * *")  # the clock starts at 2026-01-01 00:00
    assert made.next_run_at == clock.now() + timedelta(hours=3)
    clock.advance(3 * 3600)
    scheduler = Scheduler(ws, KINDS)
    assert [f.outcome for f in scheduler.run_due()] == [ENQUEUED]
    _finish_all(ws)
    clock.advance(3 * 86400 + 60)  # Jan 2, 3, 4 at 03:00 passed

    [firing] = scheduler.run_due()

    assert (firing.outcome, firing.missed) == (ENQUEUED, 2)
    assert _show(ws, org_id, made.id).next_run_at == made.next_run_at + timedelta(days=4)
    assert len(_jobs(ws)) == 2


def test_previous_job_unfinished_skips_and_records_then_runs_again(
    ws: Workspace, org_id: str, clock: FixedClock
) -> None:
    made = _make(ws, org_id, every="1h")
    scheduler = Scheduler(ws, KINDS)
    clock.advance(3600)
    [first] = scheduler.run_due()
    clock.advance(3600)  # the first job is still queued (no worker ran it)

    [second] = scheduler.run_due()

    assert (second.outcome, second.error_code, second.job_id) == (
        SKIPPED, "previous_job_unfinished", None,
    )  # fmt: skip
    assert len(_jobs(ws)) == 1
    shown = _show(ws, org_id, made.id)
    assert (shown.last_outcome, shown.last_error_code, shown.last_job_id) == (
        SKIPPED, "previous_job_unfinished", first.job_id,
    )  # fmt: skip
    assert first.job_id is not None
    assert first.job_id in (shown.last_error or "")
    assert (shown.run_count, shown.skip_count) == (1, 1)
    _finish_all(ws)
    clock.advance(3600)

    [third] = scheduler.run_due()

    assert third.outcome == ENQUEUED
    assert len(_jobs(ws)) == 2
    shown = _show(ws, org_id, made.id)
    assert (shown.last_job_id, shown.last_error_code) == (third.job_id, None)


def test_paused_schedule_never_fires_and_resume_does_not_catch_up(
    ws: Workspace, org_id: str, clock: FixedClock
) -> None:
    made = _make(ws, org_id, every="1h")
    scope = Scope.own(org_id)
    with ws.db.session(scope) as session:
        pause_schedule(session, made.id, actor="t", clock=clock)
    clock.advance(5 * 3600)
    scheduler = Scheduler(ws, KINDS)
    assert scheduler.run_due() == []
    with ws.db.session(scope) as session:
        resumed = resume_schedule(session, made.id, actor="t", clock=clock)
    assert scheduler.run_due() == []  # the times missed while paused are not caught up
    clock.advance((resumed.next_run_at - clock.now()).total_seconds())
    assert [f.outcome for f in scheduler.run_due()] == [ENQUEUED]
    assert len(_jobs(ws)) == 1


class _Failing(ScheduledKind):
    """A kind whose prepare or submit raises what the test asks for."""

    def __init__(self, prepare: Exception | None = None, submit: Exception | None = None) -> None:
        super().__init__("noop")
        self.prepare_error, self.submit_error = prepare, submit

    def prepare(self, ws: Workspace, payload: dict[str, Any]) -> Any:
        if self.prepare_error is not None and payload.get("fail"):
            raise self.prepare_error
        return payload

    def submit(self, ws: Workspace, queue: JobQueue, prepared: Any, **kw: Any) -> Job:
        job = super().submit(ws, queue, prepared, **kw)  # written, then rolled back
        if self.submit_error is not None:
            raise self.submit_error
        return job


@pytest.mark.parametrize(
    ("kind", "outcome", "code"),
    [
        (_Failing(prepare=NotFound("model gone", code="model_not_found")), FAILED_TO_FIRE,
         "model_not_found"),
        (_Failing(submit=Conflict("busy", code="cycle_in_progress")), SKIPPED, "cycle_in_progress"),
        (_Failing(submit=RuntimeError("bug")), FAILED_TO_FIRE, "internal_error"),
    ],
)  # fmt: skip
def test_a_firing_that_cannot_enqueue_is_recorded_and_the_schedule_goes_on(
    ws: Workspace, org_id: str, clock: FixedClock, kind: ScheduledKind, outcome: str, code: str
) -> None:
    made = _make(ws, org_id, every="1h", payload={"fail": True})
    clock.advance(3600)

    [firing] = Scheduler(ws, {"noop": kind}).run_due()

    assert (firing.outcome, firing.error_code, firing.job_id) == (outcome, code, None)
    assert _jobs(ws) == []  # the kind's partial writes were rolled back
    shown = _show(ws, org_id, made.id)
    assert (shown.last_outcome, shown.last_error_code, shown.skip_count) == (outcome, code, 1)
    assert shown.next_run_at == made.next_run_at + timedelta(hours=1)


def test_kinds_the_scheduler_does_not_know_are_left_due(
    ws: Workspace, org_id: str, clock: FixedClock
) -> None:
    made = _make(ws, org_id, every="1h")
    clock.advance(3600)
    assert Scheduler(ws, {"other": ScheduledKind("other")}).run_due() == []
    assert _show(ws, org_id, made.id).next_run_at == made.next_run_at  # still due


def test_each_org_gets_its_own_job(ws: Workspace, org_id: str, clock: FixedClock) -> None:
    other = make_org(ws)
    _make(ws, org_id, every="1h")
    _make(ws, other, every="1h")
    clock.advance(3600)
    firings = Scheduler(ws, KINDS).run_due()
    assert sorted(f.org_id for f in firings) == sorted([org_id, other])
    assert sorted(j.org_id for j in _jobs(ws)) == sorted([org_id, other])


def test_worker_fires_due_schedules_then_runs_the_job(
    ws: Workspace, org_id: str, clock: FixedClock
) -> None:
    made = _make(ws, org_id, every="1h")
    clock.advance(3600)
    worker = Worker(ws, builtin_handlers(), scheduler=Scheduler(ws, KINDS))

    ran = worker.run_once()

    assert ran is not None
    assert (ran.kind, ran.status) == ("noop", "succeeded")
    assert _show(ws, org_id, made.id).last_job_id == ran.id


def _fire(
    ws: Workspace, barrier: threading.Barrier, counts: list[int], i: int, errors: list[Any]
) -> None:
    try:
        barrier.wait(10)
        counts[i] = len(Scheduler(ws, KINDS).run_due())
    except BaseException as exc:  # reported by the test thread
        errors.append(exc)


def _race(settings: Settings, clock: FixedClock, workers: int, rounds: int) -> list[int]:
    """``workers`` workspaces (engines of their own, like processes) fire the same due
    schedules at once, ``rounds`` times; return the number of firings per round."""
    spaces = [Workspace.open(settings, clock=clock) for _ in range(workers)]
    try:
        per_round = []
        for _ in range(rounds):
            clock.advance(3600)
            _finish_all(spaces[0])
            barrier = threading.Barrier(workers)
            counts = [0] * workers
            errors: list[BaseException] = []
            threads = [
                threading.Thread(target=_fire, args=(spaces[i], barrier, counts, i, errors))
                for i in range(workers)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            assert errors == []
            per_round.append(sum(counts))
        return per_round
    finally:
        for space in spaces:
            space.close()


def test_two_workers_racing_fire_each_due_time_exactly_once(
    ws: Workspace, org_id: str, clock: FixedClock, backend_settings: Settings
) -> None:
    made = [_make(ws, org_id, every="1h", name=f"s{i}") for i in range(12)]

    per_round = _race(backend_settings, clock, workers=2, rounds=3)

    assert per_round == [12, 12, 12]
    with ws.db.session(SYSTEM) as session:
        assert session.scalar(select(func.count()).select_from(JobRow)) == 36
    for schedule in made:
        shown = _show(ws, org_id, schedule.id)
        assert (shown.run_count, shown.skip_count) == (3, 0)


@pytest.mark.postgres
def test_four_workers_racing_on_postgres_fire_exactly_once(
    pg_url: str, tmp_path: Any, clock: FixedClock
) -> None:
    settings = pg_settings(pg_url, tmp_path / "pg-home")
    with Workspace.open(settings, clock=clock) as ws:
        with ws.db.session(SYSTEM) as session:  # the module's database: start empty
            session.execute(delete(JobScheduleRow))
            session.execute(delete(JobRow))
        org_id = make_org(ws)
        made = [_make(ws, org_id, every="1h", name=f"p{i}") for i in range(20)]
    per_round = _race(settings, clock, workers=4, rounds=2)
    assert per_round == [20, 20]
    with Workspace.open(settings, clock=clock) as ws:
        for schedule in made:
            assert _show(ws, org_id, schedule.id).run_count == 2
