"""Training runs over HTTP: submit a training job, watch it, cancel it, compare runs.

``POST /v1/runs`` checks the request and answers ``202`` with the queued run's and its
job's ids at once; a worker (``baryon serve``'s in-process one, or ``baryon worker``)
trains it. ``GET /v1/runs/{id}`` shows status, stage, progress, metrics and metric
histories; ``POST /v1/runs/{id}/cancel`` cancels it; ``GET /v1/runs/compare?ids=a,b``
puts 2 to 5 runs side by side. Reading needs ``runs:read``, the rest ``runs:write``.
Domain rules and codes: :mod:`baryon.training.jobs`, :mod:`baryon.training.compare`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from pydantic import Field
from sqlalchemy.orm import Session
from starlette.responses import Response

from baryon.serving.auth import Principal, require
from baryon.serving.deps import AppState, get_state
from baryon.serving.fields import IdempotencyKey, OneOf, named
from baryon.serving.openapi import PROBLEMS, problems
from baryon.serving.routers._common import run_write
from baryon.serving.schemas import (
    RunComparisonOut,
    RunOut,
    RunRequest,
    RunSubmittedOut,
    RunSummaryOut,
)
from baryon.training.compare import compare_runs
from baryon.training.jobs import (
    RunState,
    cancel_training,
    run_state,
    run_states,
    submit_training,
)
from baryon.training.runs import RUN_STATUSES

__all__ = ["router"]

router = APIRouter(prefix="/v1/runs", tags=["runs"], responses=PROBLEMS)

_SUMMARY = tuple(RunSummaryOut.model_fields)
_FULL = tuple(RunOut.model_fields)


def run_body(state: RunState, *, full: bool = True) -> dict[str, Any]:
    """Shape a run and its job's state as :class:`RunOut` (or :class:`RunSummaryOut`)."""
    data = state.to_dict()
    extra = state.run.extra
    data.update(
        dataset=state.run.dataset_ref,
        registered=extra.get("registered"),
        registration_error=extra.get("registration_error"),
        queued_at=extra.get("queued_at"),
    )
    return {name: data.get(name) for name in (_FULL if full else _SUMMARY)}


@router.post(
    "",
    response_model=RunSubmittedOut,
    status_code=202,
    responses=problems("invalid_cv_folds", "invalid_param", "invalid_params"),
)
def post_run(
    body: RunRequest,
    request: Request,
    idempotency_key: IdempotencyKey | None = Header(None),
    principal: Principal = require("runs:write"),
    state: AppState = Depends(get_state),
) -> Response:
    """Train ``kind`` on a dataset version as a background job: ``202`` with the run's id.

    The kind, parameters, seed, folds, model name and dataset are checked first: bad
    input is a 422/404 and writes nothing. Then the run (``queued``) and its ``train``
    job are created in one transaction.
    """
    from baryon.training.trainer import Trainer

    trainer = Trainer(state.workspace_for(principal.org_id), actor=principal.actor)
    spec = trainer.resolve(
        body.kind,
        body.dataset,
        target=body.target,
        params=body.params,
        seed=body.seed,
        cv_folds=body.cv_folds,
        register=body.register_as,
        missing=body.missing,
    )

    def work(session: Session) -> dict[str, Any]:
        return submit_training(trainer, state.jobs, spec, session=session).to_dict()

    return run_write(
        state, principal, request, work, body=body, idempotency_key=idempotency_key,
        status_code=202,
    )  # fmt: skip


@router.get("", response_model=list[RunSummaryOut])
def get_runs(
    status: Annotated[str, OneOf(RUN_STATUSES, "invalid_status", "status")] | None = Query(
        None, description="Only runs with this status."
    ),
    kind: str | None = Query(None, max_length=64, description="Only runs of this kind."),
    dataset: str | None = Query(None, max_length=200, description="Only runs on this dataset."),
    limit: int = Query(50, ge=1, le=1000, description="At most this many runs."),
    principal: Principal = require("runs:read"),
    state: AppState = Depends(get_state),
) -> list[dict[str, Any]]:
    """The organization's runs, newest first (``stage``/``progress`` for unfinished ones)."""
    ws = state.workspace_for(principal.org_id)
    runs = ws.runs.list(status=status, kind=kind, dataset=dataset, limit=limit)
    return [run_body(s, full=False) for s in run_states(ws, state.jobs, runs)]


@router.get("/compare", response_model=RunComparisonOut, responses=problems("invalid_run_ids"))
def get_comparison(
    ids: Annotated[
        str,
        Query(description="2 to 5 distinct run ids, comma-separated."),
        Field(pattern=r"^[A-Za-z0-9_]{1,40}(?:,[A-Za-z0-9_]{1,40}){1,4}$"),
        named("invalid_run_ids", "give 2 to 5 run ids, comma-separated"),
    ],
    principal: Principal = require("runs:read"),
    state: AppState = Depends(get_state),
) -> dict[str, Any]:
    """Runs side by side: settings, parameters and metrics, and which parameters differ."""
    ws = state.workspace_for(principal.org_id)
    comparison = compare_runs(ws.runs, [i.strip() for i in ids.split(",") if i.strip()])
    states = run_states(ws, state.jobs, comparison.runs)
    return {**comparison.to_dict(), "runs": [run_body(s, full=False) for s in states]}


@router.get("/{run_id}", response_model=RunOut)
def get_run(
    run_id: str = Path(max_length=40),
    principal: Principal = require("runs:read"),
    state: AppState = Depends(get_state),
) -> dict[str, Any]:
    """One run: status, stage, progress, metrics, metric histories, error, job, model."""
    return run_body(run_state(state.workspace_for(principal.org_id), state.jobs, run_id))


@router.post(
    "/{run_id}/cancel",
    response_model=RunOut,
    responses=problems("run_finished", "run_not_cancellable"),
)
def post_cancel(
    request: Request,
    run_id: str = Path(max_length=40),
    idempotency_key: IdempotencyKey | None = Header(None),
    principal: Principal = require("runs:write"),
    state: AppState = Depends(get_state),
) -> Response:
    """Cancel a run: a queued run ends ``cancelled`` at once; a running one at its next
    stage (``cancel_requested`` is true until then). A finished run is a 409
    (``run_finished``)."""
    ws = state.workspace_for(principal.org_id)

    def work(session: Session) -> dict[str, Any]:
        cancelled = cancel_training(ws, state.jobs, run_id, actor=principal.actor, session=session)
        return run_body(cancelled)

    return run_write(state, principal, request, work, idempotency_key=idempotency_key)
