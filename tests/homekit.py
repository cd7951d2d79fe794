"""Copying a migrated template workspace's database into a test's home."""

from __future__ import annotations

import shutil
from pathlib import Path

from baryon.core.db import Database


def copy_home_db(db: Path, home: Path) -> None:
    """Copy the template database ``db`` into ``home``, with its audit key.

    The template's audit events are chained with the key beside it
    (``audit.key``): a copy without the key would be refused (``key_file_missing``).
    ``copy2`` keeps the key's mode 0600.
    """
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(db, home / "baryon.db")
    key = db.parent / "audit.key"
    if key.exists():
        shutil.copy2(key, home / "audit.key")


def alembic_to(db: Database, revision: str, fn: str = "upgrade") -> None:
    """Move ``db``'s schema to ``revision`` with Alembic's ``fn`` (``upgrade``/``downgrade``).

    Goes through the same path as ``Database.migrate`` (foreign keys off on SQLite
    while tables are rebuilt, checked before the commit), so migration tests run
    what users run.
    """
    db._run_alembic(fn, revision)
