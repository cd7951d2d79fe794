"""Tests of baryon.ml.tree (and the shared tabular wrapper it stands on)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from baryon.core.errors import InvalidInput
from baryon.ml._tabular import MAX_AUTO_CLASSES, infer_task
from baryon.ml._validation import NotFitted
from baryon.ml.tree import DecisionTree, GradientBoosting


@pytest.fixture
def mixed_frame() -> pd.DataFrame:
    """Numeric (with gaps), categorical, boolean and datetime columns."""
    rng = np.random.default_rng(1)
    n = 240
    frame = pd.DataFrame(
        {
            "amount": rng.normal(size=n),
            "segment": rng.choice(["retail", "business", "private"], n),
            "active": rng.random(n) < 0.5,
            "opened": pd.date_range("2024-01-01", periods=n, freq="D"),
        }
    )
    frame.loc[::11, "amount"] = np.nan
    return frame


def _label(frame: pd.DataFrame) -> np.ndarray:
    """A rule the trees can learn exactly: segment and the sign of amount."""
    return np.where(
        (frame["segment"] == "business") | (frame["amount"].fillna(0) > 0.5), "churn", "stay"
    )


@pytest.mark.parametrize(
    ("y", "task"),
    [
        (np.array(["a", "b", "a"], dtype=object), "classification"),
        (np.array([True, False, True]), "classification"),
        (np.array([0, 1, 2, 1]), "classification"),
        (np.array([0.0, 1.0, 1.0]), "classification"),
        (np.array([0.5, 1.25, 3.0]), "regression"),
        (np.arange(MAX_AUTO_CLASSES + 1), "regression"),
        (pd.Series(["x", "y"], dtype="category"), "classification"),
    ],
)
def test_infer_task_rule(y, task):
    assert infer_task(y) == task


@pytest.mark.parametrize("cls", [DecisionTree, GradientBoosting])
def test_tree_auto_task_classification_on_mixed_frame(cls, mixed_frame):
    y = _label(mixed_frame)
    model = cls(random_state=0, min_samples_leaf=1).fit(mixed_frame, y)
    assert model.task_ == "classification"
    assert list(model.classes_) == ["churn", "stay"]
    assert list(model.feature_names_in_) == ["amount", "segment", "active", "opened"]
    assert model.categorical_columns_ == ["segment"]
    assert model.datetime_columns_ == ["opened"]
    assert np.mean(model.predict(mixed_frame) == y) > 0.97
    proba = model.predict_proba(mixed_frame)
    assert proba.shape == (len(y), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


@pytest.mark.parametrize("cls", [DecisionTree, GradientBoosting])
def test_tree_auto_task_regression_has_no_predict_proba(cls, mixed_frame):
    y = mixed_frame["amount"].fillna(0).to_numpy() * 3 + (mixed_frame["segment"] == "retail")
    model = cls(random_state=0).fit(mixed_frame, y)
    assert model.task_ == "regression"
    assert not hasattr(model, "predict_proba")
    assert not hasattr(model, "classes_")
    assert np.corrcoef(model.predict(mixed_frame), y)[0, 1] > 0.95


def test_tree_explicit_task_overrides_auto():
    X = np.arange(20.0).reshape(-1, 1)
    y = np.arange(20) % 2
    assert DecisionTree(task="regression").fit(X, y).task_ == "regression"
    assert DecisionTree(task="classification").fit(X, y).task_ == "classification"


def test_tree_predict_accepts_reordered_and_extra_columns(mixed_frame):
    y = _label(mixed_frame)
    model = DecisionTree(random_state=0).fit(mixed_frame, y)
    shuffled = mixed_frame[["opened", "active", "segment", "amount"]].assign(extra=1)
    np.testing.assert_array_equal(model.predict(shuffled), model.predict(mixed_frame))


def test_tree_predict_missing_column_raises(mixed_frame):
    model = DecisionTree().fit(mixed_frame, _label(mixed_frame))
    with pytest.raises(InvalidInput) as info:
        model.predict(mixed_frame.drop(columns=["segment"]))
    assert info.value.code == "missing_columns"
    assert info.value.details["missing"] == ["segment"]


def test_tree_unseen_category_at_predict_does_not_crash(mixed_frame):
    model = GradientBoosting(random_state=0).fit(mixed_frame, _label(mixed_frame))
    row = mixed_frame.iloc[:1].assign(segment="never-seen")
    assert model.predict(row).shape == (1,)


def test_tree_numeric_column_with_text_at_predict_raises(mixed_frame):
    model = DecisionTree().fit(mixed_frame, _label(mixed_frame))
    bad = mixed_frame.iloc[:2].assign(amount=["ten", "eleven"])
    with pytest.raises(InvalidInput) as info:
        model.predict(bad)
    assert info.value.code == "non_numeric_input"


def test_tree_ndarray_input_has_no_feature_names():
    X = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 0.0], [1.0, 1.0]] * 5)
    y = X[:, 0].astype(int)
    model = DecisionTree().fit(X, y)
    assert not hasattr(model, "feature_names_in_")
    assert model.n_features_in_ == 2
    with pytest.raises(InvalidInput) as info:
        model.predict(X[:, :1])
    assert info.value.code == "feature_mismatch"


def test_tree_predict_before_fit_raises_not_fitted():
    with pytest.raises(NotFitted):
        GradientBoosting().predict(np.ones((1, 2)))


def test_tree_missing_target_raises():
    with pytest.raises(InvalidInput) as info:
        DecisionTree().fit(np.ones((3, 1)), ["a", None, "b"])
    assert info.value.code == "missing_target"


def test_tree_class_weight_with_regression_is_invalid_param():
    with pytest.raises(InvalidInput) as info:
        DecisionTree(task="regression", class_weight="balanced").fit(np.ones((4, 1)), [1, 2, 3, 4])
    assert info.value.code == "invalid_param"


@pytest.mark.parametrize(
    ("cls", "params"),
    [
        (DecisionTree, {"max_depth": 0}),
        (DecisionTree, {"task": "ranking"}),
        (DecisionTree, {"max_features": 1.5}),
        (GradientBoosting, {"learning_rate": 0.0}),
        (GradientBoosting, {"early_stopping": "yes"}),
        (GradientBoosting, {"max_categories": 300}),
    ],
)
def test_tree_bad_params_raise_invalid_param(cls, params):
    with pytest.raises(InvalidInput) as info:
        cls(**params).fit(np.ones((4, 1)), [0, 1, 0, 1])
    assert info.value.code == "invalid_param"


def test_gradient_boosting_validation_split_drives_early_stopping(mixed_frame):
    y = _label(mixed_frame)
    model = GradientBoosting(random_state=0, max_iter=300, n_iter_no_change=3)
    model.fit(mixed_frame.iloc[:160], y[:160], X_val=mixed_frame.iloc[160:], y_val=y[160:])
    assert model.model_.do_early_stopping_
    assert len(model.validation_score_) == model.n_iter_ + 1
    assert model.n_iter_ < 300


def test_gradient_boosting_validation_ignored_when_early_stopping_off(mixed_frame):
    y = _label(mixed_frame)
    model = GradientBoosting(early_stopping=False, max_iter=5)
    model.fit(mixed_frame.iloc[:160], y[:160], X_val=mixed_frame.iloc[160:], y_val=y[160:])
    assert model.n_iter_ == 5
    assert not hasattr(model, "validation_score_")


def test_gradient_boosting_half_validation_pair_raises(mixed_frame):
    with pytest.raises(InvalidInput):
        GradientBoosting().fit(mixed_frame, _label(mixed_frame), X_val=mixed_frame)


def test_tree_one_class_raises_too_few_classes():
    # scikit-learn's HistGradientBoostingClassifier accepts one class and answers
    # two-column probabilities; the wrapper refuses instead.
    with pytest.raises(InvalidInput) as info:
        GradientBoosting(task="classification").fit(np.ones((30, 1)), ["a"] * 30)
    assert info.value.code == "too_few_classes"


@pytest.mark.parametrize("cls", [DecisionTree, GradientBoosting])
def test_predict_infinite_feature_is_non_finite_input(cls: type) -> None:
    # `models evaluate` on a file with inf reached users as internal_error (a bare ValueError).
    X = pd.DataFrame({"a": np.arange(40.0), "b": np.arange(40.0) % 3})
    model = cls(task="regression").fit(X, np.arange(40.0))
    with pytest.raises(InvalidInput) as err:
        model.predict(pd.DataFrame({"a": [np.inf], "b": [1.0]}))
    assert err.value.code == "non_finite_input"
