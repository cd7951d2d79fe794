"""Invoices: closing billing periods, numbering, and the draft → issued → paid / void states.

Closing (:func:`close_period`) computes one organization's billing period with
:func:`baryon.commerce.charges.compute_bill` from what the database holds: its
subscriptions in the period (segments), the price version in force for each plan
(:func:`baryon.commerce.prices.price_in_force`), its usage records by route, its
billing account (tax rate, discount) and credit balance. The invoice and its lines
are written in one transaction; at most one invoice per organization and period is
not ``void`` (a partial unique index), so closing a period twice returns the first
invoice and writes nothing.

States::

    draft ──issue──► issued ──pay──► paid
      │                │
      └──────void──────┴──► void ──reissue──► (a new invoice for the same period)

**Numbers** are sequential per workspace with no gaps: an invoice gets its number
when it is issued, from the one counter row (``invoice_counters``) taken with
``UPDATE ... SET value = value + 1 RETURNING value`` in the issuing transaction. The
row lock (PostgreSQL) or the single writer (SQLite, ``BEGIN IMMEDIATE``) orders
concurrent issuers; a transaction that rolls back gives its number back with it.

**Immutability**: once issued, an invoice's amounts, lines and period never change;
a flush that tries raises :class:`~baryon.core.errors.Conflict`
(``invoice_immutable``). A mistake is corrected by voiding the invoice (its applied
credit is given back) and reissuing: a new invoice, a new number, ``replaces_id``
naming the void one. Issue, pay, void and reissue each write an audit event in the
same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import event, func, inspect, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from baryon.commerce.accounts import billing_account, credit_balance, org_currency
from baryon.commerce.charges import Bill, Line, Segment, compute_bill
from baryon.commerce.metering import usage_report
from baryon.commerce.plans import Plan
from baryon.commerce.prices import price_in_force
from baryon.commerce.tables import (
    BillingCreditRow,
    InvoiceCounterRow,
    InvoiceLineRow,
    InvoiceRow,
    PlanRow,
    SubscriptionRow,
    UsageRecordRow,
)
from baryon.core.audit import record_audit
from baryon.core.clock import Clock, SystemClock
from baryon.core.errors import Conflict, InvalidInput, NotFound
from baryon.core.ids import new_id
from baryon.tenancy.tables import OrganizationRow

__all__ = [
    "INVOICE_STATES",
    "Invoice",
    "close_period",
    "compute_period",
    "format_number",
    "get_invoice",
    "is_duplicate",
    "issue_invoice",
    "list_invoices",
    "pay_invoice",
    "period_segments",
    "preview_invoice",
    "reissue_invoice",
    "usage_units",
    "void_invoice",
]

#: Invoice states.
INVOICE_STATES = ("draft", "issued", "paid", "void")
#: Fields of an invoice that may change after it is issued (its state and when).
_MUTABLE_AFTER_ISSUE = frozenset({"status", "paid_at", "voided_at", "void_reason"})


def format_number(number: int | None) -> str | None:
    """Return an invoice number as printed: ``INV-000042`` (``None`` for a draft)."""
    return None if number is None else f"INV-{number:06d}"


@dataclass(frozen=True)
class Invoice:
    """An invoice as callers see it (money as :class:`Decimal`).

    Attributes
    ----------
    id, org_id, org_name : str
    number : int or None
        Given when issued (sequential per workspace).
    status : str
        One of :data:`INVOICE_STATES`.
    period_start, period_end : datetime
    currency : str
    units : int
        Usage units of the period (equal to the usage records'; see reconciliation).
    subtotal, discount, tax_rate, tax, credit_applied, total : Decimal
    lines : tuple of Line
    replaces_id, void_reason : str or None
    created_at : datetime
    issued_at, paid_at, voided_at : datetime or None
    """

    id: str
    org_id: str
    org_name: str
    number: int | None
    status: str
    period_start: datetime
    period_end: datetime
    currency: str
    units: int
    subtotal: Decimal
    discount: Decimal
    tax_rate: Decimal
    tax: Decimal
    credit_applied: Decimal
    total: Decimal
    lines: tuple[Line, ...]
    replaces_id: str | None
    void_reason: str | None
    created_at: datetime
    issued_at: datetime | None
    paid_at: datetime | None
    voided_at: datetime | None

    @property
    def number_text(self) -> str | None:
        """The printed number (``INV-000042``), ``None`` for a draft."""
        return format_number(self.number)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (money as exact strings)."""
        out: dict[str, Any] = {
            "id": self.id,
            "org_id": self.org_id,
            "org_name": self.org_name,
            "number": self.number_text,
            "status": self.status,
            "period_start": self.period_start.isoformat(),
            "period_end": self.period_end.isoformat(),
            "currency": self.currency,
            "units": self.units,
        }
        for name in ("subtotal", "discount", "tax_rate", "tax", "credit_applied", "total"):
            out[name] = str(getattr(self, name))
        out["lines"] = [line.to_dict() for line in self.lines]
        for name in ("replaces_id", "void_reason"):
            out[name] = getattr(self, name)
        for name in ("created_at", "issued_at", "paid_at", "voided_at"):
            value = getattr(self, name)
            out[name] = None if value is None else value.isoformat()
        return out


def _line(row: InvoiceLineRow) -> Line:
    return Line(
        kind=row.kind, description=row.description, quantity=row.quantity,
        unit_price=row.unit_price, amount=row.amount, units=row.units,
        plan_name=row.plan_name, route=row.route, starts_at=row.starts_at, ends_at=row.ends_at,
    )  # fmt: skip


def _invoice(session: Session, row: InvoiceRow) -> Invoice:
    lines = session.scalars(
        select(InvoiceLineRow)
        .where(InvoiceLineRow.invoice_id == row.id)
        .order_by(InvoiceLineRow.position)
    )
    org_name = session.scalar(select(OrganizationRow.name).where(OrganizationRow.id == row.org_id))
    return Invoice(
        id=row.id, org_id=row.org_id, org_name=org_name or row.org_id, number=row.number,
        status=row.status, period_start=row.period_start, period_end=row.period_end,
        currency=row.currency, units=row.units, subtotal=row.subtotal, discount=row.discount,
        tax_rate=row.tax_rate, tax=row.tax, credit_applied=row.credit_applied, total=row.total,
        lines=tuple(_line(r) for r in lines), replaces_id=row.replaces_id,
        void_reason=row.void_reason, created_at=row.created_at, issued_at=row.issued_at,
        paid_at=row.paid_at, voided_at=row.voided_at,
    )  # fmt: skip


# ------------------------------------------------------------- immutability
@event.listens_for(InvoiceRow, "before_update")
def _guard_invoice(mapper: Any, connection: Any, target: InvoiceRow) -> None:
    state = inspect(target)
    history = state.attrs.status.history
    before = history.deleted[0] if history.deleted else target.status
    if before == "draft":
        return
    changed = {a.key for a in state.attrs if a.history.has_changes()}
    if changed - _MUTABLE_AFTER_ISSUE:
        raise Conflict(
            f"invoice {target.id} is {before}: its {', '.join(sorted(changed))} cannot change "
            "(void it and reissue)",
            code="invoice_immutable",
        )


@event.listens_for(InvoiceLineRow, "before_update")
@event.listens_for(InvoiceLineRow, "before_delete")
def _guard_line(mapper: Any, connection: Any, target: InvoiceLineRow) -> None:
    status = connection.scalar(select(InvoiceRow.status).where(InvoiceRow.id == target.invoice_id))
    if status not in (None, "draft"):
        raise Conflict(
            f"invoice {target.invoice_id} is {status}: its lines cannot change",
            code="invoice_immutable",
        )


# ------------------------------------------------------------------ closing
def usage_units(session: Session, org_id: str, start: datetime, end: datetime) -> int:
    """Return the sum of the organization's usage record units with ``start <= at < end``.

    Read from the records themselves, not their hour sums (what invoices are computed
    from): billing's reconciliation compares the two.
    """
    total = session.scalar(
        select(func.sum(UsageRecordRow.units)).where(
            UsageRecordRow.org_id == org_id, UsageRecordRow.at >= start, UsageRecordRow.at < end
        )
    )
    return int(total or 0)


def _route_units(session: Session, org_id: str, start: datetime, end: datetime) -> dict[str, int]:
    """Units by endpoint in ``[start, end)`` (endpoints with none left out)."""
    if start >= end:
        return {}
    groups = usage_report(session, org_id, start=start, end=end, group_by="endpoint")
    return {str(g["group"]): int(g["units"]) for g in groups if g["units"]}


def period_segments(
    session: Session, org_id: str, start: datetime, end: datetime
) -> tuple[list[Segment], str]:
    """Return the segments of ``[start, end)`` (one per subscription active in it, clipped)
    and their currency.

    Raises
    ------
    Conflict
        ``currency_mismatch``: the period's plans are priced in different currencies.
    """
    found = session.execute(
        select(SubscriptionRow, PlanRow)
        .join(PlanRow, PlanRow.id == SubscriptionRow.plan_id)
        .where(
            SubscriptionRow.org_id == org_id,
            SubscriptionRow.started_at < end,
            (SubscriptionRow.ended_at.is_(None)) | (SubscriptionRow.ended_at > start),
        )
        .order_by(SubscriptionRow.started_at, SubscriptionRow.id)
    ).all()
    segments: list[Segment] = []
    currencies = set()
    for sub, plan_row in found:
        plan = Plan.from_row(plan_row)
        lo = max(sub.started_at, start)
        hi = min(sub.ended_at or end, end)
        if lo >= hi:
            continue
        prices = price_in_force(session, plan.id, start)
        currencies.add(plan.currency)
        segments.append(
            Segment(
                plan_name=plan.name, quota=plan.quota,
                allows_overage="overage" in plan.features and prices.overage_price is not None,
                monthly_price=prices.monthly_price, overage_price=prices.overage_price,
                route_prices=prices.route_prices, starts_at=lo, ends_at=hi,
                trial_ends_at=sub.trial_ends_at,
                route_units=_route_units(session, org_id, lo, hi),
            )
        )  # fmt: skip
    if len(currencies) > 1:
        raise Conflict(
            f"the period's plans are priced in {', '.join(sorted(currencies))}",
            code="currency_mismatch",
        )
    return segments, (currencies.pop() if currencies else org_currency(session, org_id))


def compute_period(session: Session, org_id: str, start: datetime, end: datetime) -> Bill:
    """Return what the invoice of ``[start, end)`` would hold now (writes nothing)."""
    segments, currency = period_segments(session, org_id, start, end)
    account = billing_account(session, org_id)
    return compute_bill(
        segments, period_start=start, period_end=end, currency=currency,
        tax_rate=account.tax_rate, discount_percent=account.discount_percent,
        credit_available=credit_balance(session, org_id, currency),
    )  # fmt: skip


def preview_invoice(session: Session, org_id: str, at: datetime) -> Invoice:
    """Return the invoice the billing period containing ``at`` would get if it closed
    with the usage recorded so far (status ``preview``, no number; writes nothing).

    Raises
    ------
    NotFound
        ``org_not_found`` or ``no_subscription``.
    """
    sub = session.scalar(
        select(SubscriptionRow).where(
            SubscriptionRow.org_id == org_id, SubscriptionRow.status == "active"
        )
    )
    if sub is None:
        raise NotFound(f"organization {org_id!r} has no subscription", code="no_subscription")
    from baryon.commerce.plans import billing_period

    start, end = billing_period(sub.billing_anchor, at)
    bill = compute_period(session, org_id, start, end)
    org_name = session.scalar(select(OrganizationRow.name).where(OrganizationRow.id == org_id))
    return Invoice(
        id="preview", org_id=org_id, org_name=org_name or org_id, number=None,
        status="preview", period_start=start, period_end=end, currency=bill.currency,
        units=bill.units, subtotal=bill.subtotal, discount=bill.discount,
        tax_rate=bill.tax_rate, tax=bill.tax, credit_applied=bill.credit_applied,
        total=bill.total, lines=bill.lines, replaces_id=None, void_reason=None,
        created_at=at, issued_at=None, paid_at=None, voided_at=None,
    )  # fmt: skip


def _lock_org(session: Session, org_id: str) -> None:
    """Take the organization's row for the transaction (``FOR UPDATE`` on PostgreSQL;
    SQLite has one writer): two closes of one organization cannot both spend its credit."""
    session.execute(
        select(OrganizationRow.id).where(OrganizationRow.id == org_id).with_for_update()
    )


def _live(session: Session, org_id: str, start: datetime) -> InvoiceRow | None:
    return session.scalar(
        select(InvoiceRow).where(
            InvoiceRow.org_id == org_id,
            InvoiceRow.period_start == start,
            InvoiceRow.status != "void",
        )
    )


def _write(
    session: Session,
    org_id: str,
    start: datetime,
    end: datetime,
    bill: Bill,
    *,
    replaces_id: str | None,
    actor: str,
    clock: Clock,
) -> InvoiceRow:
    row = InvoiceRow(
        id=new_id("inv", clock), org_id=org_id, number=None, status="draft",
        period_start=start, period_end=end, currency=bill.currency, units=bill.units,
        subtotal=bill.subtotal, discount=bill.discount, tax_rate=bill.tax_rate, tax=bill.tax,
        credit_applied=bill.credit_applied, total=bill.total, replaces_id=replaces_id,
        created_at=clock.now(),
    )  # fmt: skip
    session.add(row)
    session.flush()
    for position, line in enumerate(bill.lines):
        session.add(
            InvoiceLineRow(
                invoice_id=row.id, position=position, org_id=org_id, kind=line.kind,
                description=line.description[:500], quantity=line.quantity,
                unit_price=line.unit_price, amount=line.amount, units=line.units,
                plan_name=line.plan_name, route=line.route, starts_at=line.starts_at,
                ends_at=line.ends_at,
            )
        )  # fmt: skip
    if bill.credit_applied:
        session.add(
            BillingCreditRow(
                id=new_id("cred", clock), org_id=org_id, amount=-bill.credit_applied,
                currency=bill.currency, reason=f"applied to invoice {row.id}",
                invoice_id=row.id, actor=actor, created_at=clock.now(),
            )
        )  # fmt: skip
    session.flush()
    return row


def close_period(
    session: Session,
    org_id: str,
    start: datetime,
    end: datetime,
    *,
    issue: bool = True,
    actor: str = "system",
    clock: Clock | None = None,
) -> tuple[Invoice, bool]:
    """Invoice one organization's billing period ``[start, end)``; return it and whether
    it was made now.

    Parameters
    ----------
    session : Session
        Spanning the organization (``SYSTEM`` or its own scope).
    org_id : str
    start, end : datetime
        The period (see :meth:`baryon.commerce.orgs.Subscription.period`).
    issue : bool
        Issue it at once (numbered); ``False`` leaves a draft.
    actor : str
    clock : Clock, optional

    Returns
    -------
    (Invoice, bool)
        An invoice already there (not void) is returned with ``False``: nothing is
        written.

    Raises
    ------
    InvalidInput
        ``period_not_ended``: ``end`` is after now.
    """
    clock = clock or SystemClock()
    _lock_org(session, org_id)
    existing = _live(session, org_id, start)
    if existing is not None:
        return _invoice(session, existing), False
    if end > clock.now():
        raise InvalidInput(
            f"the period {start.isoformat()} to {end.isoformat()} has not ended",
            code="period_not_ended",
            details={"period_end": end.isoformat()},
        )
    bill = compute_period(session, org_id, start, end)
    row = _write(session, org_id, start, end, bill, replaces_id=None, actor=actor, clock=clock)
    record_audit(
        session, actor=actor, action="invoice.create", object_type="invoice", object_id=row.id,
        org_id=org_id, details={"period_start": start.isoformat(), "total": str(bill.total)},
        clock=clock,
    )  # fmt: skip
    if issue:
        _issue(session, row, actor=actor, clock=clock)
    return _invoice(session, row), True


def _next_number(session: Session) -> int:
    number = session.execute(
        update(InvoiceCounterRow)
        .where(InvoiceCounterRow.name == "invoice")
        .values(value=InvoiceCounterRow.value + 1)
        .returning(InvoiceCounterRow.value)
    ).scalar()
    if number is None:  # the row migration 0013 seeds is missing: make it
        session.add(InvoiceCounterRow(name="invoice", value=1))
        session.flush()
        return 1
    return int(number)


def _issue(session: Session, row: InvoiceRow, *, actor: str, clock: Clock) -> None:
    row.number = _next_number(session)
    row.status, row.issued_at = "issued", clock.now()
    session.flush()
    record_audit(
        session, actor=actor, action="invoice.issue", object_type="invoice", object_id=row.id,
        org_id=row.org_id, details={"number": format_number(row.number), "total": str(row.total)},
        clock=clock,
    )  # fmt: skip


def _row(session: Session, invoice_id: str) -> InvoiceRow:
    row = session.get(InvoiceRow, invoice_id)
    if row is None:
        raise NotFound(f"no invoice {invoice_id!r}", code="invoice_not_found")
    return row


def get_invoice(session: Session, invoice_id: str) -> Invoice:
    """Return one invoice (another organization's is not found under its scope).

    Raises
    ------
    NotFound
        ``invoice_not_found``.
    """
    return _invoice(session, _row(session, invoice_id))


def list_invoices(
    session: Session,
    *,
    org_id: str | None = None,
    status: str | None = None,
    period_start: datetime | None = None,
    limit: int = 100,
) -> list[Invoice]:
    """Return invoices, newest period first (then newest first), filtered.

    Raises
    ------
    InvalidInput
        ``invalid_status``: not one of :data:`INVOICE_STATES`.
    """
    stmt = select(InvoiceRow)
    if org_id is not None:
        stmt = stmt.where(InvoiceRow.org_id == org_id)
    if status is not None:
        if status not in INVOICE_STATES:
            raise InvalidInput(
                f"status must be one of {', '.join(INVOICE_STATES)}, got {status!r}",
                code="invalid_status",
            )
        stmt = stmt.where(InvoiceRow.status == status)
    if period_start is not None:
        stmt = stmt.where(InvoiceRow.period_start == period_start)
    stmt = stmt.order_by(InvoiceRow.period_start.desc(), InvoiceRow.created_at.desc()).limit(limit)
    return [_invoice(session, r) for r in session.scalars(stmt).all()]


def _refuse(row: InvoiceRow, action: str, allowed: Sequence[str]) -> None:
    if row.status not in allowed:
        raise Conflict(
            f"invoice {row.id} is {row.status}; only an invoice that is "
            f"{' or '.join(allowed)} can be {action}",
            code=f"invoice_{row.status}",
            details={"status": row.status},
        )


def issue_invoice(
    session: Session, invoice_id: str, *, actor: str = "system", clock: Clock | None = None
) -> Invoice:
    """Issue a draft: give it the next number (audited).

    Raises
    ------
    NotFound
        ``invoice_not_found``.
    Conflict
        ``invoice_issued``, ``invoice_paid``, ``invoice_void``: not a draft.
    """
    row = _row(session, invoice_id)
    _refuse(row, "issued", ("draft",))
    _issue(session, row, actor=actor, clock=clock or SystemClock())
    return _invoice(session, row)


def pay_invoice(
    session: Session, invoice_id: str, *, actor: str = "system", clock: Clock | None = None
) -> Invoice:
    """Mark an issued invoice paid (audited).

    Raises
    ------
    Conflict
        ``invoice_draft``, ``invoice_paid``, ``invoice_void``: not issued.
    """
    clock = clock or SystemClock()
    row = _row(session, invoice_id)
    _refuse(row, "paid", ("issued",))
    row.status, row.paid_at = "paid", clock.now()
    record_audit(
        session, actor=actor, action="invoice.pay", object_type="invoice", object_id=row.id,
        org_id=row.org_id, details={"number": format_number(row.number)}, clock=clock,
    )  # fmt: skip
    session.flush()
    return _invoice(session, row)


def void_invoice(
    session: Session,
    invoice_id: str,
    *,
    reason: str,
    actor: str = "system",
    clock: Clock | None = None,
) -> Invoice:
    """Void a draft or issued invoice (audited); the credit it used is given back.

    Its number stays used (numbers never go back); the period can then be invoiced
    again (:func:`reissue_invoice`).

    Raises
    ------
    InvalidInput
        ``invalid_reason``: an empty reason.
    Conflict
        ``invoice_void`` (already void), ``invoice_paid``.
    """
    clock = clock or SystemClock()
    if not reason or not reason.strip():
        raise InvalidInput("voiding an invoice needs a reason", code="invalid_reason")
    row = _row(session, invoice_id)
    _refuse(row, "voided", ("draft", "issued"))
    row.status, row.voided_at, row.void_reason = "void", clock.now(), reason.strip()[:500]
    if row.credit_applied:
        session.add(
            BillingCreditRow(
                id=new_id("cred", clock), org_id=row.org_id, amount=row.credit_applied,
                currency=row.currency, reason=f"invoice {row.id} voided", invoice_id=row.id,
                actor=actor, created_at=clock.now(),
            )
        )  # fmt: skip
    record_audit(
        session, actor=actor, action="invoice.void", object_type="invoice", object_id=row.id,
        org_id=row.org_id,
        details={"number": format_number(row.number), "reason": row.void_reason},
        clock=clock,
    )  # fmt: skip
    session.flush()
    return _invoice(session, row)


def reissue_invoice(
    session: Session, invoice_id: str, *, actor: str = "system", clock: Clock | None = None
) -> Invoice:
    """Invoice a void invoice's period again, as it stands now, and issue it (audited).

    Raises
    ------
    Conflict
        ``invoice_draft``, ``invoice_issued``, ``invoice_paid``: void it first;
        ``invoice_exists``: the period already has a live invoice.
    """
    clock = clock or SystemClock()
    old = _row(session, invoice_id)
    _refuse(old, "reissued", ("void",))
    _lock_org(session, old.org_id)
    live = _live(session, old.org_id, old.period_start)
    if live is not None:
        raise Conflict(
            f"the period already has invoice {live.id} ({live.status})",
            code="invoice_exists",
            details={"invoice_id": live.id},
        )
    bill = compute_period(session, old.org_id, old.period_start, old.period_end)
    row = _write(
        session, old.org_id, old.period_start, old.period_end, bill, replaces_id=old.id,
        actor=actor, clock=clock,
    )  # fmt: skip
    record_audit(
        session, actor=actor, action="invoice.reissue", object_type="invoice", object_id=row.id,
        org_id=row.org_id, details={"replaces": old.id, "total": str(bill.total)}, clock=clock,
    )  # fmt: skip
    _issue(session, row, actor=actor, clock=clock)
    return _invoice(session, row)


def is_duplicate(error: sa_exc.IntegrityError) -> bool:
    """Whether ``error`` is a concurrent close of the same period (the unique index)."""
    return "uq_invoices_org_period_live" in str(error.orig) or "invoices.org_id" in str(error.orig)
