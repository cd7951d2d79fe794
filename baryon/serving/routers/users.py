"""Users of the caller's organization."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header, Path, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from baryon.commerce.licences import check_seat_cap
from baryon.serving.auth import Principal, require
from baryon.serving.deps import AppState, get_state
from baryon.serving.fields import IdempotencyKey
from baryon.serving.openapi import PROBLEMS, problems
from baryon.serving.routers._common import run_write
from baryon.serving.schemas import CreateUserRequest, UserOut
from baryon.tenancy.users import create_user, disable_user, get_user, list_users

__all__ = ["router"]

router = APIRouter(prefix="/v1/users", tags=["users"], responses=PROBLEMS)


@router.get("", response_model=list[UserOut])
def get_users(
    principal: Principal = require("users:read"), state: AppState = Depends(get_state)
) -> list[dict[str, Any]]:
    """The organization's users, disabled ones included (``status`` says which)."""
    with state.transaction() as session:
        return [u.to_dict() for u in list_users(session, principal.org_id)]


@router.post("", response_model=UserOut, status_code=201, responses=problems("user_exists"))
def post_user(
    body: CreateUserRequest,
    request: Request,
    idempotency_key: IdempotencyKey | None = Header(None),
    principal: Principal = require("users:write"),
    state: AppState = Depends(get_state),
) -> Response:
    """Add a user (at most the caller's own role)."""

    def work(session: Session) -> dict[str, Any]:
        check_seat_cap(session, state.workspace.licence)
        user = create_user(
            session,
            org_id=principal.org_id,
            email=body.email,
            role=body.role,
            granted_by=principal.role,
            actor=principal.actor,
            clock=state.clock,
        )
        return user.to_dict()

    return run_write(
        state, principal, request, work, body=body, idempotency_key=idempotency_key,
        status_code=201,
    )  # fmt: skip


@router.get("/{user_id}", response_model=UserOut)
def get_one_user(
    user_id: str = Path(max_length=40),
    principal: Principal = require("users:read"),
    state: AppState = Depends(get_state),
) -> dict[str, Any]:
    """One user of the organization, ``active`` or ``disabled`` (another organization's
    user is a 404)."""
    with state.transaction() as session:
        return get_user(session, user_id, org_id=principal.org_id).to_dict()


@router.delete(
    "/{user_id}",
    response_model=UserOut,
    summary="Disable a user (soft delete)",
    responses=problems("last_admin"),
    openapi_extra={"x-soft-delete": True},
)
def delete_user(
    request: Request,
    user_id: str = Path(max_length=40),
    principal: Principal = require("users:write"),
    state: AppState = Depends(get_state),
) -> Response:
    """**Soft delete**: disable the user and revoke their keys; nothing is erased.

    The answer is the user with ``status`` ``disabled`` and ``disabled_at``. The user
    stays readable (``GET /v1/users/{user_id}``) and listed, with that status, so that
    audit events and annotations keep naming a known user; their keys stay listed as
    ``revoked``. Repeating it changes nothing and answers the same user (idempotent).
    A disabled user's email cannot be added again (409 ``user_exists``). A user holding
    the organization's last active ``owner`` or ``admin`` key is not disabled: 409
    ``last_admin``.
    """

    def work(session: Session) -> dict[str, Any]:
        user = disable_user(
            session,
            user_id,
            org_id=principal.org_id,
            granted_by=principal.role,
            actor=principal.actor,
            clock=state.clock,
        )
        return user.to_dict()

    return run_write(state, principal, request, work)
