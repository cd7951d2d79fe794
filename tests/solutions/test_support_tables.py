"""Migration 0005 creates exactly the ORM tables of the support solution."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from baryon.core.db import Base
from baryon.solutions.support import tables
from baryon.workspace import Workspace

_MINE = {tables.SupportHandoffRow.__tablename__}


def _table_of(diff: Any) -> str | None:
    item = diff[0] if isinstance(diff, list) else diff
    for part in item[1:]:
        table = getattr(part, "table", None)
        if table is not None and getattr(table, "name", None):
            return str(table.name)
        if isinstance(part, str) and part in _MINE:
            return part
        if getattr(part, "name", None) in _MINE:
            return str(part.name)
    return None


def test_migration_0005_matches_orm_tables(workspace: Workspace) -> None:
    with workspace.db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, Base.metadata)
    assert [d for d in diffs if _table_of(d) in _MINE] == []
    assert set(workspace.db.table_counts()) >= _MINE
