"""Tests of baryon.ml.linear: gradient descent against the closed form, and its failures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression as SkLinearRegression
from sklearn.preprocessing import StandardScaler

from baryon.core.errors import InvalidInput
from baryon.ml._validation import NotConverged, NotFitted
from baryon.ml.linear import LinearRegression, LinearRegressionGD


@pytest.fixture
def regression_data() -> tuple[np.ndarray, np.ndarray]:
    """Four features on very different scales, a known linear signal plus noise."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4)) * [1.0, 10.0, 0.1, 100.0] + [0.0, 5.0, -3.0, 1000.0]
    y = X @ np.array([1.5, -0.2, 30.0, 0.01]) + 4.0 + rng.normal(scale=0.5, size=200)
    return X, y


def _rel_err(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(np.asarray(a) - b) / np.abs(b)))


def test_gd_standardised_data_reaches_closed_form_to_1e_6(regression_data):
    X, y = regression_data
    Z = StandardScaler().fit_transform(X)
    exact = SkLinearRegression().fit(Z, y)
    gd = LinearRegressionGD(standardize=False, learning_rate=0.5, tol=1e-12, max_iter=50_000)
    gd.fit(Z, y)
    assert gd.converged_
    assert _rel_err(gd.coef_, exact.coef_) < 1e-6
    assert _rel_err(np.array([gd.intercept_]), np.array([exact.intercept_])) < 1e-6


def test_gd_raw_units_coefficients_match_closed_form(regression_data):
    X, y = regression_data
    exact = SkLinearRegression().fit(X, y)
    gd = LinearRegressionGD(tol=1e-12, max_iter=50_000).fit(X, y)
    assert _rel_err(gd.coef_, exact.coef_) < 1e-6
    np.testing.assert_allclose(gd.predict(X), exact.predict(X), rtol=1e-9)


def test_gd_loss_history_decreases_and_matches_definition(regression_data):
    X, y = regression_data
    gd = LinearRegressionGD().fit(X, y)
    history = gd.loss_history_
    assert history.shape == (gd.n_iter_ + 1,)
    assert np.all(np.diff(history) <= 1e-12)
    # L(θ=0) = 1/(2N) Σ y²; the final loss is 1/(2N) Σ residual²
    assert history[0] == pytest.approx(np.mean(y**2) / 2)
    assert history[-1] == pytest.approx(np.mean((y - gd.predict(X)) ** 2) / 2, rel=1e-9)


def test_gd_learning_rate_too_large_raises_not_converged(regression_data):
    X, y = regression_data
    model = LinearRegressionGD(learning_rate=5.0)
    with pytest.raises(NotConverged) as info:
        model.fit(X, y)
    assert info.value.code == "not_converged"
    assert "learning_rate" in info.value.message
    assert not hasattr(model, "coef_")  # nothing half-fitted left behind


def test_gd_failed_refit_keeps_the_previous_model(regression_data):
    X, y = regression_data
    model = LinearRegressionGD().fit(X, y)
    before = model.coef_.copy()
    model.set_params(learning_rate=50.0)
    with pytest.raises(NotConverged):
        model.fit(X, y)
    np.testing.assert_array_equal(model.coef_, before)


def test_gd_mini_batch_converges_close_to_closed_form(regression_data):
    X, y = regression_data
    exact = SkLinearRegression().fit(X, y)
    gd = LinearRegressionGD(
        batch_size=16, learning_rate=0.01, tol=1e-3, max_iter=2000, random_state=0
    ).fit(X, y)
    assert gd.converged_
    assert _rel_err(gd.coef_, exact.coef_) < 1e-2


def test_gd_mini_batch_same_seed_same_model(regression_data):
    X, y = regression_data
    params = {"batch_size": 32, "learning_rate": 0.02, "max_iter": 20, "random_state": 3}
    a = LinearRegressionGD(**params).fit(X, y)
    b = LinearRegressionGD(**params).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)


def test_gd_mini_batch_huge_step_raises_not_converged(regression_data):
    X, y = regression_data
    with pytest.raises(NotConverged):
        LinearRegressionGD(batch_size=8, learning_rate=3.0, random_state=0).fit(X, y)


