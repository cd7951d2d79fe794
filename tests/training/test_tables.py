"""The hand-written migration 0003 creates exactly the ORM tables of baryon.training.tables."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from baryon.core.db import Base
from baryon.training import tables
from baryon.workspace import Workspace

_MINE = {
    tables.RunRow.__tablename__,
    tables.RegisteredModelRow.__tablename__,
    tables.ModelVersionRow.__tablename__,
    tables.ModelAliasRow.__tablename__,
    tables.AliasHistoryRow.__tablename__,
}


def _table_of(diff: Any) -> str | None:
    item = diff[0] if isinstance(diff, list) else diff
    for part in item[1:]:
        name = getattr(part, "name", None)
        table = getattr(part, "table", None)
        if table is not None and getattr(table, "name", None):
            return str(table.name)
        if isinstance(part, str) and part in _MINE:
            return part
        if name in _MINE:
            return str(name)
    return None


def test_migration_0003_matches_orm_tables(workspace: Workspace) -> None:
    with workspace.db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, Base.metadata)
    mine = [d for d in diffs if _table_of(d) in _MINE]
    assert mine == []
    counts = workspace.db.table_counts()
    assert set(counts) >= _MINE
