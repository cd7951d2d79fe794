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
"""

from __future__ import annotations

import contextlib
import copy
import ipaddress
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from baryon.cli._common import err_console, get_settings

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


def command(
    ctx: typer.Context,
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
    """Serve the HTTP API (OpenAPI at /openapi.json, docs at /docs)."""
    import uvicorn

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
    finally:
        ws.close()
    os.environ["BARYON_HOME"] = str(settings.home)
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
