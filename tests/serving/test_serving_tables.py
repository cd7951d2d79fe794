"""Migration 0004 creates exactly the tables the ORM declares."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import baryon.commerce.tables
import baryon.predictions.tables
import baryon.tenancy.tables
from baryon.core.db import Base
from baryon.workspace import Workspace

MINE = {
    t.name
    for module in (baryon.commerce.tables, baryon.predictions.tables, baryon.tenancy.tables)
    for t in Base.metadata.sorted_tables
    if t.name in {getattr(module, n).__tablename__ for n in module.__all__ if n.endswith("Row")}
}


def test_migration_0004_matches_orm_tables(ws: Workspace) -> None:
    assert len(MINE) == 12

    def include_name(name: str | None, type_: str, parent: object) -> bool:
        return type_ != "table" or name in MINE

    def include_object(obj: object, name: str | None, type_: str, *_: object) -> bool:
        return type_ != "table" or name in MINE

    opts = {"compare_type": True, "include_name": include_name, "include_object": include_object}
    with ws.db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts=opts)
        assert compare_metadata(context, Base.metadata) == []
