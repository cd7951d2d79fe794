"""Metadata database: engine, sessions, schema migrations.

One :class:`Database` per workspace wraps a SQLAlchemy 2.x engine. SQLite (the
default, ``<home>/baryon.db``) runs in WAL mode with foreign keys on, a busy timeout,
and ``BEGIN IMMEDIATE`` transactions so concurrent writers queue instead of
failing half-way. PostgreSQL works through ``BARYON_DATABASE_URL``
(``postgresql+psycopg://...``) with the same code.

Migrations are Alembic revisions in ``baryon/core/migrations/versions``, numbered
``0001``, ``0002``, ... They run from :meth:`Database.migrate` (called by
``baryon init`` and at start-up), never at import. Several processes may call it at
once: SQLite serialises them with a lock file beside the database, PostgreSQL with
an advisory lock, and Alembic records each revision once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, Engine, MetaData, create_engine, event, inspect, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from baryon.core.config import redact_url
from baryon.core.errors import DatabaseCorrupt, DatabaseError, InvalidInput, SchemaTooNew
from baryon.core.scope import Scope, install_scope_guard

__all__ = [
    "MIGRATIONS_DIR",
    "TABLE_MODULES",
    "Base",
    "Database",
    "JSONType",
    "UTCDateTime",
    "load_tables",
]

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_SQLITE_MAGIC = b"SQLite format 3\x00"
_PG_LOCK_KEY = 0x6261_7279  # "bary"

JSONType = JSON().with_variant(JSONB(), "postgresql")
"""A JSON column: JSONB on PostgreSQL, JSON text on SQLite."""


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime column (SQLite stores naive; this restores UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every Baryon table (each layer declares its own tables)."""

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


def _normalise_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


