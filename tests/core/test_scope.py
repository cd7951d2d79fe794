"""The organization scope: every ORM query on an owned table applies the caller's org."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, update

from baryon.commerce.orgs import create_org
from baryon.core.config import Settings
from baryon.core.errors import InvalidInput, NotFound
from baryon.core.scope import (
    OPERATOR_ORG_ID,
    SYSTEM,
    Scope,
    ScopeRequired,
    own_rows,
    pick_by_owner,
)
from baryon.data.tables import DatasetRow, DatasetVersionRow
from baryon.tenancy.grants import create_grant
from baryon.workspace import Workspace


@pytest.fixture
def two(tmp_path: Path) -> tuple[Workspace, Workspace, Workspace]:
    """The operator's workspace and the views of orgs ``a`` and ``b``, each with dataset ``t``."""
    ws = Workspace.open(Settings(home=tmp_path / "home"))
    with ws.db.session(SYSTEM) as s:
        create_org(s, name="a")
        create_org(s, name="b")
    csv = tmp_path / "t.csv"
    csv.write_text("x,y\n1,2\n3,4\n")
    a, b = ws.for_org("a"), ws.for_org("b")
    a.datasets.ingest(csv, name="t")
    b.datasets.ingest(csv, name="t")
    yield ws, a, b
    ws.close()


def test_session_without_scope_on_owned_table_raises_scope_required(two) -> None:
    ws, _, _ = two
    with pytest.raises(ScopeRequired), ws.db.session(scope=None) as s:
        s.scalars(select(DatasetRow)).all()
    with pytest.raises(ScopeRequired), ws.db.session(scope=None) as s:
        s.execute(update(DatasetRow).values(name="x"))
    with pytest.raises(ScopeRequired), ws.db.session(scope=None) as s:
        s.add(DatasetRow(id="ds_x", org_id=OPERATOR_ORG_ID, name="x", created_at=ws.clock.now()))


def test_own_rows_scopes_an_unscoped_session_for_its_block_only(two) -> None:
    ws, a, b = two
    with ws.db.session(scope=None) as s:
        with own_rows(s, a.scope.org_id):
            assert {r.org_id for r in s.scalars(select(DatasetRow))} == {a.scope.org_id}
        with pytest.raises(ScopeRequired):  # the block is over: no scope again
            s.scalars(select(DatasetRow)).all()
    with ws.db.session(b.scope) as s, own_rows(s, a.scope.org_id):  # a scope is kept
        assert {r.org_id for r in s.scalars(select(DatasetRow))} == {b.scope.org_id}
    with ws.db.session(SYSTEM) as s, own_rows(s, a.scope.org_id):
        assert len(s.scalars(select(DatasetRow)).all()) == 2


def test_scope_select_sees_own_rows_only(two) -> None:
    ws, a, _ = two
    with ws.db.session(a.scope) as s:
        rows = s.scalars(select(DatasetRow)).all()
        versions = s.scalars(select(DatasetVersionRow)).all()
    assert {r.org_id for r in rows} == {a.scope.org_id}
    assert {v.org_id for v in versions} == {a.scope.org_id}
    with ws.db.session(SYSTEM) as s:
        assert len(s.scalars(select(DatasetRow)).all()) == 2


def test_scope_update_reaches_own_rows_only(two) -> None:
    ws, a, b = two
    with ws.db.session(b.scope) as s:
        changed = s.execute(update(DatasetRow).values(name="renamed")).rowcount
    assert changed == 1
    assert [v.name for v in a.datasets.list()] == ["t"]
    assert [v.name for v in b.datasets.list()] == ["renamed"]


def test_flush_of_another_orgs_object_is_not_found(two) -> None:
    ws, a, b = two
    with ws.db.session(SYSTEM) as s:
        row = s.scalars(select(DatasetRow).where(DatasetRow.org_id == a.scope.org_id)).one()

    def steal() -> None:
        with ws.db.session(b.scope) as s:
            s.merge(row).name = "stolen"

    with pytest.raises(NotFound):
        steal()
    with pytest.raises(NotFound), ws.db.session(b.scope) as s:
        s.add(DatasetRow(id="ds_y", org_id=a.scope.org_id, name="y", created_at=ws.clock.now()))


def test_insert_without_org_id_gets_the_scopes(two) -> None:
    ws, a, _ = two
    with ws.db.session(a.scope) as s:
        s.add(DatasetRow(id="ds_z", name="z", created_at=ws.clock.now()))
    with ws.db.session(SYSTEM) as s:
        assert s.get(DatasetRow, "ds_z").org_id == a.scope.org_id


def test_grant_makes_rows_readable_not_writable(two) -> None:
    ws, a, b = two
    with ws.db.session(a.scope) as s:
        create_grant(
            s,
            owner_org_id=a.scope.org_id,
            object_type="dataset",
            object_name="t",
            grantee="b",
            permission="read",
            actor="test",
        )
    b = ws.for_org("b")
    assert b.scope.granted("dataset")
    with ws.db.session(b.scope) as s:
        assert len(s.scalars(select(DatasetRow)).all()) == 2
        assert s.execute(update(DatasetRow).values(name="mine")).rowcount == 1
    assert [v.name for v in a.datasets.list()] == ["t"]
    # own first, then OWNER/NAME for the shared one
    assert b.datasets.get("mine").manifest["name"] == "t"
    assert {v.name for v in b.datasets.list()} == {"t", "mine"}


def test_pick_by_owner_own_first_then_owner_prefix_then_ambiguous() -> None:
    class Row:
        def __init__(self, org_id: str) -> None:
            self.org_id = org_id

    mine, x, y = Row("org_me"), Row("org_x"), Row("org_y")
    scope = Scope(
        org_id="org_me", org_name="me", owners={"me": "org_me", "x": "org_x", "y": "org_y"}
    )
    assert pick_by_owner([x, mine], scope, owner=None, what="t") is mine
    assert pick_by_owner([x, mine], scope, owner="x", what="t") is x
    assert pick_by_owner([x], scope, owner=None, what="t") is x
    assert pick_by_owner([], scope, owner=None, what="t") is None
    with pytest.raises(InvalidInput) as err:
        pick_by_owner([x, y], scope, owner=None, what="t")
    assert err.value.code == "ambiguous_ref"
    assert pick_by_owner([x], scope, owner="nobody", what="t") is None
