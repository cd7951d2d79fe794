"""Sources (``sources``) and their runs (``source_runs``).

Written by hand to match ``SourceRow`` and ``SourceRunRow`` in
``baryon/connectors/tables.py`` (``tests/core/test_schema.py`` compares them).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from baryon.core.db import JSONType, UTCDateTime

revision = "0016"
down_revision = "0015"
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


def upgrade() -> None:
    op.create_table(
        "sources",
        sa.Column("id", sa.String(40), primary_key=True),
        _org("sources"),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("dataset", sa.String(200), nullable=False),
        sa.Column("config", JSONType, nullable=False),
        sa.Column("auth", JSONType, nullable=True),
        sa.Column("state", JSONType, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("org_id", "name", name="uq_sources_org_id_name"),
    )
    op.create_index("ix_sources_org_id", "sources", ["org_id"])
    op.create_table(
        "source_runs",
        sa.Column("id", sa.String(40), primary_key=True),
        _org("source_runs"),
        sa.Column(
            "source_id",
            sa.String(40),
            sa.ForeignKey(
                "sources.id", ondelete="CASCADE", name="fk_source_runs_source_id_sources"
            ),
            nullable=False,
        ),
        sa.Column("trigger", sa.String(40), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=False),
        sa.Column("fetched", sa.Integer(), nullable=False),
        sa.Column("new", sa.Integer(), nullable=False),
        sa.Column("duplicate", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.String(40), nullable=True),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("report", JSONType, nullable=False),
    )
    op.create_index("ix_source_runs_org_id", "source_runs", ["org_id"])
    op.create_index("ix_source_runs_source_started", "source_runs", ["source_id", "started_at"])


def downgrade() -> None:
    op.drop_table("source_runs")
    op.drop_table("sources")
