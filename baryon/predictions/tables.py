"""Prediction tables: the prediction log, feedback and endpoints (traffic splits)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

import baryon.tenancy.tables  # noqa: F401  (organizations: the foreign keys' target)
from baryon.core.db import Base, JSONType, UTCDateTime
from baryon.core.scope import OrgOwned

__all__ = ["EndpointRow", "FeedbackRow", "PredictionRow"]

_ORG_FK = "organizations.id"


class PredictionRow(OrgOwned, Base):
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


class FeedbackRow(OrgOwned, Base):
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


class EndpointRow(OrgOwned, Base):
    """An organization's endpoint for one model: its champion/challenger traffic split."""

    __tablename__ = "endpoints"

    org_id: Mapped[str] = mapped_column(
        String(40), ForeignKey(_ORG_FK, ondelete="CASCADE"), primary_key=True
    )
    model_name: Mapped[str] = mapped_column(String(200), primary_key=True)
    challenger_weight: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
