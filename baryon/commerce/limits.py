"""Per-key rate limits: the GCRA algorithm behind one interface, two back ends.

The limit is ``rate_per_minute`` requests per API key, with bursts of up to the same
number (a full minute's worth) after a quiet spell. It is enforced with the Generic
Cell Rate Algorithm (ITU-T I.371, "virtual scheduling" form; also the algorithm of
the IETF ``RateLimit`` header draft's examples and of ``redis-cell``): each subject
keeps one number, its *theoretical arrival time* ``tat`` (epoch seconds). With an
emission interval ``T = 60 / rate`` and a tolerance of 60 seconds, a request at time
``t`` is admitted when ``max(tat, t) + T - t <= 60``, and then ``tat`` becomes
``max(tat, t) + T``. Rejected requests change nothing, so retrying in a loop does not
push the wait further out.

Back ends (:class:`RateLimiter` is the interface; one conformance suite in
``tests/serving/test_limits.py`` runs against each):

:class:`DatabaseRateLimiter` (default)
    ``tat`` lives in the ``rate_limit_buckets`` table and is read, decided and written
    in one transaction: SQLite serialises it with ``BEGIN IMMEDIATE``; PostgreSQL
    locks the subject's row (``SELECT ... FOR UPDATE``). Correct across several
    uvicorn workers and several machines sharing one database.
:class:`MemoryRateLimiter`
    A dict behind a lock: exact within one process, but each worker process counts
    on its own (``--workers 4`` allows up to 4x the rate). For one-worker setups and
    tests.

:class:`RedisRateLimiter`
    ``tat`` lives in Redis under ``baryon:rl:{subject}`` and is read, decided and
    written by one Lua script (atomic on the server), with a time to live so an idle
    bucket disappears once it is whole again. Shared by every process and machine
    that reaches the Redis; a Redis that cannot be reached refuses the request
    (:class:`~baryon.core.errors.LimiterUnavailable`, 503: fail closed).

:func:`open_rate_limiter` picks one from the ``BARYON_LIMITS`` setting.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from baryon.commerce.tables import RateLimitBucketRow
from baryon.core.config import limits_redis_url
from baryon.core.db import Database
from baryon.core.errors import LimiterUnavailable
from baryon.core.redis_client import redis_client


def dialect_name(executor: Session | Connection) -> str:
    """Return the SQL dialect name (``sqlite``, ``postgresql``) of a session or connection."""
    if isinstance(executor, Session):
        return executor.get_bind().dialect.name
    return executor.dialect.name


__all__ = [
    "PERIOD_SECONDS",
    "DatabaseRateLimiter",
    "MemoryRateLimiter",
    "RateLimitDecision",
    "RateLimiter",
    "RedisRateLimiter",
    "gcra",
    "limiter_unavailable",
    "open_rate_limiter",
]

#: The window a rate is expressed over (a minute), in seconds.
PERIOD_SECONDS = 60.0
_EPS = 1e-9


@dataclass(frozen=True)
class RateLimitDecision:
    """The outcome of one request against a rate limit.

    Attributes
    ----------
    allowed : bool
    limit : int
        Requests per minute.
    remaining : int
        Requests that would still be admitted right now.
    reset_after : float
        Seconds until the allowance is whole again.
    retry_after : float
        Seconds until this request would be admitted (0 when ``allowed``).
    """

    allowed: bool
    limit: int
    remaining: int
    reset_after: float
    retry_after: float

    def headers(self) -> dict[str, str]:
        """Return ``RateLimit-Limit/-Remaining/-Reset`` (and ``Retry-After`` when refused).

        Seconds are rounded up to whole seconds, as HTTP requires.
        """
        out = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(math.ceil(self.reset_after - _EPS)),
        }
        if not self.allowed:
            out["Retry-After"] = str(max(1, math.ceil(self.retry_after - _EPS)))
        return out


def gcra(
    tat: float | None, now: float, rate_per_minute: int, cost: int = 1
) -> tuple[RateLimitDecision, float | None]:
    """Decide one request with the GCRA (see the module docstring).

    Parameters
    ----------
    tat : float or None
        The subject's theoretical arrival time (epoch seconds); ``None`` if new.
    now : float
        Current time, epoch seconds.
    rate_per_minute : int
        Requests per minute, ``>= 0``; 0 refuses everything.
    cost : int
        Units this request takes (1 for one request).

    Returns
    -------
    (RateLimitDecision, float or None)
        The decision and the new ``tat`` to store (``None``: store nothing).
    """
    if rate_per_minute <= 0:
        return RateLimitDecision(False, 0, 0, PERIOD_SECONDS, PERIOD_SECONDS), None
    interval = PERIOD_SECONDS / rate_per_minute
    base = now if tat is None or tat < now else tat
    new_tat = base + interval * cost
    if new_tat - now > PERIOD_SECONDS + _EPS:
        retry = new_tat - now - PERIOD_SECONDS
        return RateLimitDecision(False, rate_per_minute, 0, base - now, retry), None
    remaining = math.floor((PERIOD_SECONDS - (new_tat - now)) / interval + _EPS)
    return RateLimitDecision(True, rate_per_minute, remaining, new_tat - now, 0.0), new_tat


class RateLimiter(ABC):
    """Where rate-limit state lives. Back ends must decide each hit atomically."""

    @abstractmethod
    def hit(
        self,
        subject: str,
        *,
        rate_per_minute: int,
        now: float,
        session: Session | Connection | None = None,
    ) -> RateLimitDecision:
        """Count one request of ``subject`` at ``now`` and decide it.

        Parameters
        ----------
        subject : str
            What is limited, e.g. ``"key:key_01..."``.
        rate_per_minute : int
            The subject's current limit (from its plan).
        now : float
            Epoch seconds (a wall clock shared by all processes).
        session : Session or Connection, optional
            An open transaction on the workspace database; SQL back ends join it so
            the decision commits with the caller's work. Other back ends ignore it.
        """

    def close(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release resources (connections); the default has none."""


