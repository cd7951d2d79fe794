"""An iteration's metric goals: checking them, and measuring them on a model.

A goal names a registered model of the iteration's organization, one of the metrics
its runs report on the test split (bare names: ``accuracy``, ``macro_f1``, ``r2``;
not ``validation_…`` or ``cv_…``), a comparison (``>=`` or ``<=``) and a target::

    {"model": "support-intent", "metric": "accuracy", "op": ">=", "target": 0.94}

Its **trajectory** is the metric across the model's flywheel cycles created inside the
iteration's time box (``FlywheelCycleRow.report["metrics"]`` holds the champion's and
the candidate's test-split values); its **value** is the current champion's test-split
metric in the registry. Private: :mod:`baryon.flywheel.iterations` is the public face.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from baryon.core.errors import InvalidInput
from baryon.flywheel.tables import FlywheelCycleRow
from baryon.training.tables import ModelAliasRow, ModelVersionRow, RegisteredModelRow

__all__ = [
    "GOAL_OPS",
    "MAX_GOALS",
    "Goal",
    "GoalProgress",
    "TrajectoryPoint",
    "champion_value",
    "check_goals",
    "is_test_metric",
    "measure_goal",
    "number",
    "parse_goal",
    "reported_metrics",
    "trajectory",
]

#: Comparisons a goal may use.
GOAL_OPS: tuple[str, ...] = (">=", "<=")
#: Most goals one iteration may have.
MAX_GOALS = 20
#: Metric-name prefixes of values that are not measured on the test split.
_NOT_TEST = ("validation_", "cv_")
#: Run metrics that are not measured on the test split.
_NOT_TEST_NAMES = frozenset({"fit_seconds"})
_GOAL_KEYS = frozenset({"model", "metric", "op", "target"})
_GOAL_TEXT = re.compile(r"^\s*(\S+)\s+([A-Za-z0-9_]+)\s*(>=|<=|≥|≤)\s*(\S+)\s*$")
_SYMBOLS = {"≥": ">=", "≤": "<="}


def is_test_metric(name: str) -> bool:
    """Whether a run metric's ``name`` is a test-split value (``accuracy``, not
    ``validation_accuracy``, ``cv_accuracy_mean`` or ``fit_seconds``)."""
    return not name.startswith(_NOT_TEST) and name not in _NOT_TEST_NAMES


def number(value: Any) -> float | None:
    """Return ``value`` as a finite float, or ``None`` (booleans, NaN, text, ...)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    out = float(value)
    return out if math.isfinite(out) else None


@dataclass(frozen=True)
class Goal:
    """One metric goal of an iteration.

    Attributes
    ----------
    model : str
        A registered model of the iteration's organization.
    metric : str
        A test-split metric its runs report (``accuracy``, ``r2``, ...).
    op : str
        ``>=`` or ``<=``.
    target : float
    """

    model: str
    metric: str
    op: str
    target: float

    def met_by(self, value: float | None) -> bool:
        """Whether ``value`` meets the goal (``None``, nothing measured, does not)."""
        if value is None:
            return False
        return value >= self.target if self.op == ">=" else value <= self.target

    def to_dict(self) -> dict[str, Any]:
        """``{"model", "metric", "op", "target"}`` (what ``IterationRow.goals`` stores)."""
        return {"model": self.model, "metric": self.metric, "op": self.op, "target": self.target}


@dataclass(frozen=True)
class TrajectoryPoint:
    """A goal's metric in one flywheel cycle.

    Attributes
    ----------
    cycle_id : str
        ``fw_…``.
    at : datetime
        When the cycle was created.
    finished_at : datetime or None
    status : str
        The cycle's status (``promoted``, ``kept``, ``nothing_new``, ``failed``,
        ``queued``, ``running``).
    decision : any
        The cycle report's ``decision``, as the flywheel wrote it (``None`` if absent).
    champion_version, candidate_version : int or None
    champion, candidate : float or None
        The metric of the champion and of the candidate on the champion's test split.
    value : float or None
        The model's metric after the cycle: the candidate's when it was promoted, else
        the champion's.
    """

    cycle_id: str
    at: datetime
    finished_at: datetime | None
    status: str
    decision: Any
    champion_version: int | None
    candidate_version: int | None
    champion: float | None
    candidate: float | None
    value: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "cycle_id": self.cycle_id,
            "at": self.at,
            "finished_at": self.finished_at,
            "status": self.status,
            "decision": self.decision,
            "champion_version": self.champion_version,
            "candidate_version": self.candidate_version,
            "champion": self.champion,
            "candidate": self.candidate,
            "value": self.value,
        }


