"""Grants: share the caller's models and datasets with other organizations.

``GET /v1/grants`` lists grants given and received; ``POST /v1/grants`` gives one
(owner/admin keys); ``DELETE /v1/grants/{id}`` revokes it (effective on the next
request). Domain rules and codes: :mod:`baryon.tenancy.grants`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from baryon.serving.auth import Principal, require
from baryon.serving.deps import AppState, get_state
from baryon.serving.openapi import PROBLEMS, problems
from baryon.serving.routers._common import run_write
from baryon.serving.schemas import GrantOut, GrantRequest, GrantsOut
from baryon.tenancy.grants import create_grant, list_grants, revoke_grant

__all__ = ["router"]

router = APIRouter(prefix="/v1/grants", tags=["grants"], responses=PROBLEMS)


@router.get("", response_model=GrantsOut)
def get_grants(
    principal: Principal = require("grants:read"), state: AppState = Depends(get_state)
) -> dict[str, Any]:
    """Grants the organization gave (``given``) and received (``received``)."""
    scope = state.scope_of(principal.org_id)
    with state.transaction(scope) as session:
        found = list_grants(session, principal.org_id)
        return {side: [g.to_dict() for g in grants] for side, grants in found.items()}


@router.post("", response_model=GrantOut, status_code=201, responses=problems("self_grant"))
def post_grant(
    body: GrantRequest,
    request: Request,
    principal: Principal = require("grants:write"),
    state: AppState = Depends(get_state),
) -> Response:
    """Give ``grantee`` ``read`` or ``predict`` on one of the organization's objects.

    Granting what is already granted answers the existing grant.
    """

    def work(session: Session) -> dict[str, Any]:
        return create_grant(
            session,
            owner_org_id=principal.org_id,
            object_type=body.object_type,
            object_name=body.name,
            grantee=body.grantee,
            permission=body.permission,
            actor=principal.actor,
            clock=state.clock,
        ).to_dict()

    try:
        return run_write(state, principal, request, work, body=body, status_code=201)
    finally:
        state.forget_scopes()


@router.delete("/{grant_id}", response_model=GrantOut)
def delete_grant(
    request: Request,
    grant_id: str = Path(max_length=40),
    principal: Principal = require("grants:write"),
    state: AppState = Depends(get_state),
) -> Response:
    """Revoke one of the organization's grants (another organization's is a 404)."""

    def work(session: Session) -> dict[str, Any]:
        return revoke_grant(
            session,
            owner_org_id=principal.org_id,
            grant_id=grant_id,
            actor=principal.actor,
            clock=state.clock,
        ).to_dict()

    try:
        return run_write(state, principal, request, work)
    finally:
        state.forget_scopes()
