"""The trainer: one tracked run from a dataset version to a registered model.

:class:`Trainer` is a workflow object with small steps, each testable alone::

    resolve  → TrainingSpec   kind known, dataset version found (errors: no run)
    prepare  → Prepared       task, target, columns, the three splits, validation
    fit      → Fitted         estimator fitted on the training split (+ optional CV)
    evaluate → evaluations    metrics on the stored test split (and the validation split)
    register → ModelVersion   a new version in the registry

:meth:`Trainer.execute` chains them inside a run (the one training workflow, shared
by :meth:`Trainer.train` in the foreground and by the ``train`` background job of
:mod:`baryon.training.jobs`): a :class:`~baryon.core.errors.ValidationFailed` ends the
run ``failed_validation`` with its reason; any other exception ends it ``failed`` with
the message and code; the run is returned in both cases (``run.raise_for_status()``
turns it into an error). Before each step it reports ``(stage, percent)`` to an
optional ``progress`` callback — ``prepare`` 10, ``fit`` 30, ``evaluate`` 80,
``register`` 90 — and an exception raised by that callback (a cancelled job) stops the
workflow and leaves the run to the caller.

Columns by task
---------------
- tabular kinds (``regression``, ``classification``, ``auto``): features are the columns
  with role ``feature``; the target is ``target=`` if given, else the first ``label``
  column, else the first ``rating`` column, else (regression and ``auto`` kinds) the last
  numeric column that is a feature. For ``auto`` kinds the task is ``classification``
  when the target has a string/category/bool type, or is an integer ``label`` column with
  at most 20 distinct training values; else ``regression`` (a ``task`` parameter
  overrides it); the estimator gets the task explicitly.
- ``text_classification``: the first ``text`` column and the target as above.
- ``recommendation``: the ``user``, ``item`` and (optional) ``rating`` columns.

Rows whose target (or user/item) is missing are dropped from every split and counted.
The estimator is fitted on the **train** split; the **validation** split is passed to
estimators whose ``fit`` takes ``X_val``/``y_val`` (early stopping) and is measured
(``validation_*`` metrics); the stored **test** split gives the run's metrics.
"""

from __future__ import annotations

import contextlib
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from baryon.core.errors import BaryonError, InvalidInput, ValidationFailed
from baryon.core.jsonvalues import dumps, to_jsonable
from baryon.core.refs import check_name
from baryon.ml.inputs import check_missing_policy, input_contract
from baryon.training import validation as checks
from baryon.training.evaluate import (
    DEFAULT_THRESHOLD,
    Evaluation,
    TaskData,
    evaluate_classifier,
    evaluate_recommender,
    evaluate_regressor,
    task_data,
)
from baryon.training.gates import primary_metric
from baryon.training.runs import FAILED, FAILED_VALIDATION, RUNNING, SUCCEEDED, Run

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from baryon.data.versions import DatasetVersion
    from baryon.training.registry import ModelVersion
    from baryon.workspace import Workspace

__all__ = ["STAGES", "Fitted", "Prepared", "Progress", "Trainer", "TrainingSpec"]

#: The stages :meth:`Trainer.execute` reports, with the percent done when each starts.
STAGES = (("prepare", 10.0), ("fit", 30.0), ("evaluate", 80.0), ("register", 90.0))
#: A progress callback: ``progress(stage, percent)``; raising stops the workflow.
Progress = Callable[[str, float], None]

_TABULAR = ("classification", "regression", "auto")
_NUMERIC_TYPES = ("int", "float")
_CLASS_TYPES = ("string", "category", "bool")
#: An integer label column with at most this many distinct training values is a class.
_MAX_INT_CLASSES = 20
#: Per-step attributes collected into ``Run.history`` when an estimator has them.
_HISTORY_ATTRS = (
    "loss_history_",
    "loss_curve_",
    "validation_scores_",
    "train_score_",
    "validation_score_",
)


