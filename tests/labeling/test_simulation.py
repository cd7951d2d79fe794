"""The simulated flywheel loop on tiny data with a known right answer."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from baryon.core.errors import InvalidInput
from baryon.labeling.simulation import initial_sample, simulate_flywheel


def _line(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Points on [0, 1]; the class is x > 0.7 (a boundary away from the middle)."""
    x = np.random.default_rng(seed).uniform(0, 1, n)
    return x[:, None], np.where(x > 0.7, "hi", "lo")


def _model() -> LogisticRegression:
    return LogisticRegression(C=100.0)


def test_initial_sample_stratified_with_minimum_per_class() -> None:
    labels = np.array(["a"] * 50 + ["b"] * 5)
    rows = initial_sample(labels, 0.1, seed=0, min_per_class=2)
    assert np.array_equal(rows, np.sort(rows))
    assert (labels[rows] == "a").sum() == 5  # round(0.1 · 50)
    assert (labels[rows] == "b").sum() == 2  # round(0.5) = 0, raised to the minimum
    assert np.array_equal(rows, initial_sample(labels, 0.1, seed=0, min_per_class=2))


def test_initial_sample_bad_fraction_refused() -> None:
    with pytest.raises(InvalidInput):
        initial_sample(["a", "b"], 0.0)


def test_simulate_flywheel_budget_and_no_row_twice() -> None:
    X, y = _line(200, 0)
    Xt, yt = _line(100, 1)
    start = initial_sample(y, 0.05, seed=0, min_per_class=2)
    result = simulate_flywheel(
        _model, X, y, Xt, yt, initial=start, batch_size=10, cycles=3, strategy="margin", seed=0
    )
    assert result.labels == [len(start) + 10 * c for c in range(4)]
    assert len(result.accuracy) == len(result.fit_seconds) == 4
    assert len(result.picked) == 3
    every = [i for batch in result.picked for i in batch]
    assert len(set(every)) == 30
    assert not set(every) & set(start.tolist())


def test_simulate_flywheel_margin_asks_near_the_boundary_first() -> None:
    X, y = _line(400, 0)
    Xt, yt = _line(400, 1)
    start = initial_sample(y, 0.02, seed=0, min_per_class=2)
    kwargs = {"initial": start, "batch_size": 5, "cycles": 4, "seed": 0}
    margin = simulate_flywheel(_model, X, y, Xt, yt, strategy="margin", **kwargs)
    rand = simulate_flywheel(_model, X, y, Xt, yt, strategy="random", **kwargs)
    # margin's picks hug x = 0.7; random's are spread over [0, 1]
    near = [abs(X[i, 0] - 0.7) for batch in margin.picked[1:] for i in batch]
    spread = [abs(X[i, 0] - 0.7) for batch in rand.picked[1:] for i in batch]
    assert np.median(near) < 0.05 < np.median(spread)
    assert margin.accuracy[-1] >= rand.accuracy[-1]
    assert margin.accuracy[-1] >= 0.98


def test_simulate_flywheel_same_seed_same_curve() -> None:
    X, y = _line(120, 0)
    Xt, yt = _line(60, 1)
    start = initial_sample(y, 0.1, seed=0, min_per_class=2)
    run = [
        simulate_flywheel(
            _model,
            X,
            y,
            Xt,
            yt,
            initial=start,
            batch_size=8,
            cycles=2,
            strategy="random",
            seed=5,
        )
        for _ in range(2)
    ]
    assert run[0].picked == run[1].picked
    assert run[0].accuracy == run[1].accuracy


def test_simulate_flywheel_diversity_runs_through_select_batch() -> None:
    X, y = _line(150, 0)
    Xt, yt = _line(50, 1)
    start = initial_sample(y, 0.05, seed=0, min_per_class=2)
    result = simulate_flywheel(
        _model, X, y, Xt, yt, initial=start, batch_size=6, cycles=2, strategy="entropy",
        diversity=True,
    )  # fmt: skip
    assert [len(b) for b in result.picked] == [6, 6]


def test_simulate_flywheel_unknown_strategy_refused_before_fitting() -> None:
    calls: list[int] = []

    def make() -> LogisticRegression:
        calls.append(1)
        return _model()

    X, y = _line(20, 0)
    with pytest.raises(InvalidInput) as err:
        simulate_flywheel(make, X, y, X, y, initial=[0, 1], batch_size=2, cycles=1, strategy="nope")
    assert err.value.code == "invalid_strategy"
    assert calls == []
