"""Wake-ups: how an enqueue tells waiting workers to look now, not at their next poll.

A wake-up only shortens the wait; it is never the record. The ``jobs`` table is, and
workers poll it every ``job_poll_interval`` seconds whatever happens here, so a lost
wake-up (a Redis restart, a worker that was busy) costs at most one poll interval.

Back ends
---------
:class:`LocalWakeup`
    Threads of one process (``baryon serve`` and its in-process worker).
:class:`RedisWakeup`
    Processes on any machine that reach one Redis (``BARYON_REDIS_URL``); needs
    ``pip install 'baryon[redis]'``.

:func:`open_wakeup` picks one from the settings.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from typing import Any

from baryon.core.redis_client import redis_client

__all__ = ["LocalWakeup", "RedisWakeup", "Wakeup", "open_wakeup"]


class Wakeup(ABC):
    """A signal from enqueuers to waiting workers."""

    @abstractmethod
    def notify(self) -> None:
        """Tell waiting workers that a job was enqueued (never raises)."""

    @abstractmethod
    def wait(self, timeout: float) -> bool:
        """Block until notified or ``timeout`` seconds passed; return whether notified."""

    def close(self) -> None:  # noqa: B027 - optional hook; most back ends hold nothing
        """Release what the wake-up holds (connections)."""


class LocalWakeup(Wakeup):
    """Wake-ups between the threads of one process.

    Every waiting thread wakes on each :meth:`notify` (a generation counter, so a
    thread that was not waiting yet does not lose the signal it missed: it polls the
    table before it waits again anyway).
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._generation = 0

    def notify(self) -> None:
        """Wake every thread blocked in :meth:`wait`."""
        with self._cond:
            self._generation += 1
            self._cond.notify_all()

    def wait(self, timeout: float) -> bool:
        """Block until the next :meth:`notify` or ``timeout`` seconds."""
        with self._cond:
            start = self._generation
            return self._cond.wait_for(lambda: self._generation != start, timeout=timeout)


class RedisWakeup(Wakeup):
    """Wake-ups through a Redis list (``LPUSH`` to notify, ``BLPOP`` to wait).

    One notification wakes one waiting worker (one job, one worker); notifications
    left when no worker waits are capped at ``backlog`` and make the next wait
    return at once.

    Parameters
    ----------
    url : str
        ``redis://host:port/db``.
    key : str
        The list's key (default ``baryon:jobs:wakeup``).
    backlog : int
        Most notifications kept while no worker waits.

    Raises
    ------
    MissingDependency
        If the ``redis`` package is not installed.
    """

    def __init__(self, url: str, *, key: str = "baryon:jobs:wakeup", backlog: int = 1000) -> None:
        self._client: Any
        self._client, self._error_type = redis_client(url)
        self._key = key
        self._backlog = backlog

    def notify(self) -> None:
        """Push one notification (errors are swallowed: workers still poll)."""
        try:
            with self._client.pipeline() as pipe:
                pipe.lpush(self._key, b"1")
                pipe.ltrim(self._key, 0, self._backlog - 1)
                pipe.execute()
        except self._error_type:
            return

    def wait(self, timeout: float) -> bool:
        """Pop one notification, blocking up to ``timeout`` seconds."""
        try:
            return self._client.blpop([self._key], timeout=max(timeout, 0.01)) is not None
        except self._error_type:
            threading.Event().wait(timeout)  # Redis down: behave like a plain poll
            return False

    def close(self) -> None:
        """Close the Redis connection pool."""
        self._client.close()


def open_wakeup(redis_url: str | None) -> Wakeup:
    """Return :class:`RedisWakeup` when ``redis_url`` is given, else :class:`LocalWakeup`.

    Parameters
    ----------
    redis_url : str or None
        ``Settings.redis_url`` (``BARYON_REDIS_URL``).

    Raises
    ------
    MissingDependency
        A Redis URL is given but the ``redis`` package is missing.
    """
    if redis_url:
        return RedisWakeup(redis_url)
    return LocalWakeup()
