"""Metering: quota counters, usage records, idempotent replays, usage reports.

Exactly-once metering rests on three rules, all inside the caller's transaction:

1. **Quota** (:func:`reserve_quota`): one conditional update of the organization's
   counter for the billing period, ``used = used + units WHERE used + units <= quota``.
   SQLite runs every transaction as ``BEGIN IMMEDIATE`` (one writer at a time), and
   PostgreSQL re-checks the condition on the locked row after a concurrent commit,
   so N concurrent requests against a quota of Q admit exactly ``min(N, Q)``. With
   ``BARYON_LIMITS=redis`` the counter lives in Redis instead
   (:mod:`baryon.commerce.quotas`, one interface for both), and a rolled-back
   request gives its units back there.
2. **Usage record** (:func:`record_usage`): written in the same transaction as the
   outcome (prediction log, idempotency record), so a request is either admitted,
   counted, logged and answered, or none of those. Its hour's sums
   (``usage_hours``: requests, units, errors per hour, endpoint and key) are updated
   in that transaction too, so reports and invoices read whole hours from them
   (:func:`usage_report`) and never scan a period's records.
3. **Idempotency** (:func:`find_replay`, :func:`store_replay`): the first response
   to a POST with an ``Idempotency-Key`` is stored (per API key, 24 hours) in that
   same transaction; a retry with the same key and the same request gets the stored
   response and is not metered again; the same key with another request is refused
   (422 ``idempotency_key_reused``).
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

from baryon.commerce.limits import dialect_name
from baryon.commerce.orgs import Subscription, active_subscription, get_org
from baryon.commerce.tables import (
    IdempotencyRow,
    QuotaCounterRow,
    UsageHourRow,
    UsageRecordRow,
)
from baryon.core.clock import Clock, SystemClock
from baryon.core.errors import InvalidInput, QuotaExceeded
from baryon.core.ids import new_id

__all__ = [
    "GROUP_BY",
    "IDEMPOTENCY_TTL",
    "Executor",
    "QuotaState",
    "StoredResponse",
    "check_idempotency_key",
    "find_replay",
    "org_detail",
    "period_report",
    "quota_exceeded",
    "rebuild_usage_hours",
    "record_usage",
    "recorded_units",
    "release_quota",
    "request_fingerprint",
    "reserve_quota",
    "store_replay",
    "usage_report",
    "usage_summary",
]

#: How long a stored idempotent response is replayed.
IDEMPOTENCY_TTL = timedelta(hours=24)
#: Ways to group a usage report.
GROUP_BY = ("endpoint", "key", "day")
_IDEM_RE = re.compile(r"^[\x21-\x7e]{1,255}$")


@dataclass(frozen=True)
class QuotaState:
    """An organization's quota in one billing period after a reservation.

    Attributes
    ----------
    quota, used : int
    period_start, period_end : datetime
    generation : str or None
        Which Redis counter took the units (a counter made again after a Redis restart
        has a new one, and a give-back to the old one is dropped); None for the
        database's counter.
    """

    quota: int
    used: int
    period_start: datetime
    period_end: datetime
    generation: str | None = None


Executor = Session | Connection
"""Where metering writes: an ORM session or a Core connection, in the caller's transaction."""

_ORG: BindParameter[str] = bindparam("b_org")  # not a column name: UPDATE reserves those
_START: BindParameter[datetime] = bindparam("b_start")
_TAKE_CAPPED = (
    update(QuotaCounterRow)
    .where(
        QuotaCounterRow.org_id == _ORG,
        QuotaCounterRow.period_start == _START,
        QuotaCounterRow.used + bindparam("b_units") <= bindparam("b_quota"),
    )
    .values(used=QuotaCounterRow.used + bindparam("b_units"))
    .returning(QuotaCounterRow.used)
)
_TAKE_UNCAPPED = (
    update(QuotaCounterRow)
    .where(QuotaCounterRow.org_id == _ORG, QuotaCounterRow.period_start == _START)
    .values(used=QuotaCounterRow.used + bindparam("b_units"))
    .returning(QuotaCounterRow.used)
)
_USED = select(QuotaCounterRow.used).where(
    QuotaCounterRow.org_id == _ORG, QuotaCounterRow.period_start == _START
)
_INSERT_USAGE = insert(UsageRecordRow)
_FIND_REPLAY = select(
    IdempotencyRow.fingerprint,
    IdempotencyRow.status,
    IdempotencyRow.body,
    IdempotencyRow.created_at,
).where(
    IdempotencyRow.key_id == bindparam("key_id"),
    IdempotencyRow.idempotency_key == bindparam("idempotency_key"),
)
_INSERT_REPLAY = insert(IdempotencyRow)


