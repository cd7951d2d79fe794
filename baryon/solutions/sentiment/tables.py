"""Sentiment monitor tables: items, tickers, alerts, rule states (migration ``0006``);
alert rules, delivery channels and deliveries (migration ``0017``).

``tests/solutions/test_sentiment_tables.py`` compares these with the hand-written
migration ``baryon/core/migrations/versions/0006_monitor.py``.

Tables
------
``sentiment_items``
    One scored news item per ``(org_id, item_id)``: the publisher's id is unique
    within an organization, so an item sent twice is stored (and counted) once.
``sentiment_item_tickers``
    ``(item, ticker)`` pairs, so the index of one ticker is an indexed lookup.
``sentiment_alerts``
    Alerts fired by the monitor's rules, with the ids of the items that caused them.
``sentiment_rule_states``
    The last state of each ``rule|scope`` (what makes the rules edge-triggered
    across requests and processes).
``sentiment_rules``
    An organization's own alert rules (:mod:`baryon.solutions.sentiment.rules`).
``alert_channels``
    Where an organization's alerts are delivered: a signed webhook or an e-mail
    address (:mod:`baryon.solutions.sentiment.delivery`). A webhook's signing secret
    is stored encrypted.
``alert_deliveries``
    One alert (or test alert) to one channel: its attempts, and ``dead`` once they
    are used up (the dead-letter list).
"""

from __future__ import annotations

from datetime import datetime
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
)
from sqlalchemy.orm import Mapped, mapped_column

import baryon.commerce.tables  # noqa: F401  (organizations: the foreign keys' target)
from baryon.core.db import Base, JSONType, UTCDateTime
from baryon.core.scope import OrgOwned

__all__ = [
    "AlertChannelRow",
    "AlertDeliveryRow",
    "SentimentAlertRow",
    "SentimentItemRow",
    "SentimentItemTickerRow",
    "SentimentRuleRow",
    "SentimentRuleStateRow",
]

_ORG_FK = "organizations.id"
#: Longest ticker symbol kept (characters).
MAX_TICKER_CHARS = 16
#: A ticker, any case (stored upper-case): a letter, up to 9 letters or digits, and an
#: optional class suffix (``BRK.B``). ECMA-262, Python and Rust regexes read it alike.
TICKER_PATTERN = r"[A-Za-z][A-Za-z0-9]{0,9}(?:\.[A-Za-z]{1,2})?"
#: An alert rule's or channel's name: 1-200 letters, digits, '.', '_' or '-', starting
#: with a letter or digit.
ALERT_NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}"
#: Delivery channel kinds, and a delivery's statuses.
CHANNEL_KINDS = ("webhook", "email")
PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
DELIVERY_STATUSES = (PENDING, DELIVERED, DEAD)
#: Longest publisher item id and source name (characters).
MAX_ITEM_ID_CHARS = 200


class SentimentItemRow(OrgOwned, Base):
    """One scored news item (table ``sentiment_items``)."""

    __tablename__ = "sentiment_items"
    __table_args__ = (
        UniqueConstraint("org_id", "item_id"),
        Index("ix_sentiment_items_org_published", "org_id", "published_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(40), ForeignKey(_ORG_FK, ondelete="CASCADE"))
    item_id: Mapped[str] = mapped_column(String(MAX_ITEM_ID_CHARS))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(MAX_ITEM_ID_CHARS))
    text: Mapped[str] = mapped_column(Text)
    tickers: Mapped[list[str]] = mapped_column(JSONType)
    label: Mapped[str] = mapped_column(String(16))
    probabilities: Mapped[dict[str, Any]] = mapped_column(JSONType)
    topic: Mapped[str | None] = mapped_column(String(64), nullable=True)
    topic_probability: Mapped[float | None] = mapped_column(Float, nullable=True)
    sentiment_version: Mapped[int] = mapped_column(Integer)
    topic_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    prediction_id: Mapped[str | None] = mapped_column(String(40), nullable=True)


class SentimentItemTickerRow(Base):
    """One ticker of one item (table ``sentiment_item_tickers``)."""

    __tablename__ = "sentiment_item_tickers"
    __table_args__ = (Index("ix_sentiment_item_tickers_ticker", "ticker"),)

    item_pk: Mapped[str] = mapped_column(
        String(40), ForeignKey("sentiment_items.id", ondelete="CASCADE"), primary_key=True
    )
    ticker: Mapped[str] = mapped_column(String(MAX_TICKER_CHARS), primary_key=True)


class SentimentAlertRow(OrgOwned, Base):
    """One fired alert (table ``sentiment_alerts``)."""

    __tablename__ = "sentiment_alerts"
    __table_args__ = (Index("ix_sentiment_alerts_org_fired", "org_id", "fired_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(40), ForeignKey(_ORG_FK, ondelete="CASCADE"))
    rule: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(32))
    ticker: Mapped[str | None] = mapped_column(String(MAX_TICKER_CHARS), nullable=True)
    window: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(16))
    value: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    fired_at: Mapped[datetime] = mapped_column(UTCDateTime())
    item_ids: Mapped[list[str]] = mapped_column(JSONType)
    item_count: Mapped[int] = mapped_column(Integer)


class SentimentRuleStateRow(OrgOwned, Base):
    """Last state of one rule in one scope (table ``sentiment_rule_states``)."""

    __tablename__ = "sentiment_rule_states"

    org_id: Mapped[str] = mapped_column(
        String(40), ForeignKey(_ORG_FK, ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SentimentRuleRow(OrgOwned, Base):
    """One alert rule of an organization (table ``sentiment_rules``)."""

    __tablename__ = "sentiment_rules"
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    window: Mapped[str] = mapped_column(String(8))
    ticker: Mapped[str | None] = mapped_column(String(MAX_TICKER_CHARS), nullable=True)
    direction: Mapped[str] = mapped_column(String(16))
    threshold: Mapped[float] = mapped_column(Float)
    min_items: Mapped[int] = mapped_column(Integer)
    baseline_windows: Mapped[int | None] = mapped_column(Integer, nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AlertChannelRow(OrgOwned, Base):
    """One delivery channel of an organization (table ``alert_channels``)."""

    __tablename__ = "alert_channels"
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(2048))
    secret: Mapped[str | None] = mapped_column(Text, nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AlertDeliveryRow(OrgOwned, Base):
    """One alert to one channel, and its attempts (table ``alert_deliveries``)."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (Index("ix_alert_deliveries_org_status", "org_id", "status", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    channel_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("alert_channels.id", ondelete="CASCADE"), index=True
    )
    alert_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    event: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    job_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    last_error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
