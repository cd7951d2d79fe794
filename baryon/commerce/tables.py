"""Commerce tables: plans, subscriptions, rate-limit buckets, quota counters, usage
records and idempotent replays.

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
    text,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

import baryon.tenancy.tables  # noqa: F401  (organizations: the foreign keys' target)
from baryon.core.db import Base, JSONType, UTCDateTime

__all__ = [
    "DecimalText",
    "IdempotencyRow",
    "PlanRow",
    "QuotaCounterRow",
    "RateLimitBucketRow",
    "SubscriptionRow",
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
