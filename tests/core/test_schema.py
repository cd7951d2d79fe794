"""The migrations create exactly the tables the ORM declares, for every layer."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import baryon.commerce.tables
import baryon.data.tables
import baryon.predictions.tables
import baryon.solutions.recommender.tables
import baryon.solutions.sentiment.tables
import baryon.solutions.support.tables
import baryon.tenancy.tables
import baryon.training.tables  # noqa: F401  (every table module registers its tables)
from baryon.core.db import Base
from baryon.core.scope import OrgOwned
from baryon.workspace import Workspace


def _not_core_only(name: str | None, type_: str, parent: object) -> bool:
    # workspace_info is created by migration 0001 and read with plain SQL (no ORM class).
    return not (type_ == "table" and name == "workspace_info")


def test_migrations_head_matches_every_orm_table(tmp_path) -> None:
    from baryon import Settings

    ws = Workspace.open(Settings(home=tmp_path))
    with ws.db.engine.connect() as conn:
        opts = {"compare_type": True, "include_name": _not_core_only}
        context = MigrationContext.configure(conn, opts=opts)
        diff = compare_metadata(context, Base.metadata)
    ws.close()
    assert diff == []


def test_owned_tables_have_org_id_not_null() -> None:
    owned = [m.class_ for m in Base.registry.mappers if issubclass(m.class_, OrgOwned)]
    assert len(owned) >= 16
    for cls in owned:
        assert cls.__table__.c.org_id.nullable is False, cls.__tablename__
