"""Tests of baryon.ml.neural: the MLP wrapper."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from baryon.core.errors import InvalidInput
from baryon.ml.neural import EARLY_STOPPING_MIN_ROWS, MLP


@pytest.fixture
def two_moons_like() -> tuple[np.ndarray, np.ndarray]:
    """XOR-like classes no linear model separates."""
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(300, 2))
    y = np.where(X[:, 0] * X[:, 1] > 0, "same", "diff")
    return X, y


def test_mlp_default_shape_is_one_layer_of_64_relu():
    model = MLP()
    assert tuple(model.hidden_layer_sizes) == (64,)
    assert model.activation == "relu"


def test_mlp_learns_a_non_linear_boundary(two_moons_like):
    X, y = two_moons_like
    model = MLP(random_state=0, max_iter=500, learning_rate_init=0.01).fit(X, y)
    assert model.task_ == "classification"
    assert model.model_.hidden_layer_sizes == (64,)
    assert np.mean(model.predict(X) == y) > 0.9
    np.testing.assert_allclose(model.predict_proba(X).sum(axis=1), 1.0)
    assert model.loss_curve_.shape == (model.n_iter_,)


def test_mlp_regression_standardises_target_and_predicts_in_original_units():
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"x": rng.uniform(0, 10, 200), "kind": rng.choice(["a", "b"], 200)})
    y = 1000.0 + 50.0 * frame["x"] + 200.0 * (frame["kind"] == "b")
    model = MLP(random_state=0, max_iter=800, learning_rate_init=0.01).fit(frame, y)
    assert model.task_ == "regression"
    assert not hasattr(model, "predict_proba")
    pred = model.predict(frame)
    assert np.mean(np.abs(pred - y)) < 30.0  # vs. a spread of ~300


def test_mlp_hitting_max_iter_sets_converged_false_without_warning(two_moons_like):
    X, y = two_moons_like
    model = MLP(max_iter=2, random_state=0).fit(X, y)  # filterwarnings=error would fail here
    assert model.converged_ is False
    assert model.n_iter_ == 2


def test_mlp_auto_early_stopping_off_for_small_data_on_for_large():
    small = MLP()
    assert not small._early_stopping("classification", EARLY_STOPPING_MIN_ROWS - 1, 2)
    assert small._early_stopping("classification", EARLY_STOPPING_MIN_ROWS, 2)
    # the held-out tenth could not hold two rows of each of 40 classes
    assert not small._early_stopping("classification", EARLY_STOPPING_MIN_ROWS, 40)
    assert MLP(early_stopping=True)._early_stopping("regression", 10, 0)


def test_mlp_early_stopping_records_validation_scores():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(EARLY_STOPPING_MIN_ROWS, 3))
    y = X @ [1.0, -2.0, 0.5]
    model = MLP(random_state=0, n_iter_no_change=2).fit(X, y)
    assert model.model_.regressor_.early_stopping
    assert model.validation_scores_.shape == (model.n_iter_,)


def test_mlp_sklearn_refusal_becomes_fit_failed():
    # early stopping forced on 8 rows of 4 classes: scikit-learn cannot hold out a
    # stratified validation set and raises ValueError
    with pytest.raises(InvalidInput) as info:
        MLP(early_stopping=True).fit(np.arange(8.0).reshape(-1, 1), [0, 1, 2, 3] * 2)
    assert info.value.code == "fit_failed"
    assert info.value.message.startswith("MLP:")


@pytest.mark.parametrize(
    "params",
    [
        {"hidden_layer_sizes": ()},
        {"hidden_layer_sizes": [64, 0]},
        {"hidden_layer_sizes": 64},
        {"activation": "gelu"},
        {"learning_rate_init": 0},
        {"batch_size": 0},
        {"validation_fraction": 1.0},
    ],
)
def test_mlp_bad_params_raise_invalid_param(params):
    with pytest.raises(InvalidInput) as info:
        MLP(**params).fit(np.ones((4, 1)), [0, 1, 0, 1])
    assert info.value.code == "invalid_param"


def test_mlp_hidden_layer_sizes_from_json_list_is_accepted(two_moons_like):
    X, y = two_moons_like
    model = MLP(hidden_layer_sizes=[8, 4], max_iter=5, random_state=0).fit(X, y)
    assert model.model_.hidden_layer_sizes == (8, 4)
