"""Database: pragmas, migrations, refusal of newer/corrupt databases, concurrent init."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from baryon.core.db import Database
from baryon.core.errors import DatabaseCorrupt, DatabaseError, SchemaTooNew


def _db(tmp_path: Path) -> Database:
    return Database(f"sqlite:///{tmp_path / 'baryon.db'}")


def test_migrate_fresh_database_reaches_head(tmp_path: Path) -> None:
    db = _db(tmp_path)
    assert db.schema_version() is None
    assert db.migrate() == Database.head_version()
    assert db.schema_version() == Database.head_version()
    db.check_schema()


def test_migrate_twice_is_a_noop(tmp_path: Path) -> None:
    db = _db(tmp_path)
    db.migrate()
    before = db.table_counts()
    db.migrate()
    assert db.table_counts() == before


def test_sqlite_connection_has_wal_foreign_keys_and_busy_timeout(tmp_path: Path) -> None:
    db = _db(tmp_path)
    with db.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_check_schema_uninitialised_raises_schema_outdated(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError) as info:
        _db(tmp_path).check_schema()
    assert info.value.code == "schema_outdated"


def test_schema_newer_than_code_is_refused_with_both_versions(tmp_path: Path) -> None:
    db = _db(tmp_path)
    db.migrate()
    with db.connect() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    head = Database.head_version()
    for action in (db.migrate, db.check_schema):
        with pytest.raises(SchemaTooNew) as info:
            action()
        assert "9999" in info.value.message
        assert head in info.value.message
    assert db.schema_version() == "9999"  # refused, not rewritten


def test_non_sqlite_file_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "baryon.db"
    payload = b"this is not a database at all\n" * 100
    path.write_bytes(payload)
    with pytest.raises(DatabaseCorrupt) as info:
        Database(f"sqlite:///{path}")
    assert str(path) in info.value.message
    assert hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(payload).digest()
    assert not (tmp_path / "baryon.db-wal").exists()


def test_truncated_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "good.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    corrupt = tmp_path / "baryon.db"
    data = path.read_bytes()
    corrupt.write_bytes(data[:16] + b"\xff" * (len(data) - 16))
    before = corrupt.read_bytes()
    with pytest.raises(DatabaseError):
        Database(f"sqlite:///{corrupt}").migrate()
    assert corrupt.read_bytes() == before


_INIT_SCRIPT = """
import sys
from baryon.core.config import Settings
from baryon.workspace import Workspace
ws = Workspace.open(Settings(home=sys.argv[1]))
print(ws.db.schema_version())
"""


def test_eight_concurrent_inits_all_succeed_with_one_schema(tmp_path: Path) -> None:
    home = tmp_path / "shared-home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BARYON_")}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _INIT_SCRIPT, str(home)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        for _ in range(8)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    codes = [p.returncode for p in procs]
    assert codes == [0] * 8, [r[1].decode()[-500:] for r in results]
    head = Database.head_version()
    assert {r[0].decode().strip() for r in results} == {head}
    con = sqlite3.connect(home / "baryon.db")
    try:
        assert con.execute("SELECT version_num FROM alembic_version").fetchall() == [(head,)]
    finally:
        con.close()


@pytest.mark.postgres
def test_postgres_migrate_reaches_head() -> None:
    url = os.environ.get("BARYON_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("BARYON_TEST_POSTGRES_URL not set: no PostgreSQL server to test against")
    db = Database(url)
    try:
        assert db.migrate() == Database.head_version()
        assert db.migrate() == Database.head_version()
        assert "audit_events" in db.table_counts()
    finally:
        db.dispose()