def _insert_counter(executor: Executor, org_id: str, period_start: datetime) -> Any:
    values = {"org_id": org_id, "period_start": period_start, "used": 0}
    if dialect_name(executor) == "postgresql":
        return pg_insert(QuotaCounterRow).values(**values).on_conflict_do_nothing()
    return sqlite_insert(QuotaCounterRow).values(**values).on_conflict_do_nothing()


def reserve_quota(
    session: Executor, subscription: Subscription, *, units: int, now: datetime
) -> QuotaState:
    """Take ``units`` from the organization's quota for the period containing ``now``.

    One conditional ``UPDATE ... RETURNING`` in the common case; the period's counter
    row is created (``INSERT ... ON CONFLICT DO NOTHING``) the first time. A request is
    admitted whole or not at all: a batch whose units would pass the quota is refused
    even when some of them would fit.

    Parameters
    ----------
    session : Session or Connection
        The request's transaction (the reservation commits or rolls back with it).
    subscription : Subscription
        The organization's active subscription (plan and billing anchor).
    units : int
        Units this request costs (``>= 0``; see :meth:`Plan.units_for`). 0 takes
        nothing and is never refused: the counter is only read.
    now : datetime

    Returns
    -------
    QuotaState

    Raises
    ------
    QuotaExceeded
        The plan's quota would be passed (and the plan has no ``overage`` feature);
        ``details`` has ``quota``, ``used``, ``units`` (asked for), ``period_end`` and
        ``retry_after`` (seconds until the period renews, sent as ``Retry-After``).
        Nothing is written.
    ValueError
        ``units`` is negative.
    """
    if units < 0:
        raise ValueError(f"units must be 0 or more, got {units}")
    plan = subscription.plan
    start, end = subscription.period(now)
    key = {"b_org": subscription.org_id, "b_start": start}
    if units == 0:
        return QuotaState(plan.quota, int(session.execute(_USED, key).scalar() or 0), start, end)
    take = _TAKE_UNCAPPED if plan.allows_overage else _TAKE_CAPPED
    params = {**key, "b_units": units, "b_quota": plan.quota}
    used = session.execute(take, params).scalar()
    current = None
    if used is None:
        if session.execute(_USED, key).scalar() is None:
            # first request of the period: make the counter (a concurrent first request
            # may make it at the same moment: ON CONFLICT DO NOTHING)
            session.execute(_insert_counter(session, subscription.org_id, start))
        # Try again in every case: on PostgreSQL the counter may have been committed by a
        # concurrent first request between the UPDATE above and the SELECT (each
        # statement sees a new snapshot); refusing then was a false quota_exceeded.
        used = session.execute(take, params).scalar()
        if used is None:
            current = session.execute(_USED, key).scalar() or 0
    if used is None:
        raise quota_exceeded(subscription, units=units, used=int(current or 0), now=now)
    return QuotaState(plan.quota, int(used), start, end)


def quota_exceeded(
    subscription: Subscription, *, units: int, used: int, now: datetime
) -> QuotaExceeded:
    """The error of a reservation of ``units`` that the quota refuses (every back end's).

    ``details`` has ``quota``, ``used``, ``units`` (asked for), ``period_end`` and
    ``retry_after`` (seconds until the period renews, sent as ``Retry-After``).
    """
    plan = subscription.plan
    end = subscription.period(now)[1]
    left = max(0, plan.quota - used)
    if left == 0:
        message = f"the organization used its quota of {plan.quota} units"
    else:
        message = (
            f"this request needs {units} units and {left} of the organization's "
            f"quota of {plan.quota} are left"
        )
    return QuotaExceeded(
        f"{message} for this billing period (plan {plan.name}); it renews at {end.isoformat()}",
        details={
            "quota": plan.quota,
            "used": used,
            "units": units,
            "period_end": end.isoformat(),
            "retry_after": max(1, math.ceil((end - now).total_seconds())),
        },
    )


def recorded_units(executor: Executor, org_id: str, start: datetime, end: datetime) -> int:
    """Return the units of an organization's usage records in ``[start, end)``.

    The record of what was used, whatever counted it: what the period's invoice
    charges, what ``GET /v1/usage`` shows as used, and what a Redis quota counter is
    made from (so a Redis restart or flush resets nobody's quota). Read as
    :func:`usage_report` reads: whole hours from their sums, the edges from records.

    Parameters
    ----------
    executor : Session or Connection
    org_id : str
    start, end : datetime
        A billing period (as :meth:`Subscription.period` gives it).

    Returns
    -------
    int
        Units, ``>= 0``.
    """
    groups = usage_report(executor, org_id, start=start, end=end, group_by="endpoint")
    return sum(int(g["units"]) for g in groups)


