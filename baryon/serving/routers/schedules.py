"""Job schedules over HTTP: make, list, show, pause, resume and remove.

``POST /v1/schedules`` makes a schedule of a schedulable job kind (today ``flywheel``)
that a worker fires every interval or on a cron expression (UTC); ``GET
/v1/schedules`` lists the organization's (``?kind=``), ``GET /v1/schedules/{schedule}``
shows one (by id or name) with its next due time and what its last firing did;
``POST .../pause`` and ``POST .../resume`` stop and restart it (repeating either
changes nothing); ``DELETE`` removes it. Reading needs ``schedules:read``, the rest
``schedules:write``. Another organization's schedule is a 404. Domain rules and
codes: :mod:`baryon.jobs.schedules`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from baryon.jobs.schedules import (
    create_schedule,
    get_schedule,
    list_schedules,
    pause_schedule,
    plan_schedule,
    remove_schedule,
    resume_schedule,
)
from baryon.serving.auth import Principal, require
from baryon.serving.deps import AppState, get_state
from baryon.serving.fields import IdempotencyKey
from baryon.serving.openapi import PROBLEMS, problems
from baryon.serving.routers._common import json_bytes, run_write
from baryon.serving.schedule_schemas import ScheduleOut, ScheduleRequest

__all__ = ["router"]

router = APIRouter(prefix="/v1/schedules", tags=["schedules"], responses=PROBLEMS)

_SCHEDULE = Path(max_length=200, description="The schedule's id (sch_…) or name.")


@router.post(
    "",
    response_model=ScheduleOut,
    status_code=201,
    responses=problems("schedule_exists", "interval_too_short", "invalid_interval", "invalid_cron"),
)
def post_schedule(
    body: ScheduleRequest,
    request: Request,
    idempotency_key: IdempotencyKey | None = Header(None),
    principal: Principal = require("schedules:write"),
    state: AppState = Depends(get_state),
) -> Response:
    """Make a schedule. Bad input writes nothing: an unknown kind (422
    ``unknown_schedule_kind``), neither or both of ``every`` and ``cron``
    (``invalid_schedule``), an interval under 60 s (``interval_too_short``), a bad cron
    (``invalid_cron``) or payload (``invalid_job_payload``, or the kind's own codes such
    as ``model_not_found``); a name in use is a 409 ``schedule_exists``."""
    ws = state.workspace_for(principal.org_id)
    spec = plan_schedule(
        ws, state.schedule_kinds, kind=body.kind, payload=body.payload, every=body.every,
        cron=body.cron, name=body.name, description=body.description,
    )  # fmt: skip

    def work(session: Session) -> dict[str, Any]:
        return create_schedule(
            session, spec, org_id=principal.org_id, actor=principal.actor, clock=state.clock,
            paused=body.paused,
        ).to_dict()  # fmt: skip

    return run_write(
        state, principal, request, work, body=body, idempotency_key=idempotency_key,
        status_code=201,
    )  # fmt: skip


@router.get("", response_model=list[ScheduleOut])
def get_schedules(
    kind: str | None = Query(None, max_length=64, description="Only this kind's schedules."),
    principal: Principal = require("schedules:read"),
    state: AppState = Depends(get_state),
) -> Response:
    """The organization's schedules, by name."""
    with state.transaction(principal.own_scope) as session:
        found = [s.to_dict() for s in list_schedules(session, kind=kind)]
    return Response(json_bytes(found), media_type="application/json")


@router.get("/{schedule}", response_model=ScheduleOut)
def get_one(
    schedule: str = _SCHEDULE,
    principal: Principal = require("schedules:read"),
    state: AppState = Depends(get_state),
) -> Response:
    """One schedule: when it fires next and what its last firing did."""
    with state.transaction(principal.own_scope) as session:
        shown = get_schedule(session, schedule).to_dict()
    return Response(json_bytes(shown), media_type="application/json")


@router.post("/{schedule}/pause", response_model=ScheduleOut)
def post_pause(
    request: Request,
    schedule: str = _SCHEDULE,
    principal: Principal = require("schedules:write"),
    state: AppState = Depends(get_state),
) -> Response:
    """Pause a schedule: it fires no more until resumed (a paused one is answered as is)."""

    def work(session: Session) -> dict[str, Any]:
        return pause_schedule(session, schedule, actor=principal.actor, clock=state.clock).to_dict()

    return run_write(state, principal, request, work)


@router.post("/{schedule}/resume", response_model=ScheduleOut)
def post_resume(
    request: Request,
    schedule: str = _SCHEDULE,
    principal: Principal = require("schedules:write"),
    state: AppState = Depends(get_state),
) -> Response:
    """Resume a paused schedule from its next due time after now (no catching up)."""

    def work(session: Session) -> dict[str, Any]:
        return resume_schedule(
            session, schedule, actor=principal.actor, clock=state.clock
        ).to_dict()

    return run_write(state, principal, request, work)


@router.delete("/{schedule}", response_model=ScheduleOut)
def delete_schedule(
    request: Request,
    schedule: str = _SCHEDULE,
    principal: Principal = require("schedules:write"),
    state: AppState = Depends(get_state),
) -> Response:
    """Remove a schedule; answer it as it was. Jobs it enqueued are left as they are."""

    def work(session: Session) -> dict[str, Any]:
        return remove_schedule(
            session, schedule, actor=principal.actor, clock=state.clock
        ).to_dict()

    return run_write(state, principal, request, work)
