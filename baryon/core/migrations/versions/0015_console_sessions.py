"""Web console sessions (``console_sessions``); an index for pages of runs.

Written by hand to match ``ConsoleSessionRow`` in ``baryon/tenancy/tables.py``
(``tests/core/test_schema.py`` compares them). A session is an API key signed in from
a browser; only the SHA-256 of its token is stored. ``ix_runs_org_started`` on
``runs (org_id, started_at, id)`` lets the console (and ``GET /v1/runs``) read a page of
an organization's newest runs without sorting them all.

Revision ID: 0015
Revises: 0010
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from baryon.core.db import UTCDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_TABLE = "console_sessions"


def upgrade() -> None:
    op.create_table(
        _TABLE,
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column(
            "org_id",
            sa.String(40),
            sa.ForeignKey(
                "organizations.id", ondelete="CASCADE", name=f"fk_{_TABLE}_org_id_organizations"
            ),
            nullable=False,
        ),
        sa.Column(
            "key_id",
            sa.String(40),
            sa.ForeignKey("api_keys.id", ondelete="CASCADE", name=f"fk_{_TABLE}_key_id_api_keys"),
            nullable=False,
        ),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("token_sha256", name=f"uq_{_TABLE}_token_sha256"),
    )
    op.create_index(f"ix_{_TABLE}_org_id", _TABLE, ["org_id"])
    op.create_index(f"ix_{_TABLE}_key_id", _TABLE, ["key_id"])
    op.create_index("ix_runs_org_started", "runs", ["org_id", "started_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_runs_org_started", table_name="runs")
    op.drop_table(_TABLE)
