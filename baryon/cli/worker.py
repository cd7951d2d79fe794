"""``baryon worker``: run background jobs until SIGTERM or SIGINT.

The first SIGTERM/SIGINT stops claiming jobs: the running job finishes, or is
released back to the queue if its handler stops cooperatively. A second signal
exits at once; the job's lease then expires and another worker (or this one,
restarted) picks it up again.
"""

from __future__ import annotations

import importlib
import logging
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from baryon.cli._common import err_console, get_workspace
from baryon.core.errors import InvalidInput

__all__ = ["command", "load_handlers"]


def load_handlers(spec: str | None) -> dict[str, Any]:
    """Return the handler mapping named by ``module:function`` (default: Baryon's own).

    Parameters
    ----------
    spec : str or None
        ``package.module:function``; the function takes no argument and returns a
        mapping ``kind → handler``. ``None`` means Baryon's handlers,
        :func:`baryon.job_kinds.default_job_handlers`.

    Raises
    ------
    InvalidInput
        Code ``invalid_handlers``: malformed spec, missing module or function, or
        not a mapping of callables.
    """
    from baryon.job_kinds import default_job_handlers

    if spec is None:
        return default_job_handlers()
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise InvalidInput(
            f"--handlers must be module:function, got {spec!r}", code="invalid_handlers"
        )
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise InvalidInput(
            f"--handlers: cannot import {module_name!r} ({exc})", code="invalid_handlers"
        ) from None
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise InvalidInput(
            f"--handlers: {module_name} has no function {attr!r}", code="invalid_handlers"
        )
    try:
        handlers = factory()
    except TypeError as exc:
        raise InvalidInput(
            f"--handlers: {spec} must take no argument ({exc})", code="invalid_handlers"
        ) from None
    if not isinstance(handlers, Mapping) or not all(callable(h) for h in handlers.values()):
        raise InvalidInput(
            f"--handlers: {spec} must return a mapping of job kind to callable",
            code="invalid_handlers",
        )
    return dict(handlers)


@contextmanager
def _signals(stop: threading.Event) -> Iterator[None]:
    """First SIGTERM/SIGINT sets ``stop``; the second raises KeyboardInterrupt."""

    def handle(signum: int, _frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        err_console.print(
            f"{signal.Signals(signum).name}: stopping after the current job "
            "(send it again to exit now)"
        )
        stop.set()

    previous: dict[signal.Signals, Callable[..., Any] | int | None] = {}
    for signum in (signal.SIGTERM, signal.SIGINT):
        previous[signum] = signal.signal(signum, handle)
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def _log_to_stderr() -> logging.Handler:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("baryon.jobs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return handler


def command(
    ctx: typer.Context,
    kind: Annotated[
        list[str] | None,
        typer.Option("--kind", help="Only run jobs of this kind (repeatable; default: all)."),
    ] = None,
    handlers: Annotated[
        str | None,
        typer.Option(
            "--handlers",
            help="module:function returning {kind: handler} (default: Baryon's, with train).",
        ),
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Worker name (default host:pid).")
    ] = None,
    burst: Annotated[
        bool, typer.Option("--burst", help="Exit when no job of these kinds is waiting.")
    ] = False,
    schedules: Annotated[
        bool,
        typer.Option(
            "--schedules/--no-schedules",
            help="Fire due job schedules (every kind Baryon can schedule) before claiming.",
        ),
    ] = True,
) -> None:
    """Run background jobs (training, ...) and fire due schedules until SIGTERM or SIGINT."""
    from baryon.job_kinds import default_schedule_kinds
    from baryon.jobs import JobQueue, RedisWakeup, Scheduler, Worker

    ws = get_workspace(ctx)
    chosen = load_handlers(handlers)
    if kind:
        unknown = sorted(set(kind) - set(chosen))
        if unknown:
            raise InvalidInput(
                f"no handler for job kind {', '.join(unknown)}; known: {', '.join(sorted(chosen))}",
                code="unknown_job_kind",
            )
        chosen = {k: v for k, v in chosen.items() if k in kind}
    settings = ws.settings
    wakeup = RedisWakeup(settings.redis_url) if settings.redis_url else None
    queue = JobQueue(ws.db, ws.clock, wakeup=wakeup)
    scheduler = Scheduler(ws, default_schedule_kinds(), queue=queue) if schedules else None
    worker = Worker(ws, chosen, name=name, queue=queue, scheduler=scheduler)
    stop = threading.Event()
    log_handler = _log_to_stderr()
    err_console.print(
        f"worker {worker.name}: kinds {', '.join(sorted(chosen))}; home {settings.home}; "
        f"lease {worker.lease_seconds:g} s, poll {worker.poll_interval:g} s"
        + ("; Redis wake-ups" if wakeup is not None else "")
        + (f"; fires schedules of {', '.join(sorted(scheduler.kinds))}" if scheduler else "")
    )
    try:
        with _signals(stop):
            count = worker.run(stop, burst=burst)
    finally:
        logging.getLogger("baryon.jobs").removeHandler(log_handler)
        if wakeup is not None:
            wakeup.close()
    err_console.print(f"worker {worker.name}: stopped after {count} job{'s' if count != 1 else ''}")
