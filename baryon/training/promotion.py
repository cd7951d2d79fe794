"""The promotion policy: ``champion`` moves only through the gate, or back by a rollback.

:class:`Promoter` (``ws.promotion``) is the workflow; each step can be called alone::

    resolve   the challenger version and the current champion      Promoter.resolve
    measure   both on the same test split (stored or re-evaluated)  Promoter.measure
    decide    challenger beats champion by min_delta?               baryon.training.gates.decide
    refuse    audited refusal, code gate_refused (unless forced)    Promoter.promote
    move      champion (and clear challenger), history + audit      ModelRegistry.aliases

The moves go through :meth:`baryon.training.registry.ModelRegistry.aliases`, which
writes the alias, its history row and the audit event in one transaction. The gate's
rule itself is :mod:`baryon.training.gates` (pure); the measuring is
:mod:`baryon.training.evaluate`. Dependencies point one way: promotion → evaluate,
registry, gates.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from baryon.core.audit import record_audit
from baryon.core.errors import Conflict, ModelNotReady, NotFound
from baryon.training.evaluate import evaluate_on_dataset
from baryon.training.gates import GateDecision, decide
from baryon.training.model_versions import AliasMove, ModelVersion

if TYPE_CHECKING:
    from baryon.data.versions import DatasetStore
    from baryon.training.registry import ModelRegistry
    from baryon.training.runs import RunStore

__all__ = ["Promoter", "champion_stack"]


class Promoter:
    """Promote a version through the gate, or roll the champion back (``ws.promotion``).

    Parameters
    ----------
    registry : ModelRegistry
        Where the versions and aliases are stored.
    runs : RunStore
        The runs that trained the versions (for the dataset a stored metric came from).
    datasets : DatasetStore
        Where the gate reads the split it re-evaluates on.
    """

    def __init__(self, registry: ModelRegistry, runs: RunStore, datasets: DatasetStore) -> None:
        self.registry = registry
        self.runs = runs
        self.datasets = datasets

    # ------------------------------------------------------------------ workflow
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
            ``NAME[@VERSION]`` of a dataset to compare both versions on instead.

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
        challenger, champion = self.resolve(name, version)
        if champion is not None and champion.version == version:
            return self._unchanged(name, version, actor)
        decision = self.gate(
            challenger,
            champion,
            min_delta=min_delta,
            force=force,
            evaluation_dataset=evaluation_dataset,
        )
        if not decision.passed and not force:
            raise self._refuse(name, version, decision, actor=actor, reason=reason)
        forced = force and not decision.passed
        return self._move(
            name,
            version,
            expected=None if champion is None else champion.version,
            decision=decision,
            forced=forced,
            actor=actor,
            reason=reason or ("forced past the gate" if forced else "passed the gate"),
        )

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
        with self.registry.aliases(name) as aliases:
            stack = champion_stack(aliases.history("champion"))
            if len(stack) < 2:
                raise Conflict(
                    f"model {name!r} has no previous champion to roll back to",
                    code="no_previous_champion",
                )
            return aliases.move(
                "champion",
                stack[-2],
                action="rollback",
                actor=actor,
                reason=reason or f"rollback from v{stack[-1]}",
            )

    # --------------------------------------------------------------------- steps
    def resolve(self, name: str, version: int) -> tuple[ModelVersion, ModelVersion | None]:
        """Return the challenger ``version`` of ``name`` and the current champion (or None).

        Only the caller's own models can be promoted: a model another organization
        shared is ``model_not_found`` here, as it is for every write, before anything
        is evaluated or audited.

        Raises
        ------
        NotFound
            No such model or version (or not the caller's own model).
        """
        challenger = self.registry.get_version(name, version=version)
        if not self.registry.scope.owns(challenger.org_id):
            raise NotFound(f"model {name!r} not found", code="model_not_found")
        try:
            champion: ModelVersion | None = self.registry.get_version(name, alias="champion")
        except ModelNotReady:
            champion = None
        return challenger, champion

    def gate(
        self,
        challenger: ModelVersion,
        champion: ModelVersion | None,
        *,
        min_delta: float = 0.0,
        force: bool = False,
        evaluation_dataset: str | None = None,
    ) -> GateDecision:
        """Decide whether ``challenger`` may replace ``champion`` (writes nothing).

        Parameters are those of :meth:`promote`; ``force`` skips re-evaluating versions
        tested on different dataset versions (the decision records "not compared").

        Raises
        ------
        InvalidInput
            Negative ``min_delta``.
        """
        if champion is None:
            return decide(
                metric=challenger.primary_metric,
                challenger_version=challenger.version,
                challenger_value=challenger.primary_value,
                champion_version=None,
                champion_value=None,
                min_delta=min_delta,
            )
        challenger_value, champion_value, where = self.measure(
            challenger, champion, force=force, evaluation_dataset=evaluation_dataset
        )
        return decide(
            metric=challenger.primary_metric,
            challenger_version=challenger.version,
            challenger_value=challenger_value,
            champion_version=champion.version,
            champion_value=champion_value,
            min_delta=min_delta,
            evaluated_on=where,
        )

    def measure(
        self,
        challenger: ModelVersion,
        champion: ModelVersion,
        *,
        force: bool = False,
        evaluation_dataset: str | None = None,
    ) -> tuple[float | None, float | None, dict[str, Any]]:
        """Return both primary metric values on one split, and where they come from.

        Stored test metrics when both versions were tested on the same dataset version
        (``source: stored``); nothing when forced across different ones
        (``source: not compared ...``); else both re-evaluated on ``evaluation_dataset``
        or the challenger's dataset version, test split (``source: re-evaluated``).

        Returns
        -------
        (challenger value, champion value, where) : tuple
            Values in the primary metric's units (None: not measured); ``where`` has
            ``dataset_version_id``, ``dataset``, ``split`` and ``source``.
        """
        same_split = challenger.dataset_version_id == champion.dataset_version_id
        if evaluation_dataset is None and (same_split or force):
            where = {
                "dataset_version_id": challenger.dataset_version_id,
                "dataset": self.runs.get(challenger.run_id).dataset_ref,
                "split": "test",
                "source": "stored" if same_split else "not compared (forced, different splits)",
            }
            if same_split:
                return challenger.primary_value, champion.primary_value, where
            return None, None, where
        values: list[float | None] = []
        for mv in (challenger, champion):
            evaluation, where = evaluate_on_dataset(
                self.registry.load(mv.name, version=mv.version),
                self.datasets,
                dataset=evaluation_dataset,
                default_dataset_version_id=challenger.dataset_version_id,
                all_rows_without_split=True,
            )
            values.append(evaluation.metrics.get(challenger.primary_metric))
        where["source"] = "re-evaluated"
        return values[0], values[1], where

    # ------------------------------------------------------------------- writing
    def _refuse(
        self, name: str, version: int, decision: GateDecision, *, actor: str, reason: str
    ) -> Conflict:
        """Audit the refusal (it commits) and return the ``gate_refused`` error to raise."""
        with self.registry.db.session() as session:
            record_audit(
                session,
                actor=actor,
                action="model.promote_refused",
                object_type="model",
                object_id=name,
                details={"version": version, "gate": decision.to_dict(), "reason": reason},
                org_id=self.registry.scope.org_id,
                clock=self.registry.clock,
            )
        return Conflict(
            f"gate refused: {decision.message}", code="gate_refused", details=decision.to_dict()
        )

    def _move(
        self,
        name: str,
        version: int,
        *,
        expected: int | None,
        decision: GateDecision,
        forced: bool,
        actor: str,
        reason: str,
    ) -> AliasMove:
        """Make ``version`` champion if the champion still is ``expected``; clear challenger."""
        with self.registry.aliases(name) as aliases:
            if aliases.version("champion") != expected:
                raise Conflict(
                    f"the champion of {name!r} changed while the gate was evaluated; retry",
                    code="concurrent_change",
                )
            move = aliases.move(
                "champion",
                version,
                action="promote",
                actor=actor,
                reason=reason,
                forced=forced,
                gate=decision.to_dict(),
            )
            if aliases.version("challenger") == version:
                aliases.move(
                    "challenger",
                    None,
                    action="promote",
                    actor=actor,
                    reason=f"v{version} promoted to champion",
                )
            return move

    def _unchanged(self, name: str, version: int, actor: str) -> AliasMove:
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
            at=self.registry.clock.now(),
            seq=0,
            changed=False,
        )


def champion_stack(history: Sequence[AliasMove]) -> list[int]:
    """Return the champions a rollback can return to, oldest first (the current one last).

    Parameters
    ----------
    history : sequence of AliasMove
        The model's ``champion`` moves, oldest first.

    Returns
    -------
    list of int
        Champion versions still on the stack: every champion move pushes its
        version, a rollback pops one. After v1 → v2 → v3 it is ``[1, 2, 3]``; a
        rollback moves the champion to the one before the last (``2``).
    """
    stack: list[int] = []
    for move in history:
        if move.action == "rollback":
            if stack:
                stack.pop()
        elif move.to_version is not None:
            stack.append(move.to_version)
    return stack