@dataclass(frozen=True)
class TrainingSpec:
    """What to train on what (the output of :meth:`Trainer.resolve`).

    Attributes
    ----------
    kind : str
        Estimator kind (``baryon.ml.kinds``).
    dataset : DatasetVersion
        The dataset version (with its split).
    target : str or None
        Target column asked for (None: chosen by role).
    params : dict
        Estimator parameters.
    seed : int
        Random seed (``random_state`` of the estimator when it has one, CV shuffling).
    cv_folds : int
        Stratified (classification) or plain k-fold cross-validation folds on the
        training split; 0 = none.
    threshold : float
        Relevance threshold of recommender evaluation (rating ≥ threshold).
    register : str or None
        Register the model under this name when the run succeeds.
    missing : str
        Input policy of the model (tabular kinds, :mod:`baryon.ml.inputs`): a null or
        absent feature at prediction time is refused (``"strict"``) or filled in with
        the training statistic (``"impute"``).
    """

    kind: str
    dataset: DatasetVersion
    target: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    seed: int = 42
    cv_folds: int = 0
    threshold: float = DEFAULT_THRESHOLD
    register: str | None = None
    missing: str = "strict"


@dataclass
class Prepared:
    """Validated training data (the output of :meth:`Trainer.prepare`).

    Attributes
    ----------
    spec : TrainingSpec
    task : str
        Resolved task: ``classification``, ``regression``, ``text_classification`` or
        ``recommendation``.
    target : str or None
    feature_columns : list of str
    column_roles : dict of str to str
        Column → role used (``feature``, ``target``, ``text``, ``user``, ``item``, ``rating``).
    train, validation, test : TaskData
    classes : list or None
        Sorted training classes (classification).
    notes : list of str
        Facts worth reporting (rows dropped, ...).
    """

    spec: TrainingSpec
    task: str
    target: str | None
    feature_columns: list[str]
    column_roles: dict[str, str]
    train: TaskData
    validation: TaskData
    test: TaskData
    classes: list[Any] | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Fitted:
    """A fitted estimator and what fitting it produced.

    Attributes
    ----------
    estimator : object
    fit_seconds : float
        Wall time of the final fit, in seconds.
    history : dict of str to list of float
        Per-step values (``loss``, ``loss_curve``, ``validation_score``, ``cv_accuracy``).
    cv_metrics : dict of str to float
        ``cv_<primary>_mean`` and ``cv_<primary>_std`` when cross-validation ran.
    """

    estimator: Any
    fit_seconds: float
    history: dict[str, list[float]] = field(default_factory=dict)
    cv_metrics: dict[str, float] = field(default_factory=dict)


