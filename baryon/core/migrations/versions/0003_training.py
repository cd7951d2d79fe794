"""Runs, model registry, aliases and alias history (issue: models).

Hand-written to match ``baryon/training/tables.py`` (a test compares them).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from baryon.core.db import JSONType, UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("kind", sa.String(64), nullable=False, index=True),
        sa.Column("task", sa.String(32), nullable=False),
        sa.Column("params", JSONType, nullable=False),
        sa.Column("seed", sa.Integer, nullable=False),
        sa.Column("cv_folds", sa.Integer, nullable=False),
        sa.Column("dataset_version_id", sa.String(80), nullable=False, index=True),
        sa.Column("dataset_name", sa.String(200), nullable=False),
        sa.Column("dataset_version", sa.Integer, nullable=False),
        sa.Column("split", JSONType, nullable=True),
        sa.Column("target", sa.String(200), nullable=True),
        sa.Column("column_roles", JSONType, nullable=False),
        sa.Column("feature_columns", JSONType, nullable=False),
        sa.Column("status", sa.String(32), nullable=False, index=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("started_at", UTCDateTime(), nullable=False, index=True),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("duration_seconds", sa.Float, nullable=True),
        sa.Column("library_versions", JSONType, nullable=False),
        sa.Column("metrics", JSONType, nullable=False),
        sa.Column("history", JSONType, nullable=False),
        sa.Column("artifacts", JSONType, nullable=False),
        sa.Column("extra", JSONType, nullable=False),
    )
    op.create_table(
        "registered_models",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("task", sa.String(32), nullable=False),
        sa.Column("primary_metric", sa.String(64), nullable=False),
        sa.Column("next_version", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("name", name="uq_registered_models_name"),
    )
    op.create_table(
        "model_versions",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column(
            "model_id",
            sa.String(40),
            sa.ForeignKey(
                "registered_models.id",
                ondelete="CASCADE",
                name="fk_model_versions_model_id_registered_models",
            ),
            nullable=False,
            index=True,
        ),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column(
            "run_id",
            sa.String(40),
            sa.ForeignKey("runs.id", name="fk_model_versions_run_id_runs"),
            nullable=False,
            index=True,
        ),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("task", sa.String(32), nullable=False),
        sa.Column("dataset_version_id", sa.String(80), nullable=False),
        sa.Column("split", JSONType, nullable=True),
        sa.Column("artifact_digest", sa.String(64), nullable=False),
        sa.Column("manifest_digest", sa.String(64), nullable=False),
        sa.Column("metrics", JSONType, nullable=False),
        sa.Column("primary_metric", sa.String(64), nullable=False),
        sa.Column("primary_value", sa.Float, nullable=True),
        sa.Column("feature_columns", JSONType, nullable=False),
        sa.Column("column_roles", JSONType, nullable=False),
        sa.Column("target", sa.String(200), nullable=True),
        sa.Column("classes", JSONType, nullable=True),
        sa.Column("extra", JSONType, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("model_id", "version", name="uq_model_versions_model_id_version"),
    )
    op.create_table(
        "model_aliases",
        sa.Column(
            "model_id",
            sa.String(40),
            sa.ForeignKey(
                "registered_models.id",
                ondelete="CASCADE",
                name="fk_model_aliases_model_id_registered_models",
            ),
            nullable=False,
        ),
        sa.Column("alias", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("model_id", "alias", name="pk_model_aliases"),
    )
    op.create_table(
        "alias_history",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column(
            "model_id",
            sa.String(40),
            sa.ForeignKey(
                "registered_models.id",
                ondelete="CASCADE",
                name="fk_alias_history_model_id_registered_models",
            ),
            nullable=False,
            index=True,
        ),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("alias", sa.String(32), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("from_version", sa.Integer, nullable=True),
        sa.Column("to_version", sa.Integer, nullable=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("forced", sa.Boolean, nullable=False),
        sa.Column("gate", JSONType, nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False, index=True),
        sa.UniqueConstraint("model_id", "seq", name="uq_alias_history_model_id_seq"),
    )


def downgrade() -> None:
    op.drop_table("alias_history")
    op.drop_table("model_aliases")
    op.drop_table("model_versions")
    op.drop_table("registered_models")
    op.drop_table("runs")
