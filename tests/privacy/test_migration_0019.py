"""Migration 0019 adds the privacy columns and ``artifact_keys``, and takes them away."""

from __future__ import annotations

from pathlib import Path

from homekit import alembic_to
from sqlalchemy import inspect, text

from baryon.core.db import Database
from baryon.core.scope import OPERATOR_ORG_ID


def _columns(db: Database, table: str) -> set[str]:
    return {c["name"] for c in inspect(db.engine).get_columns(table)}


def test_0019_upgrades_a_0018_database_and_downgrades(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'b.db'}")
    try:
        alembic_to(db, "0018")
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO datasets (id, org_id, name, created_at) VALUES "
                    "('ds_1', :org, 'people', '2026-12-01 10:00:00')"
                ),
                {"org": OPERATOR_ORG_ID},
            )
        assert "sensitive" not in _columns(db, "datasets")

        alembic_to(db, "0019")

        assert {"encrypted", "erased_at", "erasure_id"} <= _columns(db, "dataset_versions")
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT name, sensitive FROM datasets")).all() == [
                ("people", 0)
            ]
            assert conn.execute(text("SELECT COUNT(*) FROM artifact_keys")).scalar_one() == 0
        alembic_to(db, "0018", "downgrade")
        assert "artifact_keys" not in inspect(db.engine).get_table_names()
        assert "erased_at" not in _columns(db, "dataset_versions")
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM datasets")).scalar_one() == 1
    finally:
        db.dispose()
