"""Hyperparameter search: many tracked runs of one kind, the best through the gate.

:class:`Tuner` is a workflow object with small steps::

    plan     → TuningPlan     kind, dataset, search space, metric checked (no run yet)
    search   → list of Trial  one tracked run per trial (a TrialRunner chooses params)
    best     → Trial or None  the succeeded trial with the best validation metric
    register → Tuning         the best run registered and offered to the gate

Every trial is a :meth:`baryon.training.trainer.Trainer` run (``resolve → start →
execute``) whose ``extra`` carries ``tune_id`` (the session) and ``trial`` (its
number), so ``baryon runs list`` shows them like any other run. A trial that fails
ends its run ``failed`` or ``failed_validation`` and the search goes on.

Trials are compared on a **validation** metric, never on test rows: the run's
``validation_<metric>`` (measured on the dataset's validation split), or, when the
split has no validation rows and ``cv_folds`` is set, ``cv_<metric>_mean``
(cross-validation inside the training split, primary metric only). Default metric:
``accuracy`` for classification, ``rmse`` for regression (lower is better),
``ndcg_at_10`` for recommenders.

Search spaces (``--param NAME=SPEC``)
-------------------------------------
``2,4,8``
    choices (each a JSON literal, else the text itself).
``1..10``
    integer range, both ends included (grid: every integer).
``0.01..0.3``
    float range (random and tpe only).
``log:0.001..1``
    the same range sampled on a log scale (ends > 0).

Search back ends
----------------
:class:`TrialRunner` is the one interface a search runs behind:
:class:`LocalTrialRunner` runs ``grid`` and ``random`` as plain loops and ``tpe`` with
Optuna (``baryon[tune]``); :func:`trial_runner` picks it, or refuses with
``ray_not_available`` when ``BARYON_RAY_ADDRESS`` is set (:mod:`baryon.core.engines`).
"""

from __future__ import annotations

import itertools
import math
import random
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from baryon.core.engines import engine_for
from baryon.core.errors import BaryonError, InvalidInput, MissingDependency
from baryon.core.ids import new_id
from baryon.core.jsonvalues import loads, to_jsonable
from baryon.training.gates import LOWER_IS_BETTER
from baryon.training.runs import SUCCEEDED

if TYPE_CHECKING:
    from baryon.core.config import Settings
    from baryon.training.runs import Run
    from baryon.training.trainer import Trainer, TrainingSpec

__all__ = [
    "DEFAULT_METRICS",
    "DEFAULT_SPACES",
    "SEARCHES",
    "TASK_METRICS",
    "Dimension",
    "LocalTrialRunner",
    "Trial",
    "TrialRunner",
    "Tuner",
    "Tuning",
    "TuningPlan",
    "parse_dimension",
    "parse_space",
    "trial_runner",
]

#: The search strategies.
SEARCHES = ("grid", "random", "tpe")

#: Metric trials are compared on, per task, when ``--metric`` is not given.
DEFAULT_METRICS: dict[str, str] = {
    "classification": "accuracy",
    "text_classification": "accuracy",
    "regression": "rmse",
    "recommendation": "ndcg_at_10",
}

#: Metrics each task's runs record (on the validation split as ``validation_<name>``).
TASK_METRICS: dict[str, tuple[str, ...]] = {
    "classification": ("accuracy", "macro_f1", "log_loss", "ece"),
    "text_classification": ("accuracy", "macro_f1", "log_loss", "ece"),
    "regression": ("rmse", "mae", "r2"),
    "recommendation": (
        "ndcg_at_10",
        "precision_at_10",
        "recall_at_10",
        "hit_rate_at_10",
        "map_at_10",
    ),
}

#: The search space used when no ``--param`` is given, per kind (same syntax).
DEFAULT_SPACES: dict[str, dict[str, str]] = {
    "decision_tree": {"max_depth": "2,4,8,16", "min_samples_leaf": "1,5,20"},
    "gradient_boosting": {
        "learning_rate": "log:0.01..0.3",
        "max_depth": "2,3,5",
        "max_iter": "50,100,200",
    },
    "mlp": {"alpha": "log:0.00001..0.01", "learning_rate_init": "log:0.0001..0.01"},
    "linear_regression_gd": {"learning_rate": "log:0.001..0.3"},
    "text_classifier": {"C": "log:0.01..10", "model": "svm,logistic"},
    "hashed_text_classifier": {"learning_rate": "log:0.01..1", "epochs": "3,5,10"},
}