def release_quota(session: Executor, state: QuotaState, org_id: str, *, units: int) -> None:
    """Give back ``units`` reserved by :func:`reserve_quota` (a request that failed)."""
    counter = QuotaCounterRow
    session.execute(
        update(counter)
        .where(counter.org_id == org_id, counter.period_start == state.period_start)
        .values(used=counter.used - units)
    )


def record_usage(
    session: Executor,
    *,
    org_id: str,
    key_id: str | None,
    endpoint: str,
    units: int,
    status: int,
    latency_ms: float,
    period_start: datetime,
    model_name: str | None = None,
    model_version: int | None = None,
    prediction_id: str | None = None,
    clock: Clock | None = None,
) -> str:
    """Add one usage record to the caller's transaction and return its event id."""
    clock = clock or SystemClock()
    event_id = new_id("use", clock)
    at = clock.now()
    session.execute(
        _INSERT_USAGE,
        {
            "id": event_id,
            "org_id": org_id,
            "key_id": key_id,
            "endpoint": endpoint,
            "model_name": model_name,
            "model_version": model_version,
            "units": units,
            "status": status,
            "latency_ms": latency_ms,
            "at": at,
            "period_start": period_start,
            "prediction_id": prediction_id,
        },
    )
    session.execute(
        _add_to_hour(session),
        {
            "org_id": org_id,
            "hour": _hour(at),
            "endpoint": endpoint,
            "key_id": key_id or "",
            "requests": 1,
            "units": units,
            "errors": 1 if status >= 400 else 0,
        },
    )
    return event_id


def _hour(at: datetime) -> datetime:
    """The UTC hour ``at`` falls in (its start)."""
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _upsert_hour(insert_into: Any) -> Any:
    """``INSERT`` one record's sums into its ``usage_hours`` row, or add them to it."""
    stmt = insert_into(UsageHourRow)
    return stmt.on_conflict_do_update(
        index_elements=["org_id", "hour", "endpoint", "key_id"],
        set_={
            "requests": UsageHourRow.requests + stmt.excluded.requests,
            "units": UsageHourRow.units + stmt.excluded.units,
            "errors": UsageHourRow.errors + stmt.excluded.errors,
        },
    )


_ADD_TO_HOUR = {"postgresql": _upsert_hour(pg_insert), "sqlite": _upsert_hour(sqlite_insert)}


def _add_to_hour(executor: Executor) -> Any:
    return _ADD_TO_HOUR["postgresql" if dialect_name(executor) == "postgresql" else "sqlite"]


def rebuild_usage_hours(executor: Executor) -> int:
    """Recompute every ``usage_hours`` row from ``usage_records`` (what migration 0020
    back-fills with; also for records written without :func:`record_usage`).

    Returns
    -------
    int
        The number of hour rows written.
    """
    if dialect_name(executor) == "postgresql":
        hour: Any = literal_column(
            "date_trunc('hour', usage_records.at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
        )
    else:  # SQLAlchemy stores SQLite datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff'
        hour = func.substr(UsageRecordRow.at, 1, 13).concat(":00:00.000000")
    key = func.coalesce(UsageRecordRow.key_id, "")
    errors = func.sum(case((UsageRecordRow.status >= 400, 1), else_=0))
    sums = select(
        UsageRecordRow.org_id, hour, UsageRecordRow.endpoint, key, func.count(),
        func.sum(UsageRecordRow.units), errors,
    ).group_by(UsageRecordRow.org_id, hour, UsageRecordRow.endpoint, key)  # fmt: skip
    executor.execute(delete(UsageHourRow))
    columns = ["org_id", "hour", "endpoint", "key_id", "requests", "units", "errors"]
    executor.execute(insert(UsageHourRow).from_select(columns, sums))
    return int(executor.execute(select(func.count()).select_from(UsageHourRow)).scalar() or 0)


# ----------------------------------------------------------------- idempotency
@dataclass(frozen=True)
class StoredResponse:
    """A response stored for replay: HTTP status and JSON body text."""

    status: int
    body: str


def check_idempotency_key(value: str) -> str:
    """Return ``value`` if it is 1-255 visible ASCII characters.

    Raises
    ------
    InvalidInput
        Code ``invalid_idempotency_key``.
    """
    if not _IDEM_RE.match(value):
        raise InvalidInput(
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
            code="invalid_idempotency_key",
        )
    return value


def request_fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    """Return the SHA-256 (hex) identifying a request: method, path, query and body."""
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), query.encode()):
        digest.update(part + b"\x00")
    digest.update(body)
    return digest.hexdigest()


