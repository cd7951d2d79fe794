"""``baryon serve``: run the HTTP API on uvicorn.

The workspace is opened and migrated once, in this process, before any worker
starts. Workers are separate processes that build their app from the same
settings (``--home`` is passed on as ``BARYON_HOME``). uvicorn handles SIGINT and
SIGTERM gracefully: it stops accepting connections, lets requests in flight finish
(up to ``--graceful-timeout`` seconds), then runs the app's shutdown (which closes
the database). Slow clients are timed out and connections capped by the settings
``BARYON_HEADER_TIMEOUT``, ``BARYON_BODY_TIMEOUT``, ``BARYON_BODY_MIN_RATE``,
``BARYON_KEEP_ALIVE_TIMEOUT`` and ``BARYON_MAX_CONNECTIONS``
(:func:`baryon.serving._http.server_options`).

With ``--workers N`` (N > 1) the workers' Prometheus metrics are summed through
prometheus_client's multiprocess mode: a fresh folder (``PROMETHEUS_MULTIPROC_DIR`` if
the operator set one, wiped first; else a temporary folder removed at exit) holds each
worker's values, and ``/metrics`` answers for all of them
(:mod:`baryon.serving.observability`).

Services: ``baryon serve my_service.py [more.py:Class package.module ...]`` serves
those :class:`baryon.Service` classes too, at ``POST /v1/services/<service>/<path>``
(docs/services.md). They are loaded here first, so a file that cannot be served stops
the command as one ``error[invalid_service]`` line, then passed on to the workers as
``BARYON_SERVICES``. They belong to the global ``--org`` when it is given (only its
keys may call them; ``BARYON_SERVICES_ORG``), else to the operator, who offers them to
every organization's keys on their plans.
"""

from __future__ import annotations

import contextlib
import copy
import ipaddress
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from baryon.cli._common import err_console, get_settings, global_org

__all__ = ["command"]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@contextlib.contextmanager
def _metrics_folder(workers: int) -> Iterator[None]:
    """Give ``workers`` > 1 processes one empty multiprocess metrics folder for this run."""
    from baryon.serving.observability import MULTIPROC_ENV

    if workers == 1:
        yield
        return
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        folder = Path(given)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):  # an earlier run's values would be summed in
            stale.unlink()
        yield
        return
    folder = Path(tempfile.mkdtemp(prefix="baryon-metrics-"))
    os.environ[MULTIPROC_ENV] = str(folder)
    try:
        yield
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(folder, ignore_errors=True)


def _log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging configuration plus Baryon's own loggers (``baryon.*``) on its
    ``default`` handler at ``level``, so the app's notices (the models warmed, a job whose
    worker died, a model that failed) reach the server's log, formatted like uvicorn's."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    name = "DEBUG" if level.lower() == "trace" else level.upper()
    config["loggers"]["baryon"] = {"handlers": ["default"], "level": name, "propagate": False}
    return config


def _spec(text: str) -> str:
    """A service spec with its file made absolute (workers may resolve paths anew)."""
    target, colon, attr = text.rpartition(":") if ":" in text else (text, "", "")
    if target.endswith(".py") or os.sep in target:
        target = str(Path(target).expanduser().resolve())
    return f"{target}{colon}{attr}"


def command(
    ctx: typer.Context,
    services: Annotated[
        list[str] | None,
        typer.Argument(
            help="Services to serve: FILE.py, FILE.py:Class, package.module[:Class] "
            "(owned by the global --org when given, else offered to every organization).",
            show_default=False,
        ),
    ] = None,
    host: Annotated[
        str | None, typer.Option("--host", help="Bind address (default 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option("--port", help="TCP port (default 8000).")] = None,
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="Worker processes sharing the port.")
    ] = 1,
    graceful_timeout: Annotated[
        int, typer.Option("--graceful-timeout", min=0, help="Seconds to finish requests.")
    ] = 30,
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn log level.")] = "info",
) -> None:
    """Serve the HTTP API (OpenAPI at /openapi.json, docs at /docs), and your services."""
    import uvicorn

    from baryon.services import load_services
    from baryon.serving._http import server_options
    from baryon.workspace import Workspace

    settings = get_settings(ctx)
    bind_host = host or settings.host
    bind_port = settings.port if port is None else port
    ws = Workspace.open(settings)  # migrate once, before any worker imports the app
    try:
        # A broken installed licence stops here as one error[code] line, not as a
        # traceback from the app's start-up in every worker.
        _ = ws.licence
        org = global_org(ctx)
        owner = None if org is None or not services else ws.for_org(org).scope.org_id
    finally:
        ws.close()
    os.environ["BARYON_HOME"] = str(settings.home)
    if services:
        specs = [_spec(s) for s in services]
        served = load_services(specs, owner_org_id=owner)  # a bad file stops here
        os.environ["BARYON_SERVICES"] = json.dumps(specs)
        os.environ.pop("BARYON_SERVICES_ORG", None)
        if owner is not None:
            os.environ["BARYON_SERVICES_ORG"] = owner
        for one in served:
            err_console.print(
                f"service {one.name}: "
                + ", ".join(f"POST /v1/services/{one.name}/{e.path}" for e in one.endpoints)
            )
    if not _is_loopback(bind_host):
        err_console.print(
            f"[yellow]warning[/yellow]: binding {bind_host} exposes the API beyond this "
            "machine; put it behind TLS"
        )
    err_console.print(
        f"Baryon API on http://{bind_host}:{bind_port} ({workers} worker"
        f"{'s' if workers > 1 else ''}); home {settings.home}"
    )
    with _metrics_folder(workers):
        uvicorn.run(
            "baryon.serving.app:create_app_from_env",
            factory=True,
            host=bind_host,
            port=bind_port,
            workers=workers,
            timeout_graceful_shutdown=graceful_timeout,
            log_level=log_level,
            log_config=_log_config(log_level),
            server_header=False,
            **server_options(settings),
        )
