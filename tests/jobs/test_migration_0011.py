"""Migration 0011 adds ``job_schedules`` to an existing workspace, and takes it away."""

from __future__ import annotations

from pathlib import Path

from homekit import alembic_to
from sqlalchemy import inspect, text

from baryon.core.db import Database
from baryon.core.scope import OPERATOR_ORG_ID


def test_0011_upgrades_a_0010_database_with_jobs_and_downgrades(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'b.db'}")
    try:
        alembic_to(db, "0010")
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO jobs (id, org_id, kind, payload, status, progress, attempts,"
                    " max_attempts, cancel_requested, created_at) VALUES ('job_1', :org,"
                    " 'noop', '{}', 'queued', 0, 0, 3, 0, '2026-12-01 10:00:00')"
                ),
                {"org": OPERATOR_ORG_ID},
            )
        assert db.schema_version() == "0010"
        assert "job_schedules" not in inspect(db.engine).get_table_names()

        assert db.migrate() == Database.head_version()

        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM job_schedules")).scalar_one() == 0
            assert conn.execute(text("SELECT id, status FROM jobs")).all() == [("job_1", "queued")]
        names = {ix["name"] for ix in inspect(db.engine).get_indexes("job_schedules")}
        assert {"ix_job_schedules_org_id", "ix_job_schedules_paused_next"} <= names
        alembic_to(db, "0010", "downgrade")
        assert "job_schedules" not in inspect(db.engine).get_table_names()
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM jobs")).scalar_one() == 1
    finally:
        db.dispose()
