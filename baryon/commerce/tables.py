"""Commerce tables: plans and their price versions, subscriptions, rate-limit buckets,
quota counters, usage records, idempotent replays, billing accounts, credits, invoices
and their lines, and the workspace's invoice-number counter.

Money is stored as the text of a :class:`decimal.Decimal` (``"49.00"``): exact on
every back end, and SQLite has no decimal type.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

import baryon.tenancy.tables  # noqa: F401  (organizations: the foreign keys' target)
from baryon.core.db import Base, JSONType, UTCDateTime
from baryon.core.scope import OrgOwned

__all__ = [
    "BillingAccountRow",
    "BillingCreditRow",
    "DecimalText",
    "IdempotencyRow",
    "InvoiceCounterRow",
    "InvoiceLineRow",
    "InvoiceRow",
    "PlanPriceRow",
    "PlanRow",
    "QuotaCounterRow",
    "RateLimitBucketRow",
    "SubscriptionRow",
    "UsageHourRow",
    "UsageRecordRow",
]

_ORG_FK = "organizations.id"


class DecimalText(TypeDecorator[Decimal]):
    """A :class:`~decimal.Decimal` column stored as its exact text (``"0.0010"``)."""

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"money must be a Decimal, got {type(value).__name__}")
        return str(value)

    def process_result_value(self, value: str | None, dialect: Any) -> Decimal | None:
        return None if value is None else Decimal(value)


class PlanRow(Base):
    """A priced bundle: quota per billing period, rate per minute, prices, features and
    units per input by metered route (``unit_weights``, route template → weight)."""

    __tablename__ = "plans"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    quota: Mapped[int] = mapped_column(Integer)
    rate_per_minute: Mapped[int] = mapped_column(Integer)
    monthly_price: Mapped[Decimal] = mapped_column(DecimalText())
    overage_price: Mapped[Decimal | None] = mapped_column(DecimalText(), nullable=True)
    features: Mapped[list[str]] = mapped_column(JSONType)
    unit_weights: Mapped[dict[str, int]] = mapped_column(
        JSONType, default=dict, server_default=text("'{}'")
    )
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    currency: Mapped[str] = mapped_column(String(3), default="USD", server_default="USD")
    trial_days: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    route_prices: Mapped[dict[str, str]] = mapped_column(
        JSONType, default=dict, server_default=text("'{}'")
    )
    price_version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class PlanPriceRow(Base):
    """One price version of a plan: in force from the first billing period that starts
    at or after ``created_at`` (version 1 also before it)."""

    __tablename__ = "plan_prices"

    plan_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("plans.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    monthly_price: Mapped[Decimal] = mapped_column(DecimalText())
    overage_price: Mapped[Decimal | None] = mapped_column(DecimalText(), nullable=True)
    route_prices: Mapped[dict[str, str]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(200))


class SubscriptionRow(Base):
    """An organization's plan over time; at most one ``active`` row per organization."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        Index(
            "uq_subscriptions_active_org",
            "org_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    plan_id: Mapped[str] = mapped_column(String(40), ForeignKey("plans.id"))
    status: Mapped[str] = mapped_column(String(16))
    billing_anchor: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    trial_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class RateLimitBucketRow(Base):
    """GCRA state of one rate-limited subject: its theoretical arrival time (epoch s)."""

    __tablename__ = "rate_limit_buckets"

    subject: Mapped[str] = mapped_column(String(80), primary_key=True)
    tat: Mapped[float] = mapped_column(Float)


class QuotaCounterRow(Base):
    """Units an organization used in one billing period (the quota's atomic counter)."""

    __tablename__ = "quota_counters"

    org_id: Mapped[str] = mapped_column(
        String(40), ForeignKey(_ORG_FK, ondelete="CASCADE"), primary_key=True
    )
    period_start: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    used: Mapped[int] = mapped_column(Integer, default=0)


