"""The ``federated`` background job: a federated run queued by the API, CLI or SDK.

:func:`submit_federated` records the ``queued`` run, its job and an audit event
(``run.submit``) in one transaction; :func:`federated_job` (the handler a worker runs)
checks the spec again in the submitting organization's view and runs it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from baryon.core.audit import record_audit
from baryon.core.errors import InvalidInput
from baryon.jobs.worker import Handler, JobContext
from baryon.training.jobs import Submission
from baryon.training.runs import QUEUED, SUCCEEDED, RunFailed

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from baryon.federated.runner import FederatedSpec, FederatedTrainer
    from baryon.jobs.queue import JobQueue

__all__ = ["FEDERATED", "federated_handlers", "federated_job", "submit_federated"]

#: Job kind of a federated run.
FEDERATED = "federated"


def _arguments(spec: FederatedSpec) -> dict[str, Any]:
    return {
        "model": spec.model,
        "kind": spec.kind,
        "silos": [s.ref for s in spec.silos],
        "rounds": spec.rounds,
        "strategy": spec.strategy,
        "params": spec.params,
        "seed": spec.seed,
        "dp_clip": spec.dp_clip,
        "dp_noise": spec.dp_noise,
        "target": spec.target,
    }


def submit_federated(
    trainer: FederatedTrainer,
    queue: JobQueue,
    spec: FederatedSpec,
    *,
    session: Session | None = None,
) -> Submission:
    """Queue a federated run of ``spec`` (from :meth:`FederatedTrainer.resolve`).

    The run, its job and an audit event are written in one transaction, the caller's
    when ``session`` (scoped to the trainer's organization) is given.

    Returns
    -------
    Submission
        The ``queued`` run and its ``federated`` job.

    Raises
    ------
    InvalidInput
        The workspace acts for no organization.
    """
    ws = trainer.workspace
    org_id = ws.scope.org_id
    if org_id is None:
        raise InvalidInput("a federated run is submitted by an organization")
    if session is None:
        with ws.db.session(ws.scope) as own:
            return submit_federated(trainer, queue, spec, session=own)
    run = trainer.start(spec, status=QUEUED, session=session)
    payload = {"run_id": run.id, "actor": trainer.actor, **_arguments(spec)}
    job = queue.enqueue(FEDERATED, payload, org_id=org_id, session=session)
    run = ws.runs.update(run.id, extra={"job_id": job.id}, session=session)
    record_audit(
        session,
        actor=trainer.actor,
        action="run.submit",
        object_type="run",
        object_id=run.id,
        details={"job_id": job.id, "kind": spec.kind, **spec.facts()},
        org_id=org_id,
        clock=ws.clock,
    )
    return Submission(run=run, job=job)


def federated_job(ctx: JobContext) -> dict[str, Any]:
    """Run the queued federated run named by the payload.

    Returns
    -------
    dict
        ``{"run_id", "status": "succeeded", "registered": {"name", "version"}}``.

    Raises
    ------
    InvalidInput
        ``invalid_job_payload``.
    RunFailed
        The run ended ``failed`` (the job fails with its error code).
    """
    from baryon.core.errors import BaryonError
    from baryon.federated.runner import FederatedTrainer

    payload: Mapping[str, Any] = ctx.payload
    run_id = payload.get("run_id")
    if not isinstance(run_id, str):
        raise InvalidInput("a federated job's payload names no run_id", code="invalid_job_payload")
    ws = ctx.workspace.for_org(ctx.job.org_id)
    trainer = FederatedTrainer(ws, actor=str(payload.get("actor") or "system"))
    ws.runs.begin(run_id, extra={"attempt": ctx.job.attempts})
    try:
        spec = trainer.resolve(
            payload["model"], payload["kind"], list(payload["silos"]),
            rounds=payload["rounds"], strategy=payload["strategy"], params=payload["params"],
            seed=payload["seed"], dp_clip=payload["dp_clip"], dp_noise=payload["dp_noise"],
            target=payload["target"],
        )  # fmt: skip
    except (BaryonError, KeyError, TypeError) as exc:
        message = exc.message if isinstance(exc, BaryonError) else f"bad payload: {exc}"
        code = exc.code if isinstance(exc, BaryonError) else "invalid_job_payload"
        ws.runs.finish(run_id, status="failed", error=message, error_code=code)
        raise
    run = trainer.execute(run_id, spec, progress=ctx.progress)
    if run.status != SUCCEEDED:
        raise RunFailed(run.error or "federated run failed", code=run.error_code or "run_failed")
    return {"run_id": run.id, "status": run.status, "registered": run.extra.get("registered")}


def federated_handlers() -> dict[str, Handler]:
    """``{"federated": federated_job}``, merged by the entry points that make workers."""
    return {FEDERATED: federated_job}
