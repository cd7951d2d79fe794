"""Tenancy, API keys, plans, subscriptions, usage records, prediction log, feedback (issue: serving).

Written by hand to match ``baryon/commerce/tables.py``, ``baryon/tenancy/tables.py`` and ``baryon/predictions/tables.py`` (where the tables live now)
(``tests/serving/test_tables.py`` compares them). Seeds the built-in plans ``free``,
``pro`` and ``enterprise`` (``baryon.commerce.plans.BUILTIN_PLANS``).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from baryon.core.db import JSONType, UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_ORG_FK = "organizations.id"


def _org_fk(name: str, *, primary_key: bool = False, index: bool = False) -> sa.Column:
    return sa.Column(
        "org_id",
        sa.String(40),
        sa.ForeignKey(_ORG_FK, ondelete="CASCADE", name=f"fk_{name}_org_id_organizations"),
        nullable=False,
        primary_key=primary_key,
        index=index,
    )


def upgrade() -> None:
    op.create_table(
        "organizations",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("operator", sa.Boolean, nullable=False),
        sa.Column("prediction_inputs", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("name", name="uq_organizations_name"),
    )
    plans = op.create_table(
        "plans",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("quota", sa.Integer, nullable=False),
        sa.Column("rate_per_minute", sa.Integer, nullable=False),
        sa.Column("monthly_price", sa.String(40), nullable=False),
        sa.Column("overage_price", sa.String(40), nullable=True),
        sa.Column("features", JSONType, nullable=False),
        sa.Column("builtin", sa.Boolean, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("name", name="uq_plans_name"),
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.String(40), primary_key=True),
        _org_fk("subscriptions", index=True),
        sa.Column(
            "plan_id",
            sa.String(40),
            sa.ForeignKey("plans.id", name="fk_subscriptions_plan_id_plans"),
            nullable=False,
        ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("billing_anchor", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
    )
    op.create_index(
        "uq_subscriptions_active_org",
        "subscriptions",
        ["org_id"],
        unique=True,
        sqlite_where=sa.text("status = 'active'"),
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.String(40), primary_key=True),
        _org_fk("users"),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("disabled_at", UTCDateTime(), nullable=True),
        sa.UniqueConstraint("org_id", "email", name="uq_users_org_id"),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(40), primary_key=True),
        _org_fk("api_keys", index=True),
        sa.Column(
            "user_id",
            sa.String(40),
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_api_keys_user_id_users"),
            nullable=True,
        ),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
        sa.UniqueConstraint("secret_sha256", name="uq_api_keys_secret_sha256"),
    )
    op.create_table(
        "rate_limit_buckets",
        sa.Column("subject", sa.String(80), primary_key=True),
        sa.Column("tat", sa.Float, nullable=False),
    )
    op.create_table(
        "quota_counters",
        _org_fk("quota_counters", primary_key=True),
        sa.Column("period_start", UTCDateTime(), primary_key=True),
        sa.Column("used", sa.Integer, nullable=False),
    )
    op.create_table(
        "usage_records",
        sa.Column("id", sa.String(40), primary_key=True),
        _org_fk("usage_records"),
        sa.Column("key_id", sa.String(40), nullable=True),
        sa.Column("endpoint", sa.String(200), nullable=False),
        sa.Column("model_name", sa.String(200), nullable=True),
        sa.Column("model_version", sa.Integer, nullable=True),
        sa.Column("units", sa.Integer, nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("latency_ms", sa.Float, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("period_start", UTCDateTime(), nullable=False),
        sa.Column("prediction_id", sa.String(40), nullable=True),
    )
    op.create_index("ix_usage_records_org_at", "usage_records", ["org_id", "at"])
    op.create_table(
        "idempotency_records",
        sa.Column("key_id", sa.String(40), primary_key=True),
        sa.Column("idempotency_key", sa.String(255), primary_key=True),
        _org_fk("idempotency_records"),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "prediction_log",
        sa.Column("id", sa.String(40), primary_key=True),
        _org_fk("prediction_log"),
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("model_name", sa.String(200), nullable=False),
        sa.Column("model_version", sa.Integer, nullable=False),
        sa.Column("variant", sa.String(16), nullable=False),
        sa.Column("request_id", sa.String(200), nullable=True),
        sa.Column("input_mode", sa.String(16), nullable=False),
        sa.Column("inputs", JSONType, nullable=True),
        sa.Column("input_hashes", JSONType, nullable=True),
        sa.Column("outputs", JSONType, nullable=False),
        sa.Column("flags", JSONType, nullable=False),
        sa.Column("n_inputs", sa.Integer, nullable=False),
        sa.Column("latency_ms", sa.Float, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_prediction_log_org_at", "prediction_log", ["org_id", "at"])
    op.create_table(
        "feedback",
        sa.Column("id", sa.String(40), primary_key=True),
        _org_fk("feedback"),
        sa.Column(
            "prediction_id",
            sa.String(40),
            sa.ForeignKey(
                "prediction_log.id",
                ondelete="CASCADE",
                name="fk_feedback_prediction_id_prediction_log",
            ),
            nullable=False,
        ),
        sa.Column("item", sa.Integer, nullable=False),
        sa.Column("label", JSONType, nullable=True),
        sa.Column("rating", sa.Float, nullable=True),
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("prediction_id", "item", name="uq_feedback_prediction_id"),
    )
    op.create_table(
        "endpoints",
        _org_fk("endpoints", primary_key=True),
        sa.Column("model_name", sa.String(200), primary_key=True),
        sa.Column("challenger_weight", sa.Float, nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    seeded_at = datetime(2026, 11, 29, tzinfo=UTC)
    op.bulk_insert(
        plans,
        [
            {
                "id": "plan_free",
                "name": "free",
                "quota": 1_000,
                "rate_per_minute": 60,
                "monthly_price": "0.00",
                "overage_price": None,
                "features": [],
                "builtin": True,
                "created_at": seeded_at,
            },
            {
                "id": "plan_pro",
                "name": "pro",
                "quota": 100_000,
                "rate_per_minute": 600,
                "monthly_price": "49.00",
                "overage_price": "0.0010",
                "features": ["traffic_split"],
                "builtin": True,
                "created_at": seeded_at,
            },
            {
                "id": "plan_enterprise",
                "name": "enterprise",
                "quota": 1_000_000,
                "rate_per_minute": 6_000,
                "monthly_price": "990.00",
                "overage_price": "0.0005",
                "features": ["overage", "traffic_split"],
                "builtin": True,
                "created_at": seeded_at,
            },
        ],
    )


def downgrade() -> None:
    for table in (
        "endpoints",
        "feedback",
        "prediction_log",
        "idempotency_records",
        "usage_records",
        "quota_counters",
        "rate_limit_buckets",
        "api_keys",
        "users",
        "subscriptions",
        "plans",
        "organizations",
    ):
        op.drop_table(table)
