"""The support hand-off inbox: an agent's answer, closing time and labeling task.

Written by hand to match ``SupportHandoffRow`` in ``baryon/solutions/support/tables.py``
(``tests/solutions/test_support_tables.py`` compares them): five nullable columns on
``support_handoffs``, so existing hand-offs stay as they were (unanswered).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from baryon.core.db import UTCDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_TABLE = "support_handoffs"
_COLUMNS = ("answer", "answered_by", "answered_at", "closed_at", "labeling_task_id")


def upgrade() -> None:
    with op.batch_alter_table(_TABLE) as batch:
        batch.add_column(sa.Column("answer", sa.Text(), nullable=True))
        batch.add_column(sa.Column("answered_by", sa.String(80), nullable=True))
        batch.add_column(sa.Column("answered_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("closed_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("labeling_task_id", sa.String(40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table(_TABLE) as batch:
        for column in reversed(_COLUMNS):
            batch.drop_column(column)