class Trainer:
    """Train, evaluate and register models as tracked runs.

    Parameters
    ----------
    workspace : Workspace
        Supplies the dataset store, run store, registry and clock.
    actor : str
        Recorded as the registering actor.

    Examples
    --------
    >>> trainer = Trainer(ws)                                                # doctest: +SKIP
    >>> run = trainer.train("decision_tree", dataset="iris:2", register="iris")  # doctest: +SKIP
    >>> run.status, run.metrics["accuracy"]                                  # doctest: +SKIP
    ('succeeded', 0.93)
    """

    def __init__(self, workspace: Workspace, *, actor: str = "system") -> None:
        self.workspace = workspace
        self.actor = actor

    # ------------------------------------------------------------------ workflow
    def train(
        self,
        kind: str,
        dataset: str,
        target: str | None = None,
        params: dict[str, Any] | None = None,
        register: str | None = None,
        seed: int = 42,
        *,
        cv_folds: int = 0,
        missing: str = "strict",
        extra: dict[str, Any] | None = None,
        progress: Progress | None = None,
    ) -> Run:
        """Run ``prepare → fit → evaluate → register`` as one tracked run, now.

        :meth:`resolve`, :meth:`start` and :meth:`execute` in turn.

        Parameters
        ----------
        kind : str
            Estimator kind.
        dataset : str
            A dataset reference (``NAME``, ``NAME:N``, ``NAME@latest``) or version id.
        target : str, optional
            Target column (default chosen by role, see the module docstring).
        params : dict, optional
            Estimator parameters.
        register : str, optional
            Register the model under this name when the run succeeds.
        seed : int
            Random seed.
        cv_folds : int
            Cross-validation folds on the training split (0 = none, else >= 2).
        missing : str
            Input policy of a tabular model: ``"strict"`` (a null or absent feature is
            refused at prediction time) or ``"impute"`` (filled in with the training
            median or most frequent value, and flagged).
        extra : dict, optional
            Metadata saved with the registered version (e.g. ``handoff_threshold``).
        progress : callable, optional
            ``progress(stage, percent)`` before each step (see the module docstring).

        Returns
        -------
        Run
            Final status ``succeeded``, ``failed_validation`` or ``failed``.

        Raises
        ------
        InvalidInput
            Unknown kind, malformed dataset reference (``invalid_ref``) or parameters,
            invalid model name (no run is made).
        NotFound
            No such dataset (no run is made).
        Conflict
            Registration refused (the run stays ``succeeded``, with the error in
            ``extra["registration_error"]``).
        """
        spec = self.resolve(
            kind,
            dataset,
            target=target,
            params=params or {},
            seed=seed,
            cv_folds=cv_folds,
            register=register,
            missing=missing,
        )
        run = self.start(spec)
        return self.execute(run.id, spec, extra=extra, progress=progress)

    def start(
        self,
        spec: TrainingSpec,
        *,
        status: str = RUNNING,
        extra: dict[str, Any] | None = None,
        session: Session | None = None,
    ) -> Run:
        """Record the run of ``spec``: ``running`` (trained now) or ``queued`` (by a job).

        Parameters
        ----------
        spec : TrainingSpec
            From :meth:`resolve`.
        status : str
            ``running`` or ``queued``.
        extra : dict, optional
            The run's initial ``extra``.
        session : Session, optional
            Record it inside the caller's transaction.

        Returns
        -------
        Run
        """
        from baryon.ml.kinds import task_of

        return self.workspace.runs.start(
            kind=spec.kind,
            task=task_of(spec.kind),
            params=spec.params,
            seed=spec.seed,
            cv_folds=spec.cv_folds,
            dataset_version_id=spec.dataset.id,
            dataset_name=spec.dataset.name,
            dataset_version=spec.dataset.version,
            split=spec.dataset.split,
            target=spec.target,
            status=status,
            extra=extra,
            session=session,
        )

    def execute(
        self,
        run_id: str,
        spec: TrainingSpec,
        *,
        extra: dict[str, Any] | None = None,
        progress: Progress | None = None,
    ) -> Run:
        """Train ``spec`` inside the running run ``run_id`` and end the run.

        ``prepare → fit → evaluate`` (then record the model, metrics and reports),
        ``succeeded``, then :meth:`register_run` when ``spec.register`` is set.

        Parameters
        ----------
        run_id : str
            A run in status ``running`` (:meth:`start`, or
            :meth:`~baryon.training.runs.RunStore.begin`).
        spec : TrainingSpec
        extra : dict, optional
            Metadata saved with the registered version.
        progress : callable, optional
            ``progress(stage, percent)`` before each step. Whatever it raises stops the
            workflow and propagates; the run is then left as it is, for the caller to end.

        Returns
        -------
        Run
            Final status ``succeeded``, ``failed_validation`` or ``failed``.

        Raises
        ------
        Conflict
            Registration refused (the run stays ``succeeded``, with the error in
            ``extra["registration_error"]``).
        """
        runs = self.workspace.runs
        clock = self.workspace.clock
        started = clock.monotonic()

        def report(stage: str, percent: float) -> None:
            if progress is None:
                return
            try:
                progress(stage, percent)
            except BaseException as exc:
                raise _Interrupted(exc) from exc

        percent = dict(STAGES)
        try:
            report("prepare", percent["prepare"])
            prepared = self.prepare(spec)
            runs.update(
                run_id,
                task=prepared.task,
                target=prepared.target,
                column_roles=prepared.column_roles,
                feature_columns=prepared.feature_columns,
            )
            report("fit", percent["fit"])
            fitted = self.fit(prepared)
            report("evaluate", percent["evaluate"])
            evaluations = self.evaluate(prepared, fitted)
            self._record(run_id, prepared, fitted, evaluations, extra)
            if spec.register is not None:
                report("register", percent["register"])
        except _Interrupted as stop:
            raise stop.cause from None
        except ValidationFailed as exc:
            return runs.finish(
                run_id,
                status=FAILED_VALIDATION,
                duration_seconds=clock.monotonic() - started,
                error=exc.message,
                error_code=str(exc.details.get("check") or exc.code),
            )
        except BaseException as exc:
            message = (
                exc.message if isinstance(exc, BaryonError) else f"{type(exc).__name__}: {exc}"
            )
            failed = runs.finish(
                run_id,
                status=FAILED,
                duration_seconds=clock.monotonic() - started,
                error=message or type(exc).__name__,
                error_code=getattr(exc, "code", None) or "internal_error",
            )
            if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit
                raise
            return failed
        done = runs.finish(run_id, status=SUCCEEDED, duration_seconds=clock.monotonic() - started)
        if spec.register is not None:
            done = self.register_run(run_id, spec.register)
        return done

    def resolve(
        self,
        kind: str,
        dataset: str,
        *,
        target: str | None = None,
        params: dict[str, Any] | None = None,
        seed: int = 42,
        cv_folds: int = 0,
        register: str | None = None,
        missing: str = "strict",
    ) -> TrainingSpec:
        """Check the kind, options and model name and find the dataset version (no run yet).

        Raises
        ------
        InvalidInput
            Unknown kind (``unknown_kind``), unknown or invalid parameters
            (``invalid_param``), bad ``cv_folds`` or ``seed``, params that are not JSON
            values (``invalid_params``), cross-validation asked for a recommender, an
            invalid model name to register under (``invalid_model_name``), a malformed
            dataset reference (``invalid_ref``), an unknown input policy
            (``invalid_missing_policy``).
        NotFound
            No such dataset or version.
        """
        from baryon.ml.kinds import estimator_kinds, task_of

        if register is not None:
            check_name(register, kind="model")  # refuse a bad name before training, not after
        check_missing_policy(missing)
        if kind not in estimator_kinds():
            raise InvalidInput(
                f"unknown model kind {kind!r}; one of {', '.join(sorted(estimator_kinds()))}",
                code="unknown_kind",
            )
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise InvalidInput(f"seed must be an integer >= 0, got {seed!r}", code="invalid_seed")
        if (
            isinstance(cv_folds, bool)
            or not isinstance(cv_folds, int)
            or not (cv_folds == 0 or cv_folds >= 2)
        ):
            raise InvalidInput(
                f"cv_folds must be 0 (no cross-validation) or >= 2, got {cv_folds!r}",
                code="invalid_cv_folds",
            )
        if cv_folds and task_of(kind) == "recommendation":
            raise InvalidInput(
                "cross-validation is not available for recommenders", code="invalid_cv_folds"
            )
        params = {} if params is None else params
        if not isinstance(params, dict):
            raise InvalidInput("params must be a JSON object", code="invalid_params")
        params = dict(params)
        try:
            json.dumps(params, allow_nan=False)
        except (TypeError, ValueError):
            raise InvalidInput(
                "params must be JSON values (finite numbers)", code="invalid_params"
            ) from None
        from baryon.ml.kinds import make_estimator

        make_estimator(kind, **params)  # unknown names and bad values fail here, not in a run
        version = self.workspace.datasets.resolve(dataset)
        return TrainingSpec(
            kind=kind,
            dataset=version,
            target=target,
            params=params,
            seed=seed,
            cv_folds=cv_folds,
            register=register,
            missing=missing,
        )

    # ------------------------------------------------------------------- prepare
    def prepare(self, spec: TrainingSpec) -> Prepared:
        """Choose task and columns, load the three splits and validate them.

        Raises
        ------
        ValidationFailed
            Any check of :mod:`baryon.training.validation` (the run ends
            ``failed_validation``).
        """
        from baryon.ml.kinds import task_of

        ds = spec.dataset
        if ds.row_count == 0:
            raise checks.fail("empty_dataset", "the dataset has 0 rows")
        if ds.row_count == 1:
            raise checks.fail("too_few_rows", "the dataset has 1 row; training needs at least 2")
        if not ds.split:
            raise checks.fail(
                "no_split",
                f"dataset {ds.ref} has no split; split it first (baryon data split {ds.name} ...)",
            )
        frames = ds.split_frames()  # one read of the data, not one per split
        task = task_of(spec.kind)
        roles = {c: ds.roles.get(c, "feature") for c in frames["train"].columns}
        if task == "recommendation":
            return self._prepare_interactions(spec, frames, roles)
        target = self._choose_target(spec, roles, task)
        if task == "auto":
            task = self._auto_task(spec, target, roles, frames["train"])
        column_roles: dict[str, str] = {target: "target"}
        text_column = None
        features: list[str] = []
        if task == "text_classification":
            text_column = _first(roles, "text")
            if text_column is None:
                raise checks.fail("missing_role", "no column has role text", role="text")
            column_roles[text_column] = "text"
        else:
            features = [c for c, r in roles.items() if r == "feature" and c != target]
            if not features:
                raise checks.fail("no_features", "no column has role feature")
            column_roles.update(dict.fromkeys(features, "feature"))
        data = {
            s: task_data(f, task, feature_columns=features, target=target, text_column=text_column)
            for s, f in frames.items()
        }
        notes = [
            f"{d.dropped} {s} row(s) without a target dropped" for s, d in data.items() if d.dropped
        ]
        checks.check_rows(
            ds.row_count, len(data["train"]), len(data["test"]), cv_folds=spec.cv_folds
        )
        train_y = data["train"].y
        assert train_y is not None
        checks.check_target(train_y, task=task)
        if text_column is not None:
            checks.check_columns(frames["train"], [text_column], constant=False)
        else:
            checks.check_columns(data["train"].X, features)
        classes = None
        if task != "regression":
            evaluation = {s: d.y for s in ("test", "validation") if (d := data[s]).y is not None}
            classes = checks.check_classes(train_y, evaluation=evaluation, cv_folds=spec.cv_folds)
        return Prepared(
            spec=spec,
            task=task,
            target=target,
            feature_columns=features,
            column_roles=column_roles,
            train=data["train"],
            validation=data["validation"],
            test=data["test"],
            classes=classes,
            notes=notes,
        )

    def _prepare_interactions(
        self, spec: TrainingSpec, frames: dict[str, pd.DataFrame], roles: dict[str, str]
    ) -> Prepared:
        user, item, rating = _first(roles, "user"), _first(roles, "item"), _first(roles, "rating")
        for role, column in (("user", user), ("item", item)):
            if column is None:
                raise checks.fail("missing_role", f"no column has role {role}", role=role)
        data = {
            s: task_data(f, "recommendation", user=user, item=item, rating=rating)
            for s, f in frames.items()
        }
        checks.check_rows(spec.dataset.row_count, len(data["train"]), len(data["test"]))
        train, test = data["train"].interactions, data["test"].interactions
        assert train is not None
        assert test is not None
        checks.check_interactions(train, test, threshold=spec.threshold if rating else None)
        column_roles = {str(user): "user", str(item): "item"}
        if rating:
            column_roles[rating] = "rating"
        notes = [
            f"{d.dropped} {s} row(s) without user or item dropped"
            for s, d in data.items()
            if d.dropped
        ]
        return Prepared(
            spec=spec,
            task="recommendation",
            target=None,
            feature_columns=[],
            column_roles=column_roles,
            train=data["train"],
            validation=data["validation"],
            test=data["test"],
            notes=notes,
        )

    @staticmethod
    def _choose_target(spec: TrainingSpec, roles: dict[str, str], task: str) -> str:
        if spec.target is not None:
            if spec.target not in roles:
                raise checks.fail(
                    "no_target",
                    f"target column {spec.target!r} is not in the dataset "
                    f"(columns: {', '.join(roles)})",
                    column=spec.target,
                )
            return spec.target
        chosen = _first(roles, "label") or _first(roles, "rating")
        if chosen is None and task in ("regression", "auto"):
            schema = spec.dataset.schema
            numeric = [
                c for c, r in roles.items() if r == "feature" and schema.get(c) in _NUMERIC_TYPES
            ]
            chosen = numeric[-1] if numeric else None
        if chosen is None:
            raise checks.fail(
                "no_target",
                "no target column: pass --target or give a column the role label",
            )
        return chosen

    @staticmethod
    def _auto_task(
        spec: TrainingSpec, target: str, roles: dict[str, str], train: pd.DataFrame
    ) -> str:
        asked = spec.params.get("task")
        if asked in ("classification", "regression"):
            return str(asked)
        kind = spec.dataset.schema.get(target)
        if kind in _CLASS_TYPES:
            return "classification"
        if kind == "int" and roles.get(target) == "label":
            distinct = train[target].nunique() if target in train else _MAX_INT_CLASSES + 1
            return "classification" if distinct <= _MAX_INT_CLASSES else "regression"
        return "regression"

    # ----------------------------------------------------------------------- fit
    def make_estimator(self, prepared: Prepared) -> Any:
        """Build the (unfitted) estimator of ``prepared`` with the run's seed.

        The seed becomes ``random_state`` when the estimator has that parameter and the
        user did not set it; ``auto`` kinds get the resolved ``task``.
        """
        from baryon.ml.kinds import make_estimator, task_of

        spec = prepared.spec
        params = dict(spec.params)
        if task_of(spec.kind) == "auto":
            params["task"] = prepared.task
        estimator = make_estimator(spec.kind, **params)
        names = estimator.get_params() if hasattr(estimator, "get_params") else {}
        if "random_state" in names and "random_state" not in params:
            estimator.set_params(random_state=spec.seed)
        return estimator

    def fit(self, prepared: Prepared) -> Fitted:
        """Fit the estimator on the training split (and cross-validate when asked).

        Returns
        -------
        Fitted
        """
        clock = self.workspace.clock
        cv_metrics, history = self._cross_validate(prepared)
        estimator = self.make_estimator(prepared)
        started = clock.monotonic()
        train = prepared.train
        if prepared.task == "recommendation":
            estimator.fit(train.interactions)
        else:
            kwargs = {}
            val = prepared.validation
            if len(val) and _takes_validation(estimator):
                kwargs = {"X_val": val.X, "y_val": val.y}
            estimator.fit(train.X, train.y, **kwargs)
        fit_seconds = clock.monotonic() - started
        history.update(_history_of(estimator))
        return Fitted(
            estimator=estimator, fit_seconds=fit_seconds, history=history, cv_metrics=cv_metrics
        )

    def _cross_validate(
        self, prepared: Prepared
    ) -> tuple[dict[str, float], dict[str, list[float]]]:
        folds = prepared.spec.cv_folds
        if not folds or prepared.task == "recommendation":
            return {}, {}
        from sklearn.model_selection import KFold, StratifiedKFold

        train = prepared.train
        assert train.y is not None
        y = train.y.to_numpy()
        splitter: Any
        if prepared.task == "regression":
            splitter = KFold(n_splits=folds, shuffle=True, random_state=prepared.spec.seed)
        else:
            splitter = StratifiedKFold(
                n_splits=folds, shuffle=True, random_state=prepared.spec.seed
            )
        metric = primary_metric(prepared.task)
        scores = []
        for fit_idx, held_idx in splitter.split(np.zeros(len(y)), y):
            estimator = self.make_estimator(prepared)
            estimator.fit(_rows(train.X, fit_idx), y[fit_idx])
            part = _rows(train.X, held_idx)
            if prepared.task == "regression":
                scores.append(evaluate_regressor(estimator, part, y[held_idx]).metrics[metric])
            else:
                pred = np.asarray(estimator.predict(part), dtype=object)
                scores.append(float(np.mean(pred == y[held_idx].astype(object))))
        return (
            {
                f"cv_{metric}_mean": float(np.mean(scores)),
                f"cv_{metric}_std": float(np.std(scores)),
            },
            {f"cv_{metric}": [float(s) for s in scores]},
        )

    # ------------------------------------------------------------------ evaluate
    def evaluate(self, prepared: Prepared, fitted: Fitted) -> dict[str, Evaluation]:
        """Measure the fitted estimator on the test split (and the validation split).

        Returns
        -------
        dict
            ``{"test": Evaluation}`` plus ``"validation"`` when that split has rows.
        """
        out = {"test": self._measure(prepared, fitted.estimator, prepared.test)}
        if len(prepared.validation):
            # e.g. no relevant validation item: the test metrics still stand
            with contextlib.suppress(InvalidInput):
                out["validation"] = self._measure(prepared, fitted.estimator, prepared.validation)
        return out

    def _measure(self, prepared: Prepared, estimator: Any, data: TaskData) -> Evaluation:
        if prepared.task == "recommendation":
            assert data.interactions is not None
            threshold = prepared.spec.threshold if "rating" in data.interactions else None
            return evaluate_recommender(
                estimator, data.interactions, train=prepared.train.interactions, threshold=threshold
            )
        assert data.y is not None
        if prepared.task == "regression":
            return evaluate_regressor(estimator, data.X, data.y)
        return evaluate_classifier(estimator, data.X, data.y, task=prepared.task)

    # ------------------------------------------------------------------ register
    def register(
        self, run_id: str, name: str, *, extra: dict[str, Any] | None = None
    ) -> ModelVersion:
        """Register the run's model as the next version of ``name`` (see the registry)."""
        return self.workspace.registry.register(run_id, name, actor=self.actor, extra=extra)

    def register_run(self, run_id: str, name: str) -> Run:
        """Register a succeeded run's model under ``name`` once, and record it on the run.

        A version of ``name`` already made from this run (by an attempt that died
        before recording it) is recorded instead of registering a second one.

        Returns
        -------
        Run
            With ``extra["registered"] = {"name", "version"}``.

        Raises
        ------
        Conflict, InvalidInput
            Registration refused (``task_mismatch``, ...): recorded in the run's
            ``extra["registration_error"]`` (``{"code", "message"}``), then raised.
        """
        runs = self.workspace.runs
        try:
            version = self._registered_version(run_id, name) or self.register(run_id, name)
        except BaryonError as exc:
            error = {"code": exc.code, "message": exc.message}
            runs.update(run_id, extra={"registration_error": error})
            raise
        return runs.update(
            run_id, extra={"registered": {"name": version.name, "version": version.version}}
        )

    def _registered_version(self, run_id: str, name: str) -> ModelVersion | None:
        from baryon.core.errors import NotFound

        try:
            versions = self.workspace.registry.list_versions(name)
        except NotFound:
            return None
        return next((v for v in versions if v.run_id == run_id), None)

    # -------------------------------------------------------------------- record
    def _record(
        self,
        run_id: str,
        prepared: Prepared,
        fitted: Fitted,
        evaluations: dict[str, Evaluation],
        extra: dict[str, Any] | None,
    ) -> None:
        from baryon.ml.persistence import dump_model

        runs = self.workspace.runs
        spec = prepared.spec
        test = evaluations["test"]
        metrics: dict[str, float] = dict(test.metrics)
        if "validation" in evaluations:
            metrics.update(
                {f"validation_{k}": v for k, v in evaluations["validation"].metrics.items()}
            )
        metrics.update(fitted.cv_metrics)
        metrics["fit_seconds"] = fitted.fit_seconds
        classes = None
        if prepared.task in ("classification", "text_classification"):
            classes = np.asarray(fitted.estimator.classes_).tolist()
        payload, manifest = dump_model(
            fitted.estimator,
            kind=spec.kind,
            extra={
                "run_id": run_id,
                "dataset_version_id": spec.dataset.id,
                "task": prepared.task,
                "target": prepared.target,
                "feature_columns": prepared.feature_columns,
                "column_roles": prepared.column_roles,
                "classes": classes,
            },
        )
        runs.put_artifact(run_id, "model", payload)
        runs.put_artifact(run_id, "manifest", dumps(manifest, sort_keys=True))
        report = {
            "run_id": run_id,
            "kind": spec.kind,
            "task": prepared.task,
            "dataset": spec.dataset.ref,
            "dataset_version_id": spec.dataset.id,
            "split": "test",
            "primary_metric": primary_metric(prepared.task),
            "metrics": to_jsonable(metrics),
            "test": test.report,
            "validation": evaluations["validation"].report if "validation" in evaluations else None,
            "rows": {
                "train": len(prepared.train),
                "validation": len(prepared.validation),
                "test": len(prepared.test),
            },
            "notes": prepared.notes,
        }
        runs.put_artifact(run_id, "report", dumps(report, default=str, sort_keys=True))
        if "confusion_matrix" in test.report:
            runs.put_artifact(
                run_id,
                "confusion_matrix",
                dumps(test.report["confusion_matrix"], default=str, sort_keys=True),
            )
        model_extra = dict(extra or {})
        if prepared.feature_columns and isinstance(prepared.train.X, pd.DataFrame):
            contract = input_contract(prepared.train.X, spec.dataset.schema, missing=spec.missing)
            model_extra["inputs"] = contract.to_dict()
        runs.update(
            run_id,
            metrics=metrics,
            history=fitted.history,
            extra={"classes": classes, "notes": prepared.notes, "model_extra": model_extra},
        )


