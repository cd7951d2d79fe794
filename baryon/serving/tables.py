"""Serving tables (migration ``0004``): users, API keys, limits, metering, predictions.

Organizations, plans and subscriptions are commerce tables
(:mod:`baryon.commerce.tables`); these reference them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from baryon.core.db import Base, JSONType, UTCDateTime

__all__ = [
    "ApiKeyRow",
    "EndpointRow",
    "FeedbackRow",
    "IdempotencyRow",
    "PredictionRow",
    "QuotaCounterRow",
    "RateLimitBucketRow",
    "UsageRecordRow",
    "UserRow",
]

_ORG_FK = "organizations.id"


class UserRow(Base):
    """A person in an organization, with one role."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("org_id", "email"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(40), ForeignKey(_ORG_FK, ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ApiKeyRow(Base):
    """An API key: only its SHA-256 and a short visible prefix are stored."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(
        String(40), ForeignKey(_ORG_FK, ondelete="CASCADE"), index=True
    )
    user_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("users.id", ondelete="CASCADE"), nullable=True
    )
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    prefix: Mapped[str] = mapped_column(String(16))
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


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


class PredictionRow(Base):
    """One served prediction request (the prediction log)."""

    __tablename__ = "prediction_log"
    __table_args__ = (Index("ix_prediction_log_org_at", "org_id", "at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(40), ForeignKey(_ORG_FK, ondelete="CASCADE"))
    key_id: Mapped[str] = mapped_column(String(40))
    model_name: Mapped[str] = mapped_column(String(200))
    model_version: Mapped[int] = mapped_column(Integer)
    variant: Mapped[str] = mapped_column(String(16))
    request_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    input_mode: Mapped[str] = mapped_column(String(16))
    inputs: Mapped[list[Any] | None] = mapped_column(JSONType, nullable=True)
    input_hashes: Mapped[list[str] | None] = mapped_column(JSONType, nullable=True)
    outputs: Mapped[list[Any]] = mapped_column(JSONType)
    flags: Mapped[list[str]] = mapped_column(JSONType)
    n_inputs: Mapped[int] = mapped_column(Integer)
    latency_ms: Mapped[float] = mapped_column(Float)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class FeedbackRow(Base):
    """Ground truth for one item of a logged prediction."""

    __tablename__ = "feedback"
    __table_args__ = (UniqueConstraint("prediction_id", "item"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(40), ForeignKey(_ORG_FK, ondelete="CASCADE"))
    prediction_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("prediction_log.id", ondelete="CASCADE")
    )
    item: Mapped[int] = mapped_column(Integer)
    label: Mapped[Any] = mapped_column(JSONType, nullable=True)
    rating: Mapped[float | None] = mapped_column(Float, nullable=True)
    key_id: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class EndpointRow(Base):
    """An organization's endpoint for one model: its champion/challenger traffic split."""

    __tablename__ = "endpoints"

    org_id: Mapped[str] = mapped_column(
        String(40), ForeignKey(_ORG_FK, ondelete="CASCADE"), primary_key=True
    )
    model_name: Mapped[str] = mapped_column(String(200), primary_key=True)
    challenger_weight: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
