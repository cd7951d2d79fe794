"""Iterations over HTTP: time boxes with metric goals and a Kanban board of work items.

``GET``/``POST /v1/iterations`` list and create; ``GET /v1/iterations/{iteration}``
(by name or id) shows goals with their trajectories across flywheel cycles and the
items by state with their linked objects' status; ``POST .../items`` adds an item,
``PATCH .../items/{item_id}`` moves, assigns or renames it, ``POST .../close`` closes
the iteration. Reading needs ``iterations:read``, the rest ``iterations:write``.
Domain rules and codes: :mod:`baryon.flywheel.iterations`.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from baryon.flywheel.iterations import (
    UNSET,
    add_item,
    close_iteration,
    create_iteration,
    list_iterations,
    show_iteration,
    update_item,
)
from baryon.serving.auth import Principal, require
from baryon.serving.deps import AppState, get_state
from baryon.serving.fields import IdempotencyKey
from baryon.serving.iteration_schemas import (
    CreateIterationRequest,
    IterationItemOut,
    IterationItemRequest,
    IterationItemUpdate,
    IterationOut,
    IterationSummaryOut,
)
from baryon.serving.openapi import PROBLEMS, problems
from baryon.serving.routers._common import json_bytes, run_write

__all__ = ["router"]

router = APIRouter(prefix="/v1/iterations", tags=["iterations"], responses=PROBLEMS)

_ITERATION = Path(max_length=100, description="The iteration's name or id (it_…).")
_ITEM = Path(max_length=40, description="The item's id (iti_…).")
_KEY = Header(None)


def _json(value: Any) -> Response:
    """Answer ``value`` by the one JSON policy, as the writes do (datetimes ``+00:00``)."""
    return Response(json_bytes(value), media_type="application/json")


@router.get("", response_model=list[IterationSummaryOut])
def get_iterations(
    status: Literal["open", "closed"] | None = Query(None, description="Only this status."),
    principal: Principal = require("iterations:read"),
    state: AppState = Depends(get_state),
) -> Response:
    """The organization's iterations, newest time box first, with item counts."""
    with state.transaction(principal.own_scope) as session:
        found = [i.to_dict() for i in list_iterations(session, status=status)]
    return _json(found)


@router.post(
    "",
    response_model=IterationOut,
    status_code=201,
    responses=problems(
        "iteration_exists",
        "invalid_time_box",
        "unknown_goal_model",
        "unknown_goal_metric",
        "duplicate_goal",
    ),
)
def post_iteration(
    body: CreateIterationRequest,
    request: Request,
    idempotency_key: IdempotencyKey | None = _KEY,
    principal: Principal = require("iterations:write"),
    state: AppState = Depends(get_state),
) -> Response:
    """Create an iteration. Its goals' models must be the organization's and report the
    metric on their test split (422 ``unknown_goal_model``, ``unknown_goal_metric``);
    ``starts_at`` (default now) must be before ``ends_at`` (422 ``invalid_time_box``); a
    name in use is a 409 ``iteration_exists``."""

    def work(session: Session) -> dict[str, Any]:
        return create_iteration(
            session,
            org_id=principal.org_id,
            name=body.name,
            starts_at=body.starts_at,
            ends_at=body.ends_at,
            goals=[g.model_dump() for g in body.goals],
            actor=principal.actor,
            clock=state.clock,
        ).to_dict()

    return run_write(
        state, principal, request, work, body=body, idempotency_key=idempotency_key,
        status_code=201,
    )  # fmt: skip


@router.get("/{iteration}", response_model=IterationOut)
def get_iteration(
    iteration: str = _ITERATION,
    principal: Principal = require("iterations:read"),
    state: AppState = Depends(get_state),
) -> Response:
    """One iteration: goals with their trajectories and whether they are met, items by
    Kanban state with their linked objects' status."""
    with state.transaction(principal.own_scope) as session:
        shown = show_iteration(session, iteration).to_dict()
    return _json(shown)


@router.post(
    "/{iteration}/items",
    response_model=IterationItemOut,
    status_code=201,
    responses=problems("iteration_closed", "item_exists"),
)
def post_item(
    body: IterationItemRequest,
    request: Request,
    iteration: str = _ITERATION,
    idempotency_key: IdempotencyKey | None = _KEY,
    principal: Principal = require("iterations:write"),
    state: AppState = Depends(get_state),
) -> Response:
    """Add a work item. ``ref`` names the organization's labeling queue, run or flywheel
    cycle (another organization's is a 404); a closed iteration is a 409
    ``iteration_closed``."""

    def work(session: Session) -> dict[str, Any]:
        return add_item(
            session,
            iteration,
            kind=body.kind,
            title=body.title,
            ref=body.ref,
            owner=body.owner,
            state=body.state,
            actor=principal.actor,
            clock=state.clock,
        ).to_dict()

    return run_write(
        state, principal, request, work, body=body, idempotency_key=idempotency_key,
        status_code=201,
    )  # fmt: skip


@router.patch(
    "/{iteration}/items/{item_id}",
    response_model=IterationItemOut,
    responses=problems("iteration_closed"),
)
def patch_item(
    body: IterationItemUpdate,
    request: Request,
    iteration: str = _ITERATION,
    item_id: str = _ITEM,
    principal: Principal = require("iterations:write"),
    state: AppState = Depends(get_state),
) -> Response:
    """Move an item to another Kanban state, assign it (``"owner": null`` unassigns) or
    rename it; fields left out stay as they are."""
    given = body.model_fields_set

    def work(session: Session) -> dict[str, Any]:
        return update_item(
            session,
            iteration,
            item_id,
            state=body.state if "state" in given and body.state is not None else UNSET,
            owner=body.owner if "owner" in given else UNSET,
            title=body.title if "title" in given and body.title is not None else UNSET,
            actor=principal.actor,
            clock=state.clock,
        ).to_dict()

    return run_write(state, principal, request, work)


@router.post(
    "/{iteration}/close", response_model=IterationOut, responses=problems("iteration_closed")
)
def post_close(
    request: Request,
    iteration: str = _ITERATION,
    idempotency_key: IdempotencyKey | None = _KEY,
    principal: Principal = require("iterations:write"),
    state: AppState = Depends(get_state),
) -> Response:
    """Close the iteration: each goal's final value (its champion's test-split metric
    now) and whether it was met are frozen into ``summary``. Closing twice is a 409
    ``iteration_closed``."""

    def work(session: Session) -> dict[str, Any]:
        closed = close_iteration(session, iteration, actor=principal.actor, clock=state.clock)
        return closed.to_dict()

    return run_write(state, principal, request, work, idempotency_key=idempotency_key)
