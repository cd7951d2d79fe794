"""Copying a migrated template workspace's database into a test's home."""

from __future__ import annotations

import shutil
from pathlib import Path


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
