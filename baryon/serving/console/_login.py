"""Signing in and out: ``/console/login`` (an API key) and ``/console/logout``.

Signing in checks the key exactly as the API does
(:func:`baryon.serving.auth.authenticate`: unknown, revoked and expired keys are
refused with their codes, and the attempt counts against the key's rate limit), then
opens a server-side session (:func:`baryon.tenancy.sessions.open_session`) and sets
its cookie: ``HttpOnly``, ``SameSite=Strict``, ``Secure`` when the request came over
https, ``Path`` the console, ``Max-Age`` the session's lifetime. A session cookie
already in the browser is closed first (no session fixation). The login form is
protected by a double-submit cookie, since no session exists yet.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Form, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from baryon.core.errors import Unauthorized
from baryon.serving.auth import authenticate, public
from baryon.serving.console._app import base_path, render
from baryon.serving.console._auth import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    ConsoleUser,
    console_require,
    console_state,
    find_user,
    login_token,
    same_token,
)
from baryon.serving.deps import AppState
from baryon.tenancy.sessions import close_session, open_session

__all__ = ["router"]

router = APIRouter()


def _login_page(
    request: Request, *, status: int = 200, code: str = "", message: str = ""
) -> Response:
    token = login_token()
    response = render(
        request, "login.html", None, status=status, title="Sign in",
        login_csrf=token, code=code, message=message,
    )  # fmt: skip
    response.set_cookie(
        LOGIN_COOKIE, token, httponly=True, samesite="strict",
        secure=request.url.scheme == "https", path=base_path(request) or "/", max_age=3600,
    )  # fmt: skip
    return response


@router.get("/login", include_in_schema=False)
def login_form(request: Request, _: None = public()) -> Response:
    """The sign-in page (a signed-in browser goes to the overview)."""
    token = request.cookies.get(SESSION_COOKIE)
    if token and len(token) <= 100 and find_user(console_state(request), token) is not None:
        return RedirectResponse(f"{base_path(request)}/", status_code=303)
    return _login_page(request)


def _open(state: AppState, secret: str, old_token: str | None) -> tuple[str, int]:
    principal, decision = authenticate(state, secret)
    if not decision.allowed:
        raise Unauthorized(
            "too many attempts with this key: wait a minute and try again", code="rate_limited"
        )
    lifetime = timedelta(seconds=state.settings.console_session_seconds)
    with state.transaction() as session:
        if old_token:
            close_session(session, old_token, reason="logout", clock=state.clock)
        opened = open_session(
            session,
            org_id=principal.org_id,
            key_id=principal.key_id,
            lifetime=lifetime,
            clock=state.clock,
        )
    return opened.token, int(lifetime.total_seconds())


@router.post("/login", include_in_schema=False)
async def login(
    request: Request,
    api_key: str = Form("", max_length=200),
    csrf_token: str = Form("", max_length=200),
    _: None = public(),
) -> Response:
    """Check the key and open a session; back to the form with the error code otherwise."""
    if not same_token(csrf_token, request.cookies.get(LOGIN_COOKIE) or ""):
        code = "csrf_missing" if not csrf_token else "csrf_invalid"
        return _login_page(
            request, status=403, code=code, message="the form expired: sign in again"
        )
    old = request.cookies.get(SESSION_COOKIE)
    try:
        token, max_age = await run_in_threadpool(
            _open, console_state(request), api_key.strip(), old if old and len(old) <= 100 else None
        )
    except Unauthorized as exc:
        status = 429 if exc.code == "rate_limited" else 401
        return _login_page(request, status=status, code=exc.code, message=exc.message)
    base = base_path(request)
    response = RedirectResponse(f"{base}/", status_code=303, headers={"Cache-Control": "no-store"})
    response.set_cookie(
        SESSION_COOKIE, token, max_age=max_age, httponly=True, samesite="strict",
        secure=request.url.scheme == "https", path=base or "/",
    )  # fmt: skip
    response.delete_cookie(LOGIN_COOKIE, path=base or "/", httponly=True, samesite="strict")
    return response


@router.post("/logout", include_in_schema=False)
def logout(request: Request, user: ConsoleUser = console_require("org:read")) -> Response:
    """End the session (the row is deleted: the cookie is worthless afterwards)."""
    state = console_state(request)
    token = request.cookies.get(SESSION_COOKIE, "")
    with state.transaction() as session:
        close_session(session, token, reason="logout", clock=state.clock)
    base = base_path(request)
    response = RedirectResponse(f"{base}/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=base or "/", httponly=True, samesite="strict")
    return response
