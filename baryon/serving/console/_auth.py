"""Who is signed in to the console: the session cookie, the CSRF token, the permission.

A console route declares its permission like an API route, with :func:`console_require`
(``user: ConsoleUser = console_require("runs:read")``). Its dependency,
:class:`ConsoleAuthorize`, is an :class:`~baryon.serving.auth.Authorize`, so the
deny-by-default check (:func:`baryon.serving.app.check_route_permissions`) reads it
like any other; it then

1. reads the session cookie (:data:`SESSION_COOKIE`) and finds the session with its key,
   organization and plan in one query (:data:`baryon.serving.auth.KEY_QUERY`); no
   cookie, an unknown or expired session, or a revoked or expired key (its session
   is then deleted) is :class:`LoginRequired`: the browser goes to the login page;
2. on an unsafe method (anything but ``GET``, ``HEAD``, ``OPTIONS``) checks the CSRF
   token, from the ``X-CSRF-Token`` header (htmx requests) or the form field
   ``csrf_token`` (plain forms): missing is 403 ``csrf_missing``, wrong is 403
   ``csrf_invalid``;
3. on an unsafe method of a route that needs more than a ``:read`` permission (a
   form that changes something; signing out does not), refuses it when the install's
   licence is read-only (403 ``licence_read_only``:
   :func:`baryon.commerce.licences.require_writable`);
4. checks the permission with the API's own check
   (:func:`~baryon.serving.auth.check_permission`, 403 ``forbidden``).

:func:`require_console_licence`, a dependency of every console route, refuses the
whole console (a page with 403 ``licence_feature``) when the install's licence does not
name the ``console`` feature; the open edition has it.

The CSRF token is ``HMAC-SHA256(session token, "baryon-console-csrf")``: one per
session, never stored, and useless without the cookie it derives from (the
synchronizer-token pattern of the OWASP CSRF cheat sheet, in its HMAC form). The login
form, before any session exists, uses a double-submit cookie (:data:`LOGIN_COOKIE`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import Depends, Request
from sqlalchemy import bindparam, update
from starlette.concurrency import run_in_threadpool

from baryon.commerce.licences import require_writable
from baryon.core.errors import Forbidden, Unauthorized
from baryon.serving.auth import (
    KEY_QUERY,
    Authorize,
    Principal,
    check_key_usable,
    check_permission,
    principal_of,
)
from baryon.serving.deps import AppState
from baryon.tenancy.keys import hash_secret
from baryon.tenancy.sessions import close_session
from baryon.tenancy.tables import ApiKeyRow, ConsoleSessionRow

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "LOGIN_COOKIE",
    "SESSION_COOKIE",
    "ConsoleAuthorize",
    "ConsoleUser",
    "LoginRequired",
    "console_require",
    "console_state",
    "csrf_token",
    "login_token",
    "require_console_licence",
    "same_token",
]

#: The session cookie: HttpOnly, SameSite=Strict, Secure under https, path /console.
SESSION_COOKIE = "baryon_console"
#: The login form's double-submit cookie (before any session exists).
LOGIN_COOKIE = "baryon_console_login"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_CSRF_LABEL = b"baryon-console-csrf"
_LAST_SEEN_RESOLUTION = timedelta(minutes=1)

_FIND_SESSION = (
    KEY_QUERY.add_columns(
        ConsoleSessionRow.id.label("session_id"),
        ConsoleSessionRow.expires_at.label("session_expires_at"),
        ConsoleSessionRow.last_seen_at.label("session_last_seen_at"),
    )
    .join(ConsoleSessionRow, ConsoleSessionRow.key_id == ApiKeyRow.id)
    .where(ConsoleSessionRow.token_sha256 == bindparam("digest"))
)
_TOUCH_SESSION = (
    update(ConsoleSessionRow)
    .where(ConsoleSessionRow.id == bindparam("session_id"))
    .values(last_seen_at=bindparam("now"))
)


class LoginRequired(Unauthorized):
    """No live console session: the browser is sent to the login page."""

    code = "login_required"


@dataclass(frozen=True)
class ConsoleUser:
    """The signed-in key, as a console page sees it.

    Attributes
    ----------
    principal : Principal
        The key: organization, role, permissions, plan (as for an API request).
    session_id : str
    expires_at : datetime
        When the session ends (UTC).
    csrf : str
        The session's CSRF token (64 hex characters), put in every form.
    """

    principal: Principal
    session_id: str
    expires_at: datetime
    csrf: str

    def can(self, permission: str) -> bool:
        """Whether the key's role holds ``permission`` (what the page may offer)."""
        return permission in self.principal.permissions


