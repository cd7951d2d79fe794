"""Datasets, versions and splits (issue: datasets).

Hand-written to match ``baryon/data/tables.py`` (``tests/data/test_tables.py``
compares them).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from baryon.core.db import JSONType, UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_datasets"),
        sa.UniqueConstraint("name", name="uq_datasets_name"),
    )
    op.create_table(
        "dataset_versions",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("dataset_id", sa.String(40), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("parent_id", sa.String(40), nullable=True),
        sa.Column("operation", sa.String(16), nullable=False),
        sa.Column("recipe_hash", sa.String(64), nullable=False),
        sa.Column("source_sha256", sa.String(64), nullable=True),
        sa.Column("data_digest", sa.String(64), nullable=False),
        sa.Column("manifest_digest", sa.String(64), nullable=False),
        sa.Column("split_digest", sa.String(64), nullable=True),
        sa.Column("row_count", sa.BigInteger, nullable=False),
        sa.Column("column_count", sa.Integer, nullable=False),
        sa.Column("column_types", JSONType, nullable=False),
        sa.Column("column_roles", JSONType, nullable=False),
        sa.Column("split", JSONType, nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dataset_versions"),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["datasets.id"], name="fk_dataset_versions_dataset_id_datasets"
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["dataset_versions.id"],
            name="fk_dataset_versions_parent_id_dataset_versions",
        ),
        sa.UniqueConstraint("dataset_id", "version", name="uq_dataset_versions_number"),
        sa.UniqueConstraint("dataset_id", "recipe_hash", name="uq_dataset_versions_recipe"),
    )
    op.create_index("ix_dataset_versions_parent_id", "dataset_versions", ["parent_id"])
    op.create_index("ix_dataset_versions_created_at", "dataset_versions", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_dataset_versions_created_at", table_name="dataset_versions")
    op.drop_index("ix_dataset_versions_parent_id", table_name="dataset_versions")
    op.drop_table("dataset_versions")
    op.drop_table("datasets")
