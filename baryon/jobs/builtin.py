"""Baryon's built-in job handlers, and the one function that lists them.

:func:`builtin_handlers` is what ``baryon serve``'s in-process worker and
``baryon worker`` run by default. Today it holds two diagnostic kinds:

``noop``
    Succeeds at once with ``{"ok": true}``: checks that a worker is running.
``sleep``
    Waits ``payload["seconds"]`` (0–3600, default 1), reporting progress and
    stopping when cancelled: checks progress, cancel and recovery end to end.

The layers above add their own kinds at the entry points that make workers
(``baryon serve``, ``baryon worker``): training's ``train`` comes from
:func:`baryon.training.jobs.training_handlers`.
"""

from __future__ import annotations

import time
from typing import Any

from baryon.core.errors import InvalidInput
from baryon.jobs.worker import Handler, JobContext

__all__ = ["builtin_handlers", "noop", "sleep"]

_MAX_SLEEP_SECONDS = 3600.0
_TICK_SECONDS = 0.05


def noop(ctx: JobContext) -> dict[str, Any]:
    """Do nothing and succeed (``{"ok": true}``)."""
    return {"ok": True}


def sleep(ctx: JobContext) -> dict[str, Any]:
    """Wait ``payload["seconds"]``, reporting progress, stopping when cancelled.

    Parameters
    ----------
    ctx : JobContext
        ``ctx.payload["seconds"]``: float from 0 to 3600 (default 1).

    Returns
    -------
    dict
        ``{"slept_seconds": float}``.

    Raises
    ------
    InvalidInput
        Code ``invalid_job_payload``: seconds missing a number or out of range.
    JobCancelled
        When the job is cancelled or the worker stops.
    """
    seconds = ctx.payload.get("seconds", 1.0)
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not 0 <= seconds <= _MAX_SLEEP_SECONDS
    ):
        raise InvalidInput(
            f"sleep needs seconds from 0 to {_MAX_SLEEP_SECONDS:g}, got {seconds!r}",
            code="invalid_job_payload",
        )
    start = time.monotonic()
    ctx.progress("sleep", 0)
    while (elapsed := time.monotonic() - start) < seconds:
        ctx.check_cancelled()
        ctx.progress("sleep", min(99.0, 100.0 * elapsed / seconds))
        time.sleep(min(_TICK_SECONDS, max(0.0, seconds - elapsed)))
    return {"slept_seconds": round(time.monotonic() - start, 3)}


def builtin_handlers() -> dict[str, Handler]:
    """Return Baryon's built-in handlers, ``kind → handler`` (a new dict each call).

    Returns
    -------
    dict of str to Handler
        ``noop`` and ``sleep`` (``train`` is the training layer's, added by the
        entry points).
    """
    return {"noop": noop, "sleep": sleep}
