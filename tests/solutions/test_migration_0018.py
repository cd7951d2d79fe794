"""Migration 0018 adds the inbox's columns to ``support_handoffs`` and takes them away,
keeping the hand-offs."""

from __future__ import annotations

from pathlib import Path

from homekit import alembic_to
from sqlalchemy import inspect, text

from baryon.core.db import Database
from baryon.core.scope import OPERATOR_ORG_ID

_NEW = {"answer", "answered_by", "answered_at", "closed_at", "labeling_task_id"}


def _columns(db: Database) -> set[str]:
    return {c["name"] for c in inspect(db.engine).get_columns("support_handoffs")}


def test_0018_upgrades_a_0017_database_with_handoffs_and_downgrades(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'b.db'}")
    try:
        alembic_to(db, "0017")
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO support_handoffs (prediction_id, org_id, model_name,"
                    " model_version, intent, confidence, reason, text, status, created_at)"
                    " VALUES ('pred_1', :org, 'support-intent', 1, 'refund', 0.4,"
                    " 'low_confidence', 'hello', 'open', '2026-12-01 10:00:00')"
                ),
                {"org": OPERATOR_ORG_ID},
            )
        assert not _NEW & _columns(db)
        alembic_to(db, "0018")
        assert _columns(db) >= _NEW
        with db.engine.connect() as conn:
            row = conn.execute(
                text("SELECT prediction_id, status, answer, closed_at FROM support_handoffs")
            ).one()
        assert tuple(row) == ("pred_1", "open", None, None)
        alembic_to(db, "0017", "downgrade")
        assert not _NEW & _columns(db)
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT text FROM support_handoffs")).scalar_one() == "hello"
    finally:
        db.dispose()
