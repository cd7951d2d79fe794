"""Sentiment alert rules and their delivery: ``sentiment_rules``, ``alert_channels``,
``alert_deliveries``.

Written by hand to match ``baryon/solutions/sentiment/tables.py``
(``tests/core/test_schema.py`` compares them).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from baryon.core.db import JSONType, UTCDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def _org(table: str) -> sa.Column:
    return sa.Column(
        "org_id",
        sa.String(40),
        sa.ForeignKey(
            "organizations.id", ondelete="CASCADE", name=f"fk_{table}_org_id_organizations"
        ),
        nullable=False,
    )


def _stamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "sentiment_rules",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("window", sa.String(8), nullable=False),
        sa.Column("ticker", sa.String(16), nullable=True),
        sa.Column("direction", sa.String(16), nullable=False),
        sa.Column("threshold", sa.Float, nullable=False),
        sa.Column("min_items", sa.Integer, nullable=False),
        sa.Column("baseline_windows", sa.Integer, nullable=True),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        *_stamps(),
        _org("sentiment_rules"),
        sa.UniqueConstraint("org_id", "name", name="uq_sentiment_rules_org_id"),
    )
    op.create_index("ix_sentiment_rules_org_id", "sentiment_rules", ["org_id"])
    op.create_table(
        "alert_channels",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("target", sa.String(2048), nullable=False),
        sa.Column("secret", sa.Text, nullable=True),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        *_stamps(),
        _org("alert_channels"),
        sa.UniqueConstraint("org_id", "name", name="uq_alert_channels_org_id"),
    )
    op.create_index("ix_alert_channels_org_id", "alert_channels", ["org_id"])
    op.create_table(
        "alert_deliveries",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column(
            "channel_id",
            sa.String(40),
            sa.ForeignKey(
                "alert_channels.id",
                ondelete="CASCADE",
                name="fk_alert_deliveries_channel_id_alert_channels",
            ),
            nullable=False,
        ),
        sa.Column("alert_id", sa.String(40), nullable=True),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("payload", JSONType, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("job_id", sa.String(40), nullable=True),
        sa.Column("last_error_code", sa.String(64), nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        *_stamps(),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        _org("alert_deliveries"),
    )
    op.create_index("ix_alert_deliveries_org_id", "alert_deliveries", ["org_id"])
    op.create_index("ix_alert_deliveries_channel_id", "alert_deliveries", ["channel_id"])
    op.create_index(
        "ix_alert_deliveries_org_status", "alert_deliveries", ["org_id", "status", "created_at"]
    )


def downgrade() -> None:
    op.drop_table("alert_deliveries")
    op.drop_table("alert_channels")
    op.drop_table("sentiment_rules")
