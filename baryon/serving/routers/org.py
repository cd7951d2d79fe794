"""The caller's own organization: ``/v1/me``, ``/v1/org``, ``/v1/audit``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from baryon.commerce.metering import org_detail
from baryon.commerce.orgs import update_org
from baryon.core.audit import audit_event_dict, list_audit_events
from baryon.serving.auth import Principal, require
from baryon.serving.deps import AppState, get_state
from baryon.serving.fields import Timestamp
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
    """Change the organization's settings (``prediction_inputs``: full, masked, hashed,
    none; audited). Applies to predictions logged from now on."""

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
    actor: str | None = Query(None, max_length=200, description="key:<id>, cli:<user>, system."),
    action: str | None = Query(
        None, max_length=100, description="An action, or a prefix ending in * (model.*)."
    ),
    object_type: str | None = Query(None, max_length=64),
    object_id: str | None = Query(None, max_length=200),
    since: Timestamp | None = Query(None, description="Inclusive."),
    until: Timestamp | None = Query(None, description="Exclusive."),
    limit: int = Query(100, ge=1, le=1000),
    principal: Principal = require("audit:read"),
    state: AppState = Depends(get_state),
) -> list[dict[str, Any]]:
    """The organization's audit events, newest first (another organization's never).

    Times are RFC 3339 with an offset (``2026-01-01T00:00:00Z``).
    """
    with state.transaction() as session:
        events = list_audit_events(
            session,
            org_id=principal.org_id,
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            since=since,
            until=until,
            limit=limit,
            newest_first=True,
        )
        return [audit_event_dict(e) for e in events]
