"""The workspace: one Baryon home (metadata database + artifact store).

:class:`Workspace` is the Python entry point to everything Baryon keeps::

    from baryon import Settings, Workspace

    ws = Workspace.open(Settings(home="~/.baryon"))
    version = ws.datasets.ingest("tickets.csv", name="tickets")

Opening a workspace checks the home directory, opens the database and applies
pending migrations (never at import time), and removes the temporary files a crashed
process left in the artifact store and in ``<home>/tmp`` (only files no live process
holds and unchanged for an hour: :mod:`baryon.core.scratch`).
"""

from __future__ import annotations

import os
import tempfile
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from baryon.core.artifacts import ArtifactStore, open_artifact_store
from baryon.core.clock import Clock, SystemClock
from baryon.core.config import Settings
from baryon.core.db import Database
from baryon.core.errors import InvalidHome, InvalidInput, NotFound
from baryon.core.keyfile import ensure_random_key
from baryon.core.scope import OPERATOR_ORG_ID, Scope
from baryon.core.scratch import sweep

if TYPE_CHECKING:
    from baryon.commerce.licences import Licence
    from baryon.core.encryption import KeyProvider
    from baryon.data.versions import DatasetStore
    from baryon.training.model_cache import ModelCache
    from baryon.training.promotion import Promoter
    from baryon.training.registry import ModelRegistry
    from baryon.training.runs import RunStore

__all__ = ["Workspace", "prepare_home"]