# ------------------------------------------------------------------- the space
@dataclass(frozen=True)
class Dimension:
    """One searched parameter: a set of choices, or an integer or float range.

    Attributes
    ----------
    name : str
        The estimator parameter.
    choices : tuple or None
        The values to choose from (a choice dimension).
    low, high : int or float or None
        The range's ends, both included (a range dimension).
    integer : bool
        Integer range.
    log : bool
        Sample on a log scale (``low > 0``).
    """

    name: str
    choices: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    integer: bool = False
    log: bool = False

    def grid(self) -> list[Any]:
        """The values a grid search tries: the choices, or every integer of the range.

        Raises
        ------
        InvalidInput
            ``invalid_search_space``: a float range has no grid.
        """
        if self.choices is not None:
            return list(self.choices)
        if not self.integer:
            raise InvalidInput(
                f"--param {self.name}: a float range has no grid; give choices "
                "(a,b,c) or use --search random or tpe",
                code="invalid_search_space",
            )
        assert self.low is not None
        assert self.high is not None
        return list(range(int(self.low), int(self.high) + 1))

    def sample(self, rng: random.Random) -> Any:
        """Draw one value uniformly (on a log scale when :attr:`log`)."""
        if self.choices is not None:
            return rng.choice(self.choices)
        assert self.low is not None
        assert self.high is not None
        if self.log:
            value = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        else:
            value = rng.uniform(self.low, self.high)
        if self.integer:
            return min(int(self.high), max(int(self.low), round(value)))
        return value

    def suggest(self, trial: Any) -> Any:
        """Ask an Optuna trial for a value of this dimension."""
        if self.choices is not None:
            # Optuna stores choices as given; index them so any JSON value works.
            index = trial.suggest_categorical(self.name, list(range(len(self.choices))))
            return self.choices[index]
        assert self.low is not None
        assert self.high is not None
        if self.integer:
            return trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(self.name, float(self.low), float(self.high), log=self.log)

    def ends(self) -> list[Any]:
        """Values that stand for the whole dimension when checking it: the choices, or
        both ends of the range."""
        if self.choices is not None:
            return list(self.choices)
        if self.integer:
            return [int(self.low or 0), int(self.high or 0)]
        return [self.low, self.high]


def _literal(text: str, where: str) -> Any:
    try:
        return loads(text, what=where)
    except InvalidInput:
        raise
    except ValueError:  # not JSON: the text itself
        return text


def _number(text: str, where: str) -> int | float:
    value = _literal(text.strip(), where)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(
            f"{where}: range ends must be finite numbers, got {text!r}",
            code="invalid_search_space",
        )
    return value


def parse_dimension(name: str, spec: str) -> Dimension:
    """Parse one ``--param NAME=SPEC`` (see the module docstring for the syntax).

    Raises
    ------
    InvalidInput
        ``invalid_search_space``: an empty spec or choice, range ends that are not
        numbers or not in order, ``log:`` on choices or with an end <= 0.
    """
    where = f"--param {name}"
    text = spec.strip()
    log = text.startswith("log:")
    if log:
        text = text[len("log:") :].strip()
    if ".." in text:
        low_text, _, high_text = text.partition("..")
        low, high = _number(low_text, where), _number(high_text, where)
        if not low < high:
            raise InvalidInput(
                f"{where}: a range needs low < high, got {spec!r}", code="invalid_search_space"
            )
        if log and low <= 0:
            raise InvalidInput(
                f"{where}: a log range needs low > 0, got {spec!r}", code="invalid_search_space"
            )
        integer = isinstance(low, int) and isinstance(high, int)
        return Dimension(name, low=low, high=high, integer=integer, log=log)
    if log:
        raise InvalidInput(
            f"{where}: log: goes with a range (log:0.001..1), got {spec!r}",
            code="invalid_search_space",
        )
    items = [item.strip() for item in text.split(",")]
    if not text or any(not item for item in items):
        raise InvalidInput(
            f"{where}: expected choices a,b,c or a range lo..hi, got {spec!r}",
            code="invalid_search_space",
        )
    return Dimension(name, choices=tuple(_literal(item, where) for item in items))