class Database:
    """The workspace's metadata database.

    Parameters
    ----------
    url : str
        SQLAlchemy URL (``sqlite:///path`` or ``postgresql+psycopg://...``).
    busy_timeout : float
        Seconds a SQLite connection waits for a lock (default 30).
    audit_key : bytes, optional
        The workspace's audit-chain key (:mod:`baryon.core.audit`): every session gets
        it, and :meth:`migrate` chains audit events written before the chain existed.
        Without it, writing an audit event fails (``audit_key_missing``).

    Raises
    ------
    DatabaseCorrupt
        If the SQLite file exists but is not a SQLite database (checked before
        anything is written; the file is left untouched).
    """

    def __init__(
        self, url: str, *, busy_timeout: float = 30.0, audit_key: bytes | None = None
    ) -> None:
        self.url = _normalise_url(url)
        self._parsed = make_url(self.url)
        self.is_sqlite = self._parsed.get_backend_name() == "sqlite"
        self.sqlite_path: Path | None = None
        if self.is_sqlite and self._parsed.database not in (None, "", ":memory:"):
            self.sqlite_path = Path(str(self._parsed.database))
            self._check_sqlite_file()
        self.engine = self._make_engine(busy_timeout)
        self.audit_key = audit_key
        info = {} if audit_key is None else {"audit_key": audit_key}
        self._sessionmaker = sessionmaker(self.engine, expire_on_commit=False, info=info)
        install_scope_guard()
        load_tables()

    def _check_sqlite_file(self) -> None:
        path = self.sqlite_path
        if path is None:
            return
        if not path.parent.is_dir():
            raise DatabaseError(
                f"the database directory {path.parent} does not exist; create it or fix "
                "BARYON_DATABASE_URL",
                code="database_unavailable",
            )
        if not path.exists():
            return
        if path.is_dir():
            raise DatabaseCorrupt(f"database path {path} is a directory, not a SQLite file")
        with path.open("rb") as fh:
            head = fh.read(len(_SQLITE_MAGIC))
        if head and head != _SQLITE_MAGIC:
            raise DatabaseCorrupt(
                f"{path} is not a SQLite database (left untouched); "
                "move it away or point BARYON_DATABASE_URL elsewhere",
                details={"path": str(path)},
            )

    def _make_engine(self, busy_timeout: float) -> Engine:
        if not self.is_sqlite:
            try:
                return create_engine(self.url, pool_pre_ping=True, future=True)
            except ModuleNotFoundError as exc:
                from baryon.core.errors import MissingDependency

                raise MissingDependency(
                    f"the database driver {exc.name!r} is missing; Baryon supports SQLite and "
                    "PostgreSQL (for PostgreSQL: pip install 'baryon[postgres]')"
                ) from None
        engine = create_engine(
            self.url,
            connect_args={"timeout": busy_timeout, "check_same_thread": False},
            future=True,
        )
        timeout_ms = int(busy_timeout * 1000)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # Take transaction control away from the sqlite3 module (SQLAlchemy recipe)
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout = {timeout_ms}")
            cur.execute("PRAGMA foreign_keys = ON")
            if self.sqlite_path is not None:
                cur.execute("PRAGMA journal_mode = WAL")
                cur.execute("PRAGMA synchronous = NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            # Writers queue on the lock up front instead of failing on upgrade.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine

    # ------------------------------------------------------------------ sessions
    @contextlib.contextmanager
    def session(self, scope: Scope | None = None) -> Iterator[Session]:
        """Yield a session in a transaction; commit on success, roll back on error.

        Parameters
        ----------
        scope : Scope, optional
            The organization whose objects the session may see and change (see
            :mod:`baryon.core.scope`). Without one, any statement on an
            organization's table raises ``ScopeRequired``.

        Raises
        ------
        DatabaseCorrupt
            If SQLite reports the file is not a database.
        """
        with self._translate_errors(), self._sessionmaker() as session, session.begin():
            if scope is not None:
                session.info["scope"] = scope
            yield session

    def bind_session(self, conn: Connection, scope: Scope | None = None) -> Session:
        """Return a session joined to ``conn``'s open transaction, under ``scope``.

        It never commits by itself: its writes commit or roll back with ``conn``'s
        transaction (SQLAlchemy's ``conservative_savepoint`` join mode).
        """
        session = self._sessionmaker(bind=conn)
        if scope is not None:
            session.info["scope"] = scope
        return session

    @contextlib.contextmanager
    def connect(self) -> Iterator[Connection]:
        """Yield a Core connection inside a transaction (committed on success)."""
        with self._translate_errors(), self.engine.begin() as conn:
            yield conn

    @contextlib.contextmanager
    def _translate_errors(self) -> Iterator[None]:
        try:
            yield
        except OverflowError:
            raise _too_large() from None
        except sa_exc.DataError:
            raise _too_large() from None  # PostgreSQL: a number out of its column's range
        except sa_exc.DatabaseError as exc:
            message = str(exc.orig) if exc.orig is not None else str(exc)
            if "file is not a database" in message or "malformed" in message:
                raise DatabaseCorrupt(
                    f"{self.sqlite_path or 'the database'} is not a usable SQLite database"
                ) from None
            if isinstance(exc, sa_exc.OperationalError):
                first = message.strip().splitlines()[0] if message.strip() else "unknown error"
                raise DatabaseError(
                    f"cannot use the database at {redact_url(self.url)}: {first}",
                    code="database_unavailable",
                ) from None
            raise
        except sa_exc.StatementError as exc:
            if isinstance(exc.orig, OverflowError):  # SQLite: an int past 64 bits
                raise _too_large() from None
            raise

    # ---------------------------------------------------------------- migrations
    @staticmethod
    def head_version() -> str:
        """Return the newest schema revision this code knows, e.g. ``"0005"``."""
        return _script_directory().get_current_head() or "0000"

    def schema_version(self) -> str | None:
        """Return the database's schema revision, or ``None`` if never migrated."""
        with self._translate_errors(), self.engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
            return None if row is None else str(row[0])

    def check_schema(self) -> None:
        """Raise unless the database schema is exactly this code's head.

        Raises
        ------
        SchemaTooNew
            The database was migrated by a newer Baryon (both versions named).
        DatabaseError
            The database is not initialised or is behind (code ``schema_outdated``).
        """
        current, head = self.schema_version(), self.head_version()
        self._refuse_if_newer(current, head)
        if current != head:
            raise DatabaseError(
                f"database schema is {current or 'empty'}, this Baryon needs {head}; "
                "run `baryon init`",
                code="schema_outdated",
                details={"database": current, "code": head},
            )

    @staticmethod
    def _refuse_if_newer(current: str | None, head: str) -> None:
        if current is None:
            return
        known = {rev.revision for rev in _script_directory().walk_revisions()}
        if current not in known:
            raise SchemaTooNew(
                f"database schema version {current} is newer than this Baryon's {head}; "
                "upgrade Baryon (pip install -U baryon) before using this workspace",
                details={"database": current, "code": head},
            )

    def migrate(self) -> str:
        """Bring the schema to head; safe to call from several processes at once.

        Returns
        -------
        str
            The schema revision after migrating.

        Raises
        ------
        SchemaTooNew
            If the database is ahead of this code (nothing is changed).
        DatabaseCorrupt
            If the SQLite file is not a database.
        """
        with self._migration_lock():
            current, head = self.schema_version(), self.head_version()
            self._refuse_if_newer(current, head)
            if current == head:
                return head
            self._run_alembic("upgrade", "head")
        return self.head_version()

    def _run_alembic(self, fn: str, revision: str) -> None:
        """Run Alembic's ``upgrade`` or ``downgrade`` to ``revision`` in one transaction.

        On SQLite, foreign keys are off while it runs (table rebuilds in batch mode
        drop and re-create parent tables) and checked before the commit.
        """
        from alembic import command

        with self._translate_errors(), self.engine.connect() as conn:
            raw: Any = conn.connection.driver_connection
            if self.is_sqlite:
                # The pragma only works outside a transaction, hence the raw call.
                raw.execute("PRAGMA foreign_keys = OFF")
            try:
                with conn.begin():
                    if not self.is_sqlite:
                        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
                    cfg = _alembic_config()
                    cfg.attributes["connection"] = conn
                    cfg.attributes["audit_key"] = self.audit_key
                    getattr(command, fn)(cfg, revision)
                    if self.is_sqlite:
                        broken = conn.exec_driver_sql("PRAGMA foreign_key_check").first()
                        if broken is not None:
                            raise DatabaseError(
                                f"migration left a dangling reference in {broken[0]}",
                                code="migration_failed",
                            )
            finally:
                if self.is_sqlite:
                    raw.execute("PRAGMA foreign_keys = ON")

    @contextlib.contextmanager
    def _migration_lock(self) -> Iterator[None]:
        if self.sqlite_path is None:
            yield
            return
        from filelock import FileLock

        lock_path = self.sqlite_path.with_name(self.sqlite_path.name + ".migrate.lock")
        with FileLock(str(lock_path), timeout=120):
            yield

    def audit_chain_started(self) -> bool:
        """Whether the audit log already holds events chained with some key.

        Raises
        ------
        DatabaseError
            ``database_unavailable`` when the database cannot be reached.
        """
        with self._translate_errors(), self.engine.connect() as conn:
            if not inspect(conn).has_table("audit_chain"):
                return False
            return bool(conn.execute(text("SELECT seq FROM audit_chain")).scalar())

    def table_counts(self) -> dict[str, int]:
        """Return ``{table_name: row_count}`` for every Baryon table present."""
        with self._translate_errors(), self.engine.connect() as conn:
            names = sorted(n for n in inspect(conn).get_table_names() if n != "alembic_version")
            return {
                name: int(conn.execute(text(f'SELECT COUNT(*) FROM "{name}"')).scalar_one())
                for name in names
            }

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


#: Modules declaring the workspace's tables. Foreign keys cross layers (every owned
#: table references ``organizations``), so a process that uses one layer still needs
#: the whole metadata to flush; imported by name, when a database is opened.
TABLE_MODULES: tuple[str, ...] = (
    "baryon.tenancy.tables",
    "baryon.commerce.tables",
    "baryon.data.tables",
    "baryon.training.tables",
    "baryon.jobs.tables",
    "baryon.predictions.tables",
    "baryon.solutions.support.tables",
    "baryon.labeling.tables",
    "baryon.flywheel.tables",
    "baryon.solutions.sentiment.tables",
    "baryon.solutions.recommender.tables",
    "baryon.connectors.tables",
)


def load_tables() -> None:
    """Import every table module of :data:`TABLE_MODULES` (idempotent, cheap once loaded)."""
    import importlib

    for name in TABLE_MODULES:
        importlib.import_module(name)


def _too_large() -> InvalidInput:
    return InvalidInput(
        "a number in the request is too large to store (at most 2**63 - 1)",
        code="number_too_large",
    )


def _alembic_config() -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def _script_directory() -> Any:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config())