def find_replay(
    session: Executor, *, key_id: str, idempotency_key: str, fingerprint: str, now: datetime
) -> StoredResponse | None:
    """Return the stored response for this key, if any (expired ones are dropped).

    Raises
    ------
    InvalidInput
        Code ``idempotency_key_reused``: the key was used for a different request.
    """
    key = {"key_id": key_id, "idempotency_key": idempotency_key}
    row = session.execute(_FIND_REPLAY, key).first()
    if row is None:
        return None
    stored_fp, status, body, created_at = row
    if created_at + IDEMPOTENCY_TTL <= now:
        session.execute(
            delete(IdempotencyRow).where(
                IdempotencyRow.key_id == key_id, IdempotencyRow.idempotency_key == idempotency_key
            )
        )
        return None
    if stored_fp != fingerprint:
        raise InvalidInput(
            "this Idempotency-Key was already used for a different request",
            code="idempotency_key_reused",
        )
    return StoredResponse(int(status), str(body))


def store_replay(
    session: Executor,
    *,
    key_id: str,
    org_id: str,
    idempotency_key: str,
    fingerprint: str,
    response: StoredResponse,
    now: datetime,
) -> None:
    """Store the first response for ``idempotency_key`` in the caller's transaction."""
    session.execute(
        _INSERT_REPLAY,
        {
            "key_id": key_id,
            "idempotency_key": idempotency_key,
            "org_id": org_id,
            "fingerprint": fingerprint,
            "status": response.status,
            "body": response.body,
            "created_at": now,
        },
    )


# ------------------------------------------------------------------- reports
def _day_expression(session: Executor) -> Any:
    if dialect_name(session) == "postgresql":
        return func.to_char(literal_column("usage_records.at AT TIME ZONE 'UTC'"), "YYYY-MM-DD")
    return func.substr(UsageRecordRow.at, 1, 10)


def usage_report(
    session: Executor, org_id: str, *, start: datetime, end: datetime, group_by: str
) -> list[dict[str, Any]]:
    """Aggregate an organization's usage records in ``[start, end)``.

    Whole UTC hours inside the range are read from their sums (``usage_hours``, kept
    with the records by :func:`record_usage`), the partial hours at either edge from
    the records themselves: the result equals summing every record in the range, and
    costs the same at 100,000 records as at 100.

    Parameters
    ----------
    session : Session
    org_id : str
    start, end : datetime
    group_by : str
        ``endpoint``, ``key`` (key id) or ``day`` (UTC date, ``YYYY-MM-DD``).

    Returns
    -------
    list of dict
        ``{"group", "requests", "units", "errors"}`` sorted by group (a record without
        a key, group None, first); ``errors`` counts records with an HTTP status of
        400 or more.

    Raises
    ------
    InvalidInput
        Unknown ``group_by`` or ``start >= end``.
    """
    if group_by not in GROUP_BY:
        raise InvalidInput(
            f"group_by must be one of {', '.join(GROUP_BY)}", code="invalid_group_by"
        )
    if start >= end:
        raise InvalidInput("start must be before end", code="invalid_range")
    first = _hour(start)
    if first < start:
        first += timedelta(hours=1)
    last = _hour(end)
    sums: dict[Any, list[int]] = {}
    if first < last:
        _add_sums(sums, session.execute(_hours_stmt(session, org_id, first, last, group_by)))
        edges = [(start, first), (last, end)]
    else:
        edges = [(start, end)]
    for lo, hi in edges:
        if lo < hi:
            _add_sums(sums, session.execute(_records_stmt(session, org_id, lo, hi, group_by)))
    return [
        {"group": grp, "requests": n, "units": units, "errors": errs}
        for grp, (n, units, errs) in sorted(
            sums.items(), key=lambda kv: (kv[0] is not None, kv[0] or "")
        )
    ]


def _add_sums(sums: dict[Any, list[int]], rows: Any) -> None:
    for grp, n, units, errs in rows:
        acc = sums.setdefault(grp if grp != "" else None, [0, 0, 0])
        acc[0] += int(n or 0)
        acc[1] += int(units or 0)
        acc[2] += int(errs or 0)


def _records_stmt(
    session: Executor, org_id: str, start: datetime, end: datetime, group_by: str
) -> Any:
    """Sums of the records in ``[start, end)`` by group."""
    column: Any = {
        "endpoint": UsageRecordRow.endpoint,
        "key": UsageRecordRow.key_id,
        "day": _day_expression(session),
    }[group_by]
    errors = func.sum(case((UsageRecordRow.status >= 400, 1), else_=0))
    return (
        select(column.label("grp"), func.count(), func.sum(UsageRecordRow.units), errors)
        .where(UsageRecordRow.org_id == org_id, UsageRecordRow.at >= start, UsageRecordRow.at < end)
        .group_by(column)
    )


