"""A simulated flywheel: active learning with the true labels acting as the annotator.

Pool-based active learning as evaluated in the literature (Settles 2009, "Active
Learning Literature Survey", §2.3 and §7): a model starts from a small labeled set;
each cycle it scores the unlabeled pool, a batch is picked with a strategy of
:mod:`baryon.labeling.active` (through :func:`~baryon.labeling.active.select_batch`,
the same selection the labeling service uses), the pool's hidden labels are revealed
for that batch (the simulated annotator), and the model is trained again on
everything labeled so far. Accuracy on a fixed test set after every cycle gives the
learning curve; running random sampling on the same initial set and budget gives the
baseline curve (``benchmarks/flywheel.py`` runs it on Banking77).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from baryon.core.errors import InvalidInput
from baryon.labeling.active import score, select_batch

__all__ = ["SimulationResult", "initial_sample", "simulate_flywheel"]


@dataclass(frozen=True)
class SimulationResult:
    """One learning curve.

    Attributes
    ----------
    strategy : str
    diversity : bool
    seed : int
    labels : list of int
        Labeled rows at each evaluation (index 0: the initial set, then one per cycle).
    accuracy : list of float
        Test accuracy at each evaluation, in [0, 1].
    fit_seconds : list of float
        Wall-clock seconds of each fit.
    select_seconds : list of float
        Seconds of each cycle's scoring and selection.
    picked : list of list of int
        Pool indices labeled in each cycle.
    """

    strategy: str
    diversity: bool
    seed: int
    labels: list[int]
    accuracy: list[float]
    fit_seconds: list[float]
    select_seconds: list[float]
    picked: list[list[int]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (without the picked indices)."""
        return {
            "strategy": self.strategy,
            "diversity": self.diversity,
            "seed": self.seed,
            "labels": list(self.labels),
            "accuracy": list(self.accuracy),
            "fit_seconds": list(self.fit_seconds),
            "select_seconds": list(self.select_seconds),
        }


def initial_sample(
    labels: Sequence[Any], fraction: float, *, seed: int = 0, min_per_class: int = 1
) -> np.ndarray:
    """A seeded, stratified share of the rows, with at least ``min_per_class`` per class.

    Each class contributes ``max(min_per_class, round(fraction · its rows))`` rows
    (all of them when it has fewer), drawn without replacement.

    Parameters
    ----------
    labels : sequence of shape (n_rows,)
        Class of each row.
    fraction : float
        In (0, 1].
    seed : int
    min_per_class : int
        ≥ 1 (a calibrated classifier needs a few texts per class).

    Returns
    -------
    ndarray of int
        Sorted row indices.

    Raises
    ------
    InvalidInput
        ``invalid_input``: ``fraction`` outside (0, 1] or ``min_per_class`` < 1.
    """
    if not 0 < fraction <= 1 or min_per_class < 1:
        raise InvalidInput("fraction must be in (0, 1] and min_per_class ≥ 1", code="invalid_input")
    y = np.asarray(labels)
    rng = np.random.default_rng(seed)
    chosen: list[np.ndarray] = []
    for cls in np.unique(y):
        rows = np.flatnonzero(y == cls)
        k = min(len(rows), max(min_per_class, round(fraction * len(rows))))
        chosen.append(rng.choice(rows, size=k, replace=False))
    return np.sort(np.concatenate(chosen))


def _take(X: Any, rows: np.ndarray) -> Any:
    if hasattr(X, "iloc"):
        return X.iloc[rows].reset_index(drop=True)
    if isinstance(X, np.ndarray):
        return X[rows]
    return [X[int(i)] for i in rows]


def _accuracy(model: Any, X: Any, y: np.ndarray) -> float:
    proba = np.asarray(model.predict_proba(X))
    predicted = np.asarray(model.classes_)[proba.argmax(axis=1)]
    return float(np.mean(predicted == y))


