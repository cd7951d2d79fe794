"""Hand-off calibration: trade-off curve and threshold rules on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from baryon.core.errors import InvalidInput
from baryon.solutions.support.handoff import (
    REPORT_THRESHOLDS,
    HandoffCalibration,
    calibrate_handoff,
    handoff_reason,
    trade_off,
)

# In scope: confidences and whether the predicted intent was right; out of scope below.
CONF_IN = [0.9, 0.8, 0.7, 0.4]
RIGHT = [True, True, False, True]
CONF_OOS = [0.3, 0.5, 0.6]


def test_trade_off_hand_computed_points() -> None:
    points = trade_off(CONF_IN, RIGHT, CONF_OOS, [0.0, 0.5, 0.7, 1.0])
    # t=0.5: 0.4 handed off; right and answered: 0.9, 0.8 -> 2/4; oos below 0.5: 0.3 -> 1/3
    assert [p.in_scope_accuracy for p in points] == pytest.approx([0.75, 0.5, 0.5, 0.0])
    assert [p.oos_recall for p in points] == pytest.approx([0.0, 1 / 3, 1.0, 1.0])
    assert [p.in_scope_handoff_rate for p in points] == pytest.approx([0, 0.25, 0.25, 1])
    assert points[1].answered_accuracy == pytest.approx(2 / 3)
    assert points[3].answered_accuracy is None  # nothing answered


def test_calibrate_balanced_maximises_sum_and_breaks_ties_low() -> None:
    # sums: t=0.7 -> 0.5 + 1 = 1.5 and t=0.8 -> 0.5 + 1 = 1.5; the lower one wins
    cal = calibrate_handoff(CONF_IN, RIGHT, CONF_OOS)
    assert cal.rule == "balanced"
    assert cal.threshold == pytest.approx(0.7)
    assert (cal.in_scope_accuracy, cal.oos_recall) == pytest.approx((0.5, 1.0))
    assert (cal.in_scope_rows, cal.oos_rows) == (4, 3)
    # 5 % quantile of the in-scope confidences (linear): 0.4 + 0.15 * 0.3
    assert cal.out_of_scope_threshold == pytest.approx(0.445)
    assert [p.threshold for p in cal.curve] == sorted({*REPORT_THRESHOLDS, 0.7})


def test_calibrate_target_oos_recall_picks_lowest_threshold_reaching_it() -> None:
    cal = calibrate_handoff(
        CONF_IN, RIGHT, CONF_OOS, rule="target_oos_recall", target_oos_recall=0.5
    )
    assert cal.threshold == pytest.approx(0.6)  # 0.3 and 0.5 handed off: 2/3 >= 0.5
    assert cal.oos_recall == pytest.approx(2 / 3)
    assert cal.target_oos_recall == 0.5


def test_calibrate_separable_confidences_hand_off_every_oos_and_no_in_scope() -> None:
    rng = np.random.default_rng(0)
    conf_in = rng.uniform(0.8, 1.0, 200)
    conf_oos = rng.uniform(0.1, 0.5, 100)
    cal = calibrate_handoff(conf_in, np.ones(200, bool), conf_oos)
    assert conf_oos.max() < cal.threshold <= conf_in.min()
    assert (cal.in_scope_accuracy, cal.oos_recall) == (1.0, 1.0)
    assert cal.out_of_scope_threshold <= cal.threshold


def test_calibration_round_trips_through_dict() -> None:
    cal = calibrate_handoff(CONF_IN, RIGHT, CONF_OOS, sources={"in_scope": "b77:3"})
    again = HandoffCalibration.from_dict(cal.to_dict())
    assert again == cal


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"rule": "best"}, "invalid_handoff_rule"),
        ({"rule": "target_oos_recall", "target_oos_recall": 0.0}, "invalid_input"),
        ({"in_scope_quantile": 0.9}, "invalid_input"),
    ],
)
def test_calibrate_bad_options_raise(kwargs: dict[str, object], code: str) -> None:
    with pytest.raises(InvalidInput) as err:
        calibrate_handoff(CONF_IN, RIGHT, CONF_OOS, **kwargs)  # type: ignore[arg-type]
    assert err.value.code == code


@pytest.mark.parametrize(
    ("conf_in", "right", "conf_oos", "code"),
    [
        ([], [], [0.3], "no_calibration_data"),
        ([0.9], [True], [], "no_calibration_data"),
        ([0.9, 0.8], [True], [0.3], "invalid_input"),
        ([1.5], [True], [0.3], "invalid_input"),
        ([0.9], [True], [float("nan")], "invalid_input"),
    ],
)
def test_trade_off_bad_data_raises(
    conf_in: list[float], right: list[bool], conf_oos: list[float], code: str
) -> None:
    with pytest.raises(InvalidInput) as err:
        trade_off(conf_in, right, conf_oos)
    assert err.value.code == code


@pytest.mark.parametrize(
    ("confidence", "reason"),
    [(0.95, None), (0.7, None), (0.5, "low_confidence"), (0.3, "low_confidence"),
     (0.29, "out_of_scope")],
)  # fmt: skip
def test_handoff_reason_by_confidence(confidence: float, reason: str | None) -> None:
    assert handoff_reason(confidence, threshold=0.7, out_of_scope_threshold=0.3) == reason


def test_handoff_reason_without_oos_threshold_is_low_confidence() -> None:
    assert handoff_reason(0.01, threshold=0.5) == "low_confidence"
