"""Support tables: the hand-off queue and the labeling queue.

Written by hand to match ``baryon/solutions/support/tables.py``
(``tests/solutions/test_support_tables.py`` compares them).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from baryon.core.db import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _org_fk(table: str) -> sa.Column:
    return sa.Column(
        "org_id",
        sa.String(40),
        sa.ForeignKey(
            "organizations.id", ondelete="CASCADE", name=f"fk_{table}_org_id_organizations"
        ),
        nullable=True,
    )


def upgrade() -> None:
    op.create_table(
        "support_handoffs",
        sa.Column("prediction_id", sa.String(40), primary_key=True),
        _org_fk("support_handoffs"),
        sa.Column("conversation_id", sa.String(200), nullable=True),
        sa.Column("model_name", sa.String(200), nullable=False),
        sa.Column("model_version", sa.Integer, nullable=False),
        sa.Column("intent", sa.String(200), nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("text", sa.Text, nullable=True),
        sa.Column("text_hash", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index(
        "ix_support_handoffs_org_conversation", "support_handoffs", ["org_id", "conversation_id"]
    )
    op.create_index(
        "ix_support_handoffs_status_created", "support_handoffs", ["status", "created_at"]
    )
    op.create_table(
        "labeling_tasks",
        sa.Column("id", sa.String(40), primary_key=True),
        _org_fk("labeling_tasks"),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("model_name", sa.String(200), nullable=False),
        sa.Column("model_version", sa.Integer, nullable=False),
        sa.Column("prediction_id", sa.String(40), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("text_hash", sa.String(64), nullable=False),
        sa.Column("suggested_label", sa.String(200), nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("seen_count", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("label", sa.String(200), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index(
        "ix_labeling_tasks_source_status", "labeling_tasks", ["source", "status", "created_at"]
    )
    op.create_index("ix_labeling_tasks_org_hash", "labeling_tasks", ["org_id", "text_hash"])


def downgrade() -> None:
    op.drop_table("labeling_tasks")
    op.drop_table("support_handoffs")
