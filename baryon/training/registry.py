"""The model registry's storage: numbered versions, movable aliases, loading.

A *registered model* is a name (``support-intents``); each :meth:`ModelRegistry.register`
of a succeeded run adds an immutable *model version* numbered 1, 2, 3, ... with no gap
and no duplicate, even when many threads or processes register at once: the number
comes from a per-model counter row updated inside one write transaction (SQLite runs
every transaction as ``BEGIN IMMEDIATE``; PostgreSQL locks the row with
``SELECT ... FOR UPDATE``), and a unique ``(model, version)`` constraint backs it up.
A lost race on creating a new model name is retried.

Aliases
-------
``champion`` is what serving answers with; ``challenger`` is the newest candidate.
The first version registered becomes ``champion`` (there is nothing to gate it
against); every later one becomes ``challenger``. This module stores alias moves; the
policy of *when* ``champion`` may move (the gate, rollback) lives in
:mod:`baryon.training.promotion`, which writes through :meth:`ModelRegistry.aliases`.
:meth:`~ModelRegistry.set_alias` refuses ``champion``. Every move is a row in
``alias_history`` (who, when, why, from, to, forced, gate decision) and an audit event,
written in the same transaction as the move.

Loading
-------
:meth:`~ModelRegistry.load` reads the model payload from the artifact store (its
SHA-256 is verified: a flipped byte raises :class:`~baryon.core.errors.IntegrityError`),
rebuilds the estimator with :func:`baryon.ml.persistence.load_model` and keeps it in a
small per-registry cache keyed by the payload and manifest digests; a cache hit reads
nothing from the store.

Queries
-------
Every query of ``registered_models``, ``model_versions``, ``model_aliases`` and
``alias_history`` goes through :class:`baryon.training._registry_sql.RegistrySQL`.
"""

from __future__ import annotations

import copy
import json
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import exc as sa_exc

from baryon.core.artifacts import ArtifactStore
from baryon.core.audit import record_audit
from baryon.core.clock import Clock
from baryon.core.db import Database
from baryon.core.errors import Conflict, InvalidInput, ModelNotReady
from baryon.core.refs import check_name
from baryon.core.scope import Scope
from baryon.training._registry_sql import AliasWriter, RegistrySQL
from baryon.training.gates import primary_metric
from baryon.training.model_cache import ModelCache
from baryon.training.model_versions import (
    ALIASES,
    AliasMove,
    LoadedModel,
    ModelVersion,
    RegisteredModel,
    alias_move_from_row,
    check_alias,
)
from baryon.training.runs import SUCCEEDED, Run, RunStore

if TYPE_CHECKING:
    from baryon.core.config import Settings

__all__ = [
    "ALIASES",
    "AliasMove",
    "AliasWriter",
    "LoadedModel",
    "ModelRegistry",
    "ModelVersion",
    "RegisteredModel",
    "on_alias_moved",
]

_CACHE_SIZE = 8
_REGISTER_ATTEMPTS = 5
_ALIAS_LISTENERS: list[weakref.WeakMethod[Callable[[], None]]] = []
_ALIAS_LISTENERS_LOCK = threading.Lock()


def on_alias_moved(callback: Callable[[], None]) -> None:
    """Call the bound method ``callback`` after every alias move this process commits.

    Serving's model resolver uses it to drop its cached alias resolutions, so a
    promotion or rollback made in this process (an API call, a flywheel job in the
    in-process worker) reaches this process's predictions at once; other processes see
    it when their cache entry expires. Held weakly: a collected resolver is forgotten.
    """
    with _ALIAS_LISTENERS_LOCK:
        _ALIAS_LISTENERS[:] = [ref for ref in _ALIAS_LISTENERS if ref() is not None]
        _ALIAS_LISTENERS.append(weakref.WeakMethod(callback))


def _aliases_moved() -> None:
    with _ALIAS_LISTENERS_LOCK:
        callbacks = [ref() for ref in _ALIAS_LISTENERS]
    for callback in callbacks:
        if callback is not None:
            callback()