class UsageRecordRow(Base):
    """One metered event; ``id`` is its unique event id."""

    __tablename__ = "usage_records"
    __table_args__ = (Index("ix_usage_records_org_at", "org_id", "at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(40), ForeignKey(_ORG_FK, ondelete="CASCADE"))
    key_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    endpoint: Mapped[str] = mapped_column(String(200))
    model_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    model_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    units: Mapped[int] = mapped_column(Integer)
    status: Mapped[int] = mapped_column(Integer)
    latency_ms: Mapped[float] = mapped_column(Float)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    period_start: Mapped[datetime] = mapped_column(UTCDateTime())
    prediction_id: Mapped[str | None] = mapped_column(String(40), nullable=True)


class UsageHourRow(Base):
    """Usage records summed per organization, UTC hour, endpoint and key.

    Written with each usage record, in the same transaction
    (:func:`baryon.commerce.metering.record_usage`), so it always equals the sums of
    ``usage_records`` over its hour: usage reports and invoices read whole hours
    from here and only the partial hours at a range's edges from the records.
    ``key_id`` is ``""`` for records without a key (a primary key is never NULL).
    """

    __tablename__ = "usage_hours"

    org_id: Mapped[str] = mapped_column(
        String(40), ForeignKey(_ORG_FK, ondelete="CASCADE"), primary_key=True
    )
    hour: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(200), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    requests: Mapped[int] = mapped_column(Integer)
    units: Mapped[int] = mapped_column(Integer)
    errors: Mapped[int] = mapped_column(Integer)


class IdempotencyRow(Base):
    """The first response to a POST carrying an ``Idempotency-Key`` (per API key)."""

    __tablename__ = "idempotency_records"

    key_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(40), ForeignKey(_ORG_FK, ondelete="CASCADE"))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class BillingAccountRow(OrgOwned, Base):
    """An organization's billing settings: tax rate and discount (percent), the Stripe
    customer its usage is exported for."""

    __tablename__ = "billing_accounts"
    __table_args__ = (UniqueConstraint("org_id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tax_rate: Mapped[Decimal] = mapped_column(DecimalText())
    discount_percent: Mapped[Decimal] = mapped_column(DecimalText())
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class BillingCreditRow(OrgOwned, Base):
    """One entry of an organization's credit ledger: a grant (``amount > 0``), a credit
    applied to an invoice (``< 0``, with ``invoice_id``), or one given back when that
    invoice is voided (``> 0``, with ``invoice_id``). The balance is the sum."""

    __tablename__ = "billing_credits"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    amount: Mapped[Decimal] = mapped_column(DecimalText())
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(String(500))
    invoice_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("invoices.id", ondelete="CASCADE"), nullable=True
    )
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class InvoiceRow(OrgOwned, Base):
    """An organization's invoice for one billing period (money as exact text).

    ``number`` is given when the invoice is issued (sequential per workspace, no
    gaps); at most one invoice per organization and period is not ``void``.
    """

    __tablename__ = "invoices"
    __table_args__ = (
        Index(
            "uq_invoices_org_period_live",
            "org_id",
            "period_start",
            unique=True,
            sqlite_where=text("status != 'void'"),
            postgresql_where=text("status != 'void'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    number: Mapped[int | None] = mapped_column(Integer, nullable=True, unique=True)
    status: Mapped[str] = mapped_column(String(16))
    period_start: Mapped[datetime] = mapped_column(UTCDateTime())
    period_end: Mapped[datetime] = mapped_column(UTCDateTime())
    currency: Mapped[str] = mapped_column(String(3))
    units: Mapped[int] = mapped_column(Integer)
    subtotal: Mapped[Decimal] = mapped_column(DecimalText())
    discount: Mapped[Decimal] = mapped_column(DecimalText())
    tax_rate: Mapped[Decimal] = mapped_column(DecimalText())
    tax: Mapped[Decimal] = mapped_column(DecimalText())
    credit_applied: Mapped[Decimal] = mapped_column(DecimalText())
    total: Mapped[Decimal] = mapped_column(DecimalText())
    replaces_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("invoices.id"), nullable=True
    )
    void_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class InvoiceLineRow(OrgOwned, Base):
    """One line of an invoice, in order (``position``)."""

    __tablename__ = "invoice_lines"

    invoice_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("invoices.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(String(500))
    quantity: Mapped[Decimal] = mapped_column(DecimalText())
    unit_price: Mapped[Decimal | None] = mapped_column(DecimalText(), nullable=True)
    amount: Mapped[Decimal] = mapped_column(DecimalText())
    units: Mapped[int] = mapped_column(Integer)
    plan_name: Mapped[str | None] = mapped_column(String(40), nullable=True)
    route: Mapped[str | None] = mapped_column(String(200), nullable=True)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class InvoiceCounterRow(Base):
    """The workspace's last invoice number (one row, ``name = 'invoice'``); taken with
    a conditional ``UPDATE ... RETURNING`` in the transaction that issues."""

    __tablename__ = "invoice_counters"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)
