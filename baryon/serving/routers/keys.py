"""API keys of the caller's organization.

``POST /v1/keys`` returns the secret once. It refuses ``Idempotency-Key``: replaying
the response would mean storing the secret, which Baryon never does.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from baryon.core.errors import InvalidInput
from baryon.serving.auth import Principal, require
from baryon.serving.deps import AppState, get_state
from baryon.serving.openapi import PROBLEMS, problems
from baryon.serving.routers._common import run_write
from baryon.serving.schemas import CreatedKeyOut, CreateKeyRequest, KeyOut
from baryon.tenancy.keys import create_key, get_key, list_keys, parse_duration, revoke_key

__all__ = ["router"]

router = APIRouter(prefix="/v1/keys", tags=["keys"], responses=PROBLEMS)


@router.get("", response_model=list[KeyOut])
def get_keys(
    principal: Principal = require("keys:read"), state: AppState = Depends(get_state)
) -> list[dict[str, Any]]:
    """The organization's keys (prefix and status, never the secret)."""
    now = state.clock.now()
    with state.transaction() as session:
        return [k.to_dict(now) for k in list_keys(session, principal.org_id)]


@router.post(
    "", response_model=CreatedKeyOut, status_code=201, responses=problems("invalid_duration")
)
def post_key(
    body: CreateKeyRequest,
    request: Request,
    principal: Principal = require("keys:write"),
    state: AppState = Depends(get_state),
) -> Response:
    """Make a key (at most the caller's role); the secret is in this response only.

    This POST takes no ``Idempotency-Key`` (422 ``idempotency_not_supported``): a
    replayed answer would need the secret stored.
    """
    if "idempotency-key" in request.headers:
        raise InvalidInput(
            "POST /v1/keys does not take an Idempotency-Key (the secret is never stored)",
            code="idempotency_not_supported",
        )
    expires_at = None
    if body.expires_in is not None:
        expires_at = state.clock.now() + parse_duration(body.expires_in)

    def work(session: Session) -> dict[str, Any]:
        created = create_key(
            session,
            org_id=principal.org_id,
            role=body.role,
            name=body.name,
            user_id=body.user_id,
            expires_at=expires_at,
            granted_by=principal.role,
            actor=principal.actor,
            clock=state.clock,
        )
        return {**created.key.to_dict(state.clock.now()), "secret": created.secret}

    return run_write(state, principal, request, work, status_code=201)


@router.get("/{key_id}", response_model=KeyOut)
def get_one_key(
    key_id: str = Path(max_length=40),
    principal: Principal = require("keys:read"),
    state: AppState = Depends(get_state),
) -> dict[str, Any]:
    """One key of the organization (another organization's key is a 404)."""
    with state.transaction() as session:
        return get_key(session, key_id, org_id=principal.org_id).to_dict(state.clock.now())


@router.delete(
    "/{key_id}",
    response_model=KeyOut,
    summary="Revoke a key (soft delete)",
    responses=problems("last_admin"),
    openapi_extra={"x-soft-delete": True},
)
def delete_key(
    request: Request,
    key_id: str = Path(max_length=40),
    principal: Principal = require("keys:write"),
    state: AppState = Depends(get_state),
) -> Response:
    """**Soft delete**: revoke the key; it stops working at once and is never erased.

    The answer, ``GET /v1/keys/{key_id}`` and the list show it with ``status``
    ``revoked`` and ``revoked_at`` (audit). Repeating it changes nothing (idempotent).
    The organization's last active ``owner`` or ``admin`` key (the caller's own
    included) is not revoked: 409 ``last_admin``; make another one first.
    """

    def work(session: Session) -> dict[str, Any]:
        key = revoke_key(
            session,
            key_id,
            org_id=principal.org_id,
            granted_by=principal.role,
            actor=principal.actor,
            clock=state.clock,
        )
        return key.to_dict(state.clock.now())

    return run_write(state, principal, request, work)
