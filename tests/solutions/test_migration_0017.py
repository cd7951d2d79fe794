"""Migration 0017 adds the alert rule and delivery tables to an existing workspace, and
takes them away; the monitor's own tables are left as they were."""

from __future__ import annotations

from pathlib import Path

from homekit import alembic_to
from sqlalchemy import inspect, text

from baryon.core.db import Database
from baryon.core.scope import OPERATOR_ORG_ID

TABLES = {"sentiment_rules", "alert_channels", "alert_deliveries"}


def test_0017_upgrades_a_0016_database_and_downgrades(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'b.db'}")
    try:
        alembic_to(db, "0016")
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO sentiment_rule_states (org_id, key, state, updated_at)"
                    " VALUES (:org, 'index_crossing:1h:0.3|*', 'above', '2026-12-01 10:00:00')"
                ),
                {"org": OPERATOR_ORG_ID},
            )
        assert not TABLES & set(inspect(db.engine).get_table_names())

        alembic_to(db, "0017")

        assert set(inspect(db.engine).get_table_names()) >= TABLES
        names = {ix["name"] for ix in inspect(db.engine).get_indexes("alert_deliveries")}
        assert {"ix_alert_deliveries_org_status", "ix_alert_deliveries_channel_id"} <= names
        alembic_to(db, "0016", "downgrade")
        assert not TABLES & set(inspect(db.engine).get_table_names())
        with db.engine.connect() as conn:
            states = conn.execute(text("SELECT state FROM sentiment_rule_states")).scalars().all()
        assert states == ["above"]
    finally:
        db.dispose()
