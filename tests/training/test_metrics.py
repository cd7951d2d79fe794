"""Metrics against hand-computed cases, and the ranking protocol."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from baryon.core.errors import InvalidInput
from baryon.ml.recommend import PopularityRecommender
from baryon.training import metrics as m

Y_TRUE = ["cat", "cat", "dog", "dog", "dog", "eel"]
Y_PRED = ["cat", "dog", "dog", "dog", "cat", "dog"]
# cat: tp 1, fp 1, fn 1 -> p 1/2, r 1/2, f1 1/2
# dog: tp 2, fp 2, fn 1 -> p 1/2, r 2/3, f1 4/7
# eel: tp 0 -> p 0, r 0, f1 0


def test_accuracy_hand_computed() -> None:
    assert m.accuracy(Y_TRUE, Y_PRED) == pytest.approx(3 / 6)


def test_macro_f1_hand_computed() -> None:
    assert m.macro_f1(Y_TRUE, Y_PRED) == pytest.approx((1 / 2 + 4 / 7 + 0) / 3)


def test_per_class_prf_hand_computed() -> None:
    out = m.per_class_prf(Y_TRUE, Y_PRED)
    assert out["cat"] == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2})
    assert out["dog"] == pytest.approx(
        {"precision": 0.5, "recall": 2 / 3, "f1": 4 / 7, "support": 3}
    )
    assert out["eel"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1.0}


def test_confusion_matrix_rows_are_truth_columns_predictions() -> None:
    cm = m.confusion_matrix(Y_TRUE, Y_PRED)
    np.testing.assert_array_equal(cm, [[1, 1, 0], [1, 2, 0], [0, 1, 0]])
    cm2 = m.confusion_matrix(Y_TRUE, Y_PRED, labels=["eel", "dog", "cat"])
    np.testing.assert_array_equal(cm2, [[0, 1, 0], [0, 2, 1], [0, 1, 1]])


def test_log_loss_hand_computed() -> None:
    proba = [[0.8, 0.2], [0.4, 0.6]]
    expected = -(math.log(0.8) + math.log(0.6)) / 2
    assert m.log_loss(["a", "b"], proba) == pytest.approx(expected)
    assert m.log_loss([0, 1], [0.2, 0.6]) == pytest.approx(expected)  # 1-d = P(class 1)


def test_log_loss_rows_not_summing_to_one_raises_bad_proba() -> None:
    with pytest.raises(InvalidInput) as info:
        m.log_loss(["a", "b"], [[0.5, 0.2], [0.4, 0.6]])
    assert info.value.code == "bad_proba"


def test_expected_calibration_error_hand_computed_two_bins() -> None:
    # confidences 0.9, 0.9 (one right) | 0.6, 0.6 (both right); 2 equal-width bins
    proba = [[0.9, 0.1], [0.1, 0.9], [0.6, 0.4], [0.4, 0.6]]
    y = [0, 0, 0, 1]
    # bin (0.5, 1.0] holds all four: acc 3/4, conf 0.75 -> gap 0
    assert m.expected_calibration_error(y, proba, n_bins=2) == pytest.approx(0.0)
    # 10 bins: (0.8,0.9] has 0.9s: acc 1/2 conf 0.9; (0.5,0.6] has 0.6s: acc 1 conf 0.6
    expected = 0.5 * abs(0.5 - 0.9) + 0.5 * abs(1.0 - 0.6)
    assert m.expected_calibration_error(y, proba, n_bins=10) == pytest.approx(expected)


def test_expected_calibration_error_default_uses_15_bins() -> None:
    proba = [[0.9, 0.1], [0.1, 0.9], [0.6, 0.4], [0.4, 0.6]]
    y = [0, 0, 0, 1]
    assert m.expected_calibration_error(y, proba) == m.expected_calibration_error(
        y, proba, n_bins=15
    )


def test_expected_calibration_error_column_count_mismatch_raises() -> None:
    with pytest.raises(InvalidInput) as info:
        m.expected_calibration_error([0, 1, 2], [[0.5, 0.5]] * 3)
    assert info.value.code == "length_mismatch"


def test_regression_metrics_hand_computed() -> None:
    y, p = [1.0, 2.0, 3.0, 4.0], [1.0, 3.0, 3.0, 2.0]
    assert m.rmse(y, p) == pytest.approx(math.sqrt((0 + 1 + 0 + 4) / 4))
    assert m.mae(y, p) == pytest.approx((0 + 1 + 0 + 2) / 4)
    assert m.r2(y, p) == pytest.approx(1 - 5 / 5)


def test_r2_constant_target_raises_constant_target() -> None:
    with pytest.raises(InvalidInput) as info:
        m.r2([2.0, 2.0], [1.0, 2.0])
    assert info.value.code == "constant_target"


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda: m.accuracy([], []), "empty"),
        (lambda: m.accuracy([1, 2], [1]), "length_mismatch"),
        (lambda: m.rmse([1.0, np.nan], [1.0, 2.0]), "not_finite"),
        (lambda: m.mae(["a"], [1.0]), "not_numeric"),
        (lambda: m.expected_calibration_error([0], [[1.0, 0.0]], n_bins=0), "invalid_param"),
    ],
)
def test_classification_regression_bad_inputs_raise(call: Any, code: str) -> None:
    with pytest.raises(InvalidInput) as info:
        call()
    assert info.value.code == code


# -- ranking ----------------------------------------------------------------------------------
RANKED = ["a", "x", "b", "y", None]
RELEVANT = {"a", "b", "c"}


def test_precision_recall_hit_at_k_hand_computed() -> None:
    assert m.precision_at_k(RANKED, RELEVANT, 3) == pytest.approx(2 / 3)
    assert m.precision_at_k(RANKED, RELEVANT, 5) == pytest.approx(2 / 5)  # pads count as misses
    assert m.recall_at_k(RANKED, RELEVANT, 3) == pytest.approx(2 / 3)
    assert m.hit_rate_at_k(RANKED, RELEVANT, 1) == 1.0
    assert m.hit_rate_at_k(["x"], RELEVANT, 1) == 0.0


def test_ndcg_at_k_hand_computed_idcg_over_min_k_relevant() -> None:
    dcg = 1 / math.log2(2) + 1 / math.log2(4)
    idcg3 = 1 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4)
    assert m.ndcg_at_k(RANKED, RELEVANT, 3) == pytest.approx(dcg / idcg3)
    idcg2 = 1 / math.log2(2) + 1 / math.log2(3)  # k = 2 < |relevant| = 3
    assert m.ndcg_at_k(RANKED, RELEVANT, 2) == pytest.approx(1 / idcg2)
    assert m.ndcg_at_k(["b", "a"], {"a", "b"}, 10) == pytest.approx(1.0)


def test_map_at_k_hand_computed_divides_by_min_k_relevant() -> None:
    # hits at ranks 1 and 3: (1/1 + 2/3) / min(3, 3)
    assert m.map_at_k(RANKED, RELEVANT, 3) == pytest.approx((1 + 2 / 3) / 3)
    # k = 1: (1/1) / min(1, 3) = 1
    assert m.map_at_k(RANKED, RELEVANT, 1) == pytest.approx(1.0)


def test_catalogue_coverage_hand_computed() -> None:
    lists: list[list[str | None]] = [["a", "b", "z"], ["b", "c", None]]
    assert m.catalogue_coverage(lists, {"a", "b", "c", "d"}, 2) == pytest.approx(3 / 4)


@pytest.mark.parametrize("k", [0, -3, 1.5, True])
def test_ranking_bad_k_raises_bad_k(k: Any) -> None:
    with pytest.raises(InvalidInput) as info:
        m.ndcg_at_k(RANKED, RELEVANT, k)
    assert info.value.code == "bad_k"


def test_ranking_empty_relevant_raises_no_relevant() -> None:
    with pytest.raises(InvalidInput) as info:
        m.recall_at_k(RANKED, set(), 3)
    assert info.value.code == "no_relevant"
    assert m.precision_at_k(RANKED, set(), 3) == 0.0


def test_ranking_repeated_item_raises_duplicate_item() -> None:
    with pytest.raises(InvalidInput) as info:
        m.precision_at_k(["a", "a"], RELEVANT, 2)
    assert info.value.code == "duplicate_item"


def test_evaluate_ranking_averages_over_users_with_relevant_items() -> None:
    recs = np.array([["a", "x"], ["y", "b"], ["a", "b"]], dtype=object)
    out = m.evaluate_ranking(recs, [{"a"}, {"b", "c"}, set()], 2, {"a", "b", "c", "x", "y"})
    assert out["n_users"] == 2
    assert out["n_users_skipped"] == 1
    assert out["precision_at_k"] == pytest.approx((1 / 2 + 1 / 2) / 2)
    assert out["recall_at_k"] == pytest.approx((1 + 1 / 2) / 2)
    idcg2 = 1 + 1 / math.log2(3)
    assert out["ndcg_at_k"] == pytest.approx((1.0 + (1 / math.log2(3)) / idcg2) / 2)
    assert out["hit_rate_at_k"] == 1.0
    assert out["map_at_k"] == pytest.approx((1.0 + (1 / 2) / 2) / 2)
    assert out["catalogue_coverage"] == pytest.approx(4 / 5)


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (([["a"]], [{"a"}, {"b"}], 1, {"a"}), "length_mismatch"),
        (([], [], 1, {"a"}), "empty"),
        (([["a"]], [{"a"}], 0, {"a"}), "bad_k"),
        (([["a"]], [set()], 1, {"a"}), "no_relevant"),
        (([["a"]], [{"a"}], 1, set()), "empty"),
    ],
)
def test_evaluate_ranking_bad_inputs_raise(args: tuple[Any, ...], code: str) -> None:
    with pytest.raises(InvalidInput) as info:
        m.evaluate_ranking(*args)
    assert info.value.code == code


def test_relevant_sets_applies_threshold() -> None:
    test = pd.DataFrame({"user": [1, 1, 2], "item": ["a", "b", "c"], "rating": [4.0, 3.5, 2.0]})
    assert m.relevant_sets(test) == {1: {"a"}, 2: set()}
    assert m.relevant_sets(test, threshold=None) == {1: {"a", "b"}, 2: {"c"}}


def test_evaluate_recommender_excludes_training_items_and_skips_users() -> None:
    train = pd.DataFrame(
        {"user": [1, 1, 2, 3], "item": ["a", "b", "a", "c"], "rating": [5.0, 5, 5, 5]}
    )
    test = pd.DataFrame({"user": [1, 2, 3], "item": ["c", "b", "a"], "rating": [5.0, 1.0, 4.0]})
    model = PopularityRecommender().fit(train)
    out = m.evaluate_recommender(model, test, k=1)
    # user 1 gets c (a, b seen) -> hit; user 3 gets a (c seen) -> hit; user 2 skipped (rating 1)
    assert out["n_users"] == 2
    assert out["ndcg_at_k"] == 1.0
    assert out["cold_users"] == 0.0
    assert out["catalogue_coverage"] == pytest.approx(2 / 3)
