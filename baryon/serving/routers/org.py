"""The caller's own organization: ``/v1/me``, ``/v1/org``, ``/v1/audit``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from baryon.commerce.metering import org_detail
from baryon.commerce.orgs import update_org
from baryon.core.audit import AuditEvent
from baryon.serving.auth import Principal, require
from baryon.serving.deps import AppState, get_state
from baryon.serving.openapi import PROBLEMS
from baryon.serving.routers._common import run_write
from baryon.serving.schemas import AuditEventOut, MeOut, OrgDetailOut, UpdateOrgRequest

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["organization"], responses=PROBLEMS)


@router.get("/me", response_model=MeOut)
def me(principal: Principal = require("org:read")) -> dict[str, Any]:
    """The calling key: organization, role and every permission it holds."""
    return {
        "key_id": principal.key_id,
        "org_id": principal.org_id,
        "org_name": principal.org_name,
        "role": principal.role,
        "user_id": principal.user_id,
        "operator": principal.operator,
        "permissions": sorted(principal.permissions),
    }


@router.get("/org", response_model=OrgDetailOut)
def read_org(
    principal: Principal = require("org:read"), state: AppState = Depends(get_state)
) -> dict[str, Any]:
    """The caller's organization, its plan and the current billing period's use."""
    with state.transaction() as session:
        return org_detail(session, principal.org_id, state.clock.now())


@router.patch("/org", response_model=OrgDetailOut)
def patch_org(
    body: UpdateOrgRequest,
    request: Request,
    principal: Principal = require("org:write"),
    state: AppState = Depends(get_state),
) -> Response:
    """Change the organization's settings (``prediction_inputs``: full, hashed, none)."""

    def work(session: Session) -> dict[str, Any]:
        update_org(
            session,
            principal.org_id,
            prediction_inputs=body.prediction_inputs,
            actor=principal.actor,
            clock=state.clock,
        )
        return org_detail(session, principal.org_id, state.clock.now())

    return run_write(state, principal, request, work)


@router.get("/audit", response_model=list[AuditEventOut])
def list_audit(
    limit: int = Query(100, ge=1, le=1000),
    principal: Principal = require("audit:read"),
    state: AppState = Depends(get_state),
) -> list[dict[str, Any]]:
    """The organization's audit events, newest first."""
    with state.transaction() as session:
        rows = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.org_id == principal.org_id)
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .limit(limit)
        )
        return [
            {
                "id": r.id,
                "at": r.at,
                "actor": r.actor,
                "action": r.action,
                "object_type": r.object_type,
                "object_id": r.object_id,
                "details": r.details,
            }
            for r in rows
        ]
