"""API keys: the list, create (the secret is shown once), revoke.

Domain calls, as the ``/v1/keys`` routes: :func:`baryon.tenancy.keys.list_keys`,
:func:`~baryon.tenancy.keys.create_key` (at most the signed-in key's role:
``role_too_high`` otherwise) and :func:`~baryon.tenancy.keys.revoke_key` (which also
ends the revoked key's console sessions). Reading needs ``keys:read``, the forms
``keys:write`` (owners and admins). The page that shows a new secret is never
cached (``Cache-Control: no-store``) and the secret is not stored anywhere.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Path, Query, Request
from starlette.responses import RedirectResponse, Response

from baryon.core.errors import BaryonError
from baryon.serving.console._app import Page, base_path, render
from baryon.serving.console._auth import ConsoleUser, console_require, console_state
from baryon.serving.deps import AppState
from baryon.tenancy.keys import create_key, list_keys, parse_duration, revoke_key
from baryon.tenancy.permissions import ROLE_RANK, ROLES

__all__ = ["router"]

router = APIRouter()
#: Keys per page of the list.
PAGE_SIZE = 50


def _keys_page(
    request: Request,
    state: AppState,
    user: ConsoleUser,
    *,
    page: int = 1,
    status: int = 200,
    created: dict[str, Any] | None = None,
    error: BaryonError | None = None,
    done: str | None = None,
) -> Response:
    now = state.clock.now()
    with state.transaction() as session:
        keys = list_keys(session, user.principal.org_id)
    pager = Page(page, PAGE_SIZE, len(keys))
    shown = list(reversed(keys))[pager.offset : pager.offset + PAGE_SIZE]
    rank = ROLE_RANK[user.principal.role]
    return render(
        request, "keys.html", user, status=status, title="API keys", nav="keys",
        keys=[(k, k.status(now)) for k in shown], page=pager, created=created, error=error,
        roles=[r for r in ROLES if ROLE_RANK[r] <= rank], done=done,
    )  # fmt: skip


@router.get("/keys", include_in_schema=False)
def keys(
    request: Request,
    page: int = Query(1, ge=1, le=100_000),
    done: str | None = Query(None, max_length=20),
    user: ConsoleUser = console_require("keys:read"),
) -> Response:
    """The organization's keys, newest first (prefix and status, never a secret)."""
    message = "Key revoked." if done == "revoked" else None
    return _keys_page(request, console_state(request), user, page=page, done=message)


@router.post("/keys", include_in_schema=False)
def create(
    request: Request,
    name: str = Form("", max_length=100),
    role: str = Form(max_length=16),
    expires_in: str = Form("", max_length=20),
    user: ConsoleUser = console_require("keys:write"),
) -> Response:
    """Make a key and show its secret, once."""
    state = console_state(request)
    principal = user.principal
    try:
        expires_at = None
        if expires_in.strip():
            expires_at = state.clock.now() + parse_duration(expires_in)
        with state.transaction() as session:
            made = create_key(
                session, org_id=principal.org_id, role=role, name=name, expires_at=expires_at,
                granted_by=principal.role, actor=principal.actor, clock=state.clock,
            )  # fmt: skip
    except BaryonError as exc:
        return _keys_page(request, state, user, status=exc.http_status, error=exc)
    created = {"name": made.key.name, "role": made.key.role, "secret": made.secret}
    return _keys_page(request, state, user, status=201, created=created)


@router.post("/keys/{key_id}/revoke", include_in_schema=False)
def revoke(
    request: Request,
    key_id: str = Path(max_length=40),
    user: ConsoleUser = console_require("keys:write"),
) -> Response:
    """Revoke a key: API calls with it and its console sessions end at once."""
    state = console_state(request)
    principal = user.principal
    try:
        with state.transaction() as session:
            revoke_key(
                session, key_id, org_id=principal.org_id, granted_by=principal.role,
                actor=principal.actor, clock=state.clock,
            )  # fmt: skip
    except BaryonError as exc:
        if exc.http_status == 404:
            raise
        return _keys_page(request, state, user, status=exc.http_status, error=exc)
    return RedirectResponse(f"{base_path(request)}/keys?done=revoked", status_code=303)
