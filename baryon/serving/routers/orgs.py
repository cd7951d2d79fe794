"""Other organizations (operators only): list, create, read, change plan."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header, Path, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from baryon.commerce.licences import check_org_cap
from baryon.commerce.orgs import create_org, get_org, list_orgs, subscribe
from baryon.serving.auth import Principal, require
from baryon.serving.deps import AppState, get_state
from baryon.serving.fields import IdempotencyKey
from baryon.serving.openapi import PROBLEMS, problems
from baryon.serving.routers._common import run_write
from baryon.serving.routers.org import org_detail
from baryon.serving.schemas import CreateOrgRequest, OrgDetailOut, OrgOut, SubscribeRequest

__all__ = ["router"]

router = APIRouter(prefix="/v1/orgs", tags=["organizations (operators)"], responses=PROBLEMS)


@router.get("", response_model=list[OrgOut])
def get_orgs(
    principal: Principal = require("orgs:read"), state: AppState = Depends(get_state)
) -> list[dict[str, Any]]:
    """Every organization (operator ``owner``/``admin`` keys)."""
    with state.transaction() as session:
        return [o.to_dict() for o in list_orgs(session)]


@router.post(
    "",
    response_model=OrgDetailOut,
    status_code=201,
    responses=problems("org_exists", "plan_archived"),
)
def post_org(
    body: CreateOrgRequest,
    request: Request,
    idempotency_key: IdempotencyKey | None = Header(None),
    principal: Principal = require("orgs:write"),
    state: AppState = Depends(get_state),
) -> Response:
    """Create an organization on a plan (operator keys)."""

    def work(session: Session) -> dict[str, Any]:
        check_org_cap(session, state.workspace.licence)
        org = create_org(
            session,
            name=body.name,
            plan=body.plan,
            operator=body.operator,
            prediction_inputs=body.prediction_inputs,
            actor=principal.actor,
            clock=state.clock,
        )
        return org_detail(session, org.id, state.clock.now())

    return run_write(
        state, principal, request, work, body=body, idempotency_key=idempotency_key,
        status_code=201,
    )  # fmt: skip


@router.get("/{org_id}", response_model=OrgDetailOut)
def get_one_org(
    org_id: str = Path(max_length=64),
    principal: Principal = require("orgs:read"),
    state: AppState = Depends(get_state),
) -> dict[str, Any]:
    """One organization with its subscription and period (operator keys)."""
    with state.transaction() as session:
        org = get_org(session, org_id)
        return org_detail(session, org.id, state.clock.now())


@router.post(
    "/{org_id}/subscription",
    response_model=OrgDetailOut,
    responses=problems("plan_archived", "currency_mismatch"),
)
def post_subscription(
    body: SubscribeRequest,
    request: Request,
    org_id: str = Path(max_length=64),
    idempotency_key: IdempotencyKey | None = Header(None),
    principal: Principal = require("orgs:write"),
    state: AppState = Depends(get_state),
) -> Response:
    """Move an organization to another plan; its billing period carries over."""

    def work(session: Session) -> dict[str, Any]:
        org = get_org(session, org_id)
        subscribe(session, org.id, body.plan, actor=principal.actor, clock=state.clock)
        return org_detail(session, org.id, state.clock.now())

    return run_write(state, principal, request, work, body=body, idempotency_key=idempotency_key)
