"""Quota counters: where an organization's used units of a billing period are counted.

One interface, two back ends, chosen by the ``BARYON_LIMITS`` setting (the same one
as the rate limiter, :func:`baryon.commerce.limits.open_rate_limiter`); one
conformance suite in ``tests/commerce/test_quotas.py`` runs against each.

:class:`DatabaseQuotaCounter` (``database``, ``memory``)
    The ``quota_counters`` row of the period, taken from by one conditional update in
    the request's transaction (:func:`baryon.commerce.metering.reserve_quota`): a
    rolled-back request gives its units back with the rollback.
:class:`RedisQuotaCounter` (``redis``, ``redis://...``)
    A Redis hash ``baryon:quota:{org}:{period_start}`` (``used`` and a ``generation``
    token), checked and incremented by one Lua script, so no database row is locked
    per organization. It is made on first use from the units of the period's usage
    records (:func:`~baryon.commerce.metering.recorded_units`; the records stay the
    record, so a Redis restart or flush resets nobody's quota) and expires a day
    after the period ends. The request's transaction still writes the usage record;
    when that transaction fails, the caller gives the units back
    (:meth:`QuotaCounter.give_back`), so units reserved equal units recorded.

Exactly-once across the two stores: a request's units are reserved in Redis, then its
transaction commits the usage record. If the transaction rolls back, the units are
given back; a give-back that cannot reach Redis is logged and leaves those units
counted (the organization loses them until the counter is remade, never gains).
A counter remade while requests are in flight (Redis restarted mid-request) starts
from the committed records only: those in-flight requests are recorded but not in the
new counter, so the quota can be passed by at most the units in flight at that moment.
"""

from __future__ import annotations

import logging
import math
import secrets
from abc import ABC, abstractmethod
from datetime import datetime, timedelta

from baryon.commerce.limits import limiter_unavailable
from baryon.commerce.metering import (
    Executor,
    QuotaState,
    quota_exceeded,
    recorded_units,
    reserve_quota,
)
from baryon.commerce.orgs import Subscription
from baryon.core.config import limits_redis_url
from baryon.core.redis_client import redis_client

__all__ = [
    "COUNTER_GRACE",
    "DatabaseQuotaCounter",
    "QuotaCounter",
    "RedisQuotaCounter",
    "open_quota_counter",
]

logger = logging.getLogger("baryon.commerce")

#: How long a Redis counter outlives its period (late give-backs still find it).
COUNTER_GRACE = timedelta(days=1)


