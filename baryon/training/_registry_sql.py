"""Every query of the model registry's tables, and the alias write.

``registered_models``, ``model_versions``, ``model_aliases`` and ``alias_history`` are
read and written only through :class:`RegistrySQL` (one open session), so that a rule
that applies to every query (an owner scope, say) has one place to go.
:class:`AliasWriter` is the low-level alias move that
:meth:`baryon.training.registry.ModelRegistry.aliases` hands out.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from baryon.core.audit import record_audit
from baryon.core.clock import Clock
from baryon.core.errors import NotFound
from baryon.core.ids import new_id
from baryon.core.scope import Scope, pick_by_owner
from baryon.training.model_versions import (
    AliasMove,
    ModelVersion,
    alias_move_from_row,
    check_alias,
    version_from_row,
)
from baryon.training.tables import (
    AliasHistoryRow,
    ModelAliasRow,
    ModelVersionRow,
    RegisteredModelRow,
)

__all__ = ["AliasWriter", "RegistrySQL"]


class RegistrySQL:
    """The registry's queries inside one session.

    Parameters
    ----------
    session : Session
        An open transaction (:meth:`baryon.core.db.Database.session`).
    clock : Clock
        Time source for ids and timestamps.
    scope : Scope
        The caller's organization (the session applies it to every query, see
        :mod:`baryon.core.scope`; this class only decides which of several visible
        models of one name a name means).
    """

    def __init__(self, session: Session, clock: Clock, scope: Scope) -> None:
        self.session = session
        self.clock = clock
        self.scope = scope

    # ------------------------------------------------------------------ models
    def models(self) -> list[RegisteredModelRow]:
        """Return every registered model row, by name."""
        stmt = select(RegisteredModelRow).order_by(RegisteredModelRow.name)
        return list(self.session.scalars(stmt))

    def find_model(self, name: str, *, lock: bool = False) -> RegisteredModelRow | None:
        """Return the row of model ``name`` (locked for the transaction if ``lock``), or None.

        ``name`` may be ``OWNER/NAME`` (a model another organization shared). Without
        an owner, the caller's own model of that name comes first, else the one shared
        with it. ``lock`` (a write) only ever finds the caller's own model.
        """
        owner, _, bare = name.rpartition("/")
        stmt = select(RegisteredModelRow).where(RegisteredModelRow.name == bare)
        if lock:
            if owner and owner not in (self.scope.org_name, self.scope.org_id):
                return None  # a write names another organization's model: not yours
            stmt = stmt.where(RegisteredModelRow.org_id == self.scope.org_id).with_for_update()
            return self.session.scalars(stmt).first()
        picked: RegisteredModelRow | None = pick_by_owner(
            self.session.scalars(stmt), self.scope, owner=owner or None, what=f"model {bare!r}"
        )
        return picked

    def model(self, name: str, *, lock: bool = False) -> RegisteredModelRow:
        """Return the row of model ``name``; raise ``model_not_found`` if there is none."""
        model = self.find_model(name, lock=lock)
        if model is None:
            raise NotFound(f"model {name!r} not found", code="model_not_found")
        return model

    def add_model(self, name: str, task: str, metric: str) -> RegisteredModelRow:
        """Insert a new model with no version yet."""
        now = self.clock.now()
        model = RegisteredModelRow(
            id=new_id("mdl", self.clock),
            org_id=self.scope.org_id,
            name=name,
            task=task,
            primary_metric=metric,
            next_version=1,
            created_at=now,
            updated_at=now,
        )
        self.session.add(model)
        self.session.flush()
        return model

    # ---------------------------------------------------------------- versions
    def versions(self, model: RegisteredModelRow) -> list[ModelVersionRow]:
        """Return the version rows of ``model``, oldest first."""
        stmt = (
            select(ModelVersionRow)
            .where(ModelVersionRow.model_id == model.id)
            .order_by(ModelVersionRow.version)
        )
        return list(self.session.scalars(stmt))

    def version(self, model: RegisteredModelRow, number: int) -> ModelVersionRow:
        """Return version ``number`` of ``model``; raise ``version_not_found`` if none."""
        stmt = select(ModelVersionRow).where(
            ModelVersionRow.model_id == model.id, ModelVersionRow.version == number
        )
        row = self.session.scalars(stmt).first()
        if row is None:
            raise NotFound(
                f"model {model.name!r} has no version {number}", code="version_not_found"
            )
        return row

    def add_version(self, model: RegisteredModelRow, **fields: Any) -> ModelVersionRow:
        """Insert a version row of ``model`` (``fields`` are its columns)."""
        row = ModelVersionRow(
            id=new_id("mv", self.clock), org_id=model.org_id, model_id=model.id, **fields
        )
        self.session.add(row)
        self.session.flush()
        return row

    def to_version(self, model: RegisteredModelRow, row: ModelVersionRow) -> ModelVersion:
        """Build the :class:`ModelVersion` of ``row`` with the aliases pointing at it."""
        aliases = [a.alias for a in self.aliases(model, version=row.version)]
        return version_from_row(model.name, row, aliases)

    # ----------------------------------------------------------------- aliases
    def aliases(
        self, model: RegisteredModelRow, *, version: int | None = None
    ) -> list[ModelAliasRow]:
        """Return the alias rows of ``model`` (only those at ``version``, if given)."""
        stmt = select(ModelAliasRow).where(ModelAliasRow.model_id == model.id)
        if version is not None:
            stmt = stmt.where(ModelAliasRow.version == version)
        return list(self.session.scalars(stmt.order_by(ModelAliasRow.alias)))

    def alias(self, model: RegisteredModelRow, alias: str) -> ModelAliasRow | None:
        """Return the row of ``alias`` of ``model``, or None when it is unset."""
        return self.session.scalar(
            select(ModelAliasRow).where(
                ModelAliasRow.model_id == model.id, ModelAliasRow.alias == alias
            )
        )

    def history(
        self, model: RegisteredModelRow, *, alias: str | None = None
    ) -> list[AliasHistoryRow]:
        """Return the alias history rows of ``model`` (of ``alias`` only), oldest first."""
        stmt = select(AliasHistoryRow).where(AliasHistoryRow.model_id == model.id)
        if alias is not None:
            stmt = stmt.where(AliasHistoryRow.alias == alias)
        return list(self.session.scalars(stmt.order_by(AliasHistoryRow.seq)))

    def move(
        self,
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
        """Point ``alias`` at ``to_version``; append the history row and the audit event."""
        now = self.clock.now()
        pointer = self.alias(model, alias)
        from_version = None if pointer is None else pointer.version
        if to_version is None:
            if pointer is not None:
                self.session.delete(pointer)
        elif pointer is None:
            self.session.add(
                ModelAliasRow(
                    org_id=model.org_id,
                    model_id=model.id,
                    alias=alias,
                    version=to_version,
                    updated_at=now,
                )
            )
        else:
            pointer.version = to_version
            pointer.updated_at = now
        last = self.session.scalar(
            select(func.max(AliasHistoryRow.seq)).where(AliasHistoryRow.model_id == model.id)
        )
        row = AliasHistoryRow(
            id=new_id("evt", self.clock),
            org_id=model.org_id,
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
        self.session.add(row)
        model.updated_at = now
        record_audit(
            self.session,
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
            org_id=model.org_id,
            clock=self.clock,
        )
        self.session.flush()
        return alias_move_from_row(model.name, row)


class AliasWriter:
    """Alias moves of one model inside one write transaction.

    Obtained from :meth:`baryon.training.registry.ModelRegistry.aliases`; the model
    row is locked until the block ends, and every move commits with it.

    Parameters
    ----------
    sql : RegistrySQL
        The open transaction's queries.
    model : RegisteredModelRow
        The model's (locked) row.
    """

    def __init__(self, sql: RegistrySQL, model: RegisteredModelRow) -> None:
        self._sql = sql
        self._model = model

    @property
    def name(self) -> str:
        """The model's name."""
        return self._model.name

    def version(self, alias: str) -> int | None:
        """Return the version ``alias`` points at now (None: unset).

        Raises
        ------
        InvalidInput
            Unknown alias (code ``unknown_alias``).
        """
        pointer = self._sql.alias(self._model, check_alias(alias))
        return None if pointer is None else pointer.version

    def history(self, alias: str | None = None) -> list[AliasMove]:
        """Return the model's alias moves (of ``alias`` only, if given), oldest first."""
        rows = self._sql.history(self._model, alias=alias)
        return [alias_move_from_row(self.name, row) for row in rows]

    def move(
        self,
        alias: str,
        to_version: int | None,
        *,
        action: str,
        actor: str,
        reason: str,
        forced: bool = False,
        gate: dict[str, Any] | None = None,
    ) -> AliasMove:
        """Point ``alias`` at ``to_version`` (None: remove it); record and audit the move.

        Parameters
        ----------
        alias : str
            ``champion`` or ``challenger``.
        to_version : int or None
            An existing version of the model, or None to unset the alias.
        action : str
            ``register``, ``promote``, ``rollback`` or ``set_alias`` (audited as
            ``model.alias.<action>``).
        actor, reason : str
            Who moves it and why.
        forced : bool
            The gate was overridden.
        gate : dict, optional
            The gate decision that allowed the move.

        Returns
        -------
        AliasMove

        Raises
        ------
        InvalidInput
            Unknown alias (code ``unknown_alias``).
        NotFound
            No such version (code ``version_not_found``).
        """
        check_alias(alias)
        if to_version is not None:
            self._sql.version(self._model, to_version)
        return self._sql.move(
            self._model,
            alias,
            to_version,
            action=action,
            actor=actor,
            reason=reason,
            forced=forced,
            gate=gate,
        )