def parse_space(specs: Mapping[str, str]) -> dict[str, Dimension]:
    """Parse ``{name: spec}`` into dimensions, in the given order (see :func:`parse_dimension`)."""
    return {name: parse_dimension(name, spec) for name, spec in specs.items()}


# ---------------------------------------------------------------------- trials
@dataclass(frozen=True)
class Trial:
    """One trial of a search: its parameters and the run that trained them.

    Attributes
    ----------
    number : int
        0-based, in the order trials ran.
    params : dict
        The searched parameters of this trial.
    run_id : str
    status : str
        The run's final status.
    value : float or None
        The validation metric (None when the run did not succeed or measured nothing).
    error : str or None
        Why the run failed.
    """

    number: int
    params: dict[str, Any]
    run_id: str
    status: str
    value: float | None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values."""
        out: dict[str, Any] = to_jsonable(self.__dict__)
        return out


#: Trains one trial's parameters as a run and returns the :class:`Trial`.
Objective = Callable[[int, dict[str, Any]], Trial]


@dataclass(frozen=True)
class TuningPlan:
    """What to search (the output of :meth:`Tuner.plan`).

    Attributes
    ----------
    tune_id : str
        The session's id (``tune_...``), recorded on every trial's run.
    spec : TrainingSpec
        Kind, dataset version, seed, target, CV folds and fixed params of every trial.
    task : str
        The resolved task.
    space : dict of str to Dimension
    search : str
        ``grid``, ``random`` or ``tpe``.
    trials : int
        Most trials to run (a grid runs each of its points once).
    metric : str
        The metric compared (``accuracy``, ``rmse``, ...).
    key : str
        The run metric read: ``validation_<metric>`` or ``cv_<metric>_mean``.
    lower_is_better : bool
    notes : list of str
    """

    tune_id: str
    spec: TrainingSpec
    task: str
    space: dict[str, Dimension]
    search: str
    trials: int
    metric: str
    key: str
    lower_is_better: bool
    notes: list[str] = field(default_factory=list)

    def grid(self) -> list[dict[str, Any]]:
        """Every point of the grid (the product of each dimension's :meth:`Dimension.grid`)."""
        names = list(self.space)
        values = [self.space[n].grid() for n in names]
        return [dict(zip(names, point, strict=True)) for point in itertools.product(*values)]


class TrialRunner(ABC):
    """Runs the trials of a plan: chooses each trial's params and calls the objective.

    The one seam between a search and where it runs: :class:`LocalTrialRunner` in this
    process; a Ray Tune runner slots in behind the same method.
    """

    @abstractmethod
    def run(self, plan: TuningPlan, objective: Objective) -> list[Trial]:
        """Run up to ``plan.trials`` trials and return them in the order they ran."""


class LocalTrialRunner(TrialRunner):
    """Grid and random search as plain loops, TPE with Optuna, in this process."""

    def run(self, plan: TuningPlan, objective: Objective) -> list[Trial]:
        """See :meth:`TrialRunner.run`.

        Raises
        ------
        MissingDependency
            ``tpe`` without Optuna installed (``pip install 'baryon[tune]'``).
        """
        if plan.search == "grid":
            return [objective(i, params) for i, params in enumerate(plan.grid())]
        if plan.search == "random":
            rng = random.Random(plan.spec.seed)
            return [
                objective(i, {n: d.sample(rng) for n, d in plan.space.items()})
                for i in range(plan.trials)
            ]
        return self._tpe(plan, objective)

    @staticmethod
    def _tpe(plan: TuningPlan, objective: Objective) -> list[Trial]:
        optuna = _optuna()
        from optuna.trial import TrialState

        study = optuna.create_study(
            direction="minimize" if plan.lower_is_better else "maximize",
            sampler=optuna.samplers.TPESampler(seed=plan.spec.seed),
        )
        trials = []
        for number in range(plan.trials):
            asked = study.ask()
            trial = objective(number, {n: d.suggest(asked) for n, d in plan.space.items()})
            if trial.value is None:
                study.tell(asked, state=TrialState.FAIL)
            else:
                study.tell(asked, trial.value)
            trials.append(trial)
        return trials


def _optuna() -> Any:
    try:
        import optuna
    except ImportError as exc:
        raise MissingDependency(
            "--search tpe needs Optuna: pip install 'baryon[tune]'", code="missing_dependency"
        ) from exc
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no line per trial on stderr
    return optuna


def trial_runner(settings: Settings | None) -> TrialRunner:
    """Return the runner of searches under ``settings`` (:mod:`baryon.core.engines`).

    Raises
    ------
    MissingDependency
        ``ray_not_available``: ``BARYON_RAY_ADDRESS`` is set.
    """
    engine_for(settings, "baryon tune")
    return LocalTrialRunner()


# ---------------------------------------------------------------------- result
@dataclass(frozen=True)
class Tuning:
    """A finished search (the output of :meth:`Tuner.tune`).

    Attributes
    ----------
    plan : TuningPlan
    trials : list of Trial
    best : Trial or None
    registered : dict or None
        ``{"name", "version"}`` of the best run's registered model version.
    gate : dict or None
        The gate's decision on that version (:class:`~baryon.training.gates.GateDecision`
        as a dict) plus ``"outcome"``: ``champion`` (first version of the name),
        ``promoted``, ``kept`` (refused: stays challenger) or ``offered`` (not
        promoted; ``passed`` says whether ``baryon models promote`` would).
    """

    plan: TuningPlan
    trials: list[Trial]
    best: Trial | None
    registered: dict[str, Any] | None = None
    gate: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values (what ``baryon tune --json`` prints)."""
        plan = self.plan
        out: dict[str, Any] = to_jsonable(
            {
                "tune_id": plan.tune_id,
                "kind": plan.spec.kind,
                "dataset": plan.spec.dataset.ref,
                "task": plan.task,
                "search": plan.search,
                "metric": plan.metric,
                "metric_key": plan.key,
                "lower_is_better": plan.lower_is_better,
                "space": {n: d.__dict__ for n, d in plan.space.items()},
                "notes": plan.notes,
                "trials": [t.to_dict() for t in self.trials],
                "best": None if self.best is None else self.best.to_dict(),
                "registered": self.registered,
                "gate": self.gate,
            }
        )
        return out


# ---------------------------------------------------------------------- tuner
class Tuner:
    """Search hyperparameters of one kind on one dataset version, as tracked runs.

    Parameters
    ----------
    trainer : Trainer
        Trains each trial (its workspace supplies runs, registry and promotion).
    runner : TrialRunner, optional
        Where trials run (default: :func:`trial_runner` of the workspace's settings).

    Examples
    --------
    >>> tuner = Tuner(Trainer(ws))                                          # doctest: +SKIP
    >>> result = tuner.tune("decision_tree", "iris:2", search="grid", trials=8,
    ...                     space={"max_depth": "2,4"}, register="iris")    # doctest: +SKIP
    >>> result.best.params, result.registered                               # doctest: +SKIP
    ({'max_depth': 4}, {'name': 'iris', 'version': 1})
    """

    def __init__(self, trainer: Trainer, runner: TrialRunner | None = None) -> None:
        self.trainer = trainer
        self.runner = runner

    def tune(
        self,
        kind: str,
        dataset: str,
        *,
        search: str = "random",
        trials: int = 10,
        space: Mapping[str, str] | None = None,
        metric: str | None = None,
        register: str | None = None,
        promote: bool = False,
        seed: int = 42,
        target: str | None = None,
        cv_folds: int = 0,
        missing: str = "strict",
    ) -> Tuning:
        """Plan, run every trial, pick the best, register it and offer it to the gate.

        Parameters
        ----------
        kind : str
            Estimator kind.
        dataset : str
            Dataset reference (``NAME``, ``NAME:N``) or version id; needs a split.
        search : {"grid", "random", "tpe"}
        trials : int
            Most trials (>= 1). A grid must fit in it.
        space : mapping of str to str, optional
            ``{param: spec}``; default :data:`DEFAULT_SPACES` of ``kind``.
        metric : str, optional
            Validation metric compared (default :data:`DEFAULT_METRICS` of the task).
        register : str, optional
            Register the best run's model under this name.
        promote : bool
            Promote the registered version through the gate (``Promoter.promote``); a
            refusal leaves it challenger. Without it the decision is only reported.
        seed : int
            Seed of every trial's estimator and of the search.
        target : str, optional
        cv_folds : int
            Cross-validation folds (used as the metric when there are no validation rows).
        missing : str
            Input policy of the models (``strict`` or ``impute``).

        Returns
        -------
        Tuning

        Raises
        ------
        InvalidInput
            Everything :meth:`plan` refuses (no run is made).
        ValidationFailed
            The data cannot train this kind (a check of
            :mod:`baryon.training.validation`; no run is made).
        BaryonError
            ``all_trials_failed``: no trial succeeded (every run is recorded).
        MissingDependency
            ``ray_not_available``, or ``tpe`` without Optuna.
        """
        runner = self.runner or trial_runner(self.trainer.workspace.settings)
        plan = self.plan(
            kind,
            dataset,
            search=search,
            trials=trials,
            space=space,
            metric=metric,
            seed=seed,
            target=target,
            cv_folds=cv_folds,
            missing=missing,
            register=register,
        )
        if search == "tpe":
            _optuna()  # refuse before the first run, not after
        done = runner.run(plan, lambda number, params: self.trial(plan, number, params))
        best = self.best(plan, done)
        if best is None:
            raise BaryonError(
                f"none of the {len(done)} trial(s) succeeded (tune {plan.tune_id}); "
                "see baryon runs list",
                code="all_trials_failed",
                details={"tune_id": plan.tune_id, "runs": [t.run_id for t in done]},
            )
        if register is None:
            return Tuning(plan, done, best)
        registered, gate = self.register(best, register, promote=promote)
        return Tuning(plan, done, best, registered=registered, gate=gate)

    # ---------------------------------------------------------------------- plan
    def plan(
        self,
        kind: str,
        dataset: str,
        *,
        search: str,
        trials: int,
        space: Mapping[str, str] | None = None,
        metric: str | None = None,
        seed: int = 42,
        target: str | None = None,
        cv_folds: int = 0,
        missing: str = "strict",
        register: str | None = None,
    ) -> TuningPlan:
        """Check everything a search needs before its first run.

        Raises
        ------
        InvalidInput
            ``invalid_search``, ``invalid_trials``, ``invalid_search_space``,
            ``no_default_space``, ``grid_too_large``, ``unknown_metric``,
            ``no_validation_rows``, and what :meth:`Trainer.resolve` refuses
            (``unknown_kind``, ``invalid_param`` for an unknown parameter or a value
            out of its constraints, ``invalid_ref``, ...).
        NotFound
            No such dataset or version.
        ValidationFailed
            The data cannot train this kind.
        """
        from baryon.ml.kinds import make_estimator

        if search not in SEARCHES:
            raise InvalidInput(
                f"unknown search {search!r}; one of {', '.join(SEARCHES)}", code="invalid_search"
            )
        if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
            raise InvalidInput(f"--trials must be >= 1, got {trials!r}", code="invalid_trials")
        spec = self.trainer.resolve(
            kind,
            dataset,
            target=target,
            seed=seed,
            cv_folds=cv_folds,
            register=register,
            missing=missing,
        )
        if space is None or not space:
            if kind not in DEFAULT_SPACES:
                raise InvalidInput(
                    f"{kind} has no default search space; give --param NAME=SPEC "
                    f"(kinds with one: {', '.join(sorted(DEFAULT_SPACES))})",
                    code="no_default_space",
                )
            space = DEFAULT_SPACES[kind]
        dimensions = parse_space(space)
        for dim in dimensions.values():  # unknown names and out-of-range values, now
            for value in dim.ends():
                make_estimator(kind, **{dim.name: value})
        notes: list[str] = []
        if search == "grid":
            size = math.prod(len(d.grid()) for d in dimensions.values())
            if size > trials:
                raise InvalidInput(
                    f"the grid has {size} points, more than --trials {trials}; "
                    f"raise --trials to {size} or narrow the grid",
                    code="grid_too_large",
                    details={"grid_size": size, "trials": trials},
                )
            if size < trials:
                notes.append(f"the grid has {size} point(s): {size} trial(s), not {trials}")
            trials = size
        prepared = self.trainer.prepare(spec)
        task = prepared.task
        chosen = metric or DEFAULT_METRICS.get(task, "")
        if chosen not in TASK_METRICS.get(task, ()):
            raise InvalidInput(
                f"unknown metric {chosen!r} for {task}; one of "
                f"{', '.join(TASK_METRICS.get(task, ()))}",
                code="unknown_metric",
            )
        if len(prepared.validation):
            key = f"validation_{chosen}"
        elif cv_folds and task != "recommendation":
            from baryon.training.gates import primary_metric

            if chosen != primary_metric(task):
                raise InvalidInput(
                    f"{spec.dataset.ref} has no validation rows and cross-validation "
                    f"measures {primary_metric(task)} only; use --metric "
                    f"{primary_metric(task)} or split with validation rows",
                    code="no_validation_rows",
                )
            key = f"cv_{chosen}_mean"
            notes.append(f"no validation rows: trials compared on {cv_folds}-fold CV")
        else:
            raise InvalidInput(
                f"{spec.dataset.ref} has no validation rows: split it with a validation "
                "share (baryon data split ... --validation-size 0.2) or pass --cv-folds; "
                "tuning never chooses on test rows",
                code="no_validation_rows",
            )
        return TuningPlan(
            tune_id=new_id("tune", self.trainer.workspace.clock),
            spec=spec,
            task=task,
            space=dimensions,
            search=search,
            trials=trials,
            metric=chosen,
            key=key,
            lower_is_better=chosen in LOWER_IS_BETTER,
            notes=notes,
        )

    # --------------------------------------------------------------------- trial
    def trial(self, plan: TuningPlan, number: int, params: dict[str, Any]) -> Trial:
        """Train ``params`` (over the plan's fixed params) as one tracked run.

        A run that fails is recorded (``failed`` / ``failed_validation``) and returned
        as a trial without a value; so is a parameter combination the estimator refuses.
        """
        from dataclasses import replace

        trainer = self.trainer
        merged = {**plan.spec.params, **to_jsonable(params)}
        spec = replace(plan.spec, params=merged, register=None)
        extra = {"tune_id": plan.tune_id, "trial": number}
        run = trainer.start(spec, extra=extra)
        run = trainer.execute(run.id, spec)
        return Trial(
            number=number,
            params=to_jsonable(params),
            run_id=run.id,
            status=run.status,
            value=_value(run, plan.key),
            error=run.error,
        )

    # ---------------------------------------------------------------------- best
    @staticmethod
    def best(plan: TuningPlan, trials: list[Trial]) -> Trial | None:
        """The succeeded trial with the best value (the earliest on a tie), or None."""
        scored = [t for t in trials if t.value is not None]
        if not scored:
            return None
        sign = 1.0 if plan.lower_is_better else -1.0
        return min(scored, key=lambda t: (sign * float(t.value or 0.0), t.number))

    # ------------------------------------------------------------------ register
    def register(
        self, best: Trial, name: str, *, promote: bool = False
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Register ``best``'s run under ``name`` as ``baryon train --register`` does, and
        offer the version to the gate.

        The first version of a name becomes champion (no gate); a later one is
        challenger, and the gate's decision against the champion is measured
        (:meth:`Promoter.gate`, on the same test split) — applied with ``promote``
        (:meth:`Promoter.promote`), else only reported.

        Returns
        -------
        (registered, gate) : tuple of dict
        """
        from baryon.core.errors import Conflict

        ws = self.trainer.workspace
        run = self.trainer.register_run(best.run_id, name)
        registered = dict(run.extra["registered"])
        challenger, champion = ws.promotion.resolve(name, int(registered["version"]))
        if champion is not None and champion.version == challenger.version:
            return registered, {"outcome": "champion", "passed": True, "message": "first version"}
        if promote:
            try:
                move = ws.promotion.promote(
                    name, challenger.version, actor=self.trainer.actor, reason="baryon tune"
                )
            except Conflict as exc:
                if exc.code != "gate_refused":
                    raise
                return registered, {"outcome": "kept", **to_jsonable(exc.details)}
            return registered, {"outcome": "promoted", **to_jsonable(move.gate or {})}
        decision = ws.promotion.gate(challenger, champion)
        return registered, {"outcome": "offered", **decision.to_dict()}


def _value(run: Run, key: str) -> float | None:
    if run.status != SUCCEEDED:
        return None
    value = run.metrics.get(key)
    if value is None or not math.isfinite(float(value)):
        return None
    return float(value)
