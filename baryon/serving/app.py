"""The FastAPI app factory.

:func:`create_app` builds the whole HTTP API from :class:`~baryon.core.config.Settings`::

    from baryon import Settings
    from baryon.serving import create_app

    app = create_app(Settings(home="~/.baryon"))

It mounts one router per resource (:mod:`baryon.serving.routers`), the services of
``settings.services`` (:mod:`baryon.serving.routers.services`; their ``setup()`` runs
at start-up, a failure logged and answered 503 while the rest serves), the web console
under ``/console`` (:mod:`baryon.serving.console`, its own small app), the problem+json
error handlers, the request middleware (body cap, metrics, last-resort errors) and an
app state holding the workspace, clock, rate limiter and model resolver. Building the
app does no I/O when no workspace is given: the workspace is opened (and migrated)
when the server starts (lifespan), and closed when it stops.

Deny by default: :func:`check_route_permissions` runs when the app is built **and**
when it starts (the console's routes when it is built), and refuses any route that
declares no permission (see
:func:`baryon.serving.auth.require` and :func:`~baryon.serving.auth.public`).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import socket
from collections.abc import AsyncIterator, Iterable, Mapping

import anyio.to_thread
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from baryon import __version__
from baryon.commerce.limits import RateLimiter, open_rate_limiter
from baryon.commerce.quotas import QuotaCounter, open_quota_counter
from baryon.core.clock import Clock, SystemClock
from baryon.core.config import Settings
from baryon.core.errors import BaryonError
from baryon.job_kinds import default_job_handlers, default_schedule_kinds
from baryon.jobs import (
    BackgroundWorker,
    Handler,
    JobQueue,
    ScheduledKind,
    Scheduler,
    Worker,
    open_wakeup,
)
from baryon.predictions.batching import MicroBatcher
from baryon.predictions.inference import ModelResolver, RegistryModelResolver
from baryon.services import ServedService, load_services
from baryon.serving.auth import declared_permission
from baryon.serving.console import CONSOLE_PATH, create_console
from baryon.serving.console import STREAMED as CONSOLE_STREAMED
from baryon.serving.deps import AppState
from baryon.serving.errors import install_error_handlers
from baryon.serving.observability import Metrics, RequestMiddleware
from baryon.serving.openapi import openapi_document
from baryon.serving.routers import ROUTERS, STREAMED, models
from baryon.serving.routers.services import services_router
from baryon.workspace import Workspace

__all__ = ["check_route_permissions", "create_app", "create_app_from_env", "route_permissions"]

logger = logging.getLogger("baryon.serving")

#: Seconds the server's shutdown waits for the in-process worker's current job.
_WORKER_STOP_SECONDS = 10.0

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
    rate_limiter: RateLimiter | str | None = None,
    quota_counter: QuotaCounter | None = None,
    routers: Iterable[APIRouter] = (),
    job_handlers: Mapping[str, Handler] | None = None,
    schedule_kinds: Mapping[str, ScheduledKind] | None = None,
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
    rate_limiter : RateLimiter or str, optional
        A back end, or its name for :func:`~baryon.commerce.limits.open_rate_limiter`
        (``"database"``, shared by every worker; ``"memory"``; ``"redis"`` or a
        ``redis://`` URL). Default: ``settings.limits`` (``BARYON_LIMITS``).
    quota_counter : QuotaCounter, optional
        Where quota reservations are counted (default: the one of the limits back
        end's name, :func:`~baryon.commerce.quotas.open_quota_counter`: Redis for a
        Redis back end, else the database).
    routers : iterable of APIRouter
        Extra routers (e.g. a solution's). Their routes must declare permissions too.
    job_handlers : mapping of str to Handler, optional
        ``kind → handler`` run by the in-process job worker (default:
        :func:`baryon.job_kinds.default_job_handlers`). The worker starts with the
        server (lifespan) when ``settings.inprocess_worker`` is true,
        after recovering jobs whose worker died (:meth:`~baryon.jobs.JobQueue.reap`),
        and stops at shutdown.
    schedule_kinds : mapping of str to ScheduledKind, optional
        The job kinds ``/v1/schedules`` accepts and the in-process worker fires
        (default: :func:`baryon.job_kinds.default_schedule_kinds`).

    Returns
    -------
    FastAPI

    Raises
    ------
    BaryonError
        Code ``route_without_permission`` if a route declares no permission.
    InvalidInput
        Code ``invalid_service``: a service of ``settings.services`` cannot be loaded.
    """
    clock = clock or SystemClock()
    served = load_services(settings.services, owner_org_id=settings.services_org)
    metrics = Metrics()
    handlers = dict(default_job_handlers() if job_handlers is None else job_handlers)
    kinds = dict(default_schedule_kinds() if schedule_kinds is None else schedule_kinds)

    def build_state(ws: Workspace) -> AppState:
        licence = ws.licence  # a broken installed licence refuses to start (LicenceError)
        if licence is not None:
            logger.info(
                "licensed to %s until %s (%s)",
                licence.licensee,
                licence.expires_at.date(),
                licence.state(clock.now()),
            )
        limits = rate_limiter if isinstance(rate_limiter, str) else settings.limits
        limiter = (
            rate_limiter
            if isinstance(rate_limiter, RateLimiter)
            else open_rate_limiter(limits, ws.db, redis_url=settings.redis_url)
        )
        quota = quota_counter or open_quota_counter(limits, redis_url=settings.redis_url)
        return AppState(
            settings=settings,
            workspace=ws,
            clock=clock,
            limiter=limiter,
            quota=quota,
            resolver=resolver or RegistryModelResolver(ws),
            metrics=metrics,
            jobs=JobQueue(ws.db, clock, wakeup=open_wakeup(settings.redis_url)),
            schedule_kinds=kinds,
            batcher=MicroBatcher(
                max_batch_size=settings.batch_max_size,
                max_wait=settings.batch_max_wait_ms / 1000,
            ),
        )

    def start_worker(state: AppState) -> BackgroundWorker | None:
        if not settings.inprocess_worker or not handlers:
            return None
        report = state.jobs.reap()
        if report.total:
            logger.warning(
                "jobs whose worker died: requeued %d, failed %d, cancelled %d",
                len(report.requeued),
                len(report.failed),
                len(report.cancelled),
            )
        worker = Worker(
            state.workspace,
            handlers,
            queue=state.jobs,
            name=f"serve:{socket.gethostname()}:{os.getpid()}",
            scheduler=Scheduler(state.workspace, state.schedule_kinds, queue=state.jobs),
        )
        background = BackgroundWorker(worker)
        background.start()
        return background

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        check_route_permissions(app)
        opened = None
        if getattr(app.state, "baryon", None) is None:
            opened = Workspace.open(settings, clock=clock)
            app.state.baryon = build_state(opened)
            if settings.warm_models:
                # before the server accepts connections: ready means warm
                warmed = await anyio.to_thread.run_sync(app.state.baryon.resolver.warm_up)
                logger.info(
                    "warmed %d champion model(s) in %.2f s%s",
                    warmed.loaded,
                    warmed.seconds,
                    f"; {warmed.failed} could not be loaded" if warmed.failed else "",
                )
        for service in served:
            await anyio.to_thread.run_sync(_warm_up, service)
        background = start_worker(app.state.baryon)
        try:
            yield
        finally:
            if background is not None and not await anyio.to_thread.run_sync(
                background.stop, _WORKER_STOP_SECONDS
            ):
                logger.warning(
                    "the in-process job worker is still running a job; its lease will expire "
                    "and another worker will pick it up"
                )
            wakeup = app.state.baryon.jobs.wakeup
            if wakeup is not None:
                wakeup.close()
            if opened is not None:
                app.state.baryon.limiter.close()
                app.state.baryon.quota.close()
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
    for router in (*ROUTERS, services_router(served), *routers):
        app.include_router(router)
    app.openapi = functools.partial(  # type: ignore[method-assign]
        openapi_document, app, schedule_kinds=kinds
    )
    install_error_handlers(app)
    console = create_console(lambda: app.state.baryon)
    check_route_permissions(console)
    app.mount(CONSOLE_PATH, console)
    app.add_middleware(
        RequestMiddleware,
        max_body_bytes=settings.max_body_bytes,
        metrics=metrics,
        body_caps=[models.body_cap(settings)],
        streamed=STREAMED | CONSOLE_STREAMED,
    )
    check_route_permissions(app)
    return app


def _warm_up(service: ServedService) -> None:
    """Run the service's ``setup()`` before the first call (a failure is logged there)."""
    with contextlib.suppress(BaryonError):
        service.ready()
        logger.info("service %s ready: %d endpoints", service.name, len(service.endpoints))


def create_app_from_env() -> FastAPI:
    """App factory for ``uvicorn --factory`` worker processes: ``Settings()`` from ``BARYON_*``.

    ``baryon serve`` exports the options it was given (``--home`` as ``BARYON_HOME``)
    before starting the workers, so each worker builds the same settings.
    """
    return create_app(Settings())
