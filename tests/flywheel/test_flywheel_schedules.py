"""Flywheel cycles on a schedule: the ``flywheel`` schedule kind checks its model when
made, and each firing queues one cycle (trigger ``schedule``) — or skips while a cycle
of the model is under way."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.core.errors import InvalidInput, NotFound
from baryon.flywheel.jobs import cycle_state, flywheel_handlers, prepare_cycle, submit_cycle
from baryon.flywheel.records import list_cycles
from baryon.flywheel.schedules import flywheel_schedule_kinds
from baryon.jobs import JobQueue, Scheduler, Worker
from baryon.jobs.schedules import Schedule, create_schedule, get_schedule, plan_schedule
from baryon.workspace import Workspace

from .cyclekit import MODEL, label, make_intent_model, new_word_texts


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("flywheel-schedules") / "home"
    with Workspace.open(Settings(home=home), clock=FixedClock()) as ws:
        make_intent_model(ws, home.parent)
    return home


@pytest.fixture
def clock() -> FixedClock:
    clock = FixedClock()
    clock.advance(3600)
    return clock


@pytest.fixture
def ws(template: Path, tmp_path: Path, clock: FixedClock) -> Iterator[Workspace]:
    shutil.copytree(template, tmp_path / "home")
    workspace = Workspace.open(Settings(home=tmp_path / "home"), clock=clock)
    try:
        yield workspace
    finally:
        workspace.close()


def _schedule(ws: Workspace, **spec: object) -> Schedule:
    planned = plan_schedule(ws, flywheel_schedule_kinds(), kind="flywheel", **spec)  # type: ignore[arg-type]
    org_id = ws.scope.org_id
    assert org_id is not None
    with ws.db.session(ws.scope) as session:
        return create_schedule(session, planned, org_id=org_id, actor="tester", clock=ws.clock)


def test_making_a_flywheel_schedule_checks_the_model_first(ws: Workspace) -> None:
    with pytest.raises(NotFound) as missing:
        _schedule(ws, every="1d", payload={"model": "nope"})
    assert missing.value.code == "model_not_found"
    with pytest.raises(InvalidInput) as bad:
        _schedule(ws, every="1d", payload={"model": MODEL, "min_delta": float("inf")})
    assert bad.value.code == "invalid_job_payload"  # infinity is not JSON
    made = _schedule(ws, cron="0 3 * * *", payload={"model": MODEL, "min_delta": 0.01})
    assert (made.name, made.payload) == ("flywheel-intent", {"model": MODEL, "min_delta": 0.01})


def test_each_due_time_queues_one_cycle_that_the_worker_runs(
    ws: Workspace, clock: FixedClock
) -> None:
    label(ws, clock, new_word_texts(12))
    made = _schedule(ws, every="1d", payload={"model": MODEL})
    queue = JobQueue(ws.db, ws.clock)
    scheduler = Scheduler(ws, flywheel_schedule_kinds(), queue=queue)
    clock.advance(86400)

    [firing] = scheduler.run_due()

    assert firing.outcome == "enqueued"
    [cycle] = list_cycles(ws, model=MODEL)
    assert (cycle.job_id, cycle.status) == (firing.job_id, "queued")
    assert cycle.report["trigger"] == "schedule"
    clock.advance(86400)  # due again while the first cycle is still queued
    [skipped] = scheduler.run_due()
    assert (skipped.outcome, skipped.error_code) == ("skipped", "previous_job_unfinished")
    assert len(list_cycles(ws, model=MODEL)) == 1
    ran = Worker(ws, flywheel_handlers(), queue=queue).run_once()
    assert ran is not None
    assert ran.status == "succeeded"
    assert cycle_state(ws, queue, cycle.id).status == "promoted"
    clock.advance(86400)
    [again] = scheduler.run_due()  # nothing new since: a cycle that changes nothing
    assert again.outcome == "enqueued"
    assert Worker(ws, flywheel_handlers(), queue=queue).run_once() is not None
    with ws.db.session(ws.scope) as session:
        shown = get_schedule(session, made.id)
    assert (shown.run_count, shown.skip_count) == (2, 1)


def test_a_cycle_run_by_hand_skips_the_firing_with_cycle_in_progress(
    ws: Workspace, clock: FixedClock
) -> None:
    _schedule(ws, every="1h", payload={"model": MODEL})
    queue = JobQueue(ws.db, ws.clock)
    submit_cycle(ws, queue, prepare_cycle(ws, MODEL), actor="ana", trigger="cli")
    clock.advance(3600)

    [firing] = Scheduler(ws, flywheel_schedule_kinds(), queue=queue).run_due()

    assert (firing.outcome, firing.error_code) == ("skipped", "cycle_in_progress")
    assert [c.report["trigger"] for c in list_cycles(ws, model=MODEL)] == ["cli"]
