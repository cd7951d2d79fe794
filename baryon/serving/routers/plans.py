"""Plans: ``GET /v1/plans`` (every key); create, change, archive (operators)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from baryon.commerce.plans import create_plan, get_plan, list_plans
from baryon.commerce.prices import archive_plan, list_price_versions, update_plan
from baryon.serving.auth import Principal, require
from baryon.serving.deps import AppState, get_state
from baryon.serving.fields import IdempotencyKey
from baryon.serving.openapi import PROBLEMS, problems
from baryon.serving.routers._common import run_write
from baryon.serving.schemas import CreatePlanRequest, PlanOut, PriceVersionOut, UpdatePlanRequest

__all__ = ["router"]

router = APIRouter(prefix="/v1/plans", tags=["plans"], responses=PROBLEMS)


@router.get("", response_model=list[PlanOut])
def get_plans(
    include_archived: bool = Query(False, description="Also plans no longer offered."),
    principal: Principal = require("plans:read"),
    state: AppState = Depends(get_state),
) -> list[dict[str, Any]]:
    """Every plan on offer, cheapest first."""
    with state.transaction() as session:
        return [p.to_dict() for p in list_plans(session, include_archived=include_archived)]


@router.post("", response_model=PlanOut, status_code=201, responses=problems("plan_exists"))
def post_plan(
    body: CreatePlanRequest,
    request: Request,
    idempotency_key: IdempotencyKey | None = Header(None),
    principal: Principal = require("plans:write"),
    state: AppState = Depends(get_state),
) -> Response:
    """Add a plan (operator ``owner``/``admin`` keys). Limits must be whole and >= 0
    (a quota of 0 only with the ``overage`` feature); prices are non-negative decimal
    strings in a supported currency; unit weights name metered routes and are whole
    numbers >= 1."""

    def work(session: Session) -> dict[str, Any]:
        plan = create_plan(
            session,
            name=body.name,
            quota=body.quota,
            rate_per_minute=body.rate_per_minute,
            monthly_price=body.monthly_price,
            overage_price=body.overage_price,
            features=body.features,
            unit_weights=body.unit_weights,
            currency=body.currency,
            trial_days=body.trial_days,
            route_prices=body.route_prices,
            actor=principal.actor,
            clock=state.clock,
        )
        return plan.to_dict()

    return run_write(
        state, principal, request, work, body=body, idempotency_key=idempotency_key,
        status_code=201,
    )  # fmt: skip


@router.patch("/{name}", response_model=PlanOut, responses=problems("plan_archived"))
def patch_plan(
    body: UpdatePlanRequest,
    request: Request,
    name: str = Path(max_length=40),
    principal: Principal = require("plans:write"),
    state: AppState = Depends(get_state),
) -> Response:
    """Change a plan (operator keys). Quota, rate, features, unit weights and trial
    apply at once; a price change is a new price version, in force from each
    organization's next billing period."""
    changes = body.model_dump(exclude_unset=True)

    def work(session: Session) -> dict[str, Any]:
        return update_plan(
            session, name, **changes, actor=principal.actor, clock=state.clock
        ).to_dict()

    return run_write(state, principal, request, work)


@router.post("/{name}/archive", response_model=PlanOut, responses=problems("plan_archived"))
def post_archive(
    request: Request,
    name: str = Path(max_length=40),
    principal: Principal = require("plans:write"),
    state: AppState = Depends(get_state),
) -> Response:
    """Stop offering a plan (operator keys); organizations on it keep it."""

    def work(session: Session) -> dict[str, Any]:
        return archive_plan(session, name, actor=principal.actor, clock=state.clock).to_dict()

    return run_write(state, principal, request, work)


@router.get("/{name}/prices", response_model=list[PriceVersionOut])
def get_prices(
    name: str = Path(max_length=40),
    principal: Principal = require("plans:read"),
    state: AppState = Depends(get_state),
) -> list[dict[str, Any]]:
    """A plan's price versions, oldest first."""
    with state.transaction() as session:
        plan = get_plan(session, name)
        return [v.to_dict() for v in list_price_versions(session, plan.id)]
