"""Job schedules: the ``job_schedules`` table (when a worker enqueues a job of a kind).

Written by hand to match ``baryon/jobs/tables.py`` (``tests/jobs/test_jobs_tables.py``
and ``tests/core/test_schema.py`` compare them).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from baryon.core.db import JSONType, UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_schedules",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column(
            "org_id",
            sa.String(40),
            sa.ForeignKey(
                "organizations.id", ondelete="CASCADE", name="fk_job_schedules_org_id_organizations"
            ),
            nullable=False,
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("payload", JSONType, nullable=False),
        sa.Column("every_seconds", sa.Integer, nullable=True),
        sa.Column("cron", sa.String(200), nullable=True),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("paused", sa.Boolean, nullable=False),
        sa.Column("next_run_at", UTCDateTime(), nullable=False),
        sa.Column("last_run_at", UTCDateTime(), nullable=True),
        sa.Column("last_outcome", sa.String(16), nullable=True),
        sa.Column("last_job_id", sa.String(40), nullable=True),
        sa.Column("last_error_code", sa.String(64), nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("run_count", sa.Integer, nullable=False),
        sa.Column("skip_count", sa.Integer, nullable=False),
        sa.Column("missed_count", sa.Integer, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("org_id", "name", name="uq_job_schedules_org_id_name"),
    )
    op.create_index("ix_job_schedules_org_id", "job_schedules", ["org_id"])
    op.create_index("ix_job_schedules_paused_next", "job_schedules", ["paused", "next_run_at"])


def downgrade() -> None:
    op.drop_table("job_schedules")
