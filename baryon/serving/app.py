"""The FastAPI app factory.

:func:`create_app` builds the whole HTTP API from :class:`~baryon.core.config.Settings`::

    from baryon import Settings
    from baryon.serving import create_app

    app = create_app(Settings(home="~/.baryon"))

It mounts one router per resource (:mod:`baryon.serving.routers`), the problem+json
error handlers, the request middleware (body cap, metrics, last-resort errors) and an
app state holding the workspace, clock, rate limiter and model resolver. Building the
app does no I/O when no workspace is given: the workspace is opened (and migrated)
when the server starts (lifespan), and closed when it stops.

Deny by default: :func:`check_route_permissions` runs when the app is built **and**
when it starts, and refuses any route that declares no permission (see
:func:`baryon.serving.auth.require` and :func:`~baryon.serving.auth.public`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from baryon import __version__
from baryon.commerce.limits import RateLimiter, open_rate_limiter
from baryon.core.clock import Clock, SystemClock
from baryon.core.config import Settings
from baryon.core.errors import BaryonError
from baryon.predictions.inference import ModelResolver, RegistryModelResolver
from baryon.serving.auth import declared_permission
from baryon.serving.deps import AppState
from baryon.serving.errors import install_error_handlers
from baryon.serving.observability import Metrics, RequestMiddleware
from baryon.serving.routers import ROUTERS, STREAMED
from baryon.workspace import Workspace

__all__ = ["check_route_permissions", "create_app", "create_app_from_env", "route_permissions"]

_DESCRIPTION = """\
Baryon's metered AI API. Every route except `/healthz` and `/readyz` needs
`Authorization: Bearer <API key>`. Errors are `application/problem+json` with a
stable `code`. Responses carry `RateLimit-Limit`, `RateLimit-Remaining` and
`RateLimit-Reset`; a 429 carries `Retry-After`. POST routes take an
`Idempotency-Key` header (except `POST /v1/keys`): a retry with the same key and body
returns the first response and is metered once. Dataset writes need none: they
are idempotent by content (the same upload or steps give the same version, 200).
Uploads (`POST /v1/datasets`) are `multipart/form-data`, streamed to disk and capped
by `BARYON_MAX_UPLOAD_BYTES` (413 `upload_too_large`).
"""


def route_permissions(app: FastAPI) -> dict[tuple[str, str], str | None]:
    """Return ``{(method, path): permission}`` for every API route of ``app``.

    ``permission`` is ``"public"`` for open routes and ``None`` when undeclared.
    """
    out: dict[tuple[str, str], str | None] = {}
    for context in iter_route_contexts(app.routes):
        if not isinstance(context.original_route, APIRoute):
            continue
        permission = declared_permission(context.dependant)
        for method in sorted(context.methods or ()):
            out[(method, str(context.path))] = permission
    return out


def check_route_permissions(app: FastAPI) -> None:
    """Refuse an app with a route that declares no permission.

    Raises
    ------
    BaryonError
        Code ``route_without_permission``, naming every such route.
    """
    missing = sorted(f"{m} {p}" for (m, p), perm in route_permissions(app).items() if perm is None)
    if missing:
        raise BaryonError(
            "every route must declare a permission (require(...) or public()); "
            f"these do not: {', '.join(missing)}",
            code="route_without_permission",
        )


def create_app(
    settings: Settings,
    *,
    workspace: Workspace | None = None,
    clock: Clock | None = None,
    resolver: ModelResolver | None = None,
    rate_limiter: RateLimiter | str = "database",
    routers: Iterable[APIRouter] = (),
) -> FastAPI:
    """Build the HTTP API.

    Parameters
    ----------
    settings : Settings
        Built once by the caller (``baryon serve``, a test).
    workspace : Workspace, optional
        An open workspace; by default one is opened from ``settings`` at start-up
        (lifespan) and closed at shutdown.
    clock : Clock, optional
        Time source for keys, limits, quotas and records (default: the system clock;
        tests pass a :class:`~baryon.core.clock.FixedClock`).
    resolver : ModelResolver, optional
        Where models come from (default: the workspace's model registry). Solutions
        and tests plug in here.
    rate_limiter : RateLimiter or str
        A back end, or its name for :func:`~baryon.commerce.limits.open_rate_limiter`
        (``"database"``, the default, shared by every worker; ``"memory"``).
    routers : iterable of APIRouter
        Extra routers (e.g. a solution's). Their routes must declare permissions too.

    Returns
    -------
    FastAPI

    Raises
    ------
    BaryonError
        Code ``route_without_permission`` if a route declares no permission.
    """
    clock = clock or SystemClock()
    metrics = Metrics()

    def build_state(ws: Workspace) -> AppState:
        limiter = (
            rate_limiter
            if isinstance(rate_limiter, RateLimiter)
            else open_rate_limiter(rate_limiter, ws.db)
        )
        return AppState(
            settings=settings,
            workspace=ws,
            clock=clock,
            limiter=limiter,
            resolver=resolver or RegistryModelResolver(ws),
            metrics=metrics,
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        check_route_permissions(app)
        opened = None
        if getattr(app.state, "baryon", None) is None:
            opened = Workspace.open(settings, clock=clock)
            app.state.baryon = build_state(opened)
        try:
            yield
        finally:
            if opened is not None:
                app.state.baryon.limiter.close()
                opened.close()
                app.state.baryon = None

    app = FastAPI(
        title="Baryon API",
        version=__version__,
        description=_DESCRIPTION,
        lifespan=lifespan,
        debug=False,
    )
    app.state.baryon = None if workspace is None else build_state(workspace)
    for router in (*ROUTERS, *routers):
        app.include_router(router)
    install_error_handlers(app)
    app.add_middleware(
        RequestMiddleware,
        max_body_bytes=settings.max_body_bytes,
        metrics=metrics,
        streamed=STREAMED,
    )
    check_route_permissions(app)
    return app


def create_app_from_env() -> FastAPI:
    """App factory for ``uvicorn --factory`` worker processes: ``Settings()`` from ``BARYON_*``.

    ``baryon serve`` exports the options it was given (``--home`` as ``BARYON_HOME``)
    before starting the workers, so each worker builds the same settings.
    """
    return create_app(Settings())
