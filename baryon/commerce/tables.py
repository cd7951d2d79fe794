"""Commerce tables: organizations (tenants), plans and subscriptions (migration ``0004``).

Money is stored as the text of a :class:`decimal.Decimal` (``"49.00"``): exact on
every back end, and SQLite has no decimal type. Usage records and quota counters
live with the serving tables (:mod:`baryon.serving.tables`) because the serving
layer writes them on every request.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from baryon.core.db import Base, JSONType, UTCDateTime

__all__ = ["DecimalText", "OrganizationRow", "PlanRow", "SubscriptionRow"]


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


class OrganizationRow(Base):
    """A tenant: owns keys, a subscription, usage, predictions.

    ``prediction_inputs`` is how the prediction log keeps request inputs: ``full``,
    ``hashed`` (SHA-256 of each input) or ``none``. An ``operator`` organization is
    the one that runs the platform: its owners and admins hold the platform
    permissions (plans, other organizations, metrics).
    """

    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    operator: Mapped[bool] = mapped_column(Boolean, default=False)
    prediction_inputs: Mapped[str] = mapped_column(String(16), default="full")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PlanRow(Base):
    """A priced bundle: quota per billing period, rate per minute, prices, features."""

    __tablename__ = "plans"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    quota: Mapped[int] = mapped_column(Integer)
    rate_per_minute: Mapped[int] = mapped_column(Integer)
    monthly_price: Mapped[Decimal] = mapped_column(DecimalText())
    overage_price: Mapped[Decimal | None] = mapped_column(DecimalText(), nullable=True)
    features: Mapped[list[str]] = mapped_column(JSONType)
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
