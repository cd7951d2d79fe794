"""Paired bootstrap deltas: known answers on tiny label arrays."""

from __future__ import annotations

import numpy as np
import pytest

from baryon.core.errors import InvalidInput
from baryon.flywheel.compare import paired_deltas
from baryon.training.metrics import accuracy, macro_f1


def test_paired_deltas_same_predictions_zero_delta_zero_interval() -> None:
    truth = ["a", "b", "a", "c"] * 10
    pred = ["a", "b", "b", "c"] * 10
    out = paired_deltas(truth, pred, pred)
    for metric in ("accuracy", "macro_f1"):
        assert out[metric]["value"] == 0.0
        assert out[metric]["ci95"] == [0.0, 0.0]


def test_paired_deltas_values_match_the_training_metrics() -> None:
    rng = np.random.default_rng(3)
    truth = rng.choice(["x", "y", "z"], size=200)
    champion = np.where(rng.random(200) < 0.7, truth, "x")
    candidate = np.where(rng.random(200) < 0.8, truth, "y")
    out = paired_deltas(truth, champion, candidate, resamples=300)
    assert out["accuracy"]["champion"] == pytest.approx(accuracy(truth, champion))
    assert out["accuracy"]["candidate"] == pytest.approx(accuracy(truth, candidate))
    assert out["macro_f1"]["champion"] == pytest.approx(macro_f1(truth, champion))
    assert out["macro_f1"]["candidate"] == pytest.approx(macro_f1(truth, candidate))
    expected = accuracy(truth, candidate) - accuracy(truth, champion)
    assert out["accuracy"]["value"] == pytest.approx(expected)
    low, high = out["accuracy"]["ci95"]
    assert low <= expected <= high


def test_paired_deltas_candidate_right_where_champion_wrong_interval_above_zero() -> None:
    # 100 rows: the champion gets 80 right, the candidate those 80 and 10 more.
    truth = np.array(["a", "b"] * 50)
    champion = truth.copy()
    champion[:20] = np.where(truth[:20] == "a", "b", "a")
    candidate = truth.copy()
    candidate[:10] = champion[:10]
    out = paired_deltas(truth, champion, candidate, seed=1)
    assert out["accuracy"]["value"] == pytest.approx(0.10)
    low, high = out["accuracy"]["ci95"]
    assert 0.0 < low < 0.10 < high <= 0.20  # never worse on any row: every draw gains >= 0


def test_paired_deltas_seeded_same_interval_twice() -> None:
    truth = ["a", "b", "c"] * 20
    champion = ["a", "a", "c"] * 20
    candidate = ["a", "b", "b"] * 20
    assert paired_deltas(truth, champion, candidate, seed=7) == paired_deltas(
        truth, champion, candidate, seed=7
    )


@pytest.mark.parametrize(
    ("truth", "champion", "candidate", "resamples"),
    [([], [], [], 1000), (["a"], ["a", "b"], ["a"], 1000), (["a"], ["a"], ["a"], 10)],
)
def test_paired_deltas_bad_input_refused(
    truth: list[str], champion: list[str], candidate: list[str], resamples: int
) -> None:
    with pytest.raises(InvalidInput):
        paired_deltas(truth, champion, candidate, resamples=resamples)
