"""The data flywheel over HTTP: run a cycle as a background job, list and read cycles.

``POST /v1/flywheel/{model}/cycles`` checks the model (the organization's own
classifier with a champion trained by Baryon) and answers ``202`` with the queued
cycle's and its job's ids; a worker (``baryon serve``'s in-process one, or ``baryon
worker``) runs it. ``GET /v1/flywheel/cycles`` lists the organization's cycles
(``?model=`` for one model's), ``GET /v1/flywheel/cycles/{cycle_id}`` shows one with its
job's stage and progress and, once ended, its report. Running needs
``flywheel:run`` (a cycle may promote, as ``models:promote`` does); reading
``flywheel:read``. Another organization's model or cycle is a 404. Domain rules and
codes: :mod:`baryon.flywheel.cycle`, :mod:`baryon.flywheel.jobs`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from baryon.flywheel.jobs import cycle_state, cycle_states, prepare_cycle, submit_cycle
from baryon.flywheel.records import list_cycles
from baryon.serving.auth import Principal, require
from baryon.serving.deps import AppState, get_state
from baryon.serving.fields import IdempotencyKey
from baryon.serving.flywheel_schemas import (
    FlywheelCycleOut,
    FlywheelCycleSubmittedOut,
    FlywheelRunRequest,
)
from baryon.serving.openapi import PROBLEMS, problems
from baryon.serving.routers._common import run_write

__all__ = ["router"]

router = APIRouter(prefix="/v1/flywheel", tags=["flywheel"], responses=PROBLEMS)


@router.post(
    "/{model}/cycles",
    response_model=FlywheelCycleSubmittedOut,
    status_code=202,
    responses=problems("cycle_in_progress", "no_champion"),
)
def post_cycle(
    request: Request,
    model: str = Path(max_length=200, description="A classifier of the organization."),
    body: FlywheelRunRequest | None = None,
    idempotency_key: IdempotencyKey | None = Header(None),
    principal: Principal = require("flywheel:run"),
    state: AppState = Depends(get_state),
) -> Response:
    """Run one flywheel cycle of ``model`` as a background job: ``202`` with its ids.

    Bad input (unknown model, no champion, not a classifier, unknown iteration, a
    cycle of the model already queued or running) is a 404/409/422 and writes nothing.
    """
    ws = state.workspace_for(principal.org_id)
    options = body or FlywheelRunRequest()
    recipe = prepare_cycle(ws, model, min_delta=options.min_delta)

    def work(session: Session) -> dict[str, Any]:
        submitted = submit_cycle(
            ws,
            state.jobs,
            recipe,
            actor=principal.actor,
            iteration_id=options.iteration_id,
            min_delta=options.min_delta,
            session=session,
        )
        cycle = submitted.cycle
        return {"cycle_id": cycle.id, "job_id": cycle.job_id, "model": model, "status": "queued"}

    return run_write(
        state, principal, request, work, body=options, idempotency_key=idempotency_key,
        status_code=202,
    )  # fmt: skip


@router.get("/cycles", response_model=list[FlywheelCycleOut])
def get_cycles(
    model: str | None = Query(None, max_length=200, description="Only this model's cycles."),
    limit: int = Query(50, ge=1, le=1000, description="At most this many cycles."),
    principal: Principal = require("flywheel:read"),
    state: AppState = Depends(get_state),
) -> list[dict[str, Any]]:
    """The organization's flywheel cycles, newest first."""
    ws = state.workspace_for(principal.org_id)
    cycles = list_cycles(ws, model=model, limit=limit)
    return [s.to_dict() for s in cycle_states(ws, state.jobs, cycles)]


@router.get("/cycles/{cycle_id}", response_model=FlywheelCycleOut)
def get_cycle(
    cycle_id: str = Path(max_length=40),
    principal: Principal = require("flywheel:read"),
    state: AppState = Depends(get_state),
) -> dict[str, Any]:
    """One cycle: status, job stage and progress, and its report once it ended."""
    return cycle_state(state.workspace_for(principal.org_id), state.jobs, cycle_id).to_dict()
