"""Baseline rating model: global mean + user bias + item bias, fitted by gradient descent.

This is the "linear-regression-like" predictor of the product specification that fills
the ratings a user has not given in ``cf_seed`` (issue 4). It is the baseline predictor of
Koren, "Factorization meets the neighborhood", KDD 2008, §2.1, eq. (1):

    b̂_ui = μ + b_u + b_i,

    L(b) = ½ Σ_{(u,i) observed} (r_ui − μ − b_u − b_i)² + ½ λ (Σ_u b_u² + Σ_i b_i²),

with μ the mean of all observed ratings (fixed, not learned). L is a regularised least
squares problem; this module minimises it by full-batch gradient descent,

    ∂L/∂b_u = −Σ_{i ∈ I(u)} e_ui + λ b_u,        ∂L/∂b_i = −Σ_{u ∈ U(i)} e_ui + λ b_i,

    b ← b − α · P ∇L(b),   P = diag(1 / (n_u + λ), 1 / (n_i + λ)),

i.e. each bias steps along its own gradient scaled by the inverse of its curvature
(Jacobi-preconditioned gradient descent; n_u, n_i are the rating counts). Because the
Hessian H satisfies λI ≤ H ≤ 2·P⁻¹, every learning rate 0 < α < 1 converges.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator

from baryon.core.errors import InvalidInput
from baryon.ml._validation import NotFitted
from baryon.ml.recommend._interactions import check_param, lookup_ids, parse_interactions

__all__ = ["BaselineRatingModel", "BiasFit", "fit_biases"]


@dataclass(frozen=True)
class BiasFit:
    """Result of :func:`fit_biases`.

    Attributes
    ----------
    global_mean : float
        μ, the mean observed rating.
    user_bias : ndarray of float64, shape (n_users,)
    item_bias : ndarray of float64, shape (n_items,)
    loss_history : list of float
        L(b) before the first step and after every step.
    n_iter : int
        Steps taken.
    converged : bool
        Whether the largest preconditioned step fell below ``tol`` before ``max_iter``.
    """

    global_mean: float
    user_bias: np.ndarray
    item_bias: np.ndarray
    loss_history: list[float]
    n_iter: int
    converged: bool


def _loss(errors: np.ndarray, bu: np.ndarray, bi: np.ndarray, regularization: float) -> float:
    # plain reductions, not BLAS dot: a threaded BLAS costs more than it saves here
    penalty = float(np.square(bu).sum() + np.square(bi).sum())
    return 0.5 * float(np.square(errors).sum()) + 0.5 * regularization * penalty


def fit_biases(
    ratings: sp.csr_matrix,
    *,
    regularization: float = 5.0,
    learning_rate: float = 0.9,
    max_iter: int = 2000,
    tol: float = 1e-6,
) -> BiasFit:
    """Fit μ, b_u and b_i on a sparse rating matrix (see the module docstring).

    Parameters
    ----------
    ratings : scipy.sparse.csr_matrix of shape (n_users, n_items)
        Stored entries are the observed ratings (explicit zeros count as ratings of 0).
    regularization : float, default 5.0
        λ ≥ 0 in rating² units.
    learning_rate : float, default 0.9
        α in (0, 2); below 1 is guaranteed to converge.
    max_iter : int, default 2000
        Maximum gradient steps.
    tol : float, default 1e-6
        Stop when no bias moves by more than ``tol`` (rating units) in one step.

    Returns
    -------
    BiasFit

    Raises
    ------
    InvalidInput
        ``empty`` for a matrix without ratings; ``diverged`` when the loss grows (α too
        large), instead of returning garbage.
    """
    coo = ratings.tocoo()
    rows, cols, values = coo.row, coo.col, coo.data.astype(np.float64)
    if len(values) == 0:
        raise InvalidInput("no ratings to fit a baseline on", code="empty")
    n_users, n_items = ratings.shape
    mu = float(values.mean())
    residual = values - mu
    step_u = learning_rate / (np.bincount(rows, minlength=n_users) + regularization)
    step_i = learning_rate / (np.bincount(cols, minlength=n_items) + regularization)
    # Users or items without ratings (possible only with λ = 0) never move.
    step_u[~np.isfinite(step_u)] = 0.0
    step_i[~np.isfinite(step_i)] = 0.0
    bu = np.zeros(n_users)
    bi = np.zeros(n_items)
    errors = residual.copy()
    history = [_loss(errors, bu, bi, regularization)]
    converged = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        grad_u = regularization * bu - np.bincount(rows, weights=errors, minlength=n_users)
        grad_i = regularization * bi - np.bincount(cols, weights=errors, minlength=n_items)
        move_u = step_u * grad_u
        move_i = step_i * grad_i
        bu -= move_u
        bi -= move_i
        errors = residual - bu[rows] - bi[cols]
        history.append(_loss(errors, bu, bi, regularization))
        if not np.isfinite(history[-1]) or history[-1] > history[0] * (1 + 1e-9) + 1e-12:
            raise InvalidInput(
                f"baseline gradient descent diverged at step {n_iter} "
                f"(learning_rate={learning_rate} is too large)",
                code="diverged",
                details={"n_iter": n_iter, "loss": history[-1]},
            )
        largest = max(np.abs(move_u).max(initial=0.0), np.abs(move_i).max(initial=0.0))
        if largest < tol:
            converged = True
            break
    return BiasFit(mu, bu, bi, history, n_iter, converged)


class BaselineRatingModel(BaseEstimator):  # type: ignore[misc]
    """Predict a rating as global mean + user bias + item bias (Koren 2008, eq. 1).

    Parameters
    ----------
    regularization : float, default 5.0
        λ ≥ 0, the L2 penalty on the biases (rating² units).
    learning_rate : float, default 0.9
        α in (0, 2) of the preconditioned gradient step (see module docstring).
    max_iter : int, default 2000
        Maximum gradient steps.
    tol : float, default 1e-6
        Convergence threshold on the largest bias change per step (rating units).

    Attributes
    ----------
    global_mean_ : float
    user_bias_ : ndarray of float64, shape (n_users,)
    item_bias_ : ndarray of float64, shape (n_items,)
    users_, items_ : ndarray of object
        Known ids, aligned with the bias arrays.
    loss_history_ : list of float
        Loss before the first step and after each step (non-increasing).
    n_iter_ : int
    converged_ : bool
        False when ``max_iter`` ran out first (the biases are then usable but not optimal).
    """

    def __init__(
        self,
        *,
        regularization: float = 5.0,
        learning_rate: float = 0.9,
        max_iter: int = 2000,
        tol: float = 1e-6,
    ) -> None:
        self.regularization = regularization
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.tol = tol

    def _validate_params(self) -> None:
        check_param("regularization", self.regularization, minimum=0.0)
        check_param("learning_rate", self.learning_rate, minimum=0.0, strict=True, below=2.0)
        check_param("max_iter", self.max_iter, minimum=1, integer=True)
        check_param("tol", self.tol, minimum=0.0, strict=True)

    def fit(self, X: pd.DataFrame, y: Any = None) -> Self:
        """Fit the biases on a rating table.

        Parameters
        ----------
        X : pandas.DataFrame
            Columns ``user``, ``item``, ``rating``.
        y : None
            Ignored.

        Returns
        -------
        self

        Raises
        ------
        InvalidInput
            ``invalid_param``, a bad table, or ``diverged``.
        """
        self._validate_params()
        data = parse_interactions(X, require_rating=True)
        result = fit_biases(
            data.matrix,
            regularization=float(self.regularization),
            learning_rate=float(self.learning_rate),
            max_iter=int(self.max_iter),
            tol=float(self.tol),
        )
        self.users_ = data.users
        self.items_ = data.items
        self.global_mean_ = result.global_mean
        self.user_bias_ = result.user_bias
        self.item_bias_ = result.item_bias
        self.loss_history_ = result.loss_history
        self.n_iter_ = result.n_iter
        self.converged_ = result.converged
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Predicted ratings μ + b_u + b_i for (user, item) rows.

        Unknown users (items) get b_u = 0 (b_i = 0).

        Parameters
        ----------
        X : pandas.DataFrame
            Columns ``user`` and ``item``.

        Returns
        -------
        ndarray of float64, shape (n_rows,)

        Raises
        ------
        NotFitted
            ``not_fitted``.
        InvalidInput
            ``missing_column``.
        """
        if not hasattr(self, "global_mean_"):
            raise NotFitted("BaselineRatingModel is not fitted yet", code="not_fitted")
        if not isinstance(X, pd.DataFrame) or not {"user", "item"} <= set(X.columns):
            raise InvalidInput("predict needs a DataFrame with user, item", code="missing_column")
        upos = lookup_ids(self.users_, X["user"].tolist())
        ipos = lookup_ids(self.items_, X["item"].tolist())
        bu = np.where(upos >= 0, self.user_bias_[np.maximum(upos, 0)], 0.0)
        bi = np.where(ipos >= 0, self.item_bias_[np.maximum(ipos, 0)], 0.0)
        return np.asarray(self.global_mean_ + bu + bi, dtype=np.float64)
