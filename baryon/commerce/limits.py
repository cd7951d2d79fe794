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

A Redis back end (``redis://``) is the planned shared back end for several machines
(DESIGN.md §7); :func:`open_rate_limiter` names it but it is not built yet.
"""

from __future__ import annotations

import math
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from baryon.commerce.tables import RateLimitBucketRow
from baryon.core.db import Database
from baryon.core.errors import InvalidInput


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
    "gcra",
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


def open_rate_limiter(url: str, db: Database) -> RateLimiter:
    """Return the rate-limit back end named by ``url``.

    Parameters
    ----------
    url : str
        ``"database"`` (the workspace database, shared by all workers), ``"memory"``
        (this process only) or ``"redis://..."`` (planned, not built).
    db : Database

    Raises
    ------
    InvalidInput
        Code ``unsupported_rate_limiter`` for anything else, Redis included.
    """
    if url == "database":
        return DatabaseRateLimiter(db)
    if url == "memory":
        return MemoryRateLimiter()
    raise InvalidInput(
        f"rate-limit back end {url!r} is not available; use 'database' or 'memory' "
        "(a Redis back end is planned)",
        code="unsupported_rate_limiter",
    )