@dataclass(frozen=True)
class GoalProgress:
    """A goal with its trajectory, its value and whether it is met.

    Attributes
    ----------
    goal : Goal
    trajectory : list of TrajectoryPoint
        The model's flywheel cycles inside the time box, oldest first.
    value : float or None
        The champion's test-split metric: now for an open iteration, at closing time
        for a closed one (``None``: no champion, or it does not report the metric).
    champion_version : int or None
        The champion that ``value`` is of.
    met : bool
    """

    goal: Goal
    trajectory: list[TrajectoryPoint]
    value: float | None
    champion_version: int | None
    met: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: the goal's fields, then its progress."""
        return {
            **self.goal.to_dict(),
            "value": self.value,
            "champion_version": self.champion_version,
            "met": self.met,
            "trajectory": [p.to_dict() for p in self.trajectory],
        }


def parse_goal(text: str) -> dict[str, Any]:
    """Parse ``"MODEL METRIC>=TARGET"`` (or ``<=``, ``≥``, ``≤``) into a goal dict.

    ``"support-intent accuracy>=0.94"`` → ``{"model": "support-intent", "metric":
    "accuracy", "op": ">=", "target": 0.94}``. Only the form is checked here;
    :func:`check_goals` checks the model and the metric.

    Raises
    ------
    InvalidInput
        ``invalid_goal``: not of that form, or the target is not a finite number.
    """
    found = _GOAL_TEXT.match(text)
    target = None
    if found is not None:
        try:
            target = number(float(found.group(4)))
        except ValueError:
            target = None
    if found is None or target is None:
        raise InvalidInput(
            f"invalid goal {text[:100]!r}: write MODEL METRIC>=TARGET, "
            "e.g. 'support-intent accuracy>=0.94'",
            code="invalid_goal",
        )
    op = _SYMBOLS.get(found.group(3), found.group(3))
    return {"model": found.group(1), "metric": found.group(2), "op": op, "target": target}


def _shape(index: int, raw: Any) -> Goal:
    where = f"goal {index + 1}"
    if not isinstance(raw, dict) or set(raw) != _GOAL_KEYS:
        raise InvalidInput(
            f"{where}: a goal is an object with exactly model, metric, op and target",
            code="invalid_goal",
        )
    model, metric, op, target = raw["model"], raw["metric"], raw["op"], raw["target"]
    if not isinstance(model, str) or not isinstance(metric, str) or not model or not metric:
        raise InvalidInput(f"{where}: model and metric are names", code="invalid_goal")
    if op not in GOAL_OPS:
        raise InvalidInput(
            f"{where}: op must be one of {', '.join(GOAL_OPS)}, not {str(op)[:20]!r}",
            code="invalid_goal_op",
        )
    value = number(target)
    if value is None:
        raise InvalidInput(f"{where}: target must be a finite number", code="invalid_goal_target")
    return Goal(model=model, metric=metric, op=str(op), target=value)


def _own_model(session: Session, org_id: str, name: str) -> RegisteredModelRow | None:
    """The organization's own model ``name`` (a model shared with it does not count)."""
    stmt = select(RegisteredModelRow).where(
        RegisteredModelRow.name == name, RegisteredModelRow.org_id == org_id
    )
    return session.scalars(stmt).first()


def reported_metrics(session: Session, model: RegisteredModelRow) -> set[str]:
    """Names of the numeric test-split metrics any version of ``model`` reports."""
    rows = session.scalars(
        select(ModelVersionRow.metrics).where(ModelVersionRow.model_id == model.id)
    )
    return {
        name
        for metrics in rows
        for name, value in (metrics or {}).items()
        if is_test_metric(name) and number(value) is not None
    }


