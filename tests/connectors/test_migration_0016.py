"""Migration 0016 adds ``sources`` and ``source_runs`` to an existing workspace, and takes
them away (the chain's next revision is the lead's to number at merge)."""

from __future__ import annotations

from pathlib import Path

from homekit import alembic_to
from sqlalchemy import inspect, text

from baryon.core.db import Database
from baryon.core.scope import OPERATOR_ORG_ID


def test_0016_upgrades_a_0015_database_and_downgrades(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'b.db'}")
    try:
        alembic_to(db, "0015")
        assert "sources" not in inspect(db.engine).get_table_names()
        alembic_to(db, "0016")
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO sources (id, org_id, name, kind, url, dataset, config, state,"
                    " created_by, created_at, updated_at) VALUES ('src_1', :org, 'news', 'feed',"
                    " 'https://example.com/rss', 'news', '{}', '{}', 't', '2026-12-01 10:00:00',"
                    " '2026-12-01 10:00:00')"
                ),
                {"org": OPERATOR_ORG_ID},
            )
            assert conn.execute(text("SELECT COUNT(*) FROM source_runs")).scalar_one() == 0
        names = {ix["name"] for ix in inspect(db.engine).get_indexes("source_runs")}
        assert {"ix_source_runs_org_id", "ix_source_runs_source_started"} <= names
        alembic_to(db, "0015", "downgrade")
        tables = inspect(db.engine).get_table_names()
        assert "sources" not in tables
        assert "source_runs" not in tables
    finally:
        db.dispose()
