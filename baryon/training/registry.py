"""The model registry: numbered versions, movable aliases, the promotion gate.

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
against); every later one becomes ``challenger``. ``champion`` moves only through
:meth:`~ModelRegistry.promote` (gated, see :mod:`baryon.training.gates`) and
:meth:`~ModelRegistry.rollback`. Every move is a row in ``alias_history`` (who, when,
why, from, to, forced, gate decision) and an audit event, written in the same
transaction as the move.

Loading
-------
:meth:`~ModelRegistry.load` reads the model payload from the artifact store (its
SHA-256 is verified: a flipped byte raises :class:`~baryon.core.errors.IntegrityError`),
rebuilds the estimator with :func:`baryon.ml.persistence.load_model` and keeps it in a
small per-registry cache keyed by the payload and manifest digests; a cache hit reads
nothing from the store.
"""

from __future__ import annotations

import copy
import json
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from baryon.core.artifacts import ArtifactStore
from baryon.core.audit import record_audit
from baryon.core.clock import Clock
from baryon.core.db import Database
from baryon.core.errors import Conflict, InvalidInput, ModelNotReady, NotFound
from baryon.core.ids import new_id
from baryon.core.refs import check_name
from baryon.training.gates import GateDecision, decide, primary_metric
from baryon.training.model_versions import (
    ALIASES,
    AliasMove,
    LoadedModel,
    ModelVersion,
    RegisteredModel,
    alias_move_from_row,
)
from baryon.training.runs import SUCCEEDED, RunStore
from baryon.training.tables import (
    AliasHistoryRow,
    ModelAliasRow,
    ModelVersionRow,
    RegisteredModelRow,
)

if TYPE_CHECKING:
    from baryon.core.config import Settings

__all__ = [
    "ALIASES",
    "AliasMove",
    "LoadedModel",
    "ModelRegistry",
    "ModelVersion",
    "RegisteredModel",
]

_CACHE_SIZE = 8
_REGISTER_ATTEMPTS = 5