def simulate_flywheel(
    make_model: Callable[[], Any],
    pool_X: Any,
    pool_y: Sequence[Any],
    test_X: Any,
    test_y: Sequence[Any],
    *,
    initial: Sequence[int],
    batch_size: int,
    cycles: int,
    strategy: str,
    diversity: bool = False,
    seed: int = 0,
    on_cycle: Callable[[int, float], None] | None = None,
) -> SimulationResult:
    """Run ``cycles`` label-and-retrain cycles; return the test-accuracy curve.

    Parameters
    ----------
    make_model : callable
        Returns a fresh unfitted classifier with ``fit``, ``predict_proba`` and
        ``classes_`` (called once per fit).
    pool_X : list, ndarray or DataFrame of length n_pool
        Every row that may be labeled (the initial ones included).
    pool_y : sequence of shape (n_pool,)
        Their true labels: the simulated annotator reveals them when a row is picked.
    test_X, test_y : length n_test
        The fixed test set (never labeled, never picked).
    initial : sequence of int
        Pool indices labeled before the first cycle.
    batch_size : int
        Labels bought per cycle (≥ 1).
    cycles : int
        Number of cycles (≥ 0); ``cycles + 1`` fits and evaluations in all.
    strategy : {"least_confidence", "margin", "entropy", "random"}
    diversity : bool
        The diversity step of :func:`~baryon.labeling.active.select_batch`, on the
        pool rows' probability vectors (as the labeling service does).
    seed : int
        Seed of ``random`` and of k-means (cycle ``c`` uses ``seed + c``).
    on_cycle : callable, optional
        ``on_cycle(cycle, accuracy)`` after each evaluation (progress).

    Returns
    -------
    SimulationResult

    Raises
    ------
    InvalidInput
        ``invalid_input`` (bad sizes, an initial index out of range or repeated),
        ``invalid_strategy``.
    """
    y = np.asarray(pool_y)
    y_test = np.asarray(test_y)
    labeled = np.asarray(initial, dtype=np.intp)
    n_pool = len(y)
    if batch_size < 1 or cycles < 0:
        raise InvalidInput("batch_size must be ≥ 1 and cycles ≥ 0", code="invalid_input")
    if len(labeled) == 0 or len(np.unique(labeled)) != len(labeled):
        raise InvalidInput("initial must be distinct pool indices", code="invalid_input")
    if labeled.min() < 0 or labeled.max() >= n_pool:
        raise InvalidInput("initial index out of the pool", code="invalid_input")
    score(np.zeros((0, 1)), strategy)  # unknown strategy: refused before any fit
    is_labeled = np.zeros(n_pool, dtype=bool)
    is_labeled[labeled] = True
    sizes: list[int] = []
    accuracy: list[float] = []
    fit_seconds: list[float] = []
    select_seconds: list[float] = []
    picked: list[list[int]] = []
    for cycle in range(cycles + 1):
        rows = np.flatnonzero(is_labeled)
        model = make_model()
        start = time.perf_counter()
        model.fit(_take(pool_X, rows), y[rows])
        fit_seconds.append(time.perf_counter() - start)
        sizes.append(len(rows))
        accuracy.append(_accuracy(model, test_X, y_test))
        if on_cycle is not None:
            on_cycle(cycle, accuracy[-1])
        if cycle == cycles:
            break
        unlabeled = np.flatnonzero(~is_labeled)
        if len(unlabeled) == 0:
            break
        start = time.perf_counter()
        proba = np.asarray(model.predict_proba(_take(pool_X, unlabeled)))
        scores = score(proba, strategy, seed=seed + cycle)
        chosen = select_batch(
            scores, batch_size, features=proba, diversity=diversity, seed=seed + cycle
        )
        select_seconds.append(time.perf_counter() - start)
        batch = unlabeled[chosen]
        is_labeled[batch] = True
        picked.append([int(i) for i in batch])
    return SimulationResult(
        strategy=strategy,
        diversity=diversity,
        seed=seed,
        labels=sizes,
        accuracy=accuracy,
        fit_seconds=fit_seconds,
        select_seconds=select_seconds,
        picked=picked,
    )