def csrf_token(session_token: str) -> str:
    """Return the CSRF token of a session: HMAC-SHA256 of its token (64 hex characters)."""
    return hmac.new(session_token.encode("utf-8"), _CSRF_LABEL, hashlib.sha256).hexdigest()


def login_token() -> str:
    """Return a fresh value for the login form's double-submit cookie."""
    return secrets.token_urlsafe(32)


def same_token(given: str | None, expected: str) -> bool:
    """Compare a token from a request with the expected one in constant time (an empty
    token never matches, not even an empty one)."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def console_state(request: Request) -> AppState:
    """The parent app's :class:`AppState` (the console is mounted inside it)."""
    state: AppState = request.app.state.app_state()
    return state


def require_console_licence(request: Request) -> None:
    """Dependency of every console route: the install's licence must name ``console``.

    Raises
    ------
    LicenceError
        ``licence_feature`` (403): shown as the console's error page.
    """
    console_state(request).workspace.require_feature("console")


def find_user(state: AppState, token: str) -> ConsoleUser | None:
    """Return the signed-in key of session ``token``, or ``None`` (no live session).

    A session that expired, or whose key was revoked or expired, is deleted here.
    """
    now = state.clock.now()
    with state.transaction() as session:
        found = session.execute(_FIND_SESSION, {"digest": hash_secret(token)}).first()
        if found is None:
            return None
        row = found._mapping
        reason = None
        if row["session_expires_at"] <= now:
            reason = "expired"
        else:
            try:
                check_key_usable(row, now)
            except Unauthorized as exc:
                reason = exc.code
        if reason is not None:
            close_session(session, token, reason=reason, clock=state.clock)
            return None
        if now - row["session_last_seen_at"] >= _LAST_SEEN_RESOLUTION:
            session.execute(_TOUCH_SESSION, {"session_id": row["session_id"], "now": now})
        return ConsoleUser(
            principal=principal_of(row),
            session_id=row["session_id"],
            expires_at=row["session_expires_at"],
            csrf=csrf_token(token),
        )


async def _submitted_csrf(request: Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/x-www-form-urlencoded"):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


def check_csrf(user: ConsoleUser, submitted: str | None) -> None:
    """Refuse an unsafe request without the session's CSRF token.

    Raises
    ------
    Forbidden
        ``csrf_missing`` (no token) or ``csrf_invalid`` (another token).
    """
    if not submitted:
        raise Forbidden("this form has no CSRF token: reload the page", code="csrf_missing")
    if not same_token(submitted, user.csrf):
        raise Forbidden("this form's CSRF token is not valid: reload the page", code="csrf_invalid")


class ConsoleAuthorize(Authorize):
    """Console dependency: session, then CSRF (unsafe methods), then ``permission``.

    Parameters
    ----------
    permission : str
        One of :data:`baryon.tenancy.permissions.PERMISSIONS`.
    csrf : bool
        Check the CSRF token here (default). ``False`` only for a route that reads
        its own body (the upload) and calls :func:`check_csrf` itself before acting.
    """

    def __init__(self, permission: str, *, csrf: bool = True) -> None:
        super().__init__(permission)
        self.csrf = csrf

    async def __call__(self, request: Request) -> ConsoleUser:  # type: ignore[override]
        """Return the :class:`ConsoleUser` or raise (see the module docstring)."""
        token = request.cookies.get(SESSION_COOKIE)
        if not token or len(token) > 100:
            raise LoginRequired("sign in to use the console")
        user = await run_in_threadpool(find_user, console_state(request), token)
        if user is None:
            raise LoginRequired("your session ended: sign in again")
        if self.csrf and request.method not in _SAFE_METHODS:
            check_csrf(user, await _submitted_csrf(request))
        if request.method not in _SAFE_METHODS and not self.permission.endswith(":read"):
            state = console_state(request)  # a form that changes something (not sign-out)
            require_writable(state.workspace.licence, state.clock.now())
        check_permission(user.principal, self.permission)
        request.state.console_user = user
        return user


def console_require(permission: str, *, csrf: bool = True) -> Any:
    """Return the dependency of a console route that needs ``permission``."""
    return Depends(ConsoleAuthorize(permission, csrf=csrf))


def error_user(request: Request) -> ConsoleUser | None:
    """The signed-in user of a request that failed (for the error page's header)."""
    user = getattr(request.state, "console_user", None)
    return user if isinstance(user, ConsoleUser) else None
