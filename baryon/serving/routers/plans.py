"""Plans: ``GET /v1/plans`` (every key) and ``POST /v1/plans`` (operators)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from baryon.commerce.plans import create_plan, list_plans
from baryon.serving.auth import Principal, require
from baryon.serving.deps import AppState, get_state
from baryon.serving.fields import IdempotencyKey
from baryon.serving.openapi import PROBLEMS, problems
from baryon.serving.routers._common import run_write
from baryon.serving.schemas import CreatePlanRequest, PlanOut

__all__ = ["router"]

router = APIRouter(prefix="/v1/plans", tags=["plans"], responses=PROBLEMS)


@router.get("", response_model=list[PlanOut])
def get_plans(
    principal: Principal = require("plans:read"), state: AppState = Depends(get_state)
) -> list[dict[str, Any]]:
    """Every plan, cheapest first."""
    with state.transaction() as session:
        return [p.to_dict() for p in list_plans(session)]


@router.post("", response_model=PlanOut, status_code=201, responses=problems("plan_exists"))
def post_plan(
    body: CreatePlanRequest,
    request: Request,
    idempotency_key: IdempotencyKey | None = Header(None),
    principal: Principal = require("plans:write"),
    state: AppState = Depends(get_state),
) -> Response:
    """Add a plan (operator ``owner``/``admin`` keys). Limits must be whole and >= 0;
    unit weights name metered routes and are whole numbers >= 1."""

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
            actor=principal.actor,
            clock=state.clock,
        )
        return plan.to_dict()

    return run_write(
        state, principal, request, work, body=body, idempotency_key=idempotency_key,
        status_code=201,
    )  # fmt: skip