class MemoryRateLimiter(RateLimiter):
    """GCRA state in this process's memory (not shared between worker processes)."""

    def __init__(self) -> None:
        self._tats: dict[str, float] = {}
        self._lock = threading.Lock()

    def hit(
        self,
        subject: str,
        *,
        rate_per_minute: int,
        now: float,
        session: Session | Connection | None = None,
    ) -> RateLimitDecision:
        """See :meth:`RateLimiter.hit`."""
        with self._lock:
            decision, new_tat = gcra(self._tats.get(subject), now, rate_per_minute)
            if new_tat is not None:
                self._tats[subject] = new_tat
            return decision


class DatabaseRateLimiter(RateLimiter):
    """GCRA state in the ``rate_limit_buckets`` table (shared by every process).

    Parameters
    ----------
    db : Database
        The workspace database (used when :meth:`hit` gets no session).
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    def hit(
        self,
        subject: str,
        *,
        rate_per_minute: int,
        now: float,
        session: Session | Connection | None = None,
    ) -> RateLimitDecision:
        """See :meth:`RateLimiter.hit`."""
        if session is not None:
            return self._hit(session, subject, rate_per_minute, now)
        with self.db.session() as own:
            return self._hit(own, subject, rate_per_minute, now)

    @staticmethod
    def _hit(
        session: Session | Connection, subject: str, rate: int, now: float
    ) -> RateLimitDecision:
        key = {"b_subject": subject}
        tat = session.execute(_LOCK_BUCKET, key).scalar()
        if tat is None:
            session.execute(_insert_ignore(session, subject))
            tat = session.execute(_LOCK_BUCKET, key).scalar()
        decision, new_tat = gcra(tat, now, rate)
        if new_tat is not None:
            session.execute(_SET_TAT, {"b_subject": subject, "b_tat": new_tat})
        return decision


_LOCK_BUCKET = (
    select(RateLimitBucketRow.tat)
    .where(RateLimitBucketRow.subject == bindparam("b_subject"))
    .with_for_update()
)
_SET_TAT = (
    update(RateLimitBucketRow)
    .where(RateLimitBucketRow.subject == bindparam("b_subject"))
    .values(tat=bindparam("b_tat"))
)


def _insert_ignore(session: Session | Connection, subject: str) -> Executable:
    """An ``INSERT ... ON CONFLICT DO NOTHING`` of a fresh bucket (``tat`` 0: long past)."""
    values = {"subject": subject, "tat": 0.0}
    if dialect_name(session) == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(RateLimitBucketRow).values(**values).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(RateLimitBucketRow).values(**values).on_conflict_do_nothing()


#: GCRA in Lua, the same arithmetic as :func:`gcra` (IEEE doubles both sides). KEYS[1]:
#: the bucket; ARGV: now, rate per minute, cost, period, epsilon. Returns the stored
#: ``tat`` before this hit ('' for a new bucket) as a string of 17 significant digits
#: (exact for a double), so the caller re-derives the same decision with :func:`gcra`.
_GCRA_LUA = """
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[4]) / tonumber(ARGV[2])
local stored = redis.call('GET', KEYS[1])
local base = now
if stored and tonumber(stored) > now then base = tonumber(stored) end
local new_tat = base + interval * tonumber(ARGV[3])
if new_tat - now <= tonumber(ARGV[4]) + tonumber(ARGV[5]) then
  local ttl = math.ceil((new_tat - now) * 1000) + 1000
  redis.call('SET', KEYS[1], string.format('%.17g', new_tat), 'PX', ttl)
