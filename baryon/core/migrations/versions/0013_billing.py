"""Billing: plan currencies, trials, route prices, price versions, archiving; invoices.

Written by hand to match ``baryon/commerce/tables.py`` (``tests/core/test_schema.py``
compares them).

- ``plans`` gains ``currency`` (existing plans: ``USD``), ``trial_days`` (0),
  ``route_prices`` (``{}``), ``price_version`` (1) and ``archived_at``.
- ``plan_prices`` holds each plan's price versions; every existing plan gets its
  version 1 (its current prices, dated when the plan was made).
- ``subscriptions`` gains ``trial_ends_at``.
- Creates ``billing_accounts``, ``billing_credits``, ``invoices``, ``invoice_lines``
  and ``invoice_counters`` (with its one row, ``invoice`` at 0).

Revision ID: 0013
Revises: 0010
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from baryon.core.db import JSONType, UTCDateTime

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None


def _org(table: str) -> sa.Column:
    return sa.Column(
        "org_id",
        sa.String(40),
        sa.ForeignKey(
            "organizations.id", ondelete="CASCADE", name=f"fk_{table}_org_id_organizations"
        ),
        nullable=False,
    )


def _invoice_fk(table: str, column: str, *, ondelete: str | None = "CASCADE") -> sa.ForeignKey:
    return sa.ForeignKey("invoices.id", ondelete=ondelete, name=f"fk_{table}_{column}_invoices")


def _money(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.String(40), nullable=nullable)


def _plans() -> None:
    op.add_column(
        "plans", sa.Column("currency", sa.String(3), nullable=False, server_default="USD")
    )
    op.add_column(
        "plans", sa.Column("trial_days", sa.Integer, nullable=False, server_default=sa.text("0"))
    )
    op.add_column(
        "plans",
        sa.Column("route_prices", JSONType, nullable=False, server_default=sa.text("'{}'")),
    )
    op.add_column(
        "plans",
        sa.Column("price_version", sa.Integer, nullable=False, server_default=sa.text("1")),
    )
    op.add_column("plans", sa.Column("archived_at", UTCDateTime(), nullable=True))
    op.create_table(
        "plan_prices",
        sa.Column(
            "plan_id",
            sa.String(40),
            sa.ForeignKey("plans.id", ondelete="CASCADE", name="fk_plan_prices_plan_id_plans"),
            primary_key=True,
        ),
        sa.Column("version", sa.Integer, primary_key=True),
        _money("monthly_price"),
        _money("overage_price", nullable=True),
        sa.Column("route_prices", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("plan_id", "version", name="pk_plan_prices"),
    )
    op.execute(
        "INSERT INTO plan_prices (plan_id, version, monthly_price, overage_price, "
        "route_prices, created_at, actor) SELECT id, 1, monthly_price, overage_price, "
        "'{}', created_at, 'migration:0013' FROM plans"
    )
    op.add_column("subscriptions", sa.Column("trial_ends_at", UTCDateTime(), nullable=True))


def _invoices() -> None:
    op.create_table(
        "invoices",
        sa.Column("id", sa.String(40), primary_key=True),
        _org("invoices"),
        sa.Column("number", sa.Integer, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("period_start", UTCDateTime(), nullable=False),
        sa.Column("period_end", UTCDateTime(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("units", sa.Integer, nullable=False),
        _money("subtotal"),
        _money("discount"),
        _money("tax_rate"),
        _money("tax"),
        _money("credit_applied"),
        _money("total"),
        sa.Column(
            "replaces_id", sa.String(40), _invoice_fk("invoices", "replaces_id", ondelete=None)
        ),
        sa.Column("void_reason", sa.String(500), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("issued_at", UTCDateTime(), nullable=True),
        sa.Column("paid_at", UTCDateTime(), nullable=True),
        sa.Column("voided_at", UTCDateTime(), nullable=True),
        sa.UniqueConstraint("number", name="uq_invoices_number"),
    )
    op.create_index("ix_invoices_org_id", "invoices", ["org_id"])
    op.create_index(
        "uq_invoices_org_period_live",
        "invoices",
        ["org_id", "period_start"],
        unique=True,
        sqlite_where=sa.text("status != 'void'"),
        postgresql_where=sa.text("status != 'void'"),
    )
    op.create_table(
        "invoice_lines",
        sa.Column(
            "invoice_id",
            sa.String(40),
            _invoice_fk("invoice_lines", "invoice_id"),
            primary_key=True,
        ),
        sa.Column("position", sa.Integer, primary_key=True),
        _org("invoice_lines"),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        _money("quantity"),
        _money("unit_price", nullable=True),
        _money("amount"),
        sa.Column("units", sa.Integer, nullable=False),
        sa.Column("plan_name", sa.String(40), nullable=True),
        sa.Column("route", sa.String(200), nullable=True),
        sa.Column("starts_at", UTCDateTime(), nullable=True),
        sa.Column("ends_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("invoice_id", "position", name="pk_invoice_lines"),
    )
    op.create_index("ix_invoice_lines_org_id", "invoice_lines", ["org_id"])
    counters = op.create_table(
        "invoice_counters",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("value", sa.Integer, nullable=False),
    )
    op.bulk_insert(counters, [{"name": "invoice", "value": 0}])


def _accounts() -> None:
    op.create_table(
        "billing_accounts",
        sa.Column("id", sa.String(40), primary_key=True),
        _org("billing_accounts"),
        _money("tax_rate"),
        _money("discount_percent"),
        sa.Column("stripe_customer_id", sa.String(255), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("org_id", name="uq_billing_accounts_org_id"),
    )
    op.create_index("ix_billing_accounts_org_id", "billing_accounts", ["org_id"])
    op.create_table(
        "billing_credits",
        sa.Column("id", sa.String(40), primary_key=True),
        _org("billing_credits"),
        _money("amount"),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column(
            "invoice_id", sa.String(40), _invoice_fk("billing_credits", "invoice_id"), nullable=True
        ),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_billing_credits_org_id", "billing_credits", ["org_id"])


def upgrade() -> None:
    _plans()
    _invoices()
    _accounts()


def downgrade() -> None:
    for table in (
        "billing_credits",
        "billing_accounts",
        "invoice_counters",
        "invoice_lines",
        "invoices",
        "plan_prices",
    ):
        op.drop_table(table)
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("trial_ends_at")
    with op.batch_alter_table("plans") as batch:
        for column in ("archived_at", "price_version", "route_prices", "trial_days", "currency"):
            batch.drop_column(column)
