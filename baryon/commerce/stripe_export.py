"""Usage as Stripe meter events (JSON Lines), for operators who collect payment in Stripe.

One event per usage record with units (failed requests, 0 units, are left out), in
the shape of Stripe's *Create a billing meter event* request
(``POST /v1/billing/meter_events``)::

    {"event_name": "baryon_units", "identifier": "baryon:use_01...",
     "timestamp": 1767225600,
     "payload": {"stripe_customer_id": "cus_...", "value": "3"}}

``identifier`` is the usage record's event id, so exporting a period again gives the
same identifiers and Stripe (which refuses a repeated identifier) counts each record
once. ``payload`` values are strings, as Stripe sends them back; ``timestamp`` is the
record's time in whole epoch seconds. Stripe accepts events up to 35 days old: export
a period soon after it ends. The Stripe customer of an organization is its billing
account's ``stripe_customer_id`` (``baryon billing account ORG --stripe-customer
cus_...``); organizations without one are skipped and named.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from baryon.commerce.accounts import billing_account
from baryon.commerce.billing import anchors, check_month, org_periods
from baryon.commerce.tables import UsageRecordRow
from baryon.core.clock import Clock, SystemClock
from baryon.core.errors import InvalidInput
from baryon.core.scope import SYSTEM

if TYPE_CHECKING:
    from baryon.core.db import Database

__all__ = ["DEFAULT_EVENT_NAME", "MeterExport", "meter_events"]

#: The meter's ``event_name`` unless told otherwise.
DEFAULT_EVENT_NAME = "baryon_units"
_EVENT_NAME_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")


@dataclass
class MeterExport:
    """What an export produced: the events (a generator) and the organizations skipped.

    Attributes
    ----------
    skipped : list of str
        Organizations with usage in the period but no Stripe customer id (filled as
        :attr:`events` is consumed).
    """

    events: Iterator[dict[str, Any]]
    skipped: list[str] = field(default_factory=list)


def meter_events(
    db: Database,
    *,
    period: str | None,
    org: str | None = None,
    event_name: str = DEFAULT_EVENT_NAME,
    clock: Clock | None = None,
) -> MeterExport:
    """Return the meter events of every organization's billing period starting in ``period``.

    Parameters
    ----------
    db : Database
    period : str
        ``YYYY-MM`` (see :func:`baryon.commerce.billing.parse_month`); a period not
        ended yet is exported as far as it goes.
    org : str, optional
        One organization (name or id).
    event_name : str
        The Stripe meter's event name (1-100 of ``A-Za-z0-9_.:-``).

    Raises
    ------
    InvalidInput
        ``invalid_period`` (missing or malformed), ``period_in_future``,
        ``invalid_event_name``.
    """
    clock = clock or SystemClock()
    if period is None:
        raise InvalidInput("an export needs --period YYYY-MM", code="invalid_period")
    if not _EVENT_NAME_RE.match(event_name):
        raise InvalidInput(
            f"event_name must be 1-100 of letters, digits and _.:-, got {event_name!r}",
            code="invalid_event_name",
        )
    now = clock.now()
    month = check_month(period, now)
    orgs = anchors(db, org)
    result = MeterExport(events=iter(()))

    def generate() -> Iterator[dict[str, Any]]:
        for org_id, name, anchor in orgs:
            ended, still_open = org_periods(anchor, now=now, month=month)
            with db.session(SYSTEM) as s:
                customer = billing_account(s, org_id).stripe_customer_id
                for start, end in ended + still_open:
                    rows = s.execute(
                        select(UsageRecordRow.id, UsageRecordRow.units, UsageRecordRow.at)
                        .where(
                            UsageRecordRow.org_id == org_id,
                            UsageRecordRow.at >= start,
                            UsageRecordRow.at < end,
                            UsageRecordRow.units > 0,
                        )
                        .order_by(UsageRecordRow.at, UsageRecordRow.id)
                    )
                    for record_id, units, at in rows:
                        if customer is None:
                            if name not in result.skipped:
                                result.skipped.append(name)
                            break
                        yield {
                            "event_name": event_name,
                            "identifier": f"baryon:{record_id}",
                            "timestamp": int(at.timestamp()),
                            "payload": {"stripe_customer_id": customer, "value": str(units)},
                        }

    result.events = generate()
    return result