end
return stored or ''
"""


class RedisRateLimiter(RateLimiter):
    """GCRA state in Redis (shared by every process that reaches it).

    Each hit is one ``EVALSHA`` of a Lua script (redis-py's ``register_script``) that
    reads the subject's ``tat``, decides, and writes the new one with a time to live
    of its remaining wait plus one second, atomically on the server. Time comes from
    the caller (``now``: the app's clock), so tests can drive it.

    Parameters
    ----------
    url : str
        ``redis://host:port/db`` or ``rediss://...``.
    prefix : str
        Prepended to every key (``baryon:`` gives ``baryon:rl:{subject}``).
    timeout : float
        Seconds to connect and to wait for a reply before the hit fails.

    Raises
    ------
    MissingDependency
        The ``redis`` package is not installed.
    """

    def __init__(self, url: str, *, prefix: str = "baryon:", timeout: float = 2.0) -> None:
        self._client, self._error = redis_client(url, setting="BARYON_LIMITS", timeout=timeout)
        self._prefix = prefix
        self._script = self._client.register_script(_GCRA_LUA)

    def hit(
        self,
        subject: str,
        *,
        rate_per_minute: int,
        now: float,
        session: Session | Connection | None = None,
    ) -> RateLimitDecision:
        """See :meth:`RateLimiter.hit`.

        Raises
        ------
        LimiterUnavailable
            Redis cannot be reached or refused the script; nothing is admitted.
        """
        if rate_per_minute <= 0:
            return gcra(None, now, rate_per_minute)[0]
        args = [repr(now), rate_per_minute, 1, repr(PERIOD_SECONDS), repr(_EPS)]
        try:
            stored = self._script(keys=[f"{self._prefix}rl:{subject}"], args=args)
        except self._error as exc:
            raise limiter_unavailable(exc) from exc
        tat = float(stored) if stored else None
        return gcra(tat, now, rate_per_minute)[0]

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()


#: Seconds between two warnings of a Redis outage in one process (every refused request
#: would otherwise write one).
_OUTAGE_LOG_EVERY = 10.0
_last_outage_log = [-math.inf]


def limiter_unavailable(exc: BaseException) -> LimiterUnavailable:
    """The 503 of a Redis failure, naming what failed (never admits the request).

    The outage is logged as a warning (``baryon.serving``) at most every 10 seconds
    per process, so the operator sees why requests are refused.
    """
    now = time.monotonic()
    if now - _last_outage_log[0] >= _OUTAGE_LOG_EVERY:
        _last_outage_log[0] = now
        logging.getLogger("baryon.serving").warning(
            "Redis of the rate limits and quotas failed (%s: %s): requests are refused "
            "with 503 limiter_unavailable until it answers",
            type(exc).__name__, exc,
        )  # fmt: skip
    return LimiterUnavailable(
        f"rate limits and quotas cannot be checked: Redis failed ({type(exc).__name__}); "
        "the request was not admitted, retry",
        code="limiter_unavailable",
    )


def open_rate_limiter(
    url: str, db: Database, *, redis_url: str | None = None, prefix: str = "baryon:"
) -> RateLimiter:
    """Return the rate-limit back end named by ``url``.

    Parameters
    ----------
    url : str
        ``"database"`` (the workspace database, shared by all workers), ``"memory"``
        (this process only), ``"redis"`` (the Redis of ``redis_url``) or a
        ``redis://``/``rediss://`` URL.
    db : Database
    redis_url : str, optional
        ``BARYON_REDIS_URL``, for ``"redis"``.
    prefix : str
        Key prefix of the Redis back end.

    Raises
    ------
    InvalidInput
        Code ``unsupported_rate_limiter`` for anything else
        (:func:`baryon.core.config.limits_redis_url`).
    MissingDependency
        A Redis back end without the ``redis`` package.
    """
    if url == "database":
        return DatabaseRateLimiter(db)
    if url == "memory":
        return MemoryRateLimiter()
    server = limits_redis_url(url, redis_url)
    assert server is not None
    return RedisRateLimiter(server, prefix=prefix)
