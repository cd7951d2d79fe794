"""The hand-written migration 0002 creates exactly the ORM tables of baryon/data/tables.py."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from baryon.core.db import Base
from baryon.data import tables
from baryon.workspace import Workspace

_OURS = {tables.DatasetRow.__tablename__, tables.DatasetVersionRow.__tablename__}


def test_migration_0002_matches_orm_tables(workspace: Workspace) -> None:
    with workspace.db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, Base.metadata)

    def table_of(diff: object) -> str | None:
        item = diff[0] if isinstance(diff, list) else diff
        for part in item[1:] if isinstance(item, tuple) else ():
            name = getattr(part, "name", None)
            table = getattr(part, "table", None)
            if table is not None and getattr(table, "name", None) in _OURS:
                return str(table.name)
            if name in _OURS:
                return str(name)
            if isinstance(part, str) and part in _OURS:
                return part
        return None

    ours = [d for d in diffs if table_of(d) is not None]
    assert ours == []


def test_migration_0002_creates_both_tables(workspace: Workspace) -> None:
    counts = workspace.db.table_counts()
    assert counts["datasets"] == 0
    assert counts["dataset_versions"] == 0
