"""Users: the organization's people, add one, disable one (next to the keys page).

Domain calls, as the ``/v1/users`` routes: :func:`baryon.tenancy.users.list_users`,
:func:`~baryon.tenancy.users.create_user` (after
:func:`baryon.commerce.licences.check_seat_cap`; at most the signed-in key's role,
``role_too_high`` otherwise) and :func:`~baryon.tenancy.users.disable_user` (which
revokes the user's keys; the holder of the last active owner or admin key is refused,
``last_admin``). Reading needs ``users:read``, the forms ``users:write`` (owners and
admins); both are audited as over HTTP.
"""

from __future__ import annotations

from fastapi import APIRouter, Form, Path, Query, Request
from starlette.responses import RedirectResponse, Response

from baryon.commerce.licences import check_seat_cap
from baryon.core.errors import BaryonError
from baryon.serving.console._app import Page, base_path, render
from baryon.serving.console._auth import ConsoleUser, console_require, console_state
from baryon.serving.deps import AppState
from baryon.tenancy.permissions import ROLE_RANK, ROLES
from baryon.tenancy.users import create_user, disable_user, list_users

__all__ = ["router"]

router = APIRouter()
#: Users per page of the list.
PAGE_SIZE = 50
_DONE = {"created": "User added.", "disabled": "User disabled; their keys are revoked."}


def _users_page(
    request: Request,
    state: AppState,
    user: ConsoleUser,
    *,
    page: int = 1,
    status: int = 200,
    done: str | None = None,
    error: BaryonError | None = None,
) -> Response:
    with state.transaction() as session:
        users = list_users(session, user.principal.org_id)
    pager = Page(page, PAGE_SIZE, len(users))
    rank = ROLE_RANK[user.principal.role]
    return render(
        request, "users.html", user, status=status, title="Users", nav="users",
        users=users[pager.offset : pager.offset + PAGE_SIZE], page=pager,
        roles=[r for r in ROLES if ROLE_RANK[r] <= rank], done=_DONE.get(done or ""),
        error=error,
    )  # fmt: skip


@router.get("/users", include_in_schema=False)
def users(
    request: Request,
    page: int = Query(1, ge=1, le=100_000),
    done: str | None = Query(None, max_length=20),
    user: ConsoleUser = console_require("users:read"),
) -> Response:
    """The organization's users, oldest first."""
    return _users_page(request, console_state(request), user, page=page, done=done)


@router.post("/users", include_in_schema=False)
def create(
    request: Request,
    email: str = Form(max_length=320),
    role: str = Form(max_length=16),
    user: ConsoleUser = console_require("users:write"),
) -> Response:
    """Add a user to the organization."""
    state = console_state(request)
    principal = user.principal
    try:
        with state.transaction() as session:
            check_seat_cap(session, state.workspace.licence)
            create_user(
                session, org_id=principal.org_id, email=email, role=role,
                granted_by=principal.role, actor=principal.actor, clock=state.clock,
            )  # fmt: skip
    except BaryonError as exc:
        return _users_page(request, state, user, status=exc.http_status, error=exc)
    return RedirectResponse(f"{base_path(request)}/users?done=created", status_code=303)


@router.post("/users/{user_id}/disable", include_in_schema=False)
def disable(
    request: Request,
    user_id: str = Path(max_length=40),
    user: ConsoleUser = console_require("users:write"),
) -> Response:
    """Disable a user and revoke their keys."""
    state = console_state(request)
    principal = user.principal
    try:
        with state.transaction() as session:
            disable_user(
                session, user_id, org_id=principal.org_id, granted_by=principal.role,
                actor=principal.actor, clock=state.clock,
            )  # fmt: skip
    except BaryonError as exc:
        if exc.http_status == 404:
            raise
        return _users_page(request, state, user, status=exc.http_status, error=exc)
    return RedirectResponse(f"{base_path(request)}/users?done=disabled", status_code=303)
