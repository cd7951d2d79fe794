"""Tests of baryon.training.validation: every degenerate dataset names its check."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from baryon.core.errors import ValidationFailed
from baryon.training import validation as v


def _check(exc: pytest.ExceptionInfo[ValidationFailed]) -> str:
    assert exc.value.code == "failed_validation"
    return str(exc.value.details["check"])


@pytest.mark.parametrize(
    ("total", "train", "test", "folds", "check"),
    [
        (0, 0, 0, 0, "empty_dataset"),
        (1, 1, 0, 0, "too_few_rows"),
        (5, 1, 4, 0, "too_few_rows"),
        (10, 4, 6, 5, "too_few_rows"),
        (10, 10, 0, 0, "empty_split"),
    ],
)
def test_check_rows_degenerate_counts_refused(
    total: int, train: int, test: int, folds: int, check: str
) -> None:
    with pytest.raises(ValidationFailed) as info:
        v.check_rows(total, train, test, cv_folds=folds)
    assert _check(info) == check


def test_check_rows_enough_rows_pass() -> None:
    v.check_rows(10, 8, 2, cv_folds=3)


def test_check_columns_all_nan_column_named() -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [np.nan, np.nan]})
    with pytest.raises(ValidationFailed) as info:
        v.check_columns(frame, ["a", "b"])
    assert _check(info) == "all_nan_column"
    assert info.value.details["column"] == "b"
    assert "'b'" in info.value.message


def test_check_columns_blank_strings_count_as_missing() -> None:
    frame = pd.DataFrame({"text": ["", "  ", None]})
    with pytest.raises(ValidationFailed) as info:
        v.check_columns(frame, ["text"], constant=False)
    assert _check(info) == "all_nan_column"


def test_check_columns_constant_column_named() -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "c": [7, 7, 7]})
    with pytest.raises(ValidationFailed) as info:
        v.check_columns(frame, ["a", "c"])
    assert _check(info) == "constant_column"
    assert info.value.details["column"] == "c"


def test_check_columns_constant_allowed_when_not_asked() -> None:
    v.check_columns(pd.DataFrame({"c": [7, 7]}), ["c"], constant=False)


def test_check_target_regression_needs_numbers_and_variation() -> None:
    with pytest.raises(ValidationFailed) as info:
        v.check_target(pd.Series(["a", "b"], name="y"), task="regression")
    assert _check(info) == "non_numeric_target"
    with pytest.raises(ValidationFailed) as info:
        v.check_target(pd.Series([3.0, 3.0], name="y"), task="regression")
    assert _check(info) == "constant_column"
    with pytest.raises(ValidationFailed) as info:
        v.check_target(pd.Series([np.nan, np.nan], name="y"), task="classification")
    assert _check(info) == "all_nan_column"


def test_check_classes_single_class_refused() -> None:
    with pytest.raises(ValidationFailed) as info:
        v.check_classes(pd.Series(["spam", "spam", "spam"]))
    assert _check(info) == "single_class"
    assert "'spam'" in info.value.message


def test_check_classes_class_smaller_than_cv_folds_refused() -> None:
    labels = pd.Series(["a"] * 5 + ["b"] * 2)
    assert v.check_classes(labels, cv_folds=2) == ["a", "b"]
    with pytest.raises(ValidationFailed) as info:
        v.check_classes(labels, cv_folds=3)
    assert _check(info) == "class_too_small"
    assert info.value.details["classes"] == {"b": 2}


def test_check_classes_label_unseen_in_training_refused() -> None:
    train = pd.Series(["a", "b", "a"])
    with pytest.raises(ValidationFailed) as info:
        v.check_classes(train, evaluation={"test": pd.Series(["a", "c"])})
    assert _check(info) == "unseen_label"
    assert info.value.details == {"check": "unseen_label", "split": "test", "labels": ["c"]}


def test_check_interactions_no_relevant_test_item_refused() -> None:
    train = pd.DataFrame({"user": [1, 2], "item": [1, 2], "rating": [5, 3]})
    test = pd.DataFrame({"user": [1], "item": [2], "rating": [2]})
    with pytest.raises(ValidationFailed) as info:
        v.check_interactions(train, test, threshold=4.0)
    assert _check(info) == "no_relevant_test_items"
    v.check_interactions(train, test, threshold=None)


def test_checks_lists_every_check_name() -> None:
    assert len(set(v.CHECKS)) == len(v.CHECKS)
    assert "unseen_label" in v.CHECKS
