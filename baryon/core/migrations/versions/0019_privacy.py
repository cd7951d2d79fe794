"""Privacy: sensitive datasets, encrypted and erased versions, wrapped data keys.

Written by hand to match ``baryon/data/tables.py`` (``tests/core/test_schema.py``
compares them): ``datasets.sensitive`` (new versions are encrypted),
``dataset_versions.encrypted``, ``erased_at`` and ``erasure_id`` (a tombstone left by
an erasure), and ``artifact_keys`` (each encrypted artifact's data key, wrapped by a
key-encryption key).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from baryon.core.db import UTCDateTime

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("datasets") as batch:
        batch.add_column(
            sa.Column("sensitive", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("dataset_versions") as batch:
        batch.add_column(
            sa.Column("encrypted", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("erased_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("erasure_id", sa.String(40), nullable=True))
    op.create_table(
        "artifact_keys",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("kek_id", sa.String(40), nullable=False),
        sa.Column("wrapped_key", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_artifact_keys_kek_id", "artifact_keys", ["kek_id"])


def downgrade() -> None:
    op.drop_index("ix_artifact_keys_kek_id", table_name="artifact_keys")
    op.drop_table("artifact_keys")
    with op.batch_alter_table("dataset_versions") as batch:
        batch.drop_column("erasure_id")
        batch.drop_column("erased_at")
        batch.drop_column("encrypted")
    with op.batch_alter_table("datasets") as batch:
        batch.drop_column("sensitive")
