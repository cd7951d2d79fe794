"""The console app: templates, static files, security headers, error pages.

:func:`create_console` builds a small FastAPI app that
:func:`baryon.serving.app.create_app` mounts under ``/console``. It shares the parent's
:class:`~baryon.serving.deps.AppState` (through a getter: the state exists only once
the server started) and therefore its workspace, clock and job queue.

Every response of the console, pages, static files and errors alike, carries
:data:`SECURITY_HEADERS`: a Content-Security-Policy that allows scripts, styles,
images and requests from the console's own origin only (no inline script, no
``eval``), ``X-Frame-Options: DENY``, ``X-Content-Type-Options: nosniff`` and
``Referrer-Policy: no-referrer``. Pages also carry ``Cache-Control: no-store`` (a key's
secret is shown once, and a page may hold the organization's data).

Templates are Jinja2 with autoescaping on for every template: whatever a user stored
(a dataset's column names, a key's name, an error message that quotes input) is
rendered as text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from jinja2 import Environment, PackageLoader
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from baryon.core.errors import BaryonError
from baryon.serving.console._auth import ConsoleUser, LoginRequired, require_console_licence
from baryon.serving.deps import AppState

__all__ = ["SECURITY_HEADERS", "Page", "base_path", "create_console", "render"]

#: Headers on every console response.
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}
_RAW_HEADERS = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
_STATUS_CODES = {404: "not_found", 405: "method_not_allowed", 422: "invalid_input"}


class _SecurityHeaders:
    """ASGI middleware: add :data:`SECURITY_HEADERS` to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in _RAW_HEADERS if k not in names]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


@dataclass(frozen=True)
class Page:
    """One page of a long list.

    Attributes
    ----------
    number : int
        1-based page number.
    size : int
        Items per page.
    total : int
        Items in the whole list.
    """

    number: int
    size: int
    total: int

    @property
    def offset(self) -> int:
        """Items before this page."""
        return (self.number - 1) * self.size

    @property
    def count(self) -> int:
        """Pages in the whole list (at least 1)."""
        return max(1, -(-self.total // self.size))

    @property
    def previous(self) -> int | None:
        """The previous page's number, if any."""
        return self.number - 1 if self.number > 1 else None

    @property
    def next(self) -> int | None:
        """The next page's number, if any."""
        return self.number + 1 if self.number < self.count else None


def base_path(request: Request) -> str:
    """Where the console is mounted (``/console``, or under a proxy's prefix)."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def _when(value: Any) -> str:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if not isinstance(value, datetime):
        return "—" if value is None else str(value)
    return value.strftime("%Y-%m-%d %H:%M UTC")


def _number(value: Any, digits: int = 4) -> str:
    if isinstance(value, bool) or value is None:
        return "—" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def _templates() -> Jinja2Templates:
    env = Environment(
        loader=PackageLoader("baryon.serving.console", "templates"),
        autoescape=True,  # every template, whatever its name
        auto_reload=False,
    )
    env.filters["when"] = _when
    env.filters["number"] = _number
    return Jinja2Templates(env=env)


def render(
    request: Request,
    template: str,
    user: ConsoleUser | None,
    *,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render a console template as an HTML response (no-store)."""
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(
        request,
        template,
        {"user": user, "base": base_path(request), **context},
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )


def _error_page(request: Request, status: int, code: str, message: str) -> Response:
    user = getattr(request.state, "console_user", None)
    return render(
        request, "error.html", user, status=status, code=code, message=message, title="Error"
    )


async def _on_baryon_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BaryonError)
    if isinstance(exc, LoginRequired):
        login = f"{base_path(request)}/login"
        if request.headers.get("HX-Request"):
            return Response(status_code=204, headers={"HX-Redirect": login})
        return RedirectResponse(login, status_code=303, headers={"Cache-Control": "no-store"})
    status = exc.http_status
    message = exc.message if status < 500 else "the server could not complete this request"
    return _error_page(request, status, exc.code, message)


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()[:5]
    where = ", ".join(
        f"{'.'.join(str(p) for p in err.get('loc', ())[1:]) or 'request'} ({err.get('msg', '')})"
        for err in errors
    )
    in_form = any(err.get("loc", ("",))[0] == "body" for err in errors)
    what = "a field of the form" if in_form else "this page's address"
    return _error_page(request, 422, "invalid_input", f"{what} is not valid: {where}")


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _STATUS_CODES.get(exc.status_code, "http_error")
    message = "no such page" if exc.status_code == 404 else str(exc.detail)
    return _error_page(request, exc.status_code, code, message)


def create_console(state: Callable[[], AppState]) -> FastAPI:
    """Build the console app (mounted by :func:`baryon.serving.app.create_app`).

    Parameters
    ----------
    state : callable
        Returns the parent app's :class:`AppState` (called per request).

    Returns
    -------
    FastAPI
        With no OpenAPI document of its own: the console is not part of the API.
    """
    from baryon.serving.console import (
        _datasets,
        _invoices,
        _iterations,
        _keys,
        _labeling,
        _login,
        _models,
        _overview,
        _recommender,
        _runs,
        _sentiment,
        _support,
        _users,
    )

    console = FastAPI(
        openapi_url=None, docs_url=None, redoc_url=None, debug=False,
        dependencies=[Depends(require_console_licence)],  # the licence feature ``console``
    )  # fmt: skip
    console.state.app_state = state
    console.state.templates = _templates()
    console.mount(
        "/static", StaticFiles(packages=[("baryon.serving.console", "static")]), name="static"
    )
    for module in (
        _login, _overview, _runs, _models, _datasets, _labeling, _support, _sentiment,
        _recommender, _iterations, _keys, _users, _invoices,
    ):  # fmt: skip
        console.include_router(module.router)
    console.add_exception_handler(BaryonError, _on_baryon_error)
    console.add_exception_handler(RequestValidationError, _on_validation_error)
    console.add_exception_handler(StarletteHTTPException, _on_http_error)
    console.add_middleware(_SecurityHeaders)
    return console