def prepare_home(home: Path) -> Path:
    """Make sure ``home`` is a writable directory, creating it if missing.

    Parameters
    ----------
    home : Path
        Absolute path of the workspace home.

    Returns
    -------
    Path
        ``home``, resolved.

    Raises
    ------
    InvalidHome
        If ``home`` (or a parent) is a file, or the directory is not writable.
        Nothing is created anywhere in that case.
    """
    home = Path(home).expanduser().absolute()
    for parent in [home, *home.parents]:
        if parent.exists():
            if not parent.is_dir():
                raise InvalidHome(f"home {home} is not a directory: {parent} is a file")
            break
    try:
        home.mkdir(parents=True, exist_ok=True)
    except PermissionError:
        raise InvalidHome(f"cannot create home {home}: permission denied") from None
    except OSError as exc:
        raise InvalidHome(f"cannot create home {home}: {exc.strerror}") from None
    try:  # os.access lies for root and on some mounts: try a real write
        fd, probe = tempfile.mkstemp(dir=home, prefix=".probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError:
        raise InvalidHome(f"home {home} is not writable") from None
    return home


def _audit_key(settings: Settings) -> bytes:
    """Read the audit key, making it on first use unless the chain already has events.

    A chain started under another key cannot be continued: a lost key file is a
    named error, never a silent new key (every event after would fail to verify).
    """
    path = settings.resolved_audit_key_file
    if not path.exists():
        probe = Database(settings.resolved_database_url, busy_timeout=settings.sqlite_busy_timeout)
        try:
            started = probe.audit_chain_started()
        finally:
            probe.dispose()
        if started:
            raise InvalidInput(
                f"the audit key file {path} is missing but this database's audit log was "
                "chained with a key: restore the file from a backup (or set "
                "BARYON_AUDIT_KEY_FILE to where it is)",
                code="key_file_missing",
            )
    return ensure_random_key(path)


class Workspace:
    """One Baryon home: settings, metadata database, artifact store and clock.

    Use :meth:`open` rather than the constructor.

    Attributes
    ----------
    settings : Settings
    db : Database
    artifacts : ArtifactStore
    clock : Clock
    """

    def __init__(
        self,
        settings: Settings,
        db: Database,
        artifacts: ArtifactStore,
        clock: Clock,
        *,
        scope: Scope | None = None,
        model_cache: ModelCache | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.artifacts = artifacts
        self.clock = clock
        self.scope = scope or Scope.own(OPERATOR_ORG_ID, "operator")
        self._model_cache = model_cache
        self._licence: tuple[Licence | None] | None = None

    @property
    def licence(self) -> Licence | None:
        """The install's licence (read once from ``<home>/licence``), ``None`` for the
        open edition.

        Raises
        ------
        LicenceError
            The installed licence is broken (tampered, another key, not yet valid).
        """
        if self._licence is None:
            from baryon.commerce.licences import load_installed_licence

            self._licence = (load_installed_licence(self.settings.home, clock=self.clock),)
        return self._licence[0]

    def require_feature(self, feature: str) -> None:
        """Refuse ``feature`` unless this install may use it (the open edition may).

        The one licence gate (:func:`baryon.commerce.licences.require_feature`) with
        this workspace's licence.

        Raises
        ------
        LicenceError
            ``licence_feature``: the installed licence does not name ``feature``.
        """
        from baryon.commerce.licences import require_feature

        require_feature(self.licence, feature)

    def require_writable(self) -> None:
        """Refuse a change when the licence's grace period has ended (read-only install).

        Raises
        ------
        LicenceError
            ``licence_read_only``.
        """
        from baryon.commerce.licences import require_writable

        require_writable(self.licence, self.clock.now())

    @property
    def model_cache(self) -> ModelCache:
        """Loaded models by payload digest, shared by every organization's view."""
        if self._model_cache is None:
            from baryon.training.model_cache import ModelCache

            self._model_cache = ModelCache()
        return self._model_cache

    def for_org(self, org: str) -> Workspace:
        """Return this workspace as organization ``org`` (a name or id) sees it.

        The view shares the database, artifact store, clock and model cache; its
        datasets, runs and registry see ``org``'s own objects and those granted to it
        (grants read now: a revoked grant is gone from the next view).

        Raises
        ------
        NotFound
            ``org_not_found``.
        """
        from sqlalchemy import or_, select

        from baryon.tenancy.grants import scope_for
        from baryon.tenancy.tables import OrganizationRow

        with self.db.session() as session:
            org_id = session.scalar(
                select(OrganizationRow.id).where(
                    or_(OrganizationRow.id == org, OrganizationRow.name == org)
                )
            )
            if org_id is None:
                raise NotFound(f"no organization {org!r}", code="org_not_found")
            scope = scope_for(session, org_id)
        return self.with_scope(scope)

    def with_scope(self, scope: Scope) -> Workspace:
        """Return a view of this workspace under ``scope`` (see :meth:`for_org`)."""
        return Workspace(
            self.settings,
            self.db,
            self.artifacts,
            self.clock,
            scope=scope,
            model_cache=self.model_cache,
        )

    @classmethod
    def open(
        cls, settings: Settings, *, clock: Clock | None = None, migrate: bool = True
    ) -> Workspace:
        """Open (and by default initialise or upgrade) the workspace of ``settings``.

        Parameters
        ----------
        settings : Settings
            Built once by the caller (CLI, app factory, test).
        clock : Clock, optional
            Time source for everything created through this workspace.
        migrate : bool
            Apply pending schema migrations (default). With ``False`` the schema
            must already be current.

        Raises
        ------
        InvalidHome
            The home is a file or not writable.
        InvalidInput
            The audit key file is readable by others (``key_file_insecure``), unreadable
            or not a key (:func:`baryon.core.keyfile.ensure_random_key`); or it is
            missing while the database's audit log is already chained
            (``key_file_missing``).
        DatabaseCorrupt
            The database file is not a SQLite database (left untouched).
        SchemaTooNew
            The database was written by a newer Baryon.

        Notes
        -----
        Temporary files left by a crashed process (an ingest killed mid-way, a server
        killed during an upload) are removed here: in the artifact store
        (:meth:`~baryon.core.artifacts.ArtifactStore.sweep_temp`) and ``<home>/tmp``,
        only those no live process holds and unchanged for
        :data:`~baryon.core.scratch.STALE_AFTER` seconds.
        """
        prepare_home(settings.home)
        db = Database(
            settings.resolved_database_url,
            busy_timeout=settings.sqlite_busy_timeout,
            audit_key=_audit_key(settings),
        )
        if migrate:
            db.migrate()
        else:
            db.check_schema()
        artifacts = open_artifact_store(
            settings.resolved_artifact_root,
            storage_options=settings.artifact_storage_options,
            scratch_dir=settings.home / "tmp",  # an object store's uploads: swept below
        )
        artifacts.sweep_temp()  # what a crashed writer left (held files are kept)
        sweep(settings.home / "tmp")  # uploads and exports of a crashed server
        from baryon.tenancy.grants import scope_for

        with db.session() as session:
            scope = scope_for(session, OPERATOR_ORG_ID)
        return cls(settings, db, artifacts, clock or SystemClock(), scope=scope)

    @cached_property
    def datasets(self) -> DatasetStore:
        """The dataset store (ingest, clean, split, get)."""
        from baryon.data.versions import DatasetStore

        return DatasetStore(self.db, self.artifacts, self.clock, scope=self.scope, keys=self.keys)

    @property
    def keys(self) -> KeyProvider:
        """The key provider of sensitive datasets: the key-ring file
        ``Settings.resolved_kek_file`` (see :mod:`baryon.core.encryption`)."""
        from baryon.core.encryption import FileKeyProvider

        return FileKeyProvider(self.settings.resolved_kek_file)

    @cached_property
    def runs(self) -> RunStore:
        """Tracked training and evaluation runs."""
        from baryon.training.runs import RunStore

        return RunStore(self.db, self.artifacts, self.clock, scope=self.scope)

    @cached_property
    def registry(self) -> ModelRegistry:
        """The model registry (versions, aliases, loading)."""
        from baryon.training.registry import ModelRegistry

        return ModelRegistry(
            self.db,
            self.artifacts,
            self.clock,
            scope=self.scope,
            settings=self.settings,
            cache=self.model_cache,
        )

    @cached_property
    def promotion(self) -> Promoter:
        """The promotion policy: promote through the gate, roll back."""
        from baryon.training.promotion import Promoter

        return Promoter(self.registry, self.runs, self.datasets)

    def info(self) -> dict[str, Any]:
        """Return home, redacted database URL, schema versions and object counts."""
        from baryon.core.config import redact_url

        return {
            "home": str(self.settings.home),
            "database_url": redact_url(self.db.url),
            "artifact_root": self.settings.resolved_artifact_root,
            "schema_version": self.db.schema_version(),
            "schema_head": self.db.head_version(),
            "counts": self.db.table_counts(),
        }

    def close(self) -> None:
        """Release database connections."""
        self.db.dispose()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
