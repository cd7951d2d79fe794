"""Hand-off calibration: when the assistant should pass a turn to a human.

The assistant answers a turn when the intent model's confidence (its largest class
probability) is at least a threshold ``t`` and hands it to a human otherwise — the
same rule :func:`baryon.training.evaluate.evaluate_classifier` applies to
``extra["handoff_threshold"]`` (contracts.md, "model extras"). Calibrating means
choosing ``t`` on held-out data with two kinds of queries:

- **in scope**: banking queries with their true intent (Banking77's validation split);
- **out of scope**: queries a bank's assistant should not answer (CLINC150's
  validation queries labelled ``oos`` and those of its non-banking domains;
  Larson et al., EMNLP 2019, arXiv:1909.02027).

At a threshold ``t``:

``in_scope_accuracy(t)``
    share of in-scope queries answered **and** right (a hand-off counts as wrong);
``oos_recall(t)``
    share of out-of-scope queries handed off (confidence < ``t``).

Raising ``t`` trades the first for the second. Two rules choose ``t``:

``balanced`` (default)
    maximise ``in_scope_accuracy(t) + oos_recall(t)`` (Youden's J statistic with
    "answered and right" as the in-scope success; Youden, Cancer 3(1), 1950); ties go
    to the lowest ``t`` (fewest hand-offs);
``target_oos_recall``
    the lowest ``t`` whose ``oos_recall`` reaches a target (e.g. 0.8).

Hand-offs carry a reason: ``out_of_scope`` below a second, lower threshold — the
confidence that 95 % of in-scope calibration queries exceed (``in_scope_quantile``) —
so such a query is unlike the banking questions the model knows; ``low_confidence``
between the two (probably banking, but the intent is unsure).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from baryon.core.errors import InvalidInput

__all__ = [
    "HANDOFF_RULES",
    "LOW_CONFIDENCE",
    "OUT_OF_SCOPE",
    "REPORT_THRESHOLDS",
    "HandoffCalibration",
    "TradeOffPoint",
    "calibrate_handoff",
    "handoff_reason",
    "trade_off",
]

#: Rules that choose the hand-off threshold (module docstring).
HANDOFF_RULES = ("balanced", "target_oos_recall")
#: Reason code: the query looks unlike any banking question the model knows.
OUT_OF_SCOPE = "out_of_scope"
#: Reason code: probably a banking question, but the intent is unsure.
LOW_CONFIDENCE = "low_confidence"
#: Thresholds of the trade-off curve in reports (the chosen one is added).
REPORT_THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(20))


@dataclass(frozen=True)
class TradeOffPoint:
    """In-scope accuracy and out-of-scope recall at one threshold.

    Attributes
    ----------
    threshold : float
        Hand off when confidence < threshold.
    in_scope_accuracy : float
        Share of in-scope queries answered with the right intent.
    oos_recall : float
        Share of out-of-scope queries handed off.
    in_scope_handoff_rate : float
        Share of in-scope queries handed off (the cost in human work).
    answered_accuracy : float or None
        Accuracy on the in-scope queries answered (None when none is).
    """

    threshold: float
    in_scope_accuracy: float
    oos_recall: float
    in_scope_handoff_rate: float
    answered_accuracy: float | None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class HandoffCalibration:
    """The chosen hand-off thresholds and the trade-off they give.

    Attributes
    ----------
    threshold : float
        Hand off below this confidence (``extra["handoff_threshold"]``).
    out_of_scope_threshold : float
        Below this (<= ``threshold``) the reason is ``out_of_scope``, else
        ``low_confidence``.
    rule : str
        One of :data:`HANDOFF_RULES`.
    at_threshold : TradeOffPoint
        The trade-off at ``threshold`` on the calibration queries.
    in_scope_rows, oos_rows : int
        Calibration queries of each kind.
    curve : list of TradeOffPoint
        The trade-off at :data:`REPORT_THRESHOLDS` and at ``threshold``, by threshold.
    target_oos_recall : float or None
        The target of rule ``target_oos_recall``.
    sources : dict
        Where the calibration queries came from (dataset versions, domains).
    """

    threshold: float
    out_of_scope_threshold: float
    rule: str
    at_threshold: TradeOffPoint
    in_scope_rows: int
    oos_rows: int
    curve: list[TradeOffPoint] = field(default_factory=list)
    target_oos_recall: float | None = None
    sources: dict[str, Any] = field(default_factory=dict)

    @property
    def in_scope_accuracy(self) -> float:
        """In-scope accuracy at the chosen threshold (calibration queries)."""
        return self.at_threshold.in_scope_accuracy

    @property
    def oos_recall(self) -> float:
        """Out-of-scope recall at the chosen threshold (calibration queries)."""
        return self.at_threshold.oos_recall

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (:meth:`from_dict` reads it back)."""
        return {
            "threshold": self.threshold,
            "out_of_scope_threshold": self.out_of_scope_threshold,
            "rule": self.rule,
            "target_oos_recall": self.target_oos_recall,
            "at_threshold": self.at_threshold.to_dict(),
            "in_scope_rows": self.in_scope_rows,
            "oos_rows": self.oos_rows,
            "curve": [p.to_dict() for p in self.curve],
            "sources": dict(self.sources),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HandoffCalibration:
        """Rebuild a calibration saved with :meth:`to_dict`."""
        return cls(
            threshold=float(data["threshold"]),
            out_of_scope_threshold=float(data["out_of_scope_threshold"]),
            rule=str(data["rule"]),
            at_threshold=TradeOffPoint(**data["at_threshold"]),
            in_scope_rows=int(data["in_scope_rows"]),
            oos_rows=int(data["oos_rows"]),
            curve=[TradeOffPoint(**p) for p in data.get("curve", [])],
            target_oos_recall=data.get("target_oos_recall"),
            sources=dict(data.get("sources") or {}),
        )


def _arrays(
    in_scope_confidence: Sequence[float] | np.ndarray,
    in_scope_correct: Sequence[bool] | np.ndarray,
    oos_confidence: Sequence[float] | np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    conf_in = np.asarray(in_scope_confidence, dtype=np.float64).ravel()
    correct = np.asarray(in_scope_correct, dtype=bool).ravel()
    conf_oos = np.asarray(oos_confidence, dtype=np.float64).ravel()
    if conf_in.size == 0 or conf_oos.size == 0:
        raise InvalidInput(
            "hand-off calibration needs in-scope and out-of-scope queries "
            f"(got {conf_in.size} and {conf_oos.size})",
            code="no_calibration_data",
        )
    if correct.shape != conf_in.shape:
        raise InvalidInput(
            "in_scope_correct must have one flag per in-scope confidence",
            code="invalid_input",
        )
    every = np.concatenate([conf_in, conf_oos])
    if not np.all(np.isfinite(every)) or every.min() < 0 or every.max() > 1:
        raise InvalidInput("confidences must be probabilities in [0, 1]", code="invalid_input")
    return conf_in, correct, conf_oos


def _points(
    conf_in: np.ndarray, correct: np.ndarray, conf_oos: np.ndarray, thresholds: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised trade-off at many thresholds (hand off when confidence < t)."""
    sorted_in = np.sort(conf_in)
    sorted_right = np.sort(conf_in[correct])
    sorted_oos = np.sort(conf_oos)
    handed_in = np.searchsorted(sorted_in, thresholds, side="left")
    right_kept = sorted_right.size - np.searchsorted(sorted_right, thresholds, side="left")
    handed_oos = np.searchsorted(sorted_oos, thresholds, side="left")
    answered = conf_in.size - handed_in
    with np.errstate(invalid="ignore", divide="ignore"):
        answered_acc = np.where(answered > 0, right_kept / np.maximum(answered, 1), np.nan)
    return (
        right_kept / conf_in.size,
        handed_oos / conf_oos.size,
        handed_in / conf_in.size,
        answered_acc,
    )


def trade_off(
    in_scope_confidence: Sequence[float] | np.ndarray,
    in_scope_correct: Sequence[bool] | np.ndarray,
    oos_confidence: Sequence[float] | np.ndarray,
    thresholds: Sequence[float] = REPORT_THRESHOLDS,
) -> list[TradeOffPoint]:
    """Return the trade-off (in-scope accuracy vs out-of-scope recall) at ``thresholds``.

    Parameters
    ----------
    in_scope_confidence : array-like of shape (n_in,)
        Largest class probability of each in-scope query.
    in_scope_correct : array-like of bool, shape (n_in,)
        Whether the predicted intent of each in-scope query is right.
    oos_confidence : array-like of shape (n_oos,)
        Largest class probability of each out-of-scope query.
    thresholds : sequence of float
        Hand-off thresholds (hand off when confidence < threshold).

    Returns
    -------
    list of TradeOffPoint
        One per threshold, in the order given.

    Raises
    ------
    InvalidInput
        ``no_calibration_data`` when either kind of query is missing;
        ``invalid_input`` for confidences outside [0, 1] or mismatched lengths.
    """
    conf_in, correct, conf_oos = _arrays(in_scope_confidence, in_scope_correct, oos_confidence)
    ts = np.asarray(list(thresholds), dtype=np.float64)
    acc, recall, handed, answered = _points(conf_in, correct, conf_oos, ts)
    return [
        TradeOffPoint(
            threshold=float(t),
            in_scope_accuracy=float(a),
            oos_recall=float(r),
            in_scope_handoff_rate=float(h),
            answered_accuracy=None if np.isnan(aa) else float(aa),
        )
        for t, a, r, h, aa in zip(ts, acc, recall, handed, answered, strict=True)
    ]


def calibrate_handoff(
    in_scope_confidence: Sequence[float] | np.ndarray,
    in_scope_correct: Sequence[bool] | np.ndarray,
    oos_confidence: Sequence[float] | np.ndarray,
    *,
    rule: str = "balanced",
    target_oos_recall: float = 0.8,
    in_scope_quantile: float = 0.05,
    sources: Mapping[str, Any] | None = None,
) -> HandoffCalibration:
    """Choose the hand-off thresholds by ``rule`` (module docstring).

    Parameters
    ----------
    in_scope_confidence : array-like of shape (n_in,)
        Largest class probability of each in-scope calibration query.
    in_scope_correct : array-like of bool, shape (n_in,)
        Whether its predicted intent is right.
    oos_confidence : array-like of shape (n_oos,)
        Largest class probability of each out-of-scope calibration query.
    rule : {"balanced", "target_oos_recall"}
        How the threshold is chosen.
    target_oos_recall : float
        Target of rule ``target_oos_recall``, in (0, 1].
    in_scope_quantile : float
        Share of in-scope queries below the ``out_of_scope`` threshold, in [0, 0.5].
    sources : mapping, optional
        Provenance recorded with the calibration.

    Returns
    -------
    HandoffCalibration

    Raises
    ------
    InvalidInput
        Unknown rule (``invalid_handoff_rule``), a target or quantile out of range
        (``invalid_input``), or no calibration data (``no_calibration_data``).
    """
    if rule not in HANDOFF_RULES:
        raise InvalidInput(
            f"unknown hand-off rule {rule!r}; one of {', '.join(HANDOFF_RULES)}",
            code="invalid_handoff_rule",
        )
    if not 0 < target_oos_recall <= 1:
        raise InvalidInput("target_oos_recall must be in (0, 1]", code="invalid_input")
    if not 0 <= in_scope_quantile <= 0.5:
        raise InvalidInput("in_scope_quantile must be in [0, 0.5]", code="invalid_input")
    conf_in, correct, conf_oos = _arrays(in_scope_confidence, in_scope_correct, oos_confidence)
    # Every distinct confidence is a candidate; above the largest, everything is handed off.
    candidates = np.unique(np.concatenate([[0.0], conf_in, conf_oos, [np.nextafter(1.0, 2.0)]]))
    acc, recall, _, _ = _points(conf_in, correct, conf_oos, candidates)
    if rule == "balanced":
        best = int(np.argmax(acc + recall))  # first maximum: the lowest threshold
    else:
        reached = np.flatnonzero(recall >= target_oos_recall - 1e-12)
        best = int(reached[0])
    threshold = float(min(candidates[best], 1.0))
    oos_threshold = float(min(threshold, np.quantile(conf_in, in_scope_quantile)))
    at = trade_off(conf_in, correct, conf_oos, [threshold])[0]
    curve_ts = sorted({*REPORT_THRESHOLDS, threshold})
    return HandoffCalibration(
        threshold=threshold,
        out_of_scope_threshold=oos_threshold,
        rule=rule,
        at_threshold=at,
        in_scope_rows=int(conf_in.size),
        oos_rows=int(conf_oos.size),
        curve=trade_off(conf_in, correct, conf_oos, curve_ts),
        target_oos_recall=target_oos_recall if rule == "target_oos_recall" else None,
        sources=dict(sources or {}),
    )


def handoff_reason(
    confidence: float, *, threshold: float, out_of_scope_threshold: float | None = None
) -> str | None:
    """Return why a turn with ``confidence`` is handed off, or None if it is answered.

    Parameters
    ----------
    confidence : float
        The model's largest class probability for the turn.
    threshold : float
        Hand off below this.
    out_of_scope_threshold : float, optional
        Below this the reason is ``out_of_scope`` (default: never).

    Returns
    -------
    str or None
        ``"out_of_scope"``, ``"low_confidence"`` or None.
    """
    if confidence >= threshold:
        return None
    if out_of_scope_threshold is not None and confidence < out_of_scope_threshold:
        return OUT_OF_SCOPE
    return LOW_CONFIDENCE
