"""Every object belongs to an organization; grants share objects across organizations.

- Creates the workspace's **operator organization** (id ``OPERATOR_ORG_ID``, name
  ``operator``, or ``baryon-operator`` when an organization already took that name) on
  the ``enterprise`` plan. Every row that existed before ownership goes to it.
- Adds ``org_id`` (not null, foreign key, indexed) to ``datasets``,
  ``dataset_versions``, ``runs``, ``registered_models``, ``model_versions``,
  ``model_aliases`` and ``alias_history``; dataset and model names become unique per
  organization. Hand-offs and labeling tasks answered outside the API (``org_id``
  null) go to the operator organization and the column becomes not null.
- Creates ``grants``.

SQLite runs the table rebuilds with foreign keys off (``Database.migrate``), so
rebuilding a parent table never cascades to its children.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from baryon.core.db import UTCDateTime
from baryon.core.scope import OPERATOR_ORG_ID

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_NEW_OWNED = (
    "datasets",
    "dataset_versions",
    "runs",
    "registered_models",
    "model_versions",
    "model_aliases",
    "alias_history",
)
_NAMED = {"datasets": "uq_datasets_name", "registered_models": "uq_registered_models_name"}
_WAS_NULLABLE = ("support_handoffs", "labeling_tasks")


def _operator_org(bind: sa.Connection) -> None:
    now = datetime.now(UTC)
    taken = bind.execute(sa.text("SELECT 1 FROM organizations WHERE name = 'operator'")).first()
    orgs = sa.table(
        "organizations",
        sa.column("id", sa.String),
        sa.column("name", sa.String),
        sa.column("operator", sa.Boolean),
        sa.column("prediction_inputs", sa.String),
        sa.column("created_at", UTCDateTime()),
    )
    op.bulk_insert(
        orgs,
        [
            {
                "id": OPERATOR_ORG_ID,
                "name": "baryon-operator" if taken else "operator",
                "operator": True,
                "prediction_inputs": "full",
                "created_at": now,
            }
        ],
    )
    subs = sa.table(
        "subscriptions",
        sa.column("id", sa.String),
        sa.column("org_id", sa.String),
        sa.column("plan_id", sa.String),
        sa.column("status", sa.String),
        sa.column("billing_anchor", UTCDateTime()),
        sa.column("started_at", UTCDateTime()),
        sa.column("ended_at", UTCDateTime()),
    )
    op.bulk_insert(
        subs,
        [
            {
                "id": "sub_00000000000000000000000000",
                "org_id": OPERATOR_ORG_ID,
                "plan_id": "plan_enterprise",
                "status": "active",
                "billing_anchor": now,
                "started_at": now,
                "ended_at": None,
            }
        ],
    )


def upgrade() -> None:
    bind = op.get_bind()
    _operator_org(bind)
    for table in _NEW_OWNED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("org_id", sa.String(40), nullable=True))
        op.execute(sa.text(f"UPDATE {table} SET org_id = :org").bindparams(org=OPERATOR_ORG_ID))
        with op.batch_alter_table(table) as batch:
            batch.alter_column("org_id", existing_type=sa.String(40), nullable=False)
            batch.create_foreign_key(
                f"fk_{table}_org_id_organizations",
                "organizations",
                ["org_id"],
                ["id"],
                ondelete="CASCADE",
            )
            batch.create_index(f"ix_{table}_org_id", ["org_id"])
            if table in _NAMED:
                batch.drop_constraint(_NAMED[table], type_="unique")
                batch.create_unique_constraint(f"uq_{table}_org_id_name", ["org_id", "name"])
    for table in _WAS_NULLABLE:
        op.execute(
            sa.text(f"UPDATE {table} SET org_id = :org WHERE org_id IS NULL").bindparams(
                org=OPERATOR_ORG_ID
            )
        )
        with op.batch_alter_table(table) as batch:
            batch.alter_column("org_id", existing_type=sa.String(40), nullable=False)
    op.create_table(
        "grants",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column(
            "owner_org_id",
            sa.String(40),
            sa.ForeignKey(
                "organizations.id", ondelete="CASCADE", name="fk_grants_owner_org_id_organizations"
            ),
            nullable=False,
        ),
        sa.Column(
            "grantee_org_id",
            sa.String(40),
            sa.ForeignKey(
                "organizations.id",
                ondelete="CASCADE",
                name="fk_grants_grantee_org_id_organizations",
            ),
            nullable=True,
        ),
        sa.Column("object_type", sa.String(16), nullable=False),
        sa.Column("object_id", sa.String(40), nullable=False),
        sa.Column("permission", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint(
            "object_type", "object_id", "grantee_org_id", "permission", name="uq_grants_object"
        ),
    )
    op.create_index("ix_grants_grantee", "grants", ["grantee_org_id"])
    op.create_index("ix_grants_owner_org_id", "grants", ["owner_org_id"])


def downgrade() -> None:
    raise NotImplementedError("Baryon migrations are forward-only")
