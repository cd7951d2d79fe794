"""Migrations 0008 and 0011 create exactly the tables the ORM declares."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from baryon.core.config import Settings
from baryon.core.db import Base
from baryon.jobs.tables import JobRow, JobScheduleRow
from baryon.workspace import Workspace


def test_migrations_0008_0011_match_orm_tables(tmp_path: Path) -> None:
    mine = {JobRow.__tablename__, JobScheduleRow.__tablename__}

    def include(obj: object, name: str | None, type_: str, *_: object) -> bool:
        return type_ != "table" or name in mine

    def include_name(name: str | None, type_: str, parent: object) -> bool:
        return type_ != "table" or name in mine

    opts = {"compare_type": True, "include_name": include_name, "include_object": include}
    with Workspace.open(Settings(home=tmp_path / "home")) as ws:
        assert {"jobs", "job_schedules"} <= set(ws.db.table_counts())
        with ws.db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts=opts)
            assert compare_metadata(context, Base.metadata) == []
