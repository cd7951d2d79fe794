"""The audit log's hash chain: linking, verifying, every kind of tampering, concurrency."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from homekit import alembic_to
from sqlalchemy import select, text

from baryon.core.audit import (
    GENESIS,
    AuditEvent,
    chain_value,
    list_audit_events,
    parse_anchor,
    record_audit,
    verify_audit_chain,
)
from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.core.db import Database
from baryon.core.errors import BaryonError, IntegrityError, InvalidInput
from baryon.workspace import Workspace


@pytest.fixture
def ws(settings: Settings) -> Workspace:
    opened = Workspace.open(settings, clock=FixedClock())
    yield opened
    opened.close()


def _events(ws: Workspace, n: int, *, org_id: str | None = None, actor: str = "cli:ann") -> None:
    for i in range(n):
        with ws.db.session() as s:
            record_audit(
                s,
                actor=actor,
                action=f"thing.step{i % 2}",
                object_type="thing",
                object_id=f"t{i}",
                details={"i": i, "ratio": 0.5, "big": 1e20, "nested": {"b": [1, 2.0], "a": None}},
                org_id=org_id,
                clock=ws.clock,
            )


def _verify(ws: Workspace, **kwargs: object):  # type: ignore[no-untyped-def]
    with ws.db.session() as s:
        return verify_audit_chain(s, **kwargs)  # type: ignore[arg-type]


def _sql(ws: Workspace, statement: str, **params: object) -> None:
    with ws.db.engine.begin() as conn:
        conn.execute(text(statement), params)


# ------------------------------------------------------------------- linking
def test_record_audit_numbers_events_and_links_each_to_the_previous(ws: Workspace) -> None:
    _events(ws, 4)
    key = ws.db.audit_key
    assert key is not None
    with ws.db.session() as s:
        events = list_audit_events(s)
    assert [e.seq for e in events] == [1, 2, 3, 4]
    previous = GENESIS
    for event in events:
        assert event.chain == chain_value(key, previous, event)
        previous = event.chain
    report = _verify(ws)
    assert (report.ok, report.events, report.head_seq, report.head_chain) == (
        True, 4, 4, events[-1].chain,
    )  # fmt: skip


def test_record_audit_several_in_one_transaction_chain_in_order(ws: Workspace) -> None:
    with ws.db.session() as s:
        for i in range(3):
            record_audit(s, actor="system", action="a.b", object_type="x", object_id=str(i))
    with ws.db.session() as s:
        assert [(e.seq, e.object_id) for e in list_audit_events(s)] == [
            (1, "0"),
            (2, "1"),
            (3, "2"),
        ]
    assert _verify(ws).ok


def test_rolled_back_transaction_leaves_no_gap(ws: Workspace) -> None:
    _events(ws, 1)

    def fail() -> None:
        with ws.db.session() as s:
            record_audit(s, actor="system", action="a.b", object_type="x", object_id="gone")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail()
    _events(ws, 1)
    with ws.db.session() as s:
        assert [e.seq for e in list_audit_events(s)] == [1, 2]
    assert _verify(ws).ok


def test_record_audit_without_key_refuses(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'b.db'}")
    try:
        db.migrate()
        with pytest.raises(BaryonError) as err, db.session() as s:
            record_audit(s, actor="system", action="a.b", object_type="x", object_id="1")
        assert err.value.code == "audit_key_missing"
    finally:
        db.dispose()


def test_details_stored_as_hashed_with_non_json_values(ws: Workspace) -> None:
    with ws.db.session() as s:
        record_audit(
            s, actor="system", action="a.b", object_type="x", object_id="1",
            details={"when": datetime(2026, 1, 1, tzinfo=UTC), "ids": ("a", "b"),
                     "nan": float("nan")},
        )  # fmt: skip
    with ws.db.session() as s:
        [event] = list_audit_events(s)
    assert event.details == {"when": "2026-01-01T00:00:00+00:00", "ids": ["a", "b"], "nan": None}
    assert _verify(ws).ok


# ------------------------------------------------------------------ tampering
def test_verify_detects_an_edited_event_and_names_it(ws: Workspace) -> None:
    _events(ws, 5)
    _sql(ws, "UPDATE audit_events SET details = '{\"i\": 99}' WHERE seq = 3")
    report = _verify(ws)
    assert report.problem is not None
    assert (report.problem.seq, report.problem.kind) == (3, "altered")
    with ws.db.session() as s:
        event_id = s.scalar(select(AuditEvent.id).where(AuditEvent.seq == 3))
    assert report.problem.event_id == event_id
    assert event_id in report.problem.message
    with pytest.raises(IntegrityError) as err:
        report.raise_if_broken()
    assert err.value.code == "audit_chain_broken"


@pytest.mark.parametrize(
    ("column", "value"),
    [("actor", "cli:mallory"), ("action", "thing.other"), ("org_id", "org_x"),
     ("object_id", "t99"), ("at", "2020-01-01 00:00:00.000000")],
)  # fmt: skip
def test_verify_detects_an_edit_of_any_field(ws: Workspace, column: str, value: str) -> None:
    _events(ws, 3)
    _sql(ws, f"UPDATE audit_events SET {column} = :v WHERE seq = 2", v=value)
    problem = _verify(ws).problem
    assert problem is not None
    assert (problem.seq, problem.kind) == (2, "altered")


def test_verify_detects_a_deleted_event(ws: Workspace) -> None:
    _events(ws, 5)
    _sql(ws, "DELETE FROM audit_events WHERE seq = 2")
    problem = _verify(ws).problem
    assert problem is not None
    assert (problem.seq, problem.kind, problem.event_id) == (2, "missing", None)


def test_verify_detects_a_deletion_hidden_by_renumbering(ws: Workspace) -> None:
    _events(ws, 5)
    _sql(ws, "DELETE FROM audit_events WHERE seq = 2")
    for seq in (3, 4, 5):
        _sql(ws, "UPDATE audit_events SET seq = :new WHERE seq = :old", new=seq - 1, old=seq)
    _sql(ws, "UPDATE audit_chain SET seq = 4")
    problem = _verify(ws).problem
    assert problem is not None
    assert (problem.seq, problem.kind) == (2, "altered")


def test_verify_detects_events_deleted_from_the_end(ws: Workspace) -> None:
    _events(ws, 5)
    _sql(ws, "DELETE FROM audit_events WHERE seq >= 4")
    problem = _verify(ws).problem
    assert problem is not None
    assert (problem.seq, problem.kind) == (4, "missing")
    assert "#4 to #5" in problem.message


def test_verify_anchor_catches_a_cut_with_the_head_rewound(ws: Workspace) -> None:
    _events(ws, 5)
    anchor = (_verify(ws).head_seq, _verify(ws).head_chain)
    with ws.db.session() as s:
        fourth = s.scalar(select(AuditEvent.chain).where(AuditEvent.seq == 4))
    _sql(ws, "DELETE FROM audit_events WHERE seq = 5")
    _sql(ws, "UPDATE audit_chain SET seq = 4, chain = :c", c=fourth)
    assert _verify(ws).ok  # the documented limit: without an anchor, a clean cut
    problem = _verify(ws, anchors=(anchor,)).problem
    assert problem is not None
    assert (problem.seq, problem.kind) == (5, "anchor")


def test_verify_anchor_catches_a_rewrite_with_the_key(ws: Workspace) -> None:
    _events(ws, 3)
    anchor = (2, _verify(ws).head_chain)  # the head's chain, wrongly pinned at #2
    problem = _verify(ws, anchors=(anchor,)).problem
    assert problem is not None
    assert (problem.seq, problem.kind) == (2, "anchor")


def test_verify_detects_an_inserted_event(ws: Workspace) -> None:
    _events(ws, 4)
    for seq in (4, 3):  # make room at #3, highest first (seq is unique)
        _sql(ws, "UPDATE audit_events SET seq = :new WHERE seq = :old", new=seq + 1, old=seq)
    _sql(
        ws,
        "INSERT INTO audit_events (id, seq, at, actor, org_id, action, object_type, object_id,"
        " details, chain) SELECT 'aud_forged', 3, at, actor, org_id, action, object_type,"
        " object_id, details, chain FROM audit_events WHERE seq = 2",
    )
    _sql(ws, "UPDATE audit_chain SET seq = 5")
    problem = _verify(ws).problem
    assert problem is not None
    assert (problem.seq, problem.event_id, problem.kind) == (3, "aud_forged", "altered")


def test_verify_detects_an_event_appended_by_hand(ws: Workspace) -> None:
    _events(ws, 2)
    _sql(
        ws,
        "INSERT INTO audit_events (id, seq, at, actor, org_id, action, object_type, object_id,"
        " details, chain) SELECT 'aud_extra', 3, at, actor, org_id, action, object_type,"
        " object_id, details, chain FROM audit_events WHERE seq = 2",
    )
    problem = _verify(ws).problem
    assert problem is not None
    assert (problem.seq, problem.event_id) == (3, "aud_extra")


def test_verify_detects_reordered_events(ws: Workspace) -> None:
    _events(ws, 5)
    _sql(ws, "UPDATE audit_events SET seq = -1 WHERE seq = 2")
    _sql(ws, "UPDATE audit_events SET seq = 2 WHERE seq = 4")
    _sql(ws, "UPDATE audit_events SET seq = 4 WHERE seq = -1")
    problem = _verify(ws).problem
    assert problem is not None
    assert (problem.seq, problem.kind) == (2, "altered")


def test_verify_detects_a_rewritten_head(ws: Workspace) -> None:
    _events(ws, 2)
    _sql(ws, "UPDATE audit_chain SET chain = :c", c="f" * 64)
    problem = _verify(ws).problem
    assert problem is not None
    assert (problem.seq, problem.kind) == (2, "head")


def test_verify_with_another_key_fails_at_the_first_event(ws: Workspace) -> None:
    _events(ws, 2)
    problem = _verify(ws, key=b"k" * 32).problem
    assert problem is not None
    assert problem.seq == 1


def test_verify_empty_log_is_ok(ws: Workspace) -> None:
    report = _verify(ws)
    assert (report.ok, report.events, report.head_seq, report.head_chain) == (True, 0, 0, GENESIS)


def test_verify_reads_in_batches(ws: Workspace) -> None:
    _events(ws, 7)
    assert _verify(ws, batch=2).ok
    _sql(ws, "UPDATE audit_events SET actor = 'x' WHERE seq = 6")
    problem = _verify(ws, batch=2).problem
    assert problem is not None
    assert problem.seq == 6


@pytest.mark.parametrize("bad", ["", "5", "x:" + "a" * 64, "3:" + "a" * 63, "3:" + "g" * 64])
def test_parse_anchor_bad_input_invalid_anchor(bad: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_anchor(bad)
    assert err.value.code == "invalid_anchor"


def test_parse_anchor_reads_what_verify_prints() -> None:
    assert parse_anchor("12:" + "AB" * 32) == (12, "ab" * 32)


# ---------------------------------------------------------------- concurrency
def _race(ws: Workspace, threads: int = 6, each: int = 8) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def write(n: int) -> None:
        try:
            start.wait()
            for i in range(each):
                with ws.db.session() as s:
                    record_audit(s, actor=f"t{n}", action="race", object_type="x", object_id=str(i))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=write, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    with ws.db.session() as s:
        seqs = [e.seq for e in list_audit_events(s)]
    assert seqs == list(range(1, threads * each + 1))
    report = _verify(ws)
    assert report.ok, report.problem
    assert report.head_seq == threads * each


def test_concurrent_writers_sqlite_chain_one_line(ws: Workspace) -> None:
    _race(ws)


@pytest.mark.postgres
def test_concurrent_writers_postgres_chain_one_line(pg_url: str, tmp_path: Path) -> None:
    opened = Workspace.open(Settings(home=tmp_path / "pg", database_url=pg_url))
    try:
        _race(opened)
        _events(opened, 2)  # floats through jsonb (1e20 comes back as an integer)
        assert _verify(opened).ok
        _sql(opened, "UPDATE audit_events SET details = '{\"x\": 1}' WHERE seq = 7")
        problem = _verify(opened).problem
        assert problem is not None
        assert problem.seq == 7
    finally:
        opened.close()


# ------------------------------------------------------------------ migration
def _old_db(path: Path) -> Database:
    db = Database(f"sqlite:///{path}")
    alembic_to(db, "0010")
    with db.engine.begin() as conn:
        for n, at in enumerate(["2026-01-02 00:00:00.000000", "2026-01-01 00:00:00.000000"]):
            conn.execute(
                text(
                    "INSERT INTO audit_events (id, at, actor, org_id, action, object_type,"
                    " object_id, details) VALUES (:id, :at, 'system', NULL, 'old.thing', 'x',"
                    " :n, '{\"n\": 1.0}')"
                ),
                {"id": f"aud_{n}", "at": at, "n": str(n)},
            )
    return db


def test_migration_chains_existing_events_in_time_order(tmp_path: Path) -> None:
    _old_db(tmp_path / "baryon.db").dispose()
    opened = Workspace.open(Settings(home=tmp_path))
    try:
        with opened.db.session() as s:
            assert [(e.seq, e.id) for e in list_audit_events(s)] == [(1, "aud_1"), (2, "aud_0")]
        assert _verify(opened).ok
        _events(opened, 1)  # new events continue the migrated chain
        report = _verify(opened)
        assert (report.ok, report.head_seq) == (True, 3)
    finally:
        opened.close()


def test_migration_without_key_refuses_to_leave_events_unchained(tmp_path: Path) -> None:
    db = _old_db(tmp_path / "b.db")
    try:
        with pytest.raises(BaryonError) as err:
            db.migrate()
        assert err.value.code == "audit_key_missing"
        assert db.schema_version() == "0010"  # nothing half-done
    finally:
        db.dispose()


# ------------------------------------------------------------------- key file
def test_open_with_lost_key_file_refuses_instead_of_starting_a_new_chain(
    ws: Workspace, settings: Settings
) -> None:
    _events(ws, 1)
    ws.close()
    settings.resolved_audit_key_file.unlink()
    with pytest.raises(InvalidInput) as err:
        Workspace.open(settings)
    assert err.value.code == "key_file_missing"
    assert not settings.resolved_audit_key_file.exists()


def test_open_refuses_a_key_file_others_can_read(ws: Workspace, settings: Settings) -> None:
    ws.close()
    settings.resolved_audit_key_file.chmod(0o644)
    with pytest.raises(InvalidInput) as err:
        Workspace.open(settings)
    assert err.value.code == "key_file_insecure"


def test_open_creates_key_file_mode_0600(ws: Workspace, settings: Settings) -> None:
    path = settings.resolved_audit_key_file
    assert path == settings.home / "audit.key"
    assert path.stat().st_mode & 0o777 == 0o600
    assert ws.db.audit_key == bytes.fromhex(path.read_text().strip())


# -------------------------------------------------------------------- filters
def test_list_audit_events_filters(ws: Workspace) -> None:
    clock = ws.clock
    assert isinstance(clock, FixedClock)
    _events(ws, 2, org_id="org_a", actor="key:1")
    clock.advance(3600)
    _events(ws, 2, org_id="org_b", actor="key:2")
    with ws.db.session() as s:

        def ids(**kw: object) -> list[int]:
            return [e.seq for e in list_audit_events(s, **kw)]  # type: ignore[arg-type]

        assert ids() == [1, 2, 3, 4]
        assert ids(org_id="org_a") == [1, 2]
        assert ids(actor="key:2") == [3, 4]
        assert ids(action="thing.step1") == [2, 4]
        assert ids(action="thing.*") == [1, 2, 3, 4]
        assert ids(action="thing_*") == []  # '_' is no wildcard
        assert ids(object_type="thing", object_id="t0") == [1, 3]
        start = datetime(2026, 1, 1, tzinfo=UTC)
        assert ids(since=start + timedelta(minutes=30)) == [3, 4]
        assert ids(until=start + timedelta(minutes=30)) == [1, 2]
        assert ids(newest_first=True, limit=3) == [4, 3, 2]
        assert ids(since=datetime(2026, 1, 1, 0, 30)) == [3, 4]  # naive: UTC