# ----------------------------------------------------------------------- helpers
class _Interrupted(Exception):
    """Carries what a progress callback raised past the run's error handling."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


def _first(roles: dict[str, str], role: str) -> str | None:
    return next((c for c, r in roles.items() if r == role), None)


def _rows(X: Any, index: np.ndarray) -> Any:
    if isinstance(X, pd.DataFrame):
        return X.iloc[index]
    return [X[i] for i in index]


def _takes_validation(estimator: Any) -> bool:
    try:
        names = inspect.signature(estimator.fit).parameters
    except (TypeError, ValueError):
        return False
    return (
        "X_val" in names
        and "y_val" in names
        and getattr(estimator, "early_stopping", None) is not False
    )


def _history_of(estimator: Any) -> dict[str, list[float]]:
    """Per-step values kept by the estimator or by the scikit-learn model it wraps."""
    out = {}
    inner = getattr(estimator, "model_", None)
    for attr in _HISTORY_ATTRS:
        values = getattr(estimator, attr, None)
        if values is None and inner is not None:
            values = getattr(inner, attr, None)
        if values is None:
            continue
        try:
            arr = np.asarray(values, dtype=np.float64).ravel()
        except (TypeError, ValueError):
            continue
        if arr.size:
            out[attr.rstrip("_")] = [float(v) for v in arr]
    return out
