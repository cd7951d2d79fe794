"""Tests of baryon.training.gates: the promotion decision."""

from __future__ import annotations

import math

import pytest

from baryon.core.errors import InvalidInput
from baryon.training.gates import decide, is_better, primary_metric


@pytest.mark.parametrize(
    ("task", "metric"),
    [
        ("classification", "accuracy"),
        ("text_classification", "accuracy"),
        ("regression", "r2"),
        ("recommendation", "ndcg_at_10"),
    ],
)
def test_primary_metric_per_task(task: str, metric: str) -> None:
    assert primary_metric(task) == metric


def test_primary_metric_unknown_task_refused() -> None:
    with pytest.raises(InvalidInput):
        primary_metric("auto")


@pytest.mark.parametrize(
    ("metric", "challenger", "champion", "min_delta", "expected"),
    [
        ("accuracy", 0.85, 0.80, 0.05, True),  # exactly min_delta (float slack)
        ("accuracy", 0.84, 0.80, 0.05, False),
        ("accuracy", 0.80, 0.80, 0.0, False),  # a tie does not promote
        ("accuracy", 0.80 + 1e-13, 0.80, 0.0, False),  # within rounding slack: a tie
        ("accuracy", 0.8001, 0.80, 0.0, True),
        ("rmse", 1.0, 1.0, 0.0, False),
        ("rmse", 1.0, 1.5, 0.4, True),  # lower is better
        ("rmse", 1.5, 1.0, 0.0, False),
        ("accuracy", math.nan, 0.5, 0.0, False),
        ("accuracy", 0.9, math.nan, 0.0, False),
    ],
)
def test_is_better_direction_and_threshold(
    metric: str, challenger: float, champion: float, min_delta: float, expected: bool
) -> None:
    assert is_better(metric, challenger, champion, min_delta) is expected


def test_decide_without_champion_passes_without_gate() -> None:
    decision = decide(
        metric="accuracy",
        challenger_version=1,
        challenger_value=0.1,
        champion_version=None,
        champion_value=None,
    )
    assert decision.passed
    assert "first champion" in decision.message


def test_decide_refusal_message_carries_both_numbers() -> None:
    decision = decide(
        metric="r2",
        challenger_version=3,
        challenger_value=0.61,
        champion_version=2,
        champion_value=0.7,
        min_delta=0.01,
        evaluated_on={"dataset": "concrete:2", "split": "test"},
    )
    assert not decision.passed
    assert "0.6100" in decision.message
    assert "0.7000" in decision.message
    assert "concrete:2 test split" in decision.message


def test_decide_missing_challenger_value_refused_and_json_ready() -> None:
    decision = decide(
        metric="accuracy",
        challenger_version=2,
        challenger_value=None,
        champion_version=1,
        champion_value=0.5,
    )
    assert not decision.passed
    assert decision.to_dict()["challenger_value"] is None


@pytest.mark.parametrize("min_delta", [-0.01, math.inf, math.nan])
def test_decide_invalid_min_delta_refused(min_delta: float) -> None:
    with pytest.raises(InvalidInput):
        decide(
            metric="accuracy",
            challenger_version=2,
            challenger_value=0.9,
            champion_version=1,
            champion_value=0.5,
            min_delta=min_delta,
        )


def test_decide_tie_at_min_delta_zero_refused_and_says_tie() -> None:
    # Before issue 13 a tie passed at min_delta=0 and the message said "beats".
    decision = decide(
        metric="accuracy",
        challenger_version=3,
        challenger_value=0.8,
        champion_version=2,
        champion_value=0.8,
        min_delta=0.0,
    )
    assert not decision.passed
    assert "beats" not in decision.message
    assert "ties champion v2" in decision.message
    assert "a tie does not promote" in decision.message
