"""The one way Baryon opens a Redis client (job wake-ups, rate limits, quota counters).

``redis`` is an optional dependency (``pip install 'baryon[redis]'``); it is imported
here, when a client is made, never at import of Baryon.
"""

from __future__ import annotations

from typing import Any

from baryon.core.errors import MissingDependency

__all__ = ["redis_client"]


def redis_client(
    url: str, *, setting: str = "BARYON_REDIS_URL", timeout: float | None = None
) -> tuple[Any, type[Exception]]:
    """Return a Redis client for ``url`` and the exception type its failures raise.

    The client connects lazily and reconnects by itself (redis-py's connection pool):
    a Redis that went away and came back is used again on the next command.

    Parameters
    ----------
    url : str
        ``redis://[:password@]host:port/db`` or ``rediss://...`` (TLS).
    setting : str
        The setting that named the URL, for the error message.
    timeout : float, optional
        Seconds a connection attempt, and a command's reply, may take (``None``: wait
        for a reply as long as it takes; connecting still gives up after 5 s).

    Returns
    -------
    (redis.Redis, type of Exception)
        The client and ``redis.RedisError`` (every failure of a command).

    Raises
    ------
    MissingDependency
        The ``redis`` package is not installed.
    """
    try:
        import redis
    except ModuleNotFoundError:
        raise MissingDependency(
            f"{setting} is set but the redis client is missing: pip install 'baryon[redis]'"
        ) from None
    client = redis.Redis.from_url(
        url, socket_connect_timeout=timeout or 5.0, socket_timeout=timeout
    )
    return client, redis.RedisError
