"""One turn of a model's flywheel: new labels → new dataset version → retrain → the gate.

:class:`FlywheelCycle` is a workflow with small steps, each usable alone::

    resolve   champion, its run (the recipe), its dataset version, the watermark
    gather    consensus labels and trusted feedback after the watermark   labels.gather
    build     rows of the champion's dataset; test-split inputs left out  rows.build_rows
    append    a new dataset version: parent + rows in train, lineage      DatasetStore.append
    train     the champion's kind, params, seed, target, folds            Trainer
    measure   champion and candidate on the same frozen test split        compare.paired_deltas
    gate      promote through ws.promotion, or keep the champion          Promoter.promote

:func:`run_cycle` runs them and records the cycle in ``flywheel_cycles``
(:class:`~baryon.flywheel.tables.FlywheelCycleRow`): ``running`` while it works, then
``promoted``, ``kept`` (the gate refused), ``nothing_new`` or ``failed``.

The frozen test split
    The new version is the champion's training version plus the new rows, all in the
    **train** split (:meth:`~baryon.data.versions.DatasetStore.append`): the parent's
    test rows are exactly the new version's test rows, so the candidate is measured on
    the rows the champion was measured on, and both are measured again here on them.
Nothing new
    A cycle with no label after the watermark, or whose labels all had to be left out,
    or that would add the same rows a cycle already tried against the same champion
    (the gate kept the champion; the same labels, or new ones that were all left out),
    makes no dataset version, run or model version: it is recorded ``nothing_new`` and
    ends.
The watermark
    The newest task and feedback a version holds are kept in its lineage
    (``lineage["watermark"]``, with ``lineage["model"]``); a champion trained on a
    version without one (not made by a cycle of this model) takes every label.
The candidate
    Is trained by the same :class:`~baryon.training.trainer.Trainer` as ``baryon
    train`` and registered as the model's next version (``challenger``). It inherits
    the champion's ``extra`` (e.g. the support hand-off threshold) except ``recipe``
    (which identifies a solution pipeline's own training), plus ``extra["flywheel"]``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from baryon.core.audit import record_audit
from baryon.core.errors import BaryonError, Conflict, InvalidInput, ModelNotReady, NotFound
from baryon.core.jsonvalues import to_jsonable
from baryon.flywheel.compare import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, paired_deltas
from baryon.flywheel.labels import TRUSTED_ROLES, Gathered, Watermark, gather
from baryon.flywheel.records import Cycle, create_cycle, cycle_row, refuse_concurrent
from baryon.flywheel.rows import CLASSIFIER_TASKS, Columns, NewRows, build_rows
from baryon.flywheel.tables import FlywheelCycleRow

if TYPE_CHECKING:
    from baryon.data.versions import DatasetVersion
    from baryon.training.evaluate import Evaluation
    from baryon.training.model_versions import ModelVersion
    from baryon.training.runs import Run
    from baryon.workspace import Workspace

__all__ = ["FlywheelCycle", "Progress", "Recipe", "check_min_delta", "run_cycle"]

#: ``progress(stage, percent)``; whatever it raises stops the cycle (it ends ``failed``).
Progress = Callable[[str, float], None]

#: Keys of the champion's model ``extra`` a candidate does not inherit.
_NOT_INHERITED = frozenset({"recipe", "flywheel"})


@dataclass(frozen=True)
class Recipe:
    """The champion a cycle retrains and how (the output of :meth:`FlywheelCycle.resolve`).

    Attributes
    ----------
    champion : ModelVersion
    run : Run
        The run that trained it: kind, params, seed, target, folds.
    parent : DatasetVersion
        Its training dataset version (the new version's parent; its test split is the
        frozen one).
    columns : Columns
    since : Watermark
        What ``parent`` already holds of the model's labels.
    """

    champion: ModelVersion
    run: Run
    parent: DatasetVersion
    columns: Columns
    since: Watermark

    def to_dict(self) -> dict[str, Any]:
        """What the report says of the champion and the recipe."""
        return {
            "version": self.champion.version,
            "run_id": self.run.id,
            "dataset": self.parent.ref,
            "dataset_version_id": self.parent.id,
            "kind": self.run.kind,
            "params": dict(self.run.params),
            "seed": self.run.seed,
            "target": self.run.target,
            "cv_folds": self.run.cv_folds,
        }


# --------------------------------------------------------------------- the row


# ---------------------------------------------------------------- the workflow
@dataclass
class _State:
    """What the steps learned so far (for the report of a cycle that fails midway)."""

    report: dict[str, Any] = field(default_factory=dict)
    run_id: str | None = None
    stage: str | None = None
    since: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    def enter(self, stage: str | None) -> None:
        """Close the current step's timing (seconds) and start ``stage``'s."""
        now = time.monotonic()
        if self.stage is not None:
            self.timings[self.stage] = round(now - self.since, 3)
        self.stage, self.since = stage, now
        self.report["timings"] = dict(self.timings)


class FlywheelCycle:
    """One flywheel cycle of ``model_name`` in the workspace's organization.

    Parameters
    ----------
    workspace : Workspace
        The organization's view (``ws.for_org(...)``); the model must be its own.
    model_name : str
    actor : str
        Recorded on the dataset version, run, model version and alias moves.
    min_delta : float
        The gate's required improvement of the primary metric (>= 0; a tie never
        promotes).
    resamples, seed : int
        Of the bootstrap intervals (:func:`~baryon.flywheel.compare.paired_deltas`).
    progress : callable, optional
        ``progress(stage, percent)`` before each step.
    """

    def __init__(
        self,
        workspace: Workspace,
        model_name: str,
        *,
        actor: str = "system",
        min_delta: float = 0.0,
        resamples: int = BOOTSTRAP_RESAMPLES,
        seed: int = BOOTSTRAP_SEED,
        progress: Progress | None = None,
    ) -> None:
        self.ws = workspace
        self.model_name = model_name
        self.actor = actor
        self.min_delta = min_delta
        self.resamples = resamples
        self.seed = seed
        self.progress = progress

    def _report(self, stage: str, percent: float) -> None:
        if self.progress is not None:
            self.progress(stage, percent)

    # ---------------------------------------------------------------- steps
    def resolve(self) -> Recipe:
        """Find the champion, its recipe and its dataset version (writes nothing).

        Raises
        ------
        NotFound
            ``model_not_found`` (no such model of the organization's own: a model
            another organization shared is not found here either).
        Conflict
            ``no_champion``: the model has no champion to retrain.
        InvalidInput
            ``not_a_classifier`` (the champion is a regressor or recommender), or
            ``no_recipe`` (it was trained outside Baryon, by a kind Baryon cannot
            train again).
        """
        from baryon.ml.kinds import estimator_kinds

        try:
            champion = self.ws.registry.get_version(self.model_name, alias="champion")
        except ModelNotReady:
            raise Conflict(
                f"model {self.model_name!r} has no champion: a flywheel cycle retrains the "
                "champion's recipe",
                code="no_champion",
            ) from None
        if not self.ws.scope.owns(champion.org_id):
            raise NotFound(f"model {self.model_name!r} not found", code="model_not_found")
        if champion.task not in CLASSIFIER_TASKS:
            raise InvalidInput(
                f"{champion.ref} is a {champion.task} model; a flywheel cycle retrains "
                f"classifiers ({', '.join(CLASSIFIER_TASKS)})",
                code="not_a_classifier",
            )
        columns = Columns.of(champion)
        run = self.ws.runs.get(champion.run_id)
        if run.kind not in estimator_kinds():
            raise InvalidInput(
                f"{champion.ref} was trained outside Baryon (kind {run.kind!r}); a flywheel "
                "cycle needs a recipe it can train again",
                code="no_recipe",
            )
        parent = self.ws.datasets.get_by_id(champion.dataset_version_id)
        lineage = parent.lineage
        own = lineage.get("model") == self.model_name
        since = Watermark.from_dict(lineage.get("watermark") if own else None)
        return Recipe(champion, run, parent, columns, since)

    def gather(self, recipe: Recipe) -> Gathered:
        """Consensus labels and trusted feedback after the recipe's watermark."""
        with self.ws.db.session(self.ws.scope) as session:
            return gather(session, self.model_name, recipe.since)

    def already_tried(
        self, recipe: Recipe, gathered: Gathered, rows: NewRows | None = None
    ) -> str | None:
        """The id of the kept cycle that tried the same data against this champion, if any.

        The newest ``kept`` cycle of this champion tried the same data when it
        gathered the same labels (the same watermark) or, given ``rows``, when it
        added the same rows (:attr:`NewRows.digest`): labels left out (unknown,
        invalid, duplicate, in the test split) change the watermark, not the rows.
        """
        with self.ws.db.session(self.ws.scope) as session:
            last = session.scalars(
                select(FlywheelCycleRow)
                .where(
                    FlywheelCycleRow.model_name == self.model_name,
                    FlywheelCycleRow.status == "kept",
                    FlywheelCycleRow.champion_version == recipe.champion.version,
                )
                .order_by(FlywheelCycleRow.created_at.desc(), FlywheelCycleRow.id.desc())
                .limit(1)
            ).first()
            if last is None:
                return None
            report = last.report
            if report.get("watermark") == gathered.watermark.to_dict():
                return last.id
            digest = None if rows is None else rows.digest
            if digest is not None and report.get("rows_digest") == digest:
                return last.id
        return None

    def build(self, recipe: Recipe, gathered: Gathered) -> NewRows:
        """Rows of the champion's dataset from the gathered labels (see :mod:`.rows`)."""
        return build_rows(gathered.labels, recipe.columns, recipe.parent)

    def lineage(self, recipe: Recipe, gathered: Gathered, rows: NewRows) -> dict[str, Any]:
        """The new version's lineage: parent, every label source with counts, watermark."""
        sources: list[dict[str, Any]] = []
        for source, count in rows.by_source.items():
            entry: dict[str, Any] = {"source": source, "rows": count}
            if source.startswith("queue:"):
                entry.update(kind="consensus_labels", origins=rows.origins.get(source, {}))
            else:
                entry.update(kind="trusted_feedback", trusted_roles=list(TRUSTED_ROLES))
            sources.append(entry)
        return {
            "operation": "flywheel",
            "model": self.model_name,
            "champion_version": recipe.champion.version,
            "parent": {"id": recipe.parent.id, "ref": recipe.parent.ref},
            "sources": sources,
            "rows_added": dict(rows.by_source),
            "skipped": {**gathered.skipped, **rows.skipped},
            "overlap": dict(rows.overlap),
            "split": "train",
            "watermark": gathered.watermark.to_dict(),
        }

    def append(self, recipe: Recipe, rows: NewRows, lineage: dict[str, Any]) -> DatasetVersion:
        """Store parent + rows (all in train) as a new version of the champion's dataset."""
        assert rows.table is not None
        return self.ws.datasets.append(
            recipe.parent.name,
            rows.table,
            version=recipe.parent.version,
            split="train",
            lineage=lineage,
            actor=self.actor,
        )

    def train(self, recipe: Recipe, dataset: DatasetVersion, cycle_id: str, state: _State) -> Run:
        """Train the champion's recipe on ``dataset`` and register the candidate.

        Raises
        ------
        RunFailed, ValidationFailed
            The run did not succeed (its error code and message).
        """
        from baryon.training.trainer import Trainer

        trainer = Trainer(self.ws, actor=self.actor)
        run = recipe.run
        inherited = {k: v for k, v in recipe.champion.extra.items() if k not in _NOT_INHERITED}
        inherited["flywheel"] = {
            "cycle_id": cycle_id,
            "champion_version": recipe.champion.version,
            "parent_version_id": recipe.parent.id,
        }
        spec = trainer.resolve(
            run.kind,
            dataset.id,
            target=run.target,
            params=dict(run.params),
            seed=run.seed,
            cv_folds=run.cv_folds,
            register=self.model_name,
        )
        started = trainer.start(spec)
        state.run_id = started.id

        def stage(name: str, percent: float) -> None:
            self._report(f"train:{name}", 20.0 + 0.55 * percent)

        done = trainer.execute(started.id, spec, extra=inherited, progress=stage)
        return done.raise_for_status()

    def measure(
        self, recipe: Recipe, dataset: DatasetVersion, candidate: int
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Both models on the frozen test split: metrics, deltas with 95 % intervals.

        Returns
        -------
        (metrics, test_split) : tuple of dict
            ``metrics`` is ``{"champion": {...}, "candidate": {...}, "delta": {metric:
            {"value", "ci95"}}}``; ``test_split`` says which rows and how.
        """
        from baryon.training.evaluate import evaluate_model

        frame = dataset.to_pandas(split="test")
        measured: dict[str, Evaluation] = {}
        for role, version in (("champion", recipe.champion.version), ("candidate", candidate)):
            loaded = self.ws.registry.load(self.model_name, version=version)
            measured[role] = evaluate_model(loaded, frame)
        champ, cand = measured["champion"], measured["candidate"]
        assert champ.truth is not None
        assert champ.predictions is not None
        assert cand.predictions is not None
        deltas = paired_deltas(
            champ.truth, champ.predictions, cand.predictions,
            resamples=self.resamples, seed=self.seed,
        )  # fmt: skip
        metrics = {
            "champion": to_jsonable(champ.metrics),
            "candidate": to_jsonable(cand.metrics),
            "delta": {m: {"value": d["value"], "ci95": d["ci95"]} for m, d in deltas.items()},
        }
        test_split = {
            "dataset_version_id": dataset.id,
            "dataset": dataset.ref,
            "frozen_from": recipe.parent.id,
            "rows": len(frame),
            "interval": {
                "method": "paired percentile bootstrap over the test rows",
                "resamples": self.resamples,
                "seed": self.seed,
            },
        }
        return metrics, test_split

    def gate(self, candidate: int, cycle_id: str) -> tuple[str, dict[str, Any]]:
        """Promote ``candidate`` through the gate (``ws.promotion``), or keep the champion.

        Returns
        -------
        (decision, gate) : tuple
            ``"promoted"`` or ``"kept"``, and the gate's decision (as a dict).
        """
        try:
            move = self.ws.promotion.promote(
                self.model_name,
                candidate,
                min_delta=self.min_delta,
                actor=self.actor,
                reason=f"flywheel cycle {cycle_id}",
            )
        except Conflict as exc:
            if exc.code != "gate_refused":
                raise
            return "kept", dict(exc.details)
        return "promoted", dict(move.gate or {})

    # ------------------------------------------------------------------ run
    def run(
        self,
        *,
        cycle_id: str | None = None,
        iteration_id: str | None = None,
        trigger: str = "manual",
    ) -> Cycle:
        """Run every step and record the cycle; return it as it ended.

        Parameters
        ----------
        cycle_id : str, optional
            A ``queued`` cycle to run (a job's); default: record a new one.
        iteration_id : str, optional
            The iteration a new cycle counts towards.
        trigger : str
            What started it (``cli``, ``api``, ``demo``, ...), kept in the report.

        Returns
        -------
        Cycle
            ``promoted``, ``kept`` or ``nothing_new``.

        Raises
        ------
        NotFound, Conflict, InvalidInput
            As :meth:`resolve` (nothing is recorded) and :func:`create_cycle`;
            ``cycle_in_progress`` when a cycle of the model run by a job is queued or
            running (:func:`~baryon.flywheel.records.refuse_concurrent`).
        BaryonError
            Any later failure: the cycle is recorded ``failed`` with the error's code
            and message in ``report["error"]``, then the error is raised.
        """
        started = time.monotonic()
        state = _State(report={"trigger": trigger, "model": self.model_name})
        if cycle_id is None:
            recipe = self.resolve()  # bad input: refused before anything is recorded
            org_id = self.ws.scope.org_id
            assert org_id is not None
            with self.ws.db.session(self.ws.scope) as session:
                refuse_concurrent(session, org_id=org_id, model_name=self.model_name)
                cycle_id = create_cycle(
                    session, org_id=org_id, model_name=self.model_name, status="running",
                    clock=self.ws.clock, iteration_id=iteration_id,
                    champion_version=recipe.champion.version,
                ).id  # fmt: skip
        else:
            self._record(cycle_id, status="running", report={}, finished_at=None)
            try:
                recipe = self.resolve()
            except BaseException as exc:
                self._fail(cycle_id, exc, state, started)
                raise
            self._record(cycle_id, champion_version=recipe.champion.version)
        try:
            status = self._turn(recipe, cycle_id, state)
        except BaseException as exc:
            self._fail(cycle_id, exc, state, started)
            raise
        state.enter(None)
        state.report["seconds"] = round(time.monotonic() - started, 3)
        return self._finish(cycle_id, status, state, recipe)

    def _turn(self, recipe: Recipe, cycle_id: str, state: _State) -> str:
        report = state.report
        report["champion"] = recipe.to_dict()
        report["since"] = recipe.since.to_dict()
        self._step(state, "gather", 5.0)
        gathered = self.gather(recipe)
        report["watermark"] = gathered.watermark.to_dict()
        report["gathered"] = {"labels": len(gathered.labels), "examined": gathered.examined}
        report["skipped"] = dict(gathered.skipped)
        report["rows_added"] = {}
        if not gathered.labels:
            return self._nothing_new(report, "no new consensus label or trusted feedback")
        tried = self.already_tried(recipe, gathered)
        if tried is not None:
            return self._nothing_new(
                report, f"cycle {tried} already tried these labels against this champion"
            )
        self._step(state, "dataset", 10.0)
        rows = self.build(recipe, gathered)
        report["skipped"] = {**gathered.skipped, **rows.skipped}
        report["overlap"] = dict(rows.overlap)
        if rows.table is None:
            return self._nothing_new(report, "every new label was left out (see skipped)")
        report["rows_digest"] = rows.digest
        tried = self.already_tried(recipe, gathered, rows)
        if tried is not None:
            return self._nothing_new(
                report,
                f"cycle {tried} already tried the same rows against this champion "
                "(the labels since were all left out, see skipped)",
            )
        report["rows_added"] = dict(rows.by_source)
        dataset = self.append(recipe, rows, self.lineage(recipe, gathered, rows))
        report["dataset"] = {"parent": recipe.parent.ref, "new": dataset.ref, "id": dataset.id}
        self._record(cycle_id, parent_version_id=recipe.parent.id, dataset_version_id=dataset.id)
        self._step(state, "train", 20.0)
        run = self.train(recipe, dataset, cycle_id, state)
        registered = run.extra.get("registered") or {}
        candidate = int(registered["version"])
        report["candidate"] = {"version": candidate, "run_id": run.id}
        self._record(cycle_id, run_id=run.id, candidate_version=candidate)
        self._step(state, "evaluate", 80.0)
        report["metrics"], report["test_split"] = self.measure(recipe, dataset, candidate)
        self._step(state, "gate", 90.0)
        decision, gate = self.gate(candidate, cycle_id)
        report["decision"], report["gate"] = decision, gate
        report["message"] = str(gate.get("message", ""))
        return decision

    def _step(self, state: _State, stage: str, percent: float) -> None:
        state.enter(stage)
        self._report(stage, percent)

    @staticmethod
    def _nothing_new(report: dict[str, Any], why: str) -> str:
        report["decision"] = "nothing_new"
        report["message"] = f"nothing new: {why}; no dataset version, run or model version made"
        return "nothing_new"

    # ------------------------------------------------------------- recording
    def _record(self, cycle_id: str, **fields: Any) -> None:
        with self.ws.db.session(self.ws.scope) as session:
            row = cycle_row(session, cycle_id)
            for name, value in fields.items():
                setattr(row, name, value)

    def _finish(self, cycle_id: str, status: str, state: _State, recipe: Recipe) -> Cycle:
        with self.ws.db.session(self.ws.scope) as session:
            row = cycle_row(session, cycle_id)
            row.status = status
            row.parent_version_id = row.parent_version_id or recipe.parent.id
            row.report = to_jsonable(state.report, default=str)
            row.finished_at = self.ws.clock.now()
            self._audit(session, cycle_id, status, state.report)
            session.flush()
            return Cycle.from_row(row)

    def _audit(self, session: Session, cycle_id: str, status: str, report: dict[str, Any]) -> None:
        details = {"model": self.model_name, "status": status}
        for key in ("rows_added", "dataset", "candidate", "error"):
            if key in report:
                details[key] = report[key]
        record_audit(
            session,
            actor=self.actor,
            action=f"flywheel.{status}",
            object_type="flywheel_cycle",
            object_id=cycle_id,
            details=to_jsonable(details, default=str),
            org_id=self.ws.scope.org_id,
            clock=self.ws.clock,
        )

    def _fail(self, cycle_id: str, exc: BaseException, state: _State, started: float) -> None:
        code = exc.code if isinstance(exc, BaryonError) else "internal_error"
        message = exc.message if isinstance(exc, BaryonError) else f"{type(exc).__name__}: {exc}"
        if state.run_id is not None:
            _end_run(self.ws, state.run_id, code, message)
        state.report["error"] = {"code": code, "message": message}
        state.enter(None)
        state.report["seconds"] = round(time.monotonic() - started, 3)
        with self.ws.db.session(self.ws.scope) as session:
            row = cycle_row(session, cycle_id)
            row.status = "failed"
            row.report = to_jsonable(state.report, default=str)
            row.finished_at = self.ws.clock.now()
            self._audit(session, cycle_id, "failed", state.report)


def _end_run(ws: Workspace, run_id: str, code: str, message: str) -> None:
    """End a run the trainer left ``running`` (its progress callback raised)."""
    from baryon.training.runs import CANCELLED, FAILED

    run = ws.runs.get(run_id)
    if run.finished:
        return
    status = CANCELLED if code == "job_cancelled" else FAILED
    with contextlib.suppress(Conflict):
        ws.runs.finish(run_id, status=status, error=message, error_code=code)


def check_min_delta(min_delta: Any) -> float:
    """Return ``min_delta`` as a float if it is a finite number >= 0.

    Raises
    ------
    InvalidInput
        ``invalid_min_delta``.
    """
    if (
        isinstance(min_delta, bool)
        or not isinstance(min_delta, int | float)
        or not 0 <= float(min_delta) < float("inf")
    ):
        raise InvalidInput(
            f"min_delta must be a finite number >= 0, got {min_delta!r}", code="invalid_min_delta"
        )
    return float(min_delta)


def run_cycle(
    ws: Workspace,
    model_name: str,
    *,
    iteration_id: str | None = None,
    min_delta: float = 0.0,
    actor: str = "system",
    trigger: str = "manual",
    cycle_id: str | None = None,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    progress: Progress | None = None,
) -> Cycle:
    """Run one flywheel cycle of ``model_name`` now, in this process.

    ``ws`` is the organization's view (``ws.for_org(org)``; the operator's by
    default). See :class:`FlywheelCycle` for the steps and the module docstring for
    what the cycle guarantees; the report's shape is documented in
    ``docs/flywheel.md``.

    Parameters
    ----------
    ws : Workspace
    model_name : str
        A classifier of the organization, with a champion.
    iteration_id : str, optional
        The iteration the cycle counts towards: its id (``it_…``) or its name.
    min_delta : float
        Required improvement of the primary metric at the gate (>= 0).
    actor : str
        Recorded on everything the cycle makes.
    trigger : str
        What started the cycle (kept in the report).
    cycle_id : str, optional
        Run this ``queued`` cycle (the ``flywheel`` job's) instead of recording one.
    resamples, seed : int
        Of the bootstrap intervals.
    progress : callable, optional
        ``progress(stage, percent)``.

    Returns
    -------
    Cycle
        Status ``promoted``, ``kept`` or ``nothing_new``.

    Raises
    ------
    NotFound
        ``model_not_found``, ``iteration_not_found``, ``cycle_not_found``.
    Conflict
        ``no_champion``, ``iteration_closed``, ``cycle_in_progress`` (a cycle of the
        model run by a job is queued or running; cycles run in process by this
        function, without a job, are not checked against each other: use
        :func:`~baryon.flywheel.jobs.run_cycle_here` for that).
    InvalidInput
        ``not_a_classifier``, ``no_recipe``, ``invalid_min_delta``.
    BaryonError
        A failure after the cycle was recorded (it is then ``failed``).
    """
    cycle = FlywheelCycle(
        ws,
        model_name,
        actor=actor,
        min_delta=check_min_delta(min_delta),
        resamples=resamples,
        seed=seed,
        progress=progress,
    )
    return cycle.run(cycle_id=cycle_id, iteration_id=iteration_id, trigger=trigger)
