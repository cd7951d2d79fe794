"""Sentiment monitor (items, tickers, alerts, rule states) and recommender events.

Written by hand to match ``baryon/solutions/sentiment/tables.py`` and
``baryon/solutions/recommender/tables.py`` (``tests/solutions/test_sentiment_tables.py``
compares them).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from baryon.core.db import JSONType, UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _org_fk(table: str, *, primary_key: bool = False) -> sa.Column:
    return sa.Column(
        "org_id",
        sa.String(40),
        sa.ForeignKey(
            "organizations.id", ondelete="CASCADE", name=f"fk_{table}_org_id_organizations"
        ),
        nullable=False,
        primary_key=primary_key,
    )


def upgrade() -> None:
    op.create_table(
        "sentiment_items",
        sa.Column("id", sa.String(40), primary_key=True),
        _org_fk("sentiment_items"),
        sa.Column("item_id", sa.String(200), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("tickers", JSONType, nullable=False),
        sa.Column("label", sa.String(16), nullable=False),
        sa.Column("probabilities", JSONType, nullable=False),
        sa.Column("topic", sa.String(64), nullable=True),
        sa.Column("topic_probability", sa.Float, nullable=True),
        sa.Column("sentiment_version", sa.Integer, nullable=False),
        sa.Column("topic_version", sa.Integer, nullable=True),
        sa.Column("prediction_id", sa.String(40), nullable=True),
        sa.UniqueConstraint("org_id", "item_id", name="uq_sentiment_items_org_id"),
    )
    op.create_index(
        "ix_sentiment_items_org_published", "sentiment_items", ["org_id", "published_at"]
    )
    op.create_table(
        "sentiment_item_tickers",
        sa.Column(
            "item_pk",
            sa.String(40),
            sa.ForeignKey(
                "sentiment_items.id",
                ondelete="CASCADE",
                name="fk_sentiment_item_tickers_item_pk_sentiment_items",
            ),
            primary_key=True,
        ),
        sa.Column("ticker", sa.String(16), primary_key=True),
    )
    op.create_index("ix_sentiment_item_tickers_ticker", "sentiment_item_tickers", ["ticker"])
    op.create_table(
        "sentiment_alerts",
        sa.Column("id", sa.String(40), primary_key=True),
        _org_fk("sentiment_alerts"),
        sa.Column("rule", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("ticker", sa.String(16), nullable=True),
        sa.Column("window", sa.String(8), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("threshold", sa.Float, nullable=False),
        sa.Column("fired_at", UTCDateTime(), nullable=False),
        sa.Column("item_ids", JSONType, nullable=False),
        sa.Column("item_count", sa.Integer, nullable=False),
    )
    op.create_index("ix_sentiment_alerts_org_fired", "sentiment_alerts", ["org_id", "fired_at"])
    op.create_table(
        "sentiment_rule_states",
        _org_fk("sentiment_rule_states", primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "recommender_events",
        sa.Column("id", sa.String(40), primary_key=True),
        _org_fk("recommender_events"),
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("item_id", sa.String(200), nullable=False),
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("key_id", sa.String(40), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_recommender_events_org_at", "recommender_events", ["org_id", "at"])
    op.create_index("ix_recommender_events_org_user", "recommender_events", ["org_id", "user_id"])


def downgrade() -> None:
    op.drop_table("recommender_events")
    op.drop_table("sentiment_rule_states")
    op.drop_table("sentiment_alerts")
    op.drop_table("sentiment_item_tickers")
    op.drop_table("sentiment_items")
