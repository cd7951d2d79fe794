"""Baseline rating model (μ + b_u + b_i) fitted by preconditioned gradient descent."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from baryon.core.errors import InvalidInput, ModelNotReady
from baryon.ml._validation import NotFitted
from baryon.ml.recommend.baseline import BaselineRatingModel, fit_biases

RATINGS = pd.DataFrame(
    {
        "user": ["ann", "ann", "bob", "bob", "bob", "cy", "cy", "dee"],
        "item": ["a", "b", "a", "b", "c", "b", "c", "c"],
        "rating": [5.0, 3.0, 4.0, 2.0, 1.0, 4.0, 5.0, 2.0],
    }
)


def _closed_form(matrix: sp.csr_matrix, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """Solve the normal equations of the regularised least squares problem directly."""
    coo = matrix.tocoo()
    n_u, n_i = matrix.shape
    design = np.zeros((coo.nnz, n_u + n_i))
    design[np.arange(coo.nnz), coo.row] = 1.0
    design[np.arange(coo.nnz), n_u + coo.col] = 1.0
    target = coo.data - coo.data.mean()
    b = np.linalg.solve(design.T @ design + lam * np.eye(n_u + n_i), design.T @ target)
    return b[:n_u], b[n_u:]


def _alternating(matrix: sp.csr_matrix, lam: float, sweeps: int = 2000) -> tuple[np.ndarray, ...]:
    """ALS-style exact block updates: b_u given b_i, then b_i given b_u."""
    coo = matrix.tocoo()
    mu = coo.data.mean()
    bu = np.zeros(matrix.shape[0])
    bi = np.zeros(matrix.shape[1])
    n_u = np.bincount(coo.row, minlength=len(bu))
    n_i = np.bincount(coo.col, minlength=len(bi))
    for _ in range(sweeps):
        bu = np.bincount(coo.row, coo.data - mu - bi[coo.col], len(bu)) / (n_u + lam)
        bi = np.bincount(coo.col, coo.data - mu - bu[coo.row], len(bi)) / (n_i + lam)
    return bu, bi


def test_fit_biases_tiny_case_matches_closed_form_and_alternating_solution() -> None:
    model = BaselineRatingModel(regularization=2.0, tol=1e-12, max_iter=20000).fit(RATINGS)
    matrix = sp.csr_matrix(
        (
            RATINGS["rating"],
            (RATINGS["user"].astype("category").cat.codes, RATINGS["item"].map("abc".index)),
        ),
        shape=(4, 3),
    )
    bu, bi = _closed_form(matrix, 2.0)
    au, ai = _alternating(matrix, 2.0)
    assert model.converged_
    assert model.global_mean_ == pytest.approx(RATINGS["rating"].mean())
    np.testing.assert_allclose(model.user_bias_, bu, atol=1e-9)
    np.testing.assert_allclose(model.item_bias_, bi, atol=1e-9)
    np.testing.assert_allclose(au, bu, atol=1e-9)
    np.testing.assert_allclose(ai, bi, atol=1e-9)


def test_fit_biases_loss_history_never_increases() -> None:
    model = BaselineRatingModel(regularization=1.0).fit(RATINGS)
    history = np.asarray(model.loss_history_)
    assert history[-1] < history[0]
    assert np.all(np.diff(history) <= 1e-12)


def test_fit_biases_too_large_learning_rate_raises_diverged() -> None:
    # α = 1.95 overshoots: the loss grows past its starting value within two steps.
    matrix = sp.csr_matrix(np.array([[5.0, 4.0, 0.0], [1.0, 0.0, 0.0], [0.0, 2.0, 5.0]]))
    with pytest.raises(InvalidInput) as info:
        fit_biases(matrix, regularization=0.0, learning_rate=1.95, max_iter=500)
    assert info.value.code == "diverged"


def test_fit_biases_max_iter_reached_reports_not_converged() -> None:
    model = BaselineRatingModel(regularization=0.5, max_iter=1, tol=1e-12).fit(RATINGS)
    assert model.n_iter_ == 1
    assert not model.converged_


def test_baseline_predict_unknown_user_and_item_use_zero_bias() -> None:
    model = BaselineRatingModel().fit(RATINGS)
    pred = model.predict(pd.DataFrame({"user": ["ann", "zed", "zed"], "item": ["a", "a", "q"]}))
    mu = model.global_mean_
    assert pred[0] == pytest.approx(mu + model.user_bias_[0] + model.item_bias_[0])
    assert pred[1] == pytest.approx(mu + model.item_bias_[0])
    assert pred[2] == pytest.approx(mu)


def test_baseline_predict_before_fit_raises_not_fitted() -> None:
    with pytest.raises(ModelNotReady) as info:
        BaselineRatingModel().predict(RATINGS)
    assert info.value.code == "not_fitted"
    assert isinstance(info.value, NotFitted)  # the one not-fitted error of baryon.ml


@pytest.mark.parametrize(
    ("param", "value"),
    [("regularization", -1.0), ("learning_rate", 0.0), ("learning_rate", 2.0), ("max_iter", 0)],
)
def test_baseline_fit_bad_param_raises_invalid_param(param: str, value: float) -> None:
    params: dict[str, Any] = {param: value}
    with pytest.raises(InvalidInput) as info:
        BaselineRatingModel(**params).fit(RATINGS)
    assert info.value.code == "invalid_param"
    assert info.value.details["param"] == param


def test_baseline_fit_without_rating_column_raises_missing_column() -> None:
    with pytest.raises(InvalidInput) as info:
        BaselineRatingModel().fit(RATINGS[["user", "item"]])
    assert info.value.code == "missing_column"
