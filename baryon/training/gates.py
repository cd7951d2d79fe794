"""The promotion gate: may a challenger become ``champion``?

A challenger passes when it beats the current champion on the model's **primary
metric** by at least ``min_delta``, both measured on the **same test split**:

- if both versions were evaluated on the same dataset version (a dataset version id
  names its content *and* its split), their stored test metrics are compared;
- otherwise the promotion re-evaluates both on the challenger's test split (or on a
  named evaluation dataset) and compares those numbers — see
  :meth:`baryon.training.promotion.Promoter.promote`.

"Beats by at least ``min_delta``" means the gain (``challenger - champion`` for
metrics where higher is better — accuracy, R², NDCG@10 — and ``champion - challenger``
where lower is better — RMSE, log loss) is **positive** and at least ``min_delta``. A
tie never promotes, not even at ``min_delta=0``: a challenger that only equals the
champion is no reason to move traffic. Both comparisons allow a rounding slack of 1e-12
(a gain within 1e-12 of 0 is a tie; one within 1e-12 below ``min_delta`` passes).

Primary metric per task: ``classification`` and ``text_classification`` →
``accuracy``; ``regression`` → ``r2``; ``recommendation`` → ``ndcg_at_10``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from baryon.core.errors import InvalidInput
from baryon.core.jsonvalues import to_jsonable

__all__ = [
    "LOWER_IS_BETTER",
    "PRIMARY_METRICS",
    "GateDecision",
    "decide",
    "is_better",
    "primary_metric",
]

#: Primary metric of each task: what the gate compares and serving reports.
PRIMARY_METRICS: dict[str, str] = {
    "classification": "accuracy",
    "text_classification": "accuracy",
    "regression": "r2",
    "recommendation": "ndcg_at_10",
}

#: Metrics where a smaller value is better.
LOWER_IS_BETTER = frozenset({"rmse", "mae", "log_loss", "ece"})

_SLACK = 1e-12


def primary_metric(task: str) -> str:
    """Return the primary metric name of ``task``.

    Raises
    ------
    InvalidInput
        For a task without a primary metric (code ``unknown_task``).
    """
    try:
        return PRIMARY_METRICS[task]
    except KeyError:
        raise InvalidInput(
            f"no primary metric for task {task!r}; known: {', '.join(PRIMARY_METRICS)}",
            code="unknown_task",
        ) from None


def is_better(metric: str, challenger: float, champion: float, min_delta: float = 0.0) -> bool:
    """Return whether ``challenger`` beats ``champion`` on ``metric`` by ``min_delta``.

    Parameters
    ----------
    metric : str
        Metric name; :data:`LOWER_IS_BETTER` decides the direction.
    challenger, champion : float
        The two values, measured on the same data.
    min_delta : float
        Required improvement, in the metric's units (>= 0).

    Returns
    -------
    bool
        False if either value is NaN, and for a tie (a gain within 1e-12 of 0), whatever
        ``min_delta`` is.
    """
    if math.isnan(challenger) or math.isnan(champion):
        return False
    gain = _gain(metric, challenger, champion)
    return gain > _SLACK and gain >= min_delta - _SLACK


def _gain(metric: str, challenger: float, champion: float) -> float:
    """How much better ``challenger`` is than ``champion`` (negative: worse)."""
    return champion - challenger if metric in LOWER_IS_BETTER else challenger - champion


@dataclass(frozen=True)
class GateDecision:
    """The outcome of a gate check (stored in the alias history with the move).

    Attributes
    ----------
    passed : bool
        Whether the challenger may become champion.
    metric : str
        The primary metric compared.
    challenger_version, champion_version : int or None
        Version numbers compared (``champion_version`` None: no champion yet).
    challenger_value, champion_value : float or None
        The metric values compared, on ``evaluated_on``.
    min_delta : float
        Required improvement.
    evaluated_on : dict
        ``{"dataset_version_id", "dataset", "split", "source"}`` where ``source`` is
        ``"stored"`` (both stored test metrics on the same split) or ``"re-evaluated"``.
    message : str
        One line with both numbers, as printed by the CLI.
    """

    passed: bool
    metric: str
    challenger_version: int
    champion_version: int | None
    challenger_value: float | None
    champion_value: float | None
    min_delta: float
    evaluated_on: dict[str, Any] = field(default_factory=dict)
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (NaN values become ``None``; see
        :mod:`baryon.core.jsonvalues`)."""
        out: dict[str, Any] = to_jsonable(asdict(self), default=str)
        return out


def _fmt(value: float | None) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.4f}"


def decide(
    *,
    metric: str,
    challenger_version: int,
    challenger_value: float | None,
    champion_version: int | None,
    champion_value: float | None,
    min_delta: float = 0.0,
    evaluated_on: dict[str, Any] | None = None,
) -> GateDecision:
    """Decide whether a challenger passes the gate.

    Parameters
    ----------
    metric : str
        Primary metric name.
    challenger_version : int
        Version asking for promotion.
    challenger_value : float or None
        Its primary metric on the evaluation split (None/NaN: refused).
    champion_version : int or None
        Current champion (None: no champion, the challenger passes without a gate).
    champion_value : float or None
        The champion's value on the same split.
    min_delta : float
        Required improvement (finite, >= 0), in the metric's units.
    evaluated_on : dict, optional
        Where both were measured (recorded with the decision).

    Returns
    -------
    GateDecision

    Raises
    ------
    InvalidInput
        If ``min_delta`` is negative or not finite (code ``invalid_min_delta``).
    """
    if not math.isfinite(min_delta) or min_delta < 0:
        raise InvalidInput(
            f"min_delta must be a finite number >= 0, got {min_delta}", code="invalid_min_delta"
        )
    where = dict(evaluated_on or {})
    on = f" on {where['dataset']} {where.get('split', 'test')} split" if "dataset" in where else ""
    if champion_version is None:
        return GateDecision(
            passed=True,
            metric=metric,
            challenger_version=challenger_version,
            champion_version=None,
            challenger_value=challenger_value,
            champion_value=None,
            min_delta=min_delta,
            evaluated_on=where,
            message=f"v{challenger_version} becomes the first champion (no gate)",
        )
    chall = math.nan if challenger_value is None else float(challenger_value)
    champ = math.nan if champion_value is None else float(champion_value)
    passed = is_better(metric, chall, champ, min_delta)
    direction = "lower" if metric in LOWER_IS_BETTER else "higher"
    tie = abs(_gain(metric, chall, champ)) <= _SLACK  # False when either is NaN
    verdict = "beats" if passed else "ties" if tie else "does not beat"
    rule = ": a tie does not promote" if tie else f" by min_delta={min_delta:g}"
    message = (
        f"challenger v{challenger_version} {metric}={_fmt(chall)} {verdict} champion "
        f"v{champion_version} {metric}={_fmt(champ)}{rule} ({direction} is better){on}"
    )
    return GateDecision(
        passed=passed,
        metric=metric,
        challenger_version=challenger_version,
        champion_version=champion_version,
        challenger_value=chall,
        champion_value=champ,
        min_delta=min_delta,
        evaluated_on=where,
        message=message,
    )