class ModelRegistry:
    """Model versions, aliases and the promotion gate (``ws.registry``).

    Parameters
    ----------
    db : Database
        The workspace's metadata database.
    artifacts : ArtifactStore
        Where model payloads and manifests live.
    clock : Clock
        Time source.
    settings : Settings, optional
        ``settings.production`` refuses models saved under another scikit-learn
        major.minor; otherwise they load (the manifest records the versions).
    """

    def __init__(
        self,
        db: Database,
        artifacts: ArtifactStore,
        clock: Clock,
        *,
        settings: Settings | None = None,
    ) -> None:
        self.db = db
        self.artifacts = artifacts
        self.clock = clock
        self.settings = settings
        # (payload digest, manifest digest) -> (estimator, manifest)
        self._cache: OrderedDict[tuple[str, str], tuple[Any, dict[str, Any]]] = OrderedDict()
        self._cache_lock = threading.Lock()

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
            Invalid name.
        """
        check_name(name, kind="model")
        run = RunStore(self.db, self.artifacts, self.clock).get(run_id)
        if run.status != SUCCEEDED or "model" not in run.artifacts:
            raise Conflict(
                f"run {run_id} cannot be registered: it is {run.status}"
                + ("" if "model" in run.artifacts else " and has no model artifact"),
                code="run_not_registrable",
            )
        merged_extra = {**dict(run.extra.get("model_extra") or {}), **dict(extra or {})}
        try:
            merged_extra = json.loads(json.dumps(merged_extra))
        except (TypeError, ValueError):
            raise InvalidInput("model extra must be JSON values", code="invalid_extra") from None
        metric = primary_metric(run.task)
        value = run.metrics.get(metric)
        last_error: Exception | None = None
        for _ in range(_REGISTER_ATTEMPTS):
            try:
                with self.db.session() as session:
                    model = self._lock_model(session, name)
                    if model is None:
                        model = RegisteredModelRow(
                            id=new_id("mdl", self.clock),
                            name=name,
                            task=run.task,
                            primary_metric=metric,
                            next_version=1,
                            created_at=self.clock.now(),
                            updated_at=self.clock.now(),
                        )
                        session.add(model)
                        session.flush()
                    elif model.task != run.task:
                        raise Conflict(
                            f"model {name!r} is a {model.task} model; run {run_id} trained "
                            f"a {run.task} model",
                            code="task_mismatch",
                        )
                    number = model.next_version
                    model.next_version = number + 1
                    model.updated_at = self.clock.now()
                    row = ModelVersionRow(
                        id=new_id("mv", self.clock),
                        model_id=model.id,
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
                        extra=merged_extra,
                        created_by=actor,
                        created_at=self.clock.now(),
                    )
                    session.add(row)
                    session.flush()
                    alias = (
                        "champion"
                        if self._alias(session, model, "champion") is None
                        else ("challenger")
                    )
                    self._move(
                        session,
                        model,
                        alias,
                        number,
                        action="register",
                        actor=actor,
                        reason=f"registered from run {run.id}",
                    )
                    record_audit(
                        session,
                        actor=actor,
                        action="model.register",
                        object_type="model",
                        object_id=name,
                        details={"version": number, "run_id": run.id, "alias": alias},
                        clock=self.clock,
                    )
                    session.flush()
                    return self._to_version(session, model, row)
            except sa_exc.IntegrityError as exc:  # lost a race creating the name: retry
                last_error = exc
                continue
        raise Conflict(
            f"could not register {name!r}: too much concurrent registration ({last_error})",
            code="register_contention",
        )

    # ------------------------------------------------------------------- reading
    def list_models(self) -> list[RegisteredModel]:
        """Return every registered model, by name."""
        with self.db.session() as session:
            models = session.scalars(
                select(RegisteredModelRow).order_by(RegisteredModelRow.name)
            ).all()
            out = []
            for model in models:
                aliases = {
                    a.alias: a.version
                    for a in session.scalars(
                        select(ModelAliasRow).where(ModelAliasRow.model_id == model.id)
                    )
                }
                out.append(
                    RegisteredModel(
                        name=model.name,
                        task=model.task,
                        primary_metric=model.primary_metric,
                        latest_version=model.next_version - 1,
                        aliases=dict(sorted(aliases.items())),
                        created_at=model.created_at,
                        updated_at=model.updated_at,
                    )
                )
            return out

    def list_versions(self, name: str) -> list[ModelVersion]:
        """Return every version of ``name``, oldest first.

        Raises
        ------
        NotFound
            No such model (code ``model_not_found``).
        """
        with self.db.session() as session:
            model = self._model(session, name)
            rows = session.scalars(
                select(ModelVersionRow)
                .where(ModelVersionRow.model_id == model.id)
                .order_by(ModelVersionRow.version)
            ).all()
            return [self._to_version(session, model, row) for row in rows]

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
        with self.db.session() as session:
            model = self._model(session, name)
            if version is None:
                alias = alias or "champion"
                if alias not in ALIASES:
                    raise InvalidInput(
                        f"unknown alias {alias!r}; one of {', '.join(ALIASES)}",
                        code="unknown_alias",
                    )
                pointer = self._alias(session, model, alias)
                if pointer is None:
                    raise ModelNotReady(
                        f"model {name!r} has no {alias}", details={"model": name, "alias": alias}
                    )
                version = pointer.version
            row = session.scalars(
                select(ModelVersionRow).where(
                    ModelVersionRow.model_id == model.id, ModelVersionRow.version == version
                )
            ).first()
            if row is None:
                raise NotFound(f"model {name!r} has no version {version}", code="version_not_found")
            return self._to_version(session, model, row)

    def alias_history(self, name: str) -> list[AliasMove]:
        """Return every alias move of ``name``, oldest first.

        Raises
        ------
        NotFound
            No such model.
        """
        with self.db.session() as session:
            model = self._model(session, name)
            rows = session.scalars(
                select(AliasHistoryRow)
                .where(AliasHistoryRow.model_id == model.id)
                .order_by(AliasHistoryRow.seq)
            ).all()
            return [alias_move_from_row(model.name, row) for row in rows]

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
        with self._cache_lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                estimator, kept = cached
                return LoadedModel(version=mv, estimator=estimator, manifest=copy.deepcopy(kept))
        from baryon.ml.persistence import load_model

        manifest = {}
        if mv.manifest_digest:
            manifest = json.loads(self.artifacts.get_bytes(mv.manifest_digest))
        payload = self.artifacts.get_bytes(mv.artifact_digest)
        production = bool(self.settings.production) if self.settings is not None else False
        estimator = load_model(payload, manifest, allow_version_mismatch=not production)
        with self._cache_lock:
            self._cache[key] = (estimator, copy.deepcopy(manifest))
            self._cache.move_to_end(key)
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return LoadedModel(version=mv, estimator=estimator, manifest=manifest)

    def clear_cache(self) -> None:
        """Forget every cached estimator (the next :meth:`load` re-reads and re-verifies)."""
        with self._cache_lock:
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

        ``champion`` moves only through :meth:`promote` and :meth:`rollback`, so that
        the gate cannot be bypassed silently.

        Raises
        ------
        InvalidInput
            Unknown alias, or ``champion`` (code ``use_promote``).
        NotFound
            No such model or version.
        """
        if alias not in ALIASES:
            raise InvalidInput(
                f"unknown alias {alias!r}; one of {', '.join(ALIASES)}", code="unknown_alias"
            )
        if alias == "champion":
            raise InvalidInput(
                "champion moves only through promote (gated) or rollback", code="use_promote"
            )
        with self.db.session() as session:
            model = self._model(session, name, lock=True)
            if version is not None:
                self._version_row(session, model, version)
            return self._move(
                session, model, alias, version, action="set_alias", actor=actor, reason=reason
            )

    def promote(
        self,
        name: str,
        version: int,
        *,
        min_delta: float = 0.0,
        force: bool = False,
        actor: str = "system",
        reason: str = "",
        evaluation_dataset: str | None = None,
    ) -> AliasMove:
        """Make ``version`` the champion if it passes the gate.

        The gate compares the primary metric of ``version`` and of the current
        champion **on the same test split**: their stored test metrics when both
        were tested on the same dataset version; otherwise both are re-evaluated
        on the challenger's test split (or on ``evaluation_dataset``'s test split,
        or all its rows if it has no split). The first champion needs no gate.

        Parameters
        ----------
        name : str
            Model name.
        version : int
            The challenger version.
        min_delta : float
            Required improvement of the primary metric, in its units (>= 0).
        force : bool
            Promote even if the gate refuses (recorded and audited as forced).
        actor, reason : str
            Recorded with the move and in the audit event.
        evaluation_dataset : str, optional
            A dataset reference (``NAME``, ``NAME:N``) to compare both versions on instead.

        Returns
        -------
        AliasMove
            ``changed`` is False if ``version`` already is the champion.

        Raises
        ------
        Conflict
            The gate refused (code ``gate_refused``; message and details carry both
            numbers), or the champion moved while the gate was evaluated
            (code ``concurrent_change``).
        NotFound
            No such model or version.
        InvalidInput
            Negative ``min_delta``.
        """
        challenger = self.get_version(name, version=version)
        champion = self._current(name, "champion")
        if champion is not None and champion.version == version:
            return AliasMove(
                name=name,
                alias="champion",
                action="promote",
                from_version=version,
                to_version=version,
                actor=actor,
                reason="already champion",
                forced=False,
                gate=None,
                at=self.clock.now(),
                seq=0,
                changed=False,
            )
        decision = self._gate(challenger, champion, min_delta, force, evaluation_dataset)
        if not decision.passed and not force:
            with self.db.session() as session:
                record_audit(
                    session,
                    actor=actor,
                    action="model.promote_refused",
                    object_type="model",
                    object_id=name,
                    details={"version": version, "gate": decision.to_dict(), "reason": reason},
                    clock=self.clock,
                )
            raise Conflict(
                f"gate refused: {decision.message}",
                code="gate_refused",
                details=decision.to_dict(),
            )
        forced = force and not decision.passed
        with self.db.session() as session:
            model = self._model(session, name, lock=True)
            now_champion = self._alias(session, model, "champion")
            expected = None if champion is None else champion.version
            if (None if now_champion is None else now_champion.version) != expected:
                raise Conflict(
                    f"the champion of {name!r} changed while the gate was evaluated; retry",
                    code="concurrent_change",
                )
            move = self._move(
                session,
                model,
                "champion",
                version,
                action="promote",
                actor=actor,
                reason=reason or ("forced past the gate" if forced else "passed the gate"),
                forced=forced,
                gate=decision.to_dict(),
            )
            challenger_alias = self._alias(session, model, "challenger")
            if challenger_alias is not None and challenger_alias.version == version:
                self._move(
                    session,
                    model,
                    "challenger",
                    None,
                    action="promote",
                    actor=actor,
                    reason=f"v{version} promoted to champion",
                )
            return move

    def rollback(self, name: str, *, actor: str = "system", reason: str = "") -> AliasMove:
        """Move ``champion`` back to the version that held it before the current one.

        Rollbacks stack: after promotions v1 → v2 → v3, two rollbacks give v2 then v1.

        Raises
        ------
        Conflict
            There is no previous champion (code ``no_previous_champion``).
        NotFound
            No such model.
        """
        with self.db.session() as session:
            model = self._model(session, name, lock=True)
            rows = session.scalars(
                select(AliasHistoryRow)
                .where(AliasHistoryRow.model_id == model.id, AliasHistoryRow.alias == "champion")
                .order_by(AliasHistoryRow.seq)
            ).all()
            stack: list[int] = []
            for row in rows:
                if row.action == "rollback":
                    if stack:
                        stack.pop()
                elif row.to_version is not None:
                    stack.append(row.to_version)
            if len(stack) < 2:
                raise Conflict(
                    f"model {name!r} has no previous champion to roll back to",
                    code="no_previous_champion",
                )
            return self._move(
                session,
                model,
                "champion",
                stack[-2],
                action="rollback",
                actor=actor,
                reason=reason or f"rollback from v{stack[-1]}",
            )

    # ------------------------------------------------------------------ the gate
    def _gate(
        self,
        challenger: ModelVersion,
        champion: ModelVersion | None,
        min_delta: float,
        force: bool,
        evaluation_dataset: str | None,
    ) -> GateDecision:
        metric = challenger.primary_metric
        if champion is None:
            return decide(
                metric=metric,
                challenger_version=challenger.version,
                challenger_value=challenger.primary_value,
                champion_version=None,
                champion_value=None,
                min_delta=min_delta,
            )
        same_split = challenger.dataset_version_id == champion.dataset_version_id
        if evaluation_dataset is None and (same_split or force):
            run = RunStore(self.db, self.artifacts, self.clock).get(challenger.run_id)
            where = {
                "dataset_version_id": challenger.dataset_version_id,
                "dataset": run.dataset_ref,
                "split": "test",
                "source": "stored" if same_split else "not compared (forced, different splits)",
            }
            return decide(
                metric=metric,
                challenger_version=challenger.version,
                challenger_value=challenger.primary_value if same_split else None,
                champion_version=champion.version,
                champion_value=champion.primary_value if same_split else None,
                min_delta=min_delta,
                evaluated_on=where,
            )
        from baryon.training.evaluate import evaluate_on_dataset

        values: dict[int, float | None] = {}
        where = {}
        for mv in (challenger, champion):
            evaluation, where = evaluate_on_dataset(
                self,
                mv,
                dataset=evaluation_dataset,
                default_dataset_version_id=challenger.dataset_version_id,
            )
            values[mv.version] = evaluation.metrics.get(metric)
        where["source"] = "re-evaluated"
        return decide(
            metric=metric,
            challenger_version=challenger.version,
            challenger_value=values[challenger.version],
            champion_version=champion.version,
            champion_value=values[champion.version],
            min_delta=min_delta,
            evaluated_on=where,
        )

    # ------------------------------------------------------------------- helpers
    def _current(self, name: str, alias: str) -> ModelVersion | None:
        try:
            return self.get_version(name, alias=alias)
        except ModelNotReady:
            return None

    @staticmethod
    def _lock_model(session: Session, name: str) -> RegisteredModelRow | None:
        stmt = select(RegisteredModelRow).where(RegisteredModelRow.name == name).with_for_update()
        return session.scalars(stmt).first()

    def _model(self, session: Session, name: str, *, lock: bool = False) -> RegisteredModelRow:
        stmt = select(RegisteredModelRow).where(RegisteredModelRow.name == name)
        if lock:
            stmt = stmt.with_for_update()
        model = session.scalars(stmt).first()
        if model is None:
            raise NotFound(f"model {name!r} not found", code="model_not_found")
        return model

    @staticmethod
    def _alias(session: Session, model: RegisteredModelRow, alias: str) -> ModelAliasRow | None:
        return session.get(ModelAliasRow, (model.id, alias))

    @staticmethod
    def _version_row(session: Session, model: RegisteredModelRow, version: int) -> ModelVersionRow:
        row = session.scalars(
            select(ModelVersionRow).where(
                ModelVersionRow.model_id == model.id, ModelVersionRow.version == version
            )
        ).first()
        if row is None:
            raise NotFound(
                f"model {model.name!r} has no version {version}", code="version_not_found"
            )
        return row

    def _move(
        self,
        session: Session,
        model: RegisteredModelRow,
        alias: str,
        to_version: int | None,
        *,
        action: str,
        actor: str,
        reason: str,
        forced: bool = False,
        gate: dict[str, Any] | None = None,
    ) -> AliasMove:
        """Point ``alias`` at ``to_version`` and record the move (same transaction)."""
        now = self.clock.now()
        pointer = self._alias(session, model, alias)
        from_version = None if pointer is None else pointer.version
        if to_version is None:
            if pointer is not None:
                session.delete(pointer)
        elif pointer is None:
            session.add(
                ModelAliasRow(model_id=model.id, alias=alias, version=to_version, updated_at=now)
            )
        else:
            pointer.version = to_version
            pointer.updated_at = now
        last = session.scalar(
            select(func.max(AliasHistoryRow.seq)).where(AliasHistoryRow.model_id == model.id)
        )
        row = AliasHistoryRow(
            id=new_id("evt", self.clock),
            model_id=model.id,
            seq=int(last or 0) + 1,
            alias=alias,
            action=action,
            from_version=from_version,
            to_version=to_version,
            actor=actor,
            reason=reason,
            forced=forced,
            gate=gate,
            at=now,
        )
        session.add(row)
        model.updated_at = now
        record_audit(
            session,
            actor=actor,
            action=f"model.alias.{action}",
            object_type="model",
            object_id=model.name,
            details={
                "alias": alias,
                "from_version": from_version,
                "to_version": to_version,
                "reason": reason,
                "forced": forced,
                "gate": gate,
            },
            clock=self.clock,
        )
        session.flush()
        return alias_move_from_row(model.name, row)

    def _to_version(
        self, session: Session, model: RegisteredModelRow, row: ModelVersionRow
    ) -> ModelVersion:
        aliases = sorted(
            session.scalars(
                select(ModelAliasRow.alias).where(
                    ModelAliasRow.model_id == model.id, ModelAliasRow.version == row.version
                )
            )
        )
        return ModelVersion(
            id=row.id,
            name=model.name,
            version=row.version,
            kind=row.kind,
            task=row.task,
            run_id=row.run_id,
            dataset_version_id=row.dataset_version_id,
            split=row.split,
            artifact_digest=row.artifact_digest,
            manifest_digest=row.manifest_digest,
            metrics=dict(row.metrics),
            primary_metric=row.primary_metric,
            primary_value=row.primary_value,
            aliases=aliases,
            created_at=row.created_at,
            created_by=row.created_by,
            feature_columns=list(row.feature_columns),
            column_roles=dict(row.column_roles),
            target=row.target,
            classes=None if row.classes is None else list(row.classes),
            extra=dict(row.extra),
        )
