"""Usage sums per hour: ``usage_hours``, back-filled from ``usage_records``.

Written by hand to match ``baryon/commerce/tables.py`` (``tests/core/test_schema.py``
compares them). Each row sums one organization's usage records of one UTC hour,
endpoint and key (requests, units, errors); :func:`baryon.commerce.metering.record_usage`
keeps it in the record's transaction from now on, and this migration computes it for
the records already there (:func:`baryon.commerce.metering.rebuild_usage_hours`).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from baryon.core.db import UTCDateTime

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_hours",
        sa.Column(
            "org_id",
            sa.String(40),
            sa.ForeignKey(
                "organizations.id",
                ondelete="CASCADE",
                name="fk_usage_hours_org_id_organizations",
            ),
            nullable=False,
        ),
        sa.Column("hour", UTCDateTime(), nullable=False),
        sa.Column("endpoint", sa.String(200), nullable=False),
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "hour", "endpoint", "key_id", name="pk_usage_hours"),
    )
    from baryon.commerce.metering import rebuild_usage_hours

    rebuild_usage_hours(op.get_bind())


def downgrade() -> None:
    op.drop_table("usage_hours")