class QuotaCounter(ABC):
    """Where quota reservations are counted. Back ends must decide each one atomically."""

    @abstractmethod
    def reserve(
        self, executor: Executor, subscription: Subscription, *, units: int, now: datetime
    ) -> QuotaState:
        """Take ``units`` from the organization's quota for the period containing ``now``.

        The contract of :func:`~baryon.commerce.metering.reserve_quota`, for every
        back end: a request is admitted whole or not at all; a plan with the
        ``overage`` feature is never refused; ``units`` 0 only reads.

        Parameters
        ----------
        executor : Session or Connection
            The request's transaction (its usage record commits there).
        subscription : Subscription
        units : int
            ``>= 0``.
        now : datetime

        Returns
        -------
        QuotaState
            ``used`` after this reservation.

        Raises
        ------
        QuotaExceeded
            The quota would be passed; ``details`` has ``quota``, ``used``, ``units``,
            ``period_end`` and ``retry_after``. Nothing is taken.
        LimiterUnavailable
            The counter's store cannot be reached (503); nothing is taken.
        ValueError
            ``units`` is negative.
        """

    @abstractmethod
    def give_back(self, state: QuotaState, org_id: str, *, units: int) -> None:
        """Return ``units`` of a reservation whose transaction rolled back.

        Called after the rollback, outside any transaction; never raises (a store
        that cannot be reached is logged and the units stay counted).
        """

    def close(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release resources (connections); the default has none."""


class DatabaseQuotaCounter(QuotaCounter):
    """The ``quota_counters`` table, in the request's transaction."""

    def reserve(
        self, executor: Executor, subscription: Subscription, *, units: int, now: datetime
    ) -> QuotaState:
        """See :meth:`QuotaCounter.reserve`."""
        return reserve_quota(executor, subscription, units=units, now=now)

    def give_back(self, state: QuotaState, org_id: str, *, units: int) -> None:
        """Nothing to do: the rolled-back transaction took its reservation with it."""


#: Check and take in one step. KEYS[1]: the counter. ARGV: units, quota (-1: no cap),
#: seconds to live, seed ('' if not read yet), generation for a new counter.
#: Returns {state, used, generation}: state 1 taken, 0 refused, -1 needs a seed.
_RESERVE_LUA = """
local used = redis.call('HGET', KEYS[1], 'used')
if not used then
  if ARGV[4] == '' then return {-1, 0, ''} end
  redis.call('HSET', KEYS[1], 'used', ARGV[4], 'generation', ARGV[5])
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  used = ARGV[4]
end
used = tonumber(used)
local units = tonumber(ARGV[1])
local quota = tonumber(ARGV[2])
local generation = redis.call('HGET', KEYS[1], 'generation')
if units == 0 then return {1, used, generation} end
if quota >= 0 and used + units > quota then return {0, used, generation} end
return {1, redis.call('HINCRBY', KEYS[1], 'used', units), generation}
"""

#: Give back. KEYS[1]: the counter. ARGV: units, generation. Only to the counter that
#: took them (a counter remade from the records never counted them).
_GIVE_BACK_LUA = """
if redis.call('HGET', KEYS[1], 'generation') == ARGV[2] then
  return redis.call('HINCRBY', KEYS[1], 'used', -tonumber(ARGV[1]))
end
return false
"""


class RedisQuotaCounter(QuotaCounter):
    """Quota counters in Redis, made from the database's usage records on first use.

    Parameters
    ----------
    url : str
        ``redis://host:port/db`` or ``rediss://...``.
    prefix : str
        Prepended to every key (``baryon:`` gives ``baryon:quota:{org}:{period_start}``).
    timeout : float
        Seconds to connect and to wait for a reply before a reservation fails.

    Raises
    ------
    MissingDependency
        The ``redis`` package is not installed.
    """

    def __init__(self, url: str, *, prefix: str = "baryon:", timeout: float = 2.0) -> None:
        self._client, self._error = redis_client(url, setting="BARYON_LIMITS", timeout=timeout)
        self._prefix = prefix
        self._reserve = self._client.register_script(_RESERVE_LUA)
        self._give_back = self._client.register_script(_GIVE_BACK_LUA)

    def key(self, org_id: str, period_start: datetime) -> str:
        """The Redis key of an organization's counter for one period."""
        return f"{self._prefix}quota:{org_id}:{period_start.isoformat()}"

    def reserve(
        self, executor: Executor, subscription: Subscription, *, units: int, now: datetime
    ) -> QuotaState:
        """See :meth:`QuotaCounter.reserve`.

        One ``EVALSHA`` in the common case; the first reservation of a period (or the
        first after Redis lost the counter) reads the period's recorded units from
        ``executor`` and makes the counter from them (if a concurrent request made it
        first, its counter wins).
        """
        if units < 0:
            raise ValueError(f"units must be 0 or more, got {units}")
        plan = subscription.plan
        start, end = subscription.period(now)
        key = self.key(subscription.org_id, start)
        cap = -1 if plan.allows_overage else plan.quota
        # relative to the caller's clock, as the rate limiter's buckets
        ttl = max(1, math.ceil((end + COUNTER_GRACE - now).total_seconds()))
        args: list[object] = [units, cap, ttl, "", ""]
        try:
            state, used, generation = self._reserve(keys=[key], args=args)
            if state == -1:
                seed = recorded_units(executor, subscription.org_id, start, end)
                if units == 0:
                    return QuotaState(plan.quota, seed, start, end)
                args[3:] = [seed, secrets.token_hex(8)]
                state, used, generation = self._reserve(keys=[key], args=args)
        except self._error as exc:
            raise limiter_unavailable(exc) from exc
        if state == 0:
            raise quota_exceeded(subscription, units=units, used=int(used), now=now)
        return QuotaState(plan.quota, int(used), start, end, _text(generation))

    def give_back(self, state: QuotaState, org_id: str, *, units: int) -> None:
        """See :meth:`QuotaCounter.give_back`."""
        if units <= 0 or state.generation is None:
            return
        try:
            self._give_back(
                keys=[self.key(org_id, state.period_start)], args=[units, state.generation]
            )
        except self._error as exc:
            logger.warning(
                "could not give back %d quota units of %s to Redis (%s): they stay counted",
                units,
                org_id,
                type(exc).__name__,
            )

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def open_quota_counter(
    name: str, *, redis_url: str | None = None, prefix: str = "baryon:"
) -> QuotaCounter:
    """Return the quota counter of the limits back end ``name`` (``BARYON_LIMITS``).

    Parameters
    ----------
    name : str
        ``database`` or ``memory`` (both count in the database: quotas must hold
        across processes), ``redis`` (the Redis of ``redis_url``) or a
        ``redis://``/``rediss://`` URL.
    redis_url : str, optional
        ``BARYON_REDIS_URL``.
    prefix : str
        Key prefix of the Redis back end.

    Raises
    ------
    InvalidInput
        ``unsupported_rate_limiter`` (see :func:`baryon.core.config.limits_redis_url`).
    MissingDependency
        A Redis back end without the ``redis`` package.
    """
    server = limits_redis_url(name, redis_url)
    if server is None:
        return DatabaseQuotaCounter()
    return RedisQuotaCounter(server, prefix=prefix)
