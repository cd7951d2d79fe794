"""Flywheel cycles as background jobs: submit, the ``flywheel`` handler, read with job state.

::

    from baryon.flywheel.jobs import flywheel_handlers, submit_cycle
    from baryon.jobs import JobQueue, Worker

    queue = JobQueue(ws.db, ws.clock)
    recipe = prepare_cycle(ws, "support-intent")      # checks; writes nothing
    state = submit_cycle(ws, queue, recipe, actor="docs")
    state.cycle.status                       # 'queued'
    Worker(ws, flywheel_handlers(), queue=queue).run_once()
    cycle_state(ws, queue, state.cycle.id).status    # 'promoted', 'kept' or 'nothing_new'

Submit
    :func:`prepare_cycle` first checks what can be checked without training (the
    model is the organization's own classifier with a champion trained by Baryon,
    ``min_delta``), so bad input writes nothing; :func:`submit_cycle` then checks the
    iteration exists and is open. A model
    with a cycle already queued or running (its job not ended) is refused
    (``cycle_in_progress``): two cycles of one model at once would both consume the
    same labels. The check locks the model's row
    (:func:`~baryon.flywheel.records.refuse_concurrent`), so two submits at once take
    turns on PostgreSQL too. Then the cycle (``queued``), its ``flywheel`` job and an
    audit event are written in one transaction.
Here
    :func:`run_cycle_here` (``baryon flywheel run --wait``) submits the same way and
    runs that job in the calling process (:meth:`~baryon.jobs.worker.Worker.run_job`),
    one attempt: the same check applies, and a process that dies leaves a lease that
    expires.
Run
    :func:`flywheel_job` (the handler) runs :func:`~baryon.flywheel.cycle.run_cycle`
    on the queued cycle, reporting each step as the job's stage and progress and
    checking for a cancel between steps. A cycle that fails fails its job with the
    same code. When the worker stops mid-cycle the cycle goes back to ``queued`` with
    its job (released, not failed); a cancelled job's cycle ends ``failed``
    (``job_cancelled``).
Read
    :func:`cycle_state` and :func:`cycle_states` attach the job's status, stage,
    progress and attempts. A cycle whose job ended without ending the cycle (the
    worker died on its last attempt) reads as ``failed``.

Scheduling: :mod:`baryon.flywheel.schedules` makes the ``flywheel`` kind schedulable
(:mod:`baryon.jobs.schedules`); each due time submits one cycle as above, with trigger
``schedule``.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from baryon.core.audit import record_audit
from baryon.core.errors import InvalidInput, NotFound
from baryon.flywheel.cycle import FlywheelCycle, Progress, Recipe, check_min_delta, run_cycle
from baryon.flywheel.records import (
    Cycle,
    CycleState,
    create_cycle,
    cycle_row,
    get_cycle,
    refuse_concurrent,
)
from baryon.jobs.queue import Job, JobQueue
from baryon.jobs.worker import Handler, JobCancelled, JobContext

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from baryon.workspace import Workspace

__all__ = [
    "FLYWHEEL",
    "CycleState",
    "cycle_state",
    "cycle_states",
    "flywheel_handlers",
    "flywheel_job",
    "prepare_cycle",
    "run_cycle_here",
    "submit_cycle",
]

#: The job kind that runs a queued flywheel cycle.
FLYWHEEL = "flywheel"
#: Attempts of a cycle's job: a worker that dies twice mid-cycle fails it.
DEFAULT_MAX_ATTEMPTS = 2


# ------------------------------------------------------------------------ submit
def prepare_cycle(ws: Workspace, model_name: str, *, min_delta: float = 0.0) -> Recipe:
    """Check a cycle of ``model_name`` can run, writing nothing; return its recipe.

    Call it before the transaction that :func:`submit_cycle` writes in (it reads with
    sessions of its own).

    Raises
    ------
    NotFound
        ``model_not_found``.
    Conflict
        ``no_champion``.
    InvalidInput
        ``not_a_classifier``, ``no_recipe``, ``invalid_min_delta``.
    """
    check_min_delta(min_delta)
    return FlywheelCycle(ws, model_name).resolve()


def submit_cycle(
    ws: Workspace,
    queue: JobQueue,
    recipe: Recipe,
    *,
    actor: str,
    iteration_id: str | None = None,
    min_delta: float = 0.0,
    trigger: str = "api",
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    session: Session | None = None,
) -> CycleState:
    """Record a ``queued`` cycle of the recipe's model and enqueue the job that runs it.

    Parameters
    ----------
    ws : Workspace
        The organization's view; it owns the cycle and the job.
    queue : JobQueue
    recipe : Recipe
        From :func:`prepare_cycle`.
    actor : str
        Recorded on the cycle's audit events and everything it makes.
    iteration_id : str, optional
        The iteration the cycle counts towards.
    min_delta : float
        The gate's required improvement (>= 0).
    trigger : str
        What asked for it (``api``, ``cli``), kept in the report.
    max_attempts : int
        Times a worker may claim the job.
    session : Session, optional
        Write inside the caller's transaction (scoped to the same organization);
        nothing else is opened.

    Returns
    -------
    CycleState

    Raises
    ------
    NotFound
        ``iteration_not_found``.
    Conflict
        ``iteration_closed``, ``cycle_in_progress``.
    InvalidInput
        ``invalid_min_delta``.
    """
    org_id = ws.scope.org_id
    if org_id is None:
        raise InvalidInput("a flywheel cycle is run by an organization, not the system scope")
    min_delta = check_min_delta(min_delta)
    if session is None:
        with ws.db.session(ws.scope) as own:
            return submit_cycle(
                ws, queue, recipe, actor=actor, iteration_id=iteration_id, min_delta=min_delta,
                trigger=trigger, max_attempts=max_attempts, session=own,
            )  # fmt: skip
    model_name = recipe.champion.name
    refuse_concurrent(session, org_id=org_id, model_name=model_name)
    cycle = create_cycle(
        session, org_id=org_id, model_name=model_name, status="queued", clock=ws.clock,
        iteration_id=iteration_id, champion_version=recipe.champion.version,
        report={"trigger": trigger, "model": model_name},
    )  # fmt: skip
    payload = {
        "cycle_id": cycle.id,
        "model": model_name,
        "actor": actor,
        "min_delta": min_delta,
        "trigger": trigger,
    }
    job = queue.enqueue(
        FLYWHEEL, payload, org_id=org_id, max_attempts=max_attempts, session=session
    )
    row = cycle_row(session, cycle.id)
    row.job_id = job.id
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="flywheel.submit",
        object_type="flywheel_cycle",
        object_id=cycle.id,
        details={"model": model_name, "job_id": job.id, "iteration_id": iteration_id},
        org_id=org_id,
        clock=ws.clock,
    )
    return CycleState(Cycle.from_row(row), job)


# ----------------------------------------------------------------------- handler
def flywheel_job(ctx: JobContext, *, progress: Progress | None = None) -> dict[str, Any]:
    """The ``flywheel`` job handler: run the queued cycle named by the payload.

    Parameters
    ----------
    ctx : JobContext
    progress : callable, optional
        Also told ``progress(stage, percent)`` at each step (the job records it too).

    Returns
    -------
    dict
        ``{"cycle_id", "status", "dataset_version_id", "candidate_version"}``.

    Raises
    ------
    InvalidInput
        ``invalid_job_payload``: not a flywheel job's payload.
    JobCancelled
        A cancel was requested (the cycle ends ``failed``), or the worker is stopping
        (the cycle goes back to ``queued``).
    BaryonError
        The cycle failed (its code; the cycle is ``failed`` with the same error).
    """
    payload = ctx.payload
    cycle_id, model = payload.get("cycle_id"), payload.get("model")
    min_delta, actor = payload.get("min_delta", 0.0), payload.get("actor") or "system"
    if (
        not isinstance(cycle_id, str)
        or not isinstance(model, str)
        or isinstance(min_delta, bool)
        or not isinstance(min_delta, int | float)
    ):
        raise InvalidInput(
            "a flywheel job's payload needs cycle_id, model and min_delta",
            code="invalid_job_payload",
        )
    ws = ctx.workspace.for_org(ctx.job.org_id)

    def step(stage: str, percent: float) -> None:
        ctx.check_cancelled()
        ctx.progress(stage, percent)
        if progress is not None:
            progress(stage, percent)

    try:
        cycle = run_cycle(
            ws, model, cycle_id=cycle_id, min_delta=float(min_delta), actor=str(actor),
            trigger=str(payload.get("trigger") or "api"), progress=step,
        )  # fmt: skip
    except JobCancelled:
        if ctx.stopping and not ctx.cancel_requested and not ctx.lost:
            _requeue(ws, cycle_id)  # the worker releases the job: another one starts it again
        raise
    return {
        "cycle_id": cycle.id,
        "status": cycle.status,
        "dataset_version_id": cycle.dataset_version_id,
        "candidate_version": cycle.candidate_version,
    }


def flywheel_handlers(progress: Progress | None = None) -> dict[str, Handler]:
    """Return the flywheel's job handlers, ``kind → handler``: ``{"flywheel": flywheel_job}``.

    The entry points (``baryon serve``, ``baryon worker``) merge it with the others.

    Parameters
    ----------
    progress : callable, optional
        Passed to :func:`flywheel_job` (``baryon flywheel run --wait`` prints the steps).
    """
    if progress is None:
        return {FLYWHEEL: flywheel_job}
    return {FLYWHEEL: functools.partial(flywheel_job, progress=progress)}


def run_cycle_here(
    ws: Workspace,
    queue: JobQueue,
    recipe: Recipe,
    *,
    actor: str,
    iteration_id: str | None = None,
    min_delta: float = 0.0,
    trigger: str = "cli",
    progress: Progress | None = None,
    poll_seconds: float = 1.0,
) -> CycleState:
    """Submit a cycle as :func:`submit_cycle` does and run its job in this process.

    What ``baryon flywheel run --wait`` does. The cycle is a job like any other, so
    it is checked against the model's other cycles the same way (a second one is
    refused ``cycle_in_progress``, whoever asks), and a process that dies mid-cycle
    leaves a lease that expires: its job is then failed (``worker_lost``; one
    attempt) and the cycle reads ``failed``. Expired leases are reaped first, so a
    cycle whose process died does not hold the model back. If a worker claims the
    job first, this waits for it to end.

    Parameters
    ----------
    ws, queue, recipe, actor, iteration_id, min_delta, trigger
        As :func:`submit_cycle`.
    progress : callable, optional
        ``progress(stage, percent)`` at each step run here.
    poll_seconds : float
        How often to look at a cycle another worker runs.

    Returns
    -------
    CycleState
        The cycle as it ended.

    Raises
    ------
    NotFound, Conflict, InvalidInput
        As :func:`submit_cycle` (``cycle_in_progress`` included); nothing is recorded.
    """
    from baryon.jobs.worker import Worker

    queue.reap()
    state = submit_cycle(
        ws, queue, recipe, actor=actor, iteration_id=iteration_id, min_delta=min_delta,
        trigger=trigger, max_attempts=1,
    )  # fmt: skip
    assert state.job is not None  # submit_cycle always enqueues
    Worker(ws, flywheel_handlers(progress), queue=queue).run_job(state.job.id)
    current = cycle_state(ws, queue, state.cycle.id)
    while current.active:  # another worker took the job
        time.sleep(poll_seconds)
        current = cycle_state(ws, queue, state.cycle.id)
    return current


def _requeue(ws: Workspace, cycle_id: str) -> None:
    with contextlib.suppress(NotFound), ws.db.session(ws.scope) as session:
        row = cycle_row(session, cycle_id)
        row.status, row.report, row.finished_at = "queued", {}, None


# -------------------------------------------------------------------------- read
def cycle_state(ws: Workspace, queue: JobQueue, cycle_id: str) -> CycleState:
    """Return cycle ``cycle_id`` with its job's state.

    Raises
    ------
    NotFound
        ``cycle_not_found`` (another organization's too).
    """
    cycle = get_cycle(ws, cycle_id)
    job = _job(queue, ws, cycle.job_id)
    if job is not None and job.finished and not cycle.finished:
        cycle = get_cycle(ws, cycle_id)  # the job ends after the cycle's last write
    return CycleState(cycle, job)


def cycle_states(ws: Workspace, queue: JobQueue, cycles: Sequence[Cycle]) -> list[CycleState]:
    """Attach their job's state to cycles, as :func:`cycle_state` does for one."""
    return [CycleState(c, _job(queue, ws, c.job_id)) for c in cycles]


def _job(queue: JobQueue, ws: Workspace, job_id: str | None) -> Job | None:
    if job_id is None:
        return None
    try:
        return queue.get(job_id, org_id=ws.scope.org_id)
    except NotFound:
        return None
