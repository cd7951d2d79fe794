"""Billing accounts and credit: an organization's tax rate, discount, Stripe customer,
and its credit ledger.

Credit is a ledger (``billing_credits``): a grant adds a positive entry, an invoice that
uses credit adds a negative one, and voiding that invoice gives it back. The balance
is the sum, per currency; what one invoice does not use carries forward.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from baryon.commerce.money import DEFAULT_CURRENCY, round_money
from baryon.commerce.plans import parse_money
from baryon.commerce.tables import BillingAccountRow, BillingCreditRow, PlanRow, SubscriptionRow
from baryon.core.audit import record_audit
from baryon.core.clock import Clock, SystemClock
from baryon.core.errors import InvalidInput, NotFound
from baryon.core.ids import new_id
from baryon.tenancy.tables import OrganizationRow

__all__ = [
    "BillingAccount",
    "billing_account",
    "credit_balance",
    "grant_credit",
    "org_currency",
    "set_billing_account",
]

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)


@dataclass(frozen=True)
class BillingAccount:
    """An organization's billing settings (defaults: no tax, no discount).

    Attributes
    ----------
    org_id : str
    tax_rate, discount_percent : Decimal
        Percent.
    stripe_customer_id : str or None
    """

    org_id: str
    tax_rate: Decimal
    discount_percent: Decimal
    stripe_customer_id: str | None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "org_id": self.org_id,
            "tax_rate": str(self.tax_rate),
            "discount_percent": str(self.discount_percent),
            "stripe_customer_id": self.stripe_customer_id,
        }


def billing_account(session: Session, org_id: str) -> BillingAccount:
    """Return the organization's billing settings (defaults when none were set)."""
    row = session.scalar(select(BillingAccountRow).where(BillingAccountRow.org_id == org_id))
    if row is None:
        return BillingAccount(org_id, _ZERO, _ZERO, None)
    return BillingAccount(org_id, row.tax_rate, row.discount_percent, row.stripe_customer_id)


def _percent(value: object, field: str) -> Decimal:
    amount = parse_money(value, field=field)
    if amount > _HUNDRED:
        raise InvalidInput(
            f"{field} is a percent from 0 to 100, got {value!r}",
            code="invalid_rate",
            details={"field": field},
        )
    return amount


def set_billing_account(
    session: Session,
    org_id: str,
    *,
    tax_rate: object | None = None,
    discount_percent: object | None = None,
    stripe_customer_id: str | None = None,
    actor: str = "system",
    clock: Clock | None = None,
) -> BillingAccount:
    """Change an organization's billing settings (audited); ``None`` keeps a setting.

    Parameters
    ----------
    tax_rate, discount_percent : str, int or Decimal, optional
        Percent from 0 to 100 (``"20"`` is 20 %), up to 4 decimal places.
    stripe_customer_id : str, optional
        ``cus_...``: the customer meter events are exported for.

    Raises
    ------
    InvalidInput
        ``invalid_price`` (not a non-negative decimal), ``invalid_rate`` (over 100).
    NotFound
        ``org_not_found``.
    """
    clock = clock or SystemClock()
    if session.get(OrganizationRow, org_id) is None:
        raise NotFound(f"no organization {org_id!r}", code="org_not_found")
    row = session.scalar(select(BillingAccountRow).where(BillingAccountRow.org_id == org_id))
    if row is None:
        row = BillingAccountRow(
            id=new_id("bill", clock), org_id=org_id, tax_rate=_ZERO, discount_percent=_ZERO,
            updated_at=clock.now(),
        )  # fmt: skip
        session.add(row)
    changes: dict[str, Any] = {}
    if tax_rate is not None:
        row.tax_rate = _percent(tax_rate, "tax_rate")
        changes["tax_rate"] = str(row.tax_rate)
    if discount_percent is not None:
        row.discount_percent = _percent(discount_percent, "discount_percent")
        changes["discount_percent"] = str(row.discount_percent)
    if stripe_customer_id is not None:
        row.stripe_customer_id = stripe_customer_id.strip() or None
        changes["stripe_customer_id"] = row.stripe_customer_id
    row.updated_at = clock.now()
    record_audit(
        session, actor=actor, action="billing.account", object_type="organization",
        object_id=org_id, org_id=org_id, details=changes, clock=clock,
    )  # fmt: skip
    session.flush()
    return billing_account(session, org_id)


def org_currency(session: Session, org_id: str) -> str:
    """Return the currency of the organization's active plan (``USD`` without one)."""
    currency = session.scalar(
        select(PlanRow.currency)
        .join(SubscriptionRow, SubscriptionRow.plan_id == PlanRow.id)
        .where(SubscriptionRow.org_id == org_id, SubscriptionRow.status == "active")
    )
    return currency or DEFAULT_CURRENCY


def credit_balance(session: Session, org_id: str, currency: str) -> Decimal:
    """Return the organization's unused credit in ``currency`` (grants minus what
    invoices used, plus what voided invoices gave back)."""
    total = session.scalars(
        select(BillingCreditRow.amount).where(
            BillingCreditRow.org_id == org_id, BillingCreditRow.currency == currency
        )
    ).all()
    return round_money(sum(total, _ZERO), currency)


def grant_credit(
    session: Session,
    org_id: str,
    amount: object,
    *,
    reason: str,
    actor: str = "system",
    clock: Clock | None = None,
) -> Decimal:
    """Grant the organization credit in its plan's currency (audited); return the balance.

    Credit is used by the next invoices, after tax, up to each one's amount due; what
    one invoice does not use carries forward.

    Raises
    ------
    InvalidInput
        ``invalid_price``: not a positive amount with at most the currency's places;
        ``invalid_reason``: an empty ``reason``.
    NotFound
        ``org_not_found``.
    """
    clock = clock or SystemClock()
    if session.get(OrganizationRow, org_id) is None:
        raise NotFound(f"no organization {org_id!r}", code="org_not_found")
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput("granting credit needs a reason", code="invalid_reason")
    reason = reason.strip()
    currency = org_currency(session, org_id)
    credit = parse_money(amount, field="credit")
    if credit <= 0 or round_money(credit, currency) != credit:
        raise InvalidInput(
            f"a credit must be more than 0 with at most the places of {currency}, got {amount!r}",
            code="invalid_price",
            details={"field": "credit"},
        )
    session.add(
        BillingCreditRow(
            id=new_id("cred", clock), org_id=org_id, amount=credit, currency=currency,
            reason=reason[:500], actor=actor, created_at=clock.now(),
        )
    )  # fmt: skip
    record_audit(
        session, actor=actor, action="billing.credit", object_type="organization",
        object_id=org_id, org_id=org_id,
        details={"amount": str(credit), "currency": currency, "reason": reason[:500]},
        clock=clock,
    )  # fmt: skip
    session.flush()
    return credit_balance(session, org_id, currency)
