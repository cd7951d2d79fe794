"""Sentiment monitor tables (migration ``0006``): items, their tickers, alerts, rule states.

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
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

import baryon.commerce.tables  # noqa: F401  (organizations: the foreign keys' target)
from baryon.core.db import Base, JSONType, UTCDateTime
from baryon.core.scope import OrgOwned

__all__ = [
    "SentimentAlertRow",
    "SentimentItemRow",
    "SentimentItemTickerRow",
    "SentimentRuleStateRow",
]

_ORG_FK = "organizations.id"
#: Longest ticker symbol kept (characters).
MAX_TICKER_CHARS = 16
#: A ticker, any case (stored upper-case): a letter, up to 9 letters or digits, and an
#: optional class suffix (``BRK.B``). ECMA-262, Python and Rust regexes read it alike.
TICKER_PATTERN = r"[A-Za-z][A-Za-z0-9]{0,9}(?:\.[A-Za-z]{1,2})?"
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
