"""Billing runs over the workspace: close ended periods, reconcile, the ``billing_close`` job.

Billing periods are each organization's own (monthly from its billing anchor), so a
run names a **month** (``YYYY-MM``): it closes, for every organization, the billing
period that *starts* in that month, when it has ended. Without a month a run closes
every ended period that has no invoice yet (what the scheduled ``billing_close`` job
does). A month that has not started is refused (``period_in_future``); a period that
has not ended yet is left open and listed as such.

Each invoice is written and issued in its own transaction (an error on one
organization does not undo the others); two runs at once cannot both invoice a period
(the unique index; the loser returns the winner's invoice).

Reconciliation (:func:`reconcile`): for every live invoice of the run's periods, the
units it bills must equal the sum of the organization's usage records in its period,
read again from ``usage_records``. Any difference is reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import exc as sa_exc
from sqlalchemy import select

from baryon.commerce.invoices import Invoice, close_period, is_duplicate, list_invoices, usage_units
from baryon.commerce.plans import add_months, billing_period
from baryon.commerce.tables import SubscriptionRow
from baryon.core.clock import Clock, SystemClock
from baryon.core.errors import InvalidInput
from baryon.core.scope import SYSTEM
from baryon.tenancy.tables import OrganizationRow

if TYPE_CHECKING:
    from baryon.core.db import Database
    from baryon.jobs.schedules import ScheduledKind
    from baryon.jobs.worker import Handler, JobContext
    from baryon.workspace import Workspace

__all__ = [
    "BILLING_CLOSE",
    "CloseReport",
    "Difference",
    "anchors",
    "billing_close_job",
    "billing_handlers",
    "billing_schedule_kinds",
    "check_month",
    "close_billing",
    "org_periods",
    "parse_month",
    "reconcile",
]

#: The job kind that closes every ended billing period (schedule it daily).
BILLING_CLOSE = "billing_close"
_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(text: str) -> tuple[datetime, datetime]:
    """Return ``[first instant, first instant of the next month)`` of ``YYYY-MM`` (UTC).

    Raises
    ------
    InvalidInput
        ``invalid_period``.
    """
    found = _MONTH_RE.match(text.strip()) if isinstance(text, str) else None
    if found is None or not 1 <= int(found.group(2)) <= 12 or int(found.group(1)) < 1970:
        raise InvalidInput(
            f"a period is a month written YYYY-MM (e.g. 2026-01), got {text!r}",
            code="invalid_period",
        )
    start = datetime(int(found.group(1)), int(found.group(2)), 1, tzinfo=UTC)
    return start, add_months(start, 1)


def org_periods(
    anchor: datetime, *, now: datetime, month: tuple[datetime, datetime] | None = None
) -> tuple[list[tuple[datetime, datetime]], list[tuple[datetime, datetime]]]:
    """Return an organization's ended and open billing periods to close.

    Parameters
    ----------
    anchor : datetime
        The organization's billing anchor (its first period starts there).
    now : datetime
    month : (datetime, datetime), optional
        Only the period starting in this month (see :func:`parse_month`); by default
        every period from the anchor on.

    Returns
    -------
    (list, list)
        ``(ended, open)`` periods as ``(start, end)``.
    """
    ended: list[tuple[datetime, datetime]] = []
    still_open: list[tuple[datetime, datetime]] = []
    if month is not None:
        start, end = billing_period(anchor, month[0])
        if start < month[0]:
            start, end = end, billing_period(anchor, end)[1]
        if start < anchor or start >= month[1]:
            return ended, still_open
        (ended if end <= now else still_open).append((start, end))
        return ended, still_open
    k = 0
    while True:
        start, end = add_months(anchor, k), add_months(anchor, k + 1)
        if start > now:
            break
        (ended if end <= now else still_open).append((start, end))
        if end > now:
            break
        k += 1
    return ended, still_open


@dataclass
class CloseReport:
    """What a billing run did.

    Attributes
    ----------
    created : list of Invoice
        Invoices made by this run.
    existing : list of Invoice
        Periods already invoiced (nothing written).
    open : list of dict
        ``{"org", "period_start", "period_end"}`` of periods not ended yet.
    """

    created: list[Invoice] = field(default_factory=list)
    existing: list[Invoice] = field(default_factory=list)
    open: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "created": [i.to_dict() for i in self.created],
            "existing": [i.to_dict() for i in self.existing],
            "open": list(self.open),
        }


def anchors(db: Database, org: str | None) -> list[tuple[str, str, datetime]]:
    """Return ``(org id, name, billing anchor)`` of every organization with an active
    subscription (or of ``org``), oldest first.

    Raises
    ------
    NotFound
        ``org_not_found``.
    """
    with db.session(SYSTEM) as s:
        stmt = (
            select(OrganizationRow.id, OrganizationRow.name, SubscriptionRow.billing_anchor)
            .join(SubscriptionRow, SubscriptionRow.org_id == OrganizationRow.id)
            .where(SubscriptionRow.status == "active")
            .order_by(OrganizationRow.created_at, OrganizationRow.id)
        )
        if org is not None:
            stmt = stmt.where((OrganizationRow.id == org) | (OrganizationRow.name == org))
        rows = [(i, n, a) for i, n, a in s.execute(stmt)]
    if org is not None and not rows:
        from baryon.core.errors import NotFound

        raise NotFound(f"no organization {org!r} with a subscription", code="org_not_found")
    return rows


def check_month(period: str | None, now: datetime) -> tuple[datetime, datetime] | None:
    """Return the month ``period`` names (``None`` for none).

    Raises
    ------
    InvalidInput
        ``invalid_period``; ``period_in_future`` for a month not started at ``now``.
    """
    if period is None:
        return None
    month = parse_month(period)
    if month[0] > now:
        raise InvalidInput(
            f"the period {period} has not started; only ended periods are invoiced",
            code="period_in_future",
            details={"period": period},
        )
    return month


def close_billing(
    db: Database,
    *,
    period: str | None = None,
    org: str | None = None,
    issue: bool = True,
    actor: str = "system",
    clock: Clock | None = None,
) -> CloseReport:
    """Invoice every organization's ended billing periods (see the module docstring).

    Parameters
    ----------
    db : Database
    period : str, optional
        ``YYYY-MM``: only the periods starting in that month.
    org : str, optional
        One organization (name or id).
    issue : bool
        Issue (number) the invoices; ``False`` leaves drafts.
    actor : str
    clock : Clock, optional

    Raises
    ------
    InvalidInput
        ``invalid_period``, ``period_in_future``.
    NotFound
        ``org_not_found``.
    """
    clock = clock or SystemClock()
    now = clock.now()
    month = check_month(period, now)
    report = CloseReport()
    for org_id, name, anchor in anchors(db, org):
        ended, still_open = org_periods(anchor, now=now, month=month)
        report.open.extend(
            {"org": name, "period_start": s.isoformat(), "period_end": e.isoformat()}
            for s, e in still_open
        )
        for start, end in ended:
            try:
                with db.session(SYSTEM) as s:
                    invoice, made = close_period(
                        s, org_id, start, end, issue=issue, actor=actor, clock=clock
                    )
            except sa_exc.IntegrityError as error:  # a concurrent run invoiced it first
                if not is_duplicate(error):
                    raise
                with db.session(SYSTEM) as s:
                    invoice, made = close_period(s, org_id, start, end, actor=actor, clock=clock)
            (report.created if made else report.existing).append(invoice)
    return report


@dataclass(frozen=True)
class Difference:
    """One invoice whose units disagree with the usage records (or agree: ``difference`` 0).

    Attributes
    ----------
    org, invoice_id : str
    number : str or None
    period_start, period_end : datetime
    invoice_units, usage_units : int
    """

    org: str
    invoice_id: str
    number: str | None
    period_start: datetime
    period_end: datetime
    invoice_units: int
    usage_units: int

    @property
    def difference(self) -> int:
        """``usage_units - invoice_units``."""
        return self.usage_units - self.invoice_units

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "org": self.org,
            "invoice_id": self.invoice_id,
            "number": self.number,
            "period_start": self.period_start.isoformat(),
            "period_end": self.period_end.isoformat(),
            "invoice_units": self.invoice_units,
            "usage_units": self.usage_units,
            "difference": self.difference,
        }


def reconcile(
    db: Database,
    *,
    period: str | None = None,
    org: str | None = None,
    clock: Clock | None = None,
) -> list[Difference]:
    """Compare every live invoice's units with its organization's usage records.

    Parameters
    ----------
    period : str, optional
        ``YYYY-MM``: invoices of periods starting in that month (default: all).
    org : str, optional
        One organization (name or id).

    Returns
    -------
    list of Difference
        One per invoice checked (``difference`` is 0 when they agree).
    """
    clock = clock or SystemClock()
    month = check_month(period, clock.now())
    out: list[Difference] = []
    for org_id, name, _anchor in anchors(db, org):
        with db.session(SYSTEM) as s:
            for invoice in list_invoices(s, org_id=org_id, limit=1_000_000):
                if invoice.status == "void":
                    continue
                if month is not None and not month[0] <= invoice.period_start < month[1]:
                    continue
                used = usage_units(s, org_id, invoice.period_start, invoice.period_end)
                out.append(
                    Difference(
                        org=name, invoice_id=invoice.id, number=invoice.number_text,
                        period_start=invoice.period_start, period_end=invoice.period_end,
                        invoice_units=invoice.units, usage_units=used,
                    )
                )  # fmt: skip
    return out


def billing_close_job(ctx: JobContext) -> dict[str, Any]:
    """The ``billing_close`` handler: :func:`close_billing` on the worker's workspace.

    Parameters
    ----------
    ctx : JobContext
        ``ctx.payload``: optional ``period`` (``YYYY-MM``) and ``issue`` (bool,
        default true).

    Returns
    -------
    dict
        ``{"created": [invoice ids], "existing": int, "open": int}``.

    Raises
    ------
    InvalidInput
        ``invalid_job_payload``; and as :func:`close_billing`.
    """
    period = ctx.payload.get("period")
    issue = ctx.payload.get("issue", True)
    if (period is not None and not isinstance(period, str)) or not isinstance(issue, bool):
        raise InvalidInput(
            "billing_close takes an optional period (YYYY-MM) and issue (true/false)",
            code="invalid_job_payload",
        )
    ctx.progress("close", 0)
    ws = ctx.workspace
    report = close_billing(
        ws.db, period=period, issue=issue, actor=f"job:{ctx.job.id}", clock=ws.clock
    )
    return {
        "created": [i.id for i in report.created],
        "existing": len(report.existing),
        "open": len(report.open),
    }


def billing_handlers() -> dict[str, Handler]:
    """Return the billing job handlers, ``{"billing_close": billing_close_job}``."""
    return {BILLING_CLOSE: billing_close_job}


def billing_schedule_kinds() -> dict[str, ScheduledKind]:
    """Return ``{"billing_close": ...}``: the schedule kind of billing's close job.

    Only an operator organization may schedule it (it invoices every organization):
    another's schedule is refused with 403 ``forbidden`` when made. Its payload is
    ``{}`` or ``{"issue": false}`` (drafts only); each firing closes every period that
    has ended and is not invoiced yet, so a daily schedule invoices each period once.
    """
    from baryon.core.errors import Forbidden
    from baryon.jobs.schedules import ScheduledKind

    class BillingCloseSchedule(ScheduledKind):
        payload_schema: ClassVar[dict[str, Any]] = {
            "type": "object",
            "properties": {"issue": {"type": "boolean", "default": True}},
            "additionalProperties": False,
        }

        def check(self, payload: dict[str, Any]) -> dict[str, Any]:
            if set(payload) - {"issue"} or not isinstance(payload.get("issue", True), bool):
                raise InvalidInput(
                    "a billing_close schedule takes only issue (true/false); each firing "
                    "closes every ended period",
                    code="invalid_job_payload",
                )
            return payload

        def prepare(self, ws: Workspace, payload: dict[str, Any]) -> Any:
            with ws.db.session(SYSTEM) as session:
                row = session.get(OrganizationRow, ws.scope.org_id or "")
                if row is None or not row.operator:
                    raise Forbidden("only an operator organization schedules billing")
            return payload

    return {BILLING_CLOSE: BillingCloseSchedule(BILLING_CLOSE, max_attempts=1)}
