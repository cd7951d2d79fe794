"""Flywheel cycles as jobs: submit, the handler's failures, a cycle whose job ended alone."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.core.errors import Conflict, InvalidInput
from baryon.flywheel.cycle import FlywheelCycle, run_cycle
from baryon.flywheel.jobs import (
    FLYWHEEL,
    CycleState,
    cycle_state,
    flywheel_handlers,
    prepare_cycle,
    run_cycle_here,
    submit_cycle,
)
from baryon.flywheel.records import list_cycles
from baryon.jobs import JobQueue, Worker
from baryon.workspace import Workspace

from .cyclekit import MODEL, label, make_intent_model, new_word_texts


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("flywheel-jobs") / "home"
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


@pytest.fixture
def queue(ws: Workspace) -> JobQueue:
    return JobQueue(ws.db, ws.clock)


def test_submit_cycle_writes_cycle_and_job_together(ws: Workspace, queue: JobQueue) -> None:
    state = submit_cycle(ws, queue, prepare_cycle(ws, MODEL), actor="tester", trigger="cli")
    assert (state.cycle.status, state.status, state.job is not None) == ("queued", "queued", True)
    assert state.job is not None
    assert (state.job.kind, state.job.payload["cycle_id"]) == (FLYWHEEL, state.cycle.id)
    assert state.cycle.job_id == state.job.id
    assert state.cycle.report == {"trigger": "cli", "model": MODEL}


def test_flywheel_job_failure_fails_the_job_with_the_cycles_code(
    ws: Workspace, queue: JobQueue, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise InvalidInput("measuring broke", code="test_failure")

    monkeypatch.setattr(FlywheelCycle, "measure", broken)
    label(ws, clock, new_word_texts(6))
    state = submit_cycle(ws, queue, prepare_cycle(ws, MODEL), actor="tester")

    job = Worker(ws, flywheel_handlers(), queue=queue).run_once()

    assert job is not None
    assert (job.status, job.error_code) == ("failed", "test_failure")
    read = cycle_state(ws, queue, state.cycle.id)
    assert read.status == "failed"
    assert read.cycle.report["error"]["code"] == "test_failure"


def test_cycle_whose_job_ended_alone_reads_failed_and_frees_the_model(
    ws: Workspace, queue: JobQueue
) -> None:
    first = submit_cycle(ws, queue, prepare_cycle(ws, MODEL), actor="tester")
    with pytest.raises(Conflict) as info:
        submit_cycle(ws, queue, prepare_cycle(ws, MODEL), actor="tester")
    assert info.value.code == "cycle_in_progress"
    assert first.job is not None
    queue.cancel(first.job.id, org_id=ws.scope.org_id)  # the job ends; the cycle row does not

    read = cycle_state(ws, queue, first.cycle.id)

    assert (read.cycle.status, read.status) == ("queued", "failed")
    shown = read.to_dict()
    assert shown["status"] == "failed"
    assert shown["job_status"] == "cancelled"
    assert "error" in shown["report"]
    again = submit_cycle(ws, queue, prepare_cycle(ws, MODEL), actor="tester")
    assert again.cycle.id != first.cycle.id


def test_prepare_cycle_bad_min_delta_refused(ws: Workspace) -> None:
    with pytest.raises(InvalidInput) as info:
        prepare_cycle(ws, MODEL, min_delta=float("nan"))
    assert info.value.code == "invalid_min_delta"


def test_run_cycle_here_two_threads_at_once_second_is_cycle_in_progress(
    ws: Workspace, queue: JobQueue, clock: FixedClock
) -> None:
    # QA 13 #4: two `baryon flywheel run --wait` at once both trained on the same labels
    label(ws, clock, new_word_texts(8))
    started, tried = threading.Event(), threading.Event()
    outcomes: dict[str, object] = {}

    def hold(stage: str, percent: float) -> None:
        if stage == "gather":
            started.set()
            assert tried.wait(60), "the second thread never tried"

    def first() -> None:
        recipe = prepare_cycle(ws, MODEL)
        outcomes["first"] = run_cycle_here(ws, queue, recipe, actor="one", progress=hold)

    def second() -> None:
        assert started.wait(60), "the first cycle never started"
        try:
            outcomes["second"] = run_cycle_here(ws, queue, prepare_cycle(ws, MODEL), actor="two")
        except Conflict as exc:
            outcomes["second"] = exc
        finally:
            tried.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    done, refused = outcomes["first"], outcomes["second"]
    assert isinstance(done, CycleState)
    assert (done.status, done.job is not None) == ("promoted", True)
    assert isinstance(refused, Conflict)
    assert refused.code == "cycle_in_progress"
    assert refused.details["cycle_id"] == done.cycle.id
    assert [c.id for c in list_cycles(ws, model=MODEL)] == [done.cycle.id]


def test_in_process_cycle_refused_while_a_job_cycle_is_queued(
    ws: Workspace, queue: JobQueue, clock: FixedClock
) -> None:
    label(ws, clock, new_word_texts(8))
    queued = submit_cycle(ws, queue, prepare_cycle(ws, MODEL), actor="api")
    for attempt in (
        lambda: run_cycle(ws, MODEL),
        lambda: run_cycle_here(ws, queue, prepare_cycle(ws, MODEL), actor="cli"),
    ):
        with pytest.raises(Conflict) as info:
            attempt()
        assert info.value.code == "cycle_in_progress"
    assert [c.id for c in list_cycles(ws, model=MODEL)] == [queued.cycle.id]


def test_run_cycle_here_after_a_dead_process_reaps_its_cycle(
    ws: Workspace, queue: JobQueue, clock: FixedClock
) -> None:
    # a `--wait` killed mid-cycle: its job is running under a lease nobody renews
    dead = submit_cycle(ws, queue, prepare_cycle(ws, MODEL), actor="cli", max_attempts=1)
    assert dead.job is not None
    assert queue.claim(kinds=[FLYWHEEL], owner="dead:1", lease_seconds=60, job_id=dead.job.id)
    with pytest.raises(Conflict):
        run_cycle_here(ws, queue, prepare_cycle(ws, MODEL), actor="cli")
    clock.advance(61)
    label(ws, clock, new_word_texts(8))

    done = run_cycle_here(ws, queue, prepare_cycle(ws, MODEL), actor="cli")

    assert done.status == "promoted"
    gone = cycle_state(ws, queue, dead.cycle.id)
    assert gone.status == "failed"
    assert gone.job is not None
    assert gone.job.error_code == "worker_lost"


def test_run_cycle_here_waits_for_the_worker_that_took_its_job(
    ws: Workspace, queue: JobQueue, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    label(ws, clock, new_word_texts(8))

    def taken(self: Worker, job_id: str) -> None:  # `baryon serve`'s worker was faster
        assert Worker(ws, flywheel_handlers(), queue=queue).run_once() is not None

    monkeypatch.setattr(Worker, "run_job", taken)

    done = run_cycle_here(ws, queue, prepare_cycle(ws, MODEL), actor="cli", poll_seconds=0.01)

    assert done.status == "promoted"
