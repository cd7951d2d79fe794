"""Plans weight metered routes: ``plans.unit_weights`` (route template → units per input).

Written by hand to match ``baryon/commerce/tables.py`` (``PlanRow``); existing plans
get ``{}`` (every metered route costs 1 unit per input).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from baryon.core.db import JSONType

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "plans",
        sa.Column("unit_weights", JSONType, nullable=False, server_default=sa.text("'{}'")),
    )


def downgrade() -> None:
    with op.batch_alter_table("plans") as batch:
        batch.drop_column("unit_weights")
