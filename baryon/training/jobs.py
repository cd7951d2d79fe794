"""Training as a background job: submit a run, the ``train`` handler, cancel, progress.

::

    from baryon.jobs import JobQueue, Worker, builtin_handlers
    from baryon.training.jobs import submit_training, training_handlers
    from baryon.training.trainer import Trainer

    trainer = Trainer(ws, actor="docs")
    spec = trainer.resolve("decision_tree", "iris", params={"max_depth": 3}, register="iris")
    submitted = submit_training(trainer, JobQueue(ws.db, ws.clock), spec)
    submitted.run.status                      # 'queued'
    Worker(ws, {**builtin_handlers(), **training_handlers()}).run_once()
    ws.runs.get(submitted.run.id).status      # 'succeeded'

Submit
    :meth:`Trainer.resolve <baryon.training.trainer.Trainer.resolve>` checks everything
    that can be checked without training (kind, parameters, seed, folds, model name,
    dataset reference), so bad input is refused at once with no run and no job. Then
    :func:`submit_training` records the run (``queued``) and enqueues its ``train`` job
    in **one** transaction: both exist, or neither. The job's payload names the run,
    the resolved dataset version id, target, params, seed, folds and model name.
Train
    :func:`train_job` (the ``train`` handler) begins the run — from a clean slate, also
    when a worker died during an earlier attempt — and runs the trainer's one workflow
    (:meth:`Trainer.execute <baryon.training.trainer.Trainer.execute>`), reporting each
    stage as the job's progress and checking for a cancel between stages. A run that
    fails (bad parameters found while fitting, validation) fails its job with the run's
    error code, so the reason is in the run and in the job.
Cancel
    :func:`cancel_training`: a queued run and its job end ``cancelled`` at once (one
    transaction); a running one is asked to stop and ends ``cancelled`` at the handler's
    next check. When the queue itself ends a job (its worker died on its last attempt),
    the run takes the job's end when next read (see :mod:`baryon.training.runs`).

Handlers are wired by the entry points (``baryon serve``, ``baryon worker``) from
:func:`training_handlers`; :mod:`baryon.jobs` knows nothing of training.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from baryon.core.audit import record_audit
from baryon.core.errors import BaryonError, Conflict, InvalidInput
from baryon.jobs.queue import CANCELLED as JOB_CANCELLED
from baryon.jobs.queue import Job, JobQueue
from baryon.jobs.worker import Handler, JobCancelled, JobContext
from baryon.ml.inputs import MISSING_POLICIES
from baryon.training.runs import CANCELLED, FAILED, QUEUED, SUCCEEDED, Run, RunFailed

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from baryon.training.trainer import Trainer, TrainingSpec
    from baryon.workspace import Workspace

__all__ = [
    "TRAIN",
    "RunState",
    "Submission",
    "cancel_training",
    "run_state",
    "run_states",
    "submit_training",
    "train_job",
    "training_handlers",
]

#: The job kind that trains a queued run.
TRAIN = "train"
#: Attempts of a training job: a worker that dies twice mid-training fails the run.
DEFAULT_MAX_ATTEMPTS = 2


@dataclass(frozen=True)
class Submission:
    """A submitted training: the queued run and the job that will train it.

    Attributes
    ----------
    run : Run
        Status ``queued``; ``run.job_id`` is ``job.id``.
    job : Job
        Kind ``train``, status ``queued``.
    """

    run: Run
    job: Job

    def to_dict(self) -> dict[str, Any]:
        """``{"run_id", "job_id", "status"}`` (what ``POST /v1/runs`` answers)."""
        return {"run_id": self.run.id, "job_id": self.job.id, "status": self.run.status}


@dataclass(frozen=True)
class RunState:
    """A run with the state of the job that trains it (``None`` for a foreground run).

    Attributes
    ----------
    run : Run
    job : Job or None
    """

    run: Run
    job: Job | None = None

    @property
    def stage(self) -> str | None:
        """What the job is doing (``prepare``, ``fit``, ``evaluate``, ``register``), or did
        last."""
        return None if self.job is None else self.job.stage

    @property
    def progress(self) -> float | None:
        """Percent done, 0–100: 100 once the run succeeded (``None`` without a job)."""
        if self.job is None:
            return None
        return 100.0 if self.run.status == SUCCEEDED else self.job.progress

    @property
    def cancel_requested(self) -> bool:
        """Whether a cancel was asked for (the run ends ``cancelled`` at its next check)."""
        return self.job is not None and self.job.cancel_requested

    def to_dict(self) -> dict[str, Any]:
        """The run's :meth:`~baryon.training.runs.Run.to_dict` plus its job's state."""
        job = self.job
        return {
            **self.run.to_dict(),
            "job_id": self.run.job_id,
            "job_status": None if job is None else job.status,
            "stage": self.stage,
            "progress": self.progress,
            "attempts": None if job is None else job.attempts,
            "cancel_requested": self.cancel_requested,
        }


# ------------------------------------------------------------------------ submit
def submit_training(
    trainer: Trainer,
    queue: JobQueue,
    spec: TrainingSpec,
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    session: Session | None = None,
) -> Submission:
    """Record a ``queued`` run of ``spec`` and enqueue the ``train`` job that trains it.

    The run, its job and an audit event (``run.submit``) are written in one
    transaction, the caller's when ``session`` is given; workers are woken when it
    commits.

    Parameters
    ----------
    trainer : Trainer
        Its workspace's organization owns the run and the job; its ``actor`` is
        recorded (and registers the model).
    queue : JobQueue
        The workspace's job queue.
    spec : TrainingSpec
        From :meth:`Trainer.resolve <baryon.training.trainer.Trainer.resolve>` (which
        refuses bad input before anything is written).
    max_attempts : int
        Times a worker may claim the job (a worker that dies uses one up).
    session : Session, optional
        Write inside the caller's transaction (scoped to the same organization).

    Returns
    -------
    Submission

    Raises
    ------
    InvalidInput
        ``max_attempts`` out of range, or a workspace without an organization.
    """
    ws = trainer.workspace
    org_id = ws.scope.org_id
    if org_id is None:
        raise InvalidInput("training is submitted by an organization, not the system scope")
    if session is None:
        with ws.db.session(ws.scope) as own:
            return submit_training(trainer, queue, spec, max_attempts=max_attempts, session=own)
    run = trainer.start(spec, status=QUEUED, extra={"submitted_by": trainer.actor}, session=session)
    payload = {
        "run_id": run.id,
        "kind": spec.kind,
        "dataset_version_id": spec.dataset.id,
        "target": spec.target,
        "params": spec.params,
        "seed": spec.seed,
        "cv_folds": spec.cv_folds,
        "register": spec.register,
        "missing": spec.missing,
        "actor": trainer.actor,
    }
    job = queue.enqueue(TRAIN, payload, org_id=org_id, max_attempts=max_attempts, session=session)
    run = ws.runs.update(run.id, extra={"job_id": job.id}, session=session)
    record_audit(
        session,
        actor=trainer.actor,
        action="run.submit",
        object_type="run",
        object_id=run.id,
        details={"job_id": job.id, "kind": spec.kind, "dataset": run.dataset_ref},
        org_id=org_id,
        clock=ws.clock,
    )
    return Submission(run=run, job=job)


# ----------------------------------------------------------------------- handler
def train_job(ctx: JobContext) -> dict[str, Any]:
    """The ``train`` job handler: train the queued run named by the payload.

    Parameters
    ----------
    ctx : JobContext
        Payload as written by :func:`submit_training`.

    Returns
    -------
    dict
        ``{"run_id", "status": "succeeded", "registered": {"name", "version"} | None}``.

    Raises
    ------
    RunFailed
        The run ended ``failed`` or ``failed_validation``: the job fails with the
        run's error code (``not_converged``, ``single_class``, ...) and message.
    JobCancelled
        A cancel was requested (the run ends ``cancelled``), or the worker is stopping
        (the run goes back to ``queued`` with its job).
    Conflict
        Registration refused (the run stays ``succeeded``).
    InvalidInput
        Code ``invalid_job_payload``: the payload is not a training job's.
    NotFound
        The run is gone (``run_not_found``), or its dataset version (the run fails).
    """
    from baryon.training.trainer import Trainer

    payload = ctx.payload
    run_id = payload.get("run_id")
    if not isinstance(run_id, str):
        raise InvalidInput("a train job's payload names no run_id", code="invalid_job_payload")
    ws = ctx.workspace.for_org(ctx.job.org_id)
    trainer = Trainer(ws, actor=str(payload.get("actor") or "system"))
    try:
        ws.runs.begin(run_id, extra={"attempt": ctx.job.attempts})
    except Conflict:  # an earlier attempt ended the run and died before ending the job
        return _resume(trainer, ws.runs.get(run_id), payload)
    try:
        spec = _spec(ws, payload)
    except BaryonError as exc:
        ws.runs.finish(run_id, status=FAILED, error=exc.message, error_code=exc.code)
        raise

    def progress(stage: str, percent: float) -> None:
        ctx.check_cancelled()
        ctx.progress(stage, percent)

    try:
        done = trainer.execute(run_id, spec, progress=progress)
    except JobCancelled:
        _stopped(ws, ctx, run_id)
        raise
    return _outcome(done)


def training_handlers() -> dict[str, Handler]:
    """Return the training layer's job handlers, ``kind → handler``: ``{"train": train_job}``.

    The entry points merge it with :func:`baryon.jobs.builtin_handlers`.
    """
    return {TRAIN: train_job}


def _spec(ws: Workspace, payload: Mapping[str, Any]) -> TrainingSpec:
    from baryon.training.trainer import TrainingSpec

    kind, version_id = payload.get("kind"), payload.get("dataset_version_id")
    params, register = payload.get("params") or {}, payload.get("register")
    seed, folds = payload.get("seed", 42), payload.get("cv_folds", 0)
    missing = payload.get("missing", "strict")  # absent in jobs queued before input policies
    if (
        not isinstance(kind, str)
        or not isinstance(version_id, str)
        or not isinstance(params, dict)
        or not isinstance(seed, int)
        or not isinstance(folds, int)
        or not isinstance(register, str | None)
        or not isinstance(payload.get("target"), str | None)
        or missing not in MISSING_POLICIES
    ):
        raise InvalidInput(
            "a train job's payload needs kind, dataset_version_id, params, seed, cv_folds",
            code="invalid_job_payload",
        )
    return TrainingSpec(
        kind=kind,
        dataset=ws.datasets.get_by_id(version_id),
        target=payload.get("target"),
        params=dict(params),
        seed=seed,
        cv_folds=folds,
        register=register,
        missing=missing,
    )


def _stopped(ws: Workspace, ctx: JobContext, run_id: str) -> None:
    """Give the run the end its job is about to get (see :class:`~baryon.jobs.Worker`)."""
    if ctx.lost:  # the lease expired: another attempt owns the run now
        return
    with contextlib.suppress(Conflict):
        if ctx.stopping and not ctx.cancel_requested:
            ws.runs.requeue(run_id)  # the worker releases the job: another one starts it again
        else:
            ws.runs.finish(run_id, status=CANCELLED)


def _resume(trainer: Trainer, run: Run, payload: Mapping[str, Any]) -> dict[str, Any]:
    name = payload.get("register")
    if run.status == SUCCEEDED and isinstance(name, str) and not run.extra.get("registered"):
        run = trainer.register_run(run.id, name)
    if run.status == CANCELLED:
        raise JobCancelled(f"run {run.id} was cancelled")
    return _outcome(run)


def _outcome(run: Run) -> dict[str, Any]:
    if run.status != SUCCEEDED:
        raise RunFailed(
            f"run {run.id} {run.status}: {run.error or 'no reason recorded'}",
            code=run.error_code or "run_failed",
            details={"run_id": run.id},
        )
    return {"run_id": run.id, "status": run.status, "registered": run.extra.get("registered")}


# ------------------------------------------------------------------- cancel, read
def cancel_training(
    ws: Workspace,
    queue: JobQueue,
    run_id: str,
    *,
    actor: str,
    session: Session | None = None,
) -> RunState:
    """Cancel a background run: at once when queued, at its next check when running.

    The run, its job and an audit event (``run.cancel``) change in one transaction,
    the caller's when ``session`` is given. Cancelling a cancelled run returns it as
    it is.

    Parameters
    ----------
    ws : Workspace
        The caller's organization's view (another organization's run is not found).
    queue : JobQueue
    run_id : str
    actor : str
        Recorded in the audit event.
    session : Session, optional
        Write inside the caller's transaction (scoped to the same organization).

    Returns
    -------
    RunState
        A queued run is ``cancelled``; a running one still ``running`` with
        ``cancel_requested`` true.

    Raises
    ------
    NotFound
        No such run (``run_not_found``).
    Conflict
        ``run_finished``: the run already succeeded or failed;
        ``run_not_cancellable``: it is trained in the foreground (``baryon train``),
        not by a job — stop that process instead.
    """
    if session is None:
        with ws.db.session(ws.scope) as own:
            return cancel_training(ws, queue, run_id, actor=actor, session=own)
    run = ws.runs.get(run_id, session=session)
    already = run.status == CANCELLED
    if run.finished and not already:
        raise Conflict(
            f"run {run_id} already {run.status}; only a queued or running run can be cancelled",
            code="run_finished",
            details={"status": run.status},
        )
    if run.job_id is None:
        if already:
            return RunState(run, None)
        raise Conflict(
            f"run {run_id} is trained in the foreground by the process that started it; "
            "stop that process to stop it",
            code="run_not_cancellable",
        )
    try:
        job = queue.cancel(run.job_id, org_id=ws.scope.org_id, session=session)
    except Conflict:  # a cancelled run whose job ended otherwise: nothing left to cancel
        return RunState(run, None)
    if already:
        return RunState(run, job)
    if job.status == JOB_CANCELLED:
        run = ws.runs.finish(run_id, status=CANCELLED, session=session)
    record_audit(
        session,
        actor=actor,
        action="run.cancel",
        object_type="run",
        object_id=run_id,
        details={"job_id": job.id, "at_once": run.status == CANCELLED},
        org_id=ws.scope.org_id,
        clock=ws.clock,
    )
    return RunState(run, job)


def run_state(ws: Workspace, queue: JobQueue, run_id: str) -> RunState:
    """Return run ``run_id`` with its job's state (stage, progress, attempts).

    Raises
    ------
    NotFound
        No such run (``run_not_found``).
    """
    run = ws.runs.get(run_id)
    job = _job(queue, ws, run)
    if job is not None and job.finished:
        # a job ends after its handler's last write to the run (the registration):
        # read the run again so that it holds everything the job did
        run = ws.runs.get(run_id)
    return RunState(run, job)


def run_states(ws: Workspace, queue: JobQueue, runs: Sequence[Run]) -> list[RunState]:
    """Attach their job's state to runs (looked up for the queued and running ones only)."""
    return [RunState(run, None if run.finished else _job(queue, ws, run)) for run in runs]


def _job(queue: JobQueue, ws: Workspace, run: Run) -> Job | None:
    if run.job_id is None:
        return None
    from baryon.core.errors import NotFound

    try:
        return queue.get(run.job_id, org_id=ws.scope.org_id)
    except NotFound:
        return None