def check_goals(session: Session, org_id: str, goals: Any) -> list[Goal]:
    """Check an iteration's goals against organization ``org_id``'s registry.

    Parameters
    ----------
    session : Session
        Scoped to the organization (or :data:`~baryon.core.scope.SYSTEM`).
    org_id : str
    goals : list of dict
        ``{"model", "metric", "op", "target"}`` each (:func:`parse_goal` makes one).

    Returns
    -------
    list of Goal

    Raises
    ------
    InvalidInput
        ``invalid_goal`` (not a list of goal objects), ``too_many_goals`` (more than
        :data:`MAX_GOALS`), ``invalid_goal_op``, ``invalid_goal_target`` (not a finite
        number; booleans are not numbers), ``unknown_goal_model`` (the organization has
        no such model), ``unknown_goal_metric`` (its runs report no such test-split
        metric), ``duplicate_goal`` (the same model, metric and op twice).
    """
    if not isinstance(goals, list | tuple):
        raise InvalidInput("goals must be a list of goal objects", code="invalid_goal")
    if len(goals) > MAX_GOALS:
        raise InvalidInput(
            f"an iteration has at most {MAX_GOALS} goals, got {len(goals)}", code="too_many_goals"
        )
    checked: list[Goal] = []
    metrics: dict[str, set[str]] = {}
    for index, raw in enumerate(goals):
        goal = _shape(index, raw)
        if goal.model not in metrics:
            model = _own_model(session, org_id, goal.model)
            if model is None:
                raise InvalidInput(
                    f"goal {index + 1}: you have no model {goal.model[:100]!r}",
                    code="unknown_goal_model",
                )
            metrics[goal.model] = reported_metrics(session, model)
        if goal.metric not in metrics[goal.model]:
            known = ", ".join(sorted(metrics[goal.model])) or "none"
            raise InvalidInput(
                f"goal {index + 1}: model {goal.model!r} reports no test metric "
                f"{goal.metric[:64]!r} (it reports: {known})",
                code="unknown_goal_metric",
            )
        if any((g.model, g.metric, g.op) == (goal.model, goal.metric, goal.op) for g in checked):
            raise InvalidInput(
                f"goal {index + 1} repeats {goal.model} {goal.metric}{goal.op}",
                code="duplicate_goal",
            )
        checked.append(goal)
    return checked


def champion_value(session: Session, org_id: str, goal: Goal) -> tuple[float | None, int | None]:
    """Return the champion's test-split value of the goal's metric and its version.

    ``(None, None)`` when the model (no longer) exists or has no champion; the value
    alone is ``None`` when the champion does not report the metric.
    """
    model = _own_model(session, org_id, goal.model)
    if model is None:
        return None, None
    alias = session.scalars(
        select(ModelAliasRow).where(
            ModelAliasRow.model_id == model.id, ModelAliasRow.alias == "champion"
        )
    ).first()
    if alias is None:
        return None, None
    version = session.scalars(
        select(ModelVersionRow).where(
            ModelVersionRow.model_id == model.id, ModelVersionRow.version == alias.version
        )
    ).first()
    if version is None:
        return None, alias.version
    return number((version.metrics or {}).get(goal.metric)), alias.version


def _point(cycle: FlywheelCycleRow, metric: str) -> TrajectoryPoint:
    report = cycle.report if isinstance(cycle.report, dict) else {}
    metrics = report.get("metrics")
    metrics = metrics if isinstance(metrics, dict) else {}

    def side(name: str) -> float | None:
        values = metrics.get(name)
        return number(values.get(metric)) if isinstance(values, dict) else None

    champion, candidate = side("champion"), side("candidate")
    return TrajectoryPoint(
        cycle_id=cycle.id,
        at=cycle.created_at,
        finished_at=cycle.finished_at,
        status=cycle.status,
        decision=report.get("decision"),
        champion_version=cycle.champion_version,
        candidate_version=cycle.candidate_version,
        champion=champion,
        candidate=candidate,
        value=candidate if cycle.status == "promoted" else champion,
    )


def trajectory(
    session: Session, org_id: str, goal: Goal, starts_at: datetime, ends_at: datetime
) -> list[TrajectoryPoint]:
    """The goal's metric in each flywheel cycle of its model created in the time box.

    Cycles of organization ``org_id`` whose ``created_at`` is in ``[starts_at,
    ends_at]``, oldest first.
    """
    cycles = session.scalars(
        select(FlywheelCycleRow)
        .where(
            FlywheelCycleRow.org_id == org_id,
            FlywheelCycleRow.model_name == goal.model,
            FlywheelCycleRow.created_at >= starts_at,
            FlywheelCycleRow.created_at <= ends_at,
        )
        .order_by(FlywheelCycleRow.created_at, FlywheelCycleRow.id)
    )
    return [_point(cycle, goal.metric) for cycle in cycles]


def measure_goal(
    session: Session,
    org_id: str,
    goal: Goal,
    starts_at: datetime,
    ends_at: datetime,
    *,
    frozen: dict[str, Any] | None = None,
) -> GoalProgress:
    """Return the goal's progress: trajectory, value and whether it is met.

    Parameters
    ----------
    frozen : dict, optional
        The goal's entry of a closed iteration's summary (``value``,
        ``champion_version``, ``met``): its result stays what it was at closing time.
    """
    points = trajectory(session, org_id, goal, starts_at, ends_at)
    if frozen is not None:
        value = number(frozen.get("value"))
        version = frozen.get("champion_version")
        return GoalProgress(
            goal=goal,
            trajectory=points,
            value=value,
            champion_version=version if isinstance(version, int) else None,
            met=bool(frozen.get("met")),
        )
    value, version = champion_value(session, org_id, goal)
    return GoalProgress(
        goal=goal,
        trajectory=points,
        value=value,
        champion_version=version,
        met=goal.met_by(value),
    )
