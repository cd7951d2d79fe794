"""A throw-away PostgreSQL database for the tests marked ``postgres``."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from baryon.core.config import Settings


@contextmanager
def fresh_database(prefix: str = "baryon_test") -> Iterator[str]:
    """Create an empty database on ``BARYON_TEST_POSTGRES_URL``'s server, drop it after.

    Yields its URL. Skips the test when the variable is not set (no server to test
    against). A database of its own: the shared one may hold other tests' schemas.
    """
    base = os.environ.get("BARYON_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("BARYON_TEST_POSTGRES_URL not set: no PostgreSQL server to test against")
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        _audit_key(name).unlink(missing_ok=True)


def _audit_key(database: str) -> Path:
    return Path(tempfile.gettempdir()) / f"{database}.audit.key"


def pg_settings(url: str, home: Path, **options: Any) -> Settings:
    """Settings of a workspace in ``home`` on the PostgreSQL database ``url``.

    Every workspace on one database shares one audit key file, as several servers
    sharing a database must (``docs/audit.md``): the first open writes it, named after
    the database, in the system's temporary directory; :func:`fresh_database` removes it.
    """
    database = make_url(url).database or "baryon"
    return Settings(home=home, database_url=url, audit_key_file=_audit_key(database), **options)