def _hours_stmt(
    session: Executor, org_id: str, first: datetime, last: datetime, group_by: str
) -> Any:
    """Sums of the whole hours ``[first, last)`` by group."""
    if group_by == "day":
        column: Any = (
            func.to_char(literal_column("usage_hours.hour AT TIME ZONE 'UTC'"), "YYYY-MM-DD")
            if dialect_name(session) == "postgresql"
            else func.substr(UsageHourRow.hour, 1, 10)
        )
    else:
        column = UsageHourRow.endpoint if group_by == "endpoint" else UsageHourRow.key_id
    return (
        select(
            column.label("grp"), func.sum(UsageHourRow.requests), func.sum(UsageHourRow.units),
            func.sum(UsageHourRow.errors),
        )
        .where(UsageHourRow.org_id == org_id, UsageHourRow.hour >= first, UsageHourRow.hour < last)
        .group_by(column)
    )  # fmt: skip


def period_report(session: Session, subscription: Subscription, now: datetime) -> dict[str, Any]:
    """Return the current billing period: quota, used, remaining and the charge so far.

    The charge is the one computation invoices use
    (:func:`baryon.commerce.invoices.compute_period`: segments, price versions, overage,
    route prices, discount, tax and credit from the usage records so far), in brief
    (:meth:`baryon.commerce.charges.Bill.summary`): closing the period with no more
    usage gives an invoice of exactly this total.

    Returns
    -------
    dict
        ``{"plan", "start", "end", "quota", "used", "remaining", "overage_allowed",
        "charge"}``; money as exact decimal strings.
    """
    from baryon.commerce.invoices import compute_period
    from baryon.core.scope import own_rows

    start, end = subscription.period(now)
    used = recorded_units(session, subscription.org_id, start, end)  # whatever counts it
    plan = subscription.plan
    with own_rows(session, subscription.org_id):  # its billing account and credit
        charge = compute_period(session, subscription.org_id, start, end).summary()
    return {
        "plan": plan.name,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "quota": plan.quota,
        "used": used,
        "remaining": max(0, plan.quota - used),
        "overage_allowed": plan.allows_overage,
        "charge": charge,
    }


def org_detail(session: Session, org_id: str, now: datetime) -> dict[str, Any]:
    """Return an organization with its subscription and current billing period."""
    org = get_org(session, org_id)
    sub = active_subscription(session, org_id)
    return {
        "organization": org.to_dict(),
        "subscription": None if sub is None else sub.to_dict(),
        "period": None if sub is None else period_report(session, sub, now),
    }


def usage_summary(
    session: Session,
    org_id: str,
    now: datetime,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    group_by: str = "endpoint",
) -> dict[str, Any]:
    """An organization's usage in ``[start, end)``, grouped, with its billing period.

    What ``GET /v1/usage`` answers and the console's usage page shows.

    Parameters
    ----------
    session : Session
    org_id : str
    now : datetime
        The current time (picks the billing period).
    start, end : datetime, optional
        Inclusive start and exclusive end; times without a zone are UTC. Default: the
        current billing period (the last 31 days without a subscription).
    group_by : {"endpoint", "key", "day"}

    Returns
    -------
    dict
        ``{"org_id", "start", "end", "group_by", "groups", "total", "period"}``:
        ``groups`` as :func:`usage_report` gives them, ``total`` their sums
        (``group`` None), ``period`` as :func:`period_report` (None without a
        subscription).

    Raises
    ------
    InvalidInput
        ``invalid_group_by`` or ``invalid_range`` (see :func:`usage_report`).
    """
    sub = active_subscription(session, org_id)
    period = None if sub is None else period_report(session, sub, now)
    if sub is not None:
        default_start, default_end = sub.period(now)
    else:
        default_start, default_end = now - timedelta(days=31), now + timedelta(seconds=1)
    lo = _utc(start) or default_start
    hi = _utc(end) or default_end
    groups = usage_report(session, org_id, start=lo, end=hi, group_by=group_by)
    total = {
        "group": None,
        "requests": sum(g["requests"] for g in groups),
        "units": sum(g["units"] for g in groups),
        "errors": sum(g["errors"] for g in groups),
    }
    return {
        "org_id": org_id,
        "start": lo,
        "end": hi,
        "group_by": group_by,
        "groups": groups,
        "total": total,
        "period": period,
    }


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
