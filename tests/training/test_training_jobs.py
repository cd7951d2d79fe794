"""Tests of baryon.training.jobs: submit a run, the ``train`` handler, cancel, recovery.

Workers run in the test process (``Worker.run_once``, or a worker thread when a test
must act while a job runs). A worker that "died" is simulated by claiming a job
without running it, then reaping with a queue whose clock is past the lease.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from baryon.core.audit import AuditEvent
from baryon.core.clock import FixedClock
from baryon.core.errors import Conflict, InvalidInput, NotFound
from baryon.core.scope import SYSTEM
from baryon.jobs import Job, JobContext, JobQueue, Worker
from baryon.jobs.tables import JobRow
from baryon.training.jobs import (
    TRAIN,
    cancel_training,
    run_state,
    submit_training,
    train_job,
    training_handlers,
)
from baryon.training.runs import RunStore
from baryon.training.trainer import Trainer, TrainingSpec
from baryon.workspace import Workspace

MakeDataset = Callable[..., Any]
Handler = Callable[[JobContext], Any]


@pytest.fixture
def quad(make_quadrants: MakeDataset) -> Any:
    """Dataset ``quad``: 200 quadrant points, split (a stump ~75 %, depth 3 ~100 %)."""
    return make_quadrants("quad")


@pytest.fixture
def queue(workspace: Workspace) -> JobQueue:
    return JobQueue(workspace.db, workspace.clock)


def _submit(ws: Workspace, queue: JobQueue, **options: Any) -> Any:
    trainer = Trainer(ws, actor="test")
    kind = options.pop("kind", "decision_tree")
    dataset = options.pop("dataset", "quad")
    max_attempts = options.pop("max_attempts", 2)
    spec = trainer.resolve(kind, dataset, **options)
    return submit_training(trainer, queue, spec, max_attempts=max_attempts)


def _worker(ws: Workspace, queue: JobQueue, handlers: dict[str, Handler] | None = None) -> Worker:
    return Worker(ws, handlers or training_handlers(), queue=queue, poll_interval=0.02)


def _jobs(ws: Workspace) -> list[JobRow]:
    with ws.db.session(SYSTEM) as session:
        return list(session.scalars(select(JobRow)))


def _late_queue(ws: Workspace) -> JobQueue:
    """A queue whose clock is a day ahead: every lease taken now has expired for it."""
    return JobQueue(ws.db, FixedClock(ws.clock.now() + timedelta(days=1)))


@pytest.fixture
def gate() -> Iterator[dict[str, threading.Event]]:
    """``entered`` is set when a gated job reaches ``fit``; it waits for ``release``."""
    events = {"entered": threading.Event(), "release": threading.Event()}
    yield events
    events["release"].set()


def _gated(events: dict[str, threading.Event]) -> Handler:
    """The real ``train`` handler, stopped at the start of ``fit`` until released."""

    def handler(ctx: JobContext) -> Any:
        report = ctx.progress

        def progress(stage: str, percent: float) -> None:
            report(stage, percent)
            if stage == "fit":
                events["entered"].set()
                assert events["release"].wait(30)

        ctx.progress = progress  # type: ignore[method-assign]
        return train_job(ctx)

    return handler


def _in_thread(worker: Worker) -> tuple[threading.Thread, list[Job | None]]:
    done: list[Job | None] = []
    thread = threading.Thread(target=lambda: done.append(worker.run_once()), daemon=True)
    thread.start()
    return thread, done


# ------------------------------------------------------------------------ submit
def test_submit_training_queues_run_and_job_together(
    workspace: Workspace, queue: JobQueue, quad: Any
) -> None:
    submitted = _submit(workspace, queue, params={"max_depth": 3}, register="quad", seed=5)
    run, job = submitted.run, submitted.job
    assert (run.status, run.job_id, run.duration_seconds) == ("queued", job.id, None)
    assert "queued_at" in run.extra
    assert (job.kind, job.status, job.max_attempts) == (TRAIN, "queued", 2)
    assert job.payload == {
        "run_id": run.id,
        "kind": "decision_tree",
        "dataset_version_id": quad.id,
        "target": None,
        "params": {"max_depth": 3},
        "seed": 5,
        "cv_folds": 0,
        "register": "quad",
        "missing": "strict",
        "actor": "test",
    }
    assert submitted.to_dict() == {"run_id": run.id, "job_id": job.id, "status": "queued"}
    with workspace.db.session(SYSTEM) as session:
        audit = session.scalars(select(AuditEvent).where(AuditEvent.object_id == run.id)).one()
    assert (audit.action, audit.details["job_id"]) == ("run.submit", job.id)


@pytest.mark.parametrize(
    ("options", "error", "code"),
    [
        ({"kind": "nope"}, InvalidInput, "unknown_kind"),
        ({"dataset": "missing"}, NotFound, "dataset_not_found"),
        ({"params": {"max_dept": 2}}, InvalidInput, "invalid_param"),
        ({"params": {"max_depth": float("nan")}}, InvalidInput, "invalid_params"),
        ({"register": "bad name"}, InvalidInput, "invalid_model_name"),
        ({"cv_folds": 1}, InvalidInput, "invalid_cv_folds"),
    ],
)
def test_submit_training_bad_input_refused_without_run_or_job(
    workspace: Workspace,
    queue: JobQueue,
    quad: Any,
    options: dict[str, Any],
    error: type[Exception],
    code: str,
) -> None:
    with pytest.raises(error) as info:
        _submit(workspace, queue, **options)
    assert info.value.code == code  # type: ignore[attr-defined]
    assert workspace.runs.list() == []
    assert _jobs(workspace) == []


def test_submit_training_enqueue_refused_leaves_no_run(
    workspace: Workspace, queue: JobQueue, quad: Any
) -> None:
    with pytest.raises(InvalidInput):
        _submit(workspace, queue, max_attempts=0)
    assert workspace.runs.list() == []
    assert _jobs(workspace) == []


# ----------------------------------------------------------------------- handler
def test_train_job_trains_run_reports_each_stage_and_registers(
    workspace: Workspace, queue: JobQueue, quad: Any
) -> None:
    submitted = _submit(workspace, queue, params={"max_depth": 3}, register="quad")
    stages: list[tuple[str, float]] = []

    def recording(ctx: JobContext) -> Any:
        report = ctx.progress

        def progress(stage: str, percent: float) -> None:
            stages.append((stage, percent))
            report(stage, percent)

        ctx.progress = progress  # type: ignore[method-assign]
        return train_job(ctx)

    job = _worker(workspace, queue, {TRAIN: recording}).run_once()
    assert job is not None
    assert (job.status, job.stage, job.progress) == ("succeeded", "register", 100.0)
    assert stages == [("prepare", 10.0), ("fit", 30.0), ("evaluate", 80.0), ("register", 90.0)]
    run = workspace.runs.get(submitted.run.id)
    assert run.status == "succeeded"
    assert run.metrics["accuracy"] >= 0.95
    assert run.extra["registered"] == {"name": "quad", "version": 1}
    assert run.extra["attempt"] == 1
    assert job.result == {
        "run_id": run.id,
        "status": "succeeded",
        "registered": run.extra["registered"],
    }
    assert workspace.registry.list_versions("quad")[0].run_id == run.id


def test_train_job_params_failing_in_fit_fail_run_and_job_with_code(
    workspace: Workspace, queue: JobQueue, quad: Any
) -> None:
    # a step this large makes gradient descent diverge: only fitting can tell
    params = {"learning_rate": 50.0, "max_iter": 200}
    submitted = _submit(workspace, queue, kind="linear_regression_gd", target="x1", params=params)
    job = _worker(workspace, queue).run_once()
    assert job is not None
    run = workspace.runs.get(submitted.run.id)
    assert (run.status, run.error_code) == ("failed", "not_converged")
    assert run.error
    assert (job.status, job.error_code) == ("failed", "not_converged")


def test_train_job_dataset_version_gone_fails_run(
    workspace: Workspace, queue: JobQueue, quad: Any
) -> None:
    submitted = _submit(workspace, queue)
    with workspace.db.session(SYSTEM) as session:
        row = session.get(JobRow, submitted.job.id)
        assert row is not None
        row.payload = {**row.payload, "dataset_version_id": "dsv_gone"}
    job = _worker(workspace, queue).run_once()
    assert job is not None
    run = workspace.runs.get(submitted.run.id)
    assert run.status == "failed"
    assert run.error_code == job.error_code
    assert run.error_code is not None
    assert run.error_code.endswith("not_found")


def test_train_job_payload_without_run_fails_job(workspace: Workspace, queue: JobQueue) -> None:
    queue.enqueue(TRAIN, {"kind": "decision_tree"}, org_id=str(workspace.scope.org_id))
    job = _worker(workspace, queue).run_once()
    assert job is not None
    assert (job.status, job.error_code) == ("failed", "invalid_job_payload")


# ------------------------------------------------------------------------ cancel
def test_cancel_queued_run_ends_run_and_job_at_once(
    workspace: Workspace, queue: JobQueue, quad: Any
) -> None:
    submitted = _submit(workspace, queue)
    state = cancel_training(workspace, queue, submitted.run.id, actor="test")
    assert state.run.status == "cancelled"
    assert state.run.duration_seconds is None
    assert state.job is not None
    assert state.job.status == "cancelled"
    again = cancel_training(workspace, queue, submitted.run.id, actor="test")
    assert again.run.status == "cancelled"
    assert _worker(workspace, queue).run_once() is None  # nothing left to run


def test_cancel_running_run_stops_at_next_stage(
    workspace: Workspace, queue: JobQueue, quad: Any, gate: dict[str, threading.Event]
) -> None:
    submitted = _submit(workspace, queue)
    thread, done = _in_thread(_worker(workspace, queue, {TRAIN: _gated(gate)}))
    assert gate["entered"].wait(60)
    state = cancel_training(workspace, queue, submitted.run.id, actor="test")
    assert (state.run.status, state.cancel_requested, state.stage) == ("running", True, "fit")
    threading.Event().wait(0.1)  # past the context's check interval
    gate["release"].set()
    thread.join(60)
    assert done[0] is not None
    assert done[0].status == "cancelled"
    run = workspace.runs.get(submitted.run.id)
    assert (run.status, run.error_code) == ("cancelled", None)
    assert "model" not in run.artifacts
    assert cancel_training(workspace, queue, run.id, actor="test").run.status == "cancelled"


def test_cancel_finished_or_foreground_run_refused(
    workspace: Workspace, queue: JobQueue, quad: Any
) -> None:
    diverging = {"learning_rate": 50.0, "max_iter": 200}
    failed = _submit(workspace, queue, kind="linear_regression_gd", target="x1", params=diverging)
    _worker(workspace, queue).run_once()
    with pytest.raises(Conflict) as info:
        cancel_training(workspace, queue, failed.run.id, actor="test")
    assert info.value.code == "run_finished"
    trainer = Trainer(workspace)
    foreground = trainer.start(trainer.resolve("decision_tree", "quad"))
    with pytest.raises(Conflict) as info:
        cancel_training(workspace, queue, foreground.id, actor="test")
    assert info.value.code == "run_not_cancellable"
    with pytest.raises(NotFound):
        cancel_training(workspace, queue, "run_nope", actor="test")


def test_worker_stopping_puts_run_back_to_queued_then_next_worker_trains_it(
    workspace: Workspace, queue: JobQueue, quad: Any, gate: dict[str, threading.Event]
) -> None:
    submitted = _submit(workspace, queue)
    worker = _worker(workspace, queue, {TRAIN: _gated(gate)})
    thread, done = _in_thread(worker)
    assert gate["entered"].wait(60)
    worker.stop()
    gate["release"].set()
    thread.join(60)
    assert done[0] is not None
    assert (done[0].status, done[0].attempts) == ("queued", 0)  # released, not cancelled
    assert workspace.runs.get(submitted.run.id).status == "queued"
    job = _worker(workspace, queue).run_once()
    assert job is not None
    assert job.status == "succeeded"
    assert workspace.runs.get(submitted.run.id).status == "succeeded"


# ----------------------------------------------------------------- lost workers
def test_job_restarted_after_worker_died_retrains_from_clean_slate(
    workspace: Workspace, queue: JobQueue, quad: Any
) -> None:
    submitted = _submit(workspace, queue, params={"max_depth": 3})
    claimed = queue.claim(kinds=[TRAIN], owner="dead:1", lease_seconds=60)
    assert claimed is not None
    # what the dead attempt left: a running run with partial results
    workspace.runs.begin(submitted.run.id, extra={"attempt": 1})
    workspace.runs.update(submitted.run.id, metrics={"stale": 1.0}, extra={"notes": ["old"]})
    workspace.runs.put_artifact(submitted.run.id, "model", b"half a model")
    assert _late_queue(workspace).reap().requeued == (claimed.id,)
    job = _worker(workspace, queue).run_once()
    assert job is not None
    assert (job.status, job.attempts) == ("succeeded", 2)
    run = workspace.runs.get(submitted.run.id)
    assert run.status == "succeeded"
    assert "stale" not in run.metrics
    assert run.extra["attempt"] == 2
    assert run.extra["notes"] == []
    assert workspace.runs.artifact(run.id, "model") != b"half a model"


def test_job_failed_by_reaper_fails_its_run_worker_lost(
    workspace: Workspace, queue: JobQueue, quad: Any
) -> None:
    submitted = _submit(workspace, queue, max_attempts=1)
    claimed = queue.claim(kinds=[TRAIN], owner="dead:1", lease_seconds=60)
    assert claimed is not None
    workspace.runs.begin(submitted.run.id)
    assert _late_queue(workspace).reap().failed == (claimed.id,)
    assert workspace.runs.list(status="running") == []
    run = workspace.runs.get(submitted.run.id)
    assert (run.status, run.error_code) == ("failed", "worker_lost")
    assert run.error is not None
    assert "attempt 1 of 1" in run.error
    assert run.duration_seconds is not None


def test_job_cancelled_outside_the_run_api_cancels_its_run(
    workspace: Workspace, queue: JobQueue, quad: Any
) -> None:
    submitted = _submit(workspace, queue)
    queue.cancel(submitted.job.id, org_id=None)  # as ``baryon jobs cancel`` does
    assert [r.id for r in workspace.runs.list(status="cancelled")] == [submitted.run.id]
    assert workspace.runs.list(status="queued") == []
    assert workspace.runs.get(submitted.run.id).status == "cancelled"


def test_run_state_attaches_job_stage_and_progress(
    workspace: Workspace, queue: JobQueue, quad: Any
) -> None:
    submitted = _submit(workspace, queue)
    state = run_state(workspace, queue, submitted.run.id)
    assert (state.stage, state.progress, state.cancel_requested) == (None, 0.0, False)
    assert state.to_dict()["job_status"] == "queued"
    _worker(workspace, queue).run_once()
    done = run_state(workspace, queue, submitted.run.id).to_dict()
    assert (done["status"], done["stage"], done["progress"]) == ("succeeded", "evaluate", 100.0)


# ----------------------------------------------------------------- registration
def test_registration_resumed_once_after_worker_died_before_recording_it(
    workspace: Workspace, queue: JobQueue, quad: Any
) -> None:
    submitted = _submit(workspace, queue, register="quad")
    claimed = queue.claim(kinds=[TRAIN], owner="dead:1", lease_seconds=60)
    assert claimed is not None
    trainer = Trainer(workspace)
    spec = TrainingSpec(kind="decision_tree", dataset=quad)  # trained, not registered yet
    workspace.runs.begin(submitted.run.id)
    assert trainer.execute(submitted.run.id, spec).status == "succeeded"
    trainer.register(submitted.run.id, "quad")  # registered, then died before recording it
    _late_queue(workspace).reap()
    job = _worker(workspace, queue).run_once()
    assert job is not None
    assert job.status == "succeeded"
    assert [v.version for v in workspace.registry.list_versions("quad")] == [1]
    run = workspace.runs.get(submitted.run.id)
    assert run.extra["registered"] == {"name": "quad", "version": 1}


def test_registration_refused_keeps_run_succeeded_with_the_error(
    workspace: Workspace, queue: JobQueue, quad: Any
) -> None:
    Trainer(workspace).train("linear_regression", dataset="quad", target="x1", register="quad")
    submitted = _submit(workspace, queue, params={"max_depth": 2}, register="quad")
    job = _worker(workspace, queue).run_once()
    assert job is not None
    assert (job.status, job.error_code) == ("failed", "task_mismatch")
    run = workspace.runs.get(submitted.run.id)
    assert run.status == "succeeded"
    assert run.extra["registration_error"]["code"] == "task_mismatch"
    assert "registered" not in run.extra


# -------------------------------------------------------------- shared workflow
def test_execute_stopped_by_progress_leaves_run_running(workspace: Workspace, quad: Any) -> None:
    trainer = Trainer(workspace)
    spec = trainer.resolve("decision_tree", "quad")
    run = trainer.start(spec)

    def stop_at_fit(stage: str, percent: float) -> None:
        if stage == "fit":
            raise KeyError("stop")

    with pytest.raises(KeyError):
        trainer.execute(run.id, spec, progress=stop_at_fit)
    left = workspace.runs.get(run.id)
    assert (left.status, left.error) == ("running", None)
    assert left.task == "classification"  # prepare ran, fit did not
    assert "model" not in left.artifacts


def test_runstore_begin_refuses_finished_run(workspace: Workspace, quad: Any) -> None:
    trainer = Trainer(workspace)
    spec = trainer.resolve("decision_tree", "quad")
    run = trainer.execute(trainer.start(spec).id, spec)
    store: RunStore = workspace.runs
    for change in (store.begin, store.requeue):
        with pytest.raises(Conflict) as info:
            change(run.id)
        assert info.value.code == "run_finished"


def test_train_job_keeps_the_missing_policy_of_the_submission(
    workspace: Workspace, queue: JobQueue, quad: Any
) -> None:
    _submit(workspace, queue, register="quad", missing="impute")
    job = _worker(workspace, queue).run_once()
    assert job is not None
    assert job.status == "succeeded", job
    inputs = workspace.registry.get_version("quad").extra["inputs"]
    assert inputs["missing"] == "impute"
    assert set(inputs["fill"]) == set(inputs["types"]) == {"x1", "x2"}