class ModelRegistry:
    """Model versions, aliases and loading (``ws.registry``).

    Promotion through the gate and rollback are in
    :class:`baryon.training.promotion.Promoter` (``ws.promotion``).

    Parameters
    ----------
    db : Database
        The workspace's metadata database.
    artifacts : ArtifactStore
        Where model payloads and manifests live.
    clock : Clock
        Time source.
    scope : Scope
        The organization whose registry this is (:mod:`baryon.core.scope`): it sees
        its own models and those shared with it, and changes only its own.
    settings : Settings, optional
        ``settings.production`` refuses models saved under another scikit-learn
        major.minor; otherwise they load (the manifest records the versions).
    cache : ModelCache, optional
        Loaded estimators by content digest (shared by every organization's view of
        one workspace; a new one by default).
    """

    def __init__(
        self,
        db: Database,
        artifacts: ArtifactStore,
        clock: Clock,
        *,
        scope: Scope,
        settings: Settings | None = None,
        cache: ModelCache | None = None,
    ) -> None:
        self.db = db
        self.artifacts = artifacts
        self.clock = clock
        self.scope = scope
        self.settings = settings
        self._cache = cache if cache is not None else ModelCache(_CACHE_SIZE)

    # --------------------------------------------------------------- registering
    def register(
        self,
        run_id: str,
        name: str,
        *,
        actor: str = "system",
        extra: dict[str, Any] | None = None,
    ) -> ModelVersion:
        """Register the model of a succeeded run as the next version of ``name``.

        The first version of a name becomes ``champion``; later ones ``challenger``.

        Parameters
        ----------
        run_id : str
            A run with status ``succeeded`` and a ``model`` artifact.
        name : str
            Model name (created on first use).
        actor : str
            Who registers (recorded with the version, the alias move and the audit).
        extra : dict, optional
            Free-form JSON metadata saved with the version (e.g. ``handoff_threshold``),
            merged over the run's ``extra["model_extra"]``.

        Returns
        -------
        ModelVersion

        Raises
        ------
        NotFound
            No such run.
        Conflict
            The run did not succeed or has no model (code ``run_not_registrable``), or
            the name is registered for another task (code ``task_mismatch``).
        InvalidInput
            Invalid name, or ``extra`` is not JSON (code ``invalid_extra``).
        """
        check_name(name, kind="model")
        run = self._registrable_run(run_id)
        merged = {**dict(run.extra.get("model_extra") or {}), **dict(extra or {})}
        try:
            merged = json.loads(json.dumps(merged))
        except (TypeError, ValueError):
            raise InvalidInput("model extra must be JSON values", code="invalid_extra") from None
        last_error: Exception | None = None
        for _ in range(_REGISTER_ATTEMPTS):
            try:
                with self.db.session(self.scope) as session:
                    return self._add_version(
                        RegistrySQL(session, self.clock, self.scope), name, run, merged, actor
                    )
            except sa_exc.IntegrityError as exc:  # lost a race creating the name: retry
                last_error = exc
        raise Conflict(
            f"could not register {name!r}: too much concurrent registration ({last_error})",
            code="register_contention",
        )

    def _registrable_run(self, run_id: str) -> Run:
        run = RunStore(self.db, self.artifacts, self.clock, scope=self.scope).get(run_id)
        if run.status != SUCCEEDED or "model" not in run.artifacts:
            raise Conflict(
                f"run {run_id} cannot be registered: it is {run.status}"
                + ("" if "model" in run.artifacts else " and has no model artifact"),
                code="run_not_registrable",
            )
        return run

    def _add_version(
        self, sql: RegistrySQL, name: str, run: Run, extra: dict[str, Any], actor: str
    ) -> ModelVersion:
        """Number, insert and alias the next version of ``name`` (one transaction)."""
        metric = primary_metric(run.task)
        model = sql.find_model(name, lock=True)
        if model is None:
            model = sql.add_model(name, run.task, metric)
        elif model.task != run.task:
            raise Conflict(
                f"model {name!r} is a {model.task} model; run {run.id} trained a {run.task} model",
                code="task_mismatch",
            )
        number = model.next_version
        model.next_version = number + 1
        model.updated_at = self.clock.now()
        value = run.metrics.get(metric)
        row = sql.add_version(
            model,
            version=number,
            run_id=run.id,
            kind=run.kind,
            task=run.task,
            dataset_version_id=run.dataset_version_id,
            split=run.split,
            artifact_digest=run.artifacts["model"],
            manifest_digest=run.artifacts.get("manifest", ""),
            metrics=dict(run.metrics),
            primary_metric=metric,
            primary_value=None if value is None else float(value),
            feature_columns=list(run.feature_columns),
            column_roles=dict(run.column_roles),
            target=run.target,
            classes=run.extra.get("classes"),
            extra=extra,
            created_by=actor,
            created_at=self.clock.now(),
        )
        alias = "champion" if sql.alias(model, "champion") is None else "challenger"
        reason = f"registered from run {run.id}"
        sql.move(model, alias, number, action="register", actor=actor, reason=reason)
        record_audit(
            sql.session,
            actor=actor,
            action="model.register",
            object_type="model",
            object_id=name,
            details={"version": number, "run_id": run.id, "alias": alias},
            org_id=model.org_id,
            clock=self.clock,
        )
        sql.session.flush()
        return sql.to_version(model, row)

    # ------------------------------------------------------------------- reading
    def list_models(self) -> list[RegisteredModel]:
        """Return every registered model, by name."""
        with self.db.session(self.scope) as session:
            sql = RegistrySQL(session, self.clock, self.scope)
            return [
                RegisteredModel(
                    name=model.name,
                    task=model.task,
                    primary_metric=model.primary_metric,
                    latest_version=model.next_version - 1,
                    aliases={a.alias: a.version for a in sql.aliases(model)},
                    created_at=model.created_at,
                    updated_at=model.updated_at,
                    org_id=model.org_id,
                    id=model.id,
                )
                for model in sql.models()
            ]

    def list_versions(self, name: str) -> list[ModelVersion]:
        """Return every version of ``name``, oldest first.

        Raises
        ------
        NotFound
            No such model (code ``model_not_found``).
        """
        with self.db.session(self.scope) as session:
            sql = RegistrySQL(session, self.clock, self.scope)
            model = sql.model(name)
            return [sql.to_version(model, row) for row in sql.versions(model)]

    def get_version(
        self, name: str, *, version: int | None = None, alias: str | None = None
    ) -> ModelVersion:
        """Return one version of ``name`` by number or by alias.

        Parameters
        ----------
        name : str
            Model name.
        version : int, optional
            Version number; takes precedence over ``alias``.
        alias : str, optional
            ``champion`` or ``challenger``. With neither given: the champion.

        Raises
        ------
        NotFound
            No such model or version (codes ``model_not_found``, ``version_not_found``).
        ModelNotReady
            The alias points nowhere (e.g. no champion).
        InvalidInput
            Unknown alias.
        """
        with self.db.session(self.scope) as session:
            sql = RegistrySQL(session, self.clock, self.scope)
            model = sql.model(name)
            if version is None:
                alias = check_alias(alias or "champion")
                pointer = sql.alias(model, alias)
                if pointer is None:
                    raise ModelNotReady(
                        f"model {name!r} has no {alias}", details={"model": name, "alias": alias}
                    )
                version = pointer.version
            return sql.to_version(model, sql.version(model, version))

    def alias_history(self, name: str) -> list[AliasMove]:
        """Return every alias move of ``name``, oldest first.

        Raises
        ------
        NotFound
            No such model.
        """
        with self.db.session(self.scope) as session:
            sql = RegistrySQL(session, self.clock, self.scope)
            model = sql.model(name)
            return [alias_move_from_row(model.name, row) for row in sql.history(model)]

    # ------------------------------------------------------------------- loading
    def load(
        self, name: str, *, version: int | None = None, alias: str = "champion"
    ) -> LoadedModel:
        """Load a version's estimator (hash-verified, cached by payload digest).

        Parameters
        ----------
        name : str
            Model name.
        version : int, optional
            Version number (default: the version ``alias`` points at).
        alias : str
            ``champion`` (default) or ``challenger``.

        Returns
        -------
        LoadedModel

        Raises
        ------
        ModelNotReady
            The alias points nowhere (no champion yet).
        NotFound
            No such model or version.
        IntegrityError
            The stored payload or manifest no longer matches its digest, or the
            manifest disagrees with the payload; or (code ``version_mismatch``) the
            model was saved under another scikit-learn major.minor in production mode.
        """
        mv = self.get_version(name, version=version, alias=None if version else alias)
        # a hit skips both artifact reads (the manifest was verified when it was cached)
        key = (mv.artifact_digest, mv.manifest_digest)
        cached = self._cache.get(key)
        if cached is not None:
            estimator, kept = cached
            return LoadedModel(version=mv, estimator=estimator, manifest=copy.deepcopy(kept))
        from baryon.ml.persistence import load_model

        manifest = {}
        if mv.manifest_digest:
            manifest = json.loads(self.artifacts.get_bytes(mv.manifest_digest))
        payload = self.artifacts.get_bytes(mv.artifact_digest)
        production = bool(self.settings.production) if self.settings is not None else False
        estimator = load_model(payload, manifest, allow_version_mismatch=not production)
        self._cache.put(key, (estimator, copy.deepcopy(manifest)))
        return LoadedModel(version=mv, estimator=estimator, manifest=manifest)

    def clear_cache(self) -> None:
        """Forget every cached estimator (the next :meth:`load` re-reads and re-verifies)."""
        self._cache.clear()

    # ------------------------------------------------------------------- aliases
    def set_alias(
        self,
        name: str,
        alias: str,
        version: int | None,
        *,
        actor: str = "system",
        reason: str = "",
    ) -> AliasMove:
        """Point a non-champion alias at ``version`` (None: remove it).

        ``champion`` moves only through :class:`~baryon.training.promotion.Promoter`
        (gated promotion and rollback), so that the gate cannot be bypassed silently.

        Raises
        ------
        InvalidInput
            Unknown alias, or ``champion`` (code ``use_promote``).
        NotFound
            No such model or version.
        """
        if check_alias(alias) == "champion":
            raise InvalidInput(
                "champion moves only through promote (gated) or rollback", code="use_promote"
            )
        with self.aliases(name) as writer:
            return writer.move(alias, version, action="set_alias", actor=actor, reason=reason)

    @contextmanager
    def aliases(self, name: str) -> Iterator[AliasWriter]:
        """Open one write transaction on ``name``'s aliases (its model row locked).

        The low-level alias write: every :meth:`AliasWriter.move` inside the block is
        recorded in the alias history and audited, and all of it commits together
        when the block ends (or nothing does, on an error). It applies no gate:
        :class:`~baryon.training.promotion.Promoter` decides, then writes here.

        Raises
        ------
        NotFound
            No such model (code ``model_not_found``).
        """
        with self.db.session(self.scope) as session:
            sql = RegistrySQL(session, self.clock, self.scope)
            yield AliasWriter(sql, sql.model(name, lock=True))
        _aliases_moved()  # committed: this process's cached alias resolutions are stale