def test_gd_max_iter_reached_reports_not_converged_flag(regression_data):
    X, y = regression_data
    gd = LinearRegressionGD(max_iter=3).fit(X, y)
    assert gd.n_iter_ == 3
    assert not gd.converged_


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"learning_rate": -0.1}, "learning_rate"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"max_iter": 0}, "max_iter"),
        ({"tol": -1.0}, "tol"),
        ({"batch_size": 0}, "batch_size"),
        ({"standardize": 1}, "standardize"),
        ({"random_state": -1}, "random_state"),
    ],
)
def test_gd_bad_params_raise_invalid_param(regression_data, params, param):
    X, y = regression_data
    with pytest.raises(InvalidInput) as info:
        LinearRegressionGD(**params).fit(X, y)
    assert info.value.code == "invalid_param"
    assert info.value.details["param"] == param


def test_gd_predict_before_fit_raises_not_fitted():
    with pytest.raises(NotFitted) as info:
        LinearRegressionGD().predict(np.ones((2, 2)))
    assert info.value.code == "not_fitted"


def test_gd_nan_in_X_raises_clear_invalid_input(regression_data):
    X, y = regression_data
    X = X.copy()
    X[5, 2] = np.nan
    with pytest.raises(InvalidInput) as info:
        LinearRegressionGD().fit(X, y)
    assert info.value.code == "non_finite_input"
    assert "NaN" in info.value.message


def test_gd_predict_wrong_feature_count_raises(regression_data):
    X, y = regression_data
    gd = LinearRegressionGD(max_iter=5).fit(X, y)
    with pytest.raises(InvalidInput) as info:
        gd.predict(X[:, :3])
    assert info.value.code == "feature_mismatch"


def test_gd_constant_column_is_kept_without_division_by_zero():
    X = np.column_stack([np.arange(10.0), np.full(10, 7.0)])
    y = 2 * X[:, 0] + 1
    gd = LinearRegressionGD(tol=1e-10).fit(X, y)
    assert gd.coef_[0] == pytest.approx(2.0)
    assert gd.coef_[1] == pytest.approx(0.0, abs=1e-9)
    assert gd.intercept_ == pytest.approx(1.0)


def test_gd_dataframe_keeps_feature_names_and_reorders_columns():
    frame = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    y = 3 * frame["a"] - frame["b"]
    gd = LinearRegressionGD(tol=1e-10).fit(frame, y)
    assert list(gd.feature_names_in_) == ["a", "b"]
    np.testing.assert_allclose(gd.predict(frame[["b", "a"]]), y, atol=1e-6)
    with pytest.raises(InvalidInput) as info:
        gd.predict(frame[["a"]])
    assert info.value.code == "missing_columns"


def test_gd_state_round_trip_predicts_the_same(regression_data):
    X, y = regression_data
    gd = LinearRegressionGD(max_iter=50).fit(X, y)
    arrays, meta = gd.to_state()
    assert all(a.dtype != object for a in arrays.values())
    again = LinearRegressionGD.from_state(arrays, meta)
    np.testing.assert_array_equal(again.predict(X), gd.predict(X))
    assert again.get_params() == gd.get_params()
    assert again.n_iter_ == gd.n_iter_
    assert again.converged_ == gd.converged_


def test_closed_form_matches_sklearn_on_numeric_input(regression_data):
    X, y = regression_data
    ours = LinearRegression().fit(X, y)
    exact = SkLinearRegression().fit(X, y)
    np.testing.assert_allclose(ours.coef_, exact.coef_, rtol=1e-10)
    assert ours.task_ == "regression"
    assert not hasattr(ours, "predict_proba")


def test_closed_form_mixed_frame_one_hot_encodes_and_imputes():
    frame = pd.DataFrame(
        {
            "size": [1.0, 2.0, np.nan, 4.0, 5.0, 6.0],
            "city": ["oslo", "rome", "oslo", "rome", "oslo", None],
        }
    )
    y = np.array([10.0, 25.0, 30.0, 45.0, 50.0, 61.0])
    model = LinearRegression().fit(frame, y)
    assert list(model.feature_names_out_) == ["size", "city_oslo", "city_rome", "city_nan"]
    assert model.predict(frame).shape == (6,)
    # an unseen city does not crash prediction
    unseen = pd.DataFrame({"size": [3.0], "city": ["paris"]})
    assert np.isfinite(model.predict(unseen)).all()
