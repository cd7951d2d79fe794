"""Linear regression: gradient descent as the product specification states it, and closed form.

Kinds ``linear_regression_gd`` (:class:`LinearRegressionGD`) and ``linear_regression``
(:class:`LinearRegression`).

The gradient-descent model follows issue 4 of the product specification exactly:

* model     f(x; θ) = θ₀ + θ₁x₁ + … + θₙxₙ
* loss      L(θ) = 1/(2N) Σᵢ (yᵢ − f(xᵢ; θ))²
* gradient  ∂L/∂θⱼ = −(1/N) Σᵢ (yᵢ − f(xᵢ; θ)) xᵢⱼ, with xᵢ₀ = 1
* update    θ ← θ − α ∇L

(the textbook least-squares gradient descent, e.g. Hastie, Tibshirani & Friedman,
*The Elements of Statistical Learning*, 2nd ed., §3.2, and Goodfellow et al., *Deep
Learning*, §4.3 and §5.1.4).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import LinearRegression as _SkLinearRegression

from baryon.core.errors import InvalidInput
from baryon.ml._tabular import TabularModel
from baryon.ml._validation import (
    BOOLEAN,
    RANDOM_STATE,
    Constraint,
    Interval,
    NotConverged,
    ParamsValidated,
    as_float_matrix,
    as_float_vector,
    check_fitted,
    check_n_features,
)

__all__ = ["LinearRegression", "LinearRegressionGD", "least_squares_gradient", "least_squares_loss"]

#: Relative slack before a loss increase counts as divergence (float rounding).
_RISE_SLACK = 1e-9


class LinearRegressionGD(ParamsValidated, RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """Least-squares linear regression fitted by batch or mini-batch gradient descent.

    Minimises L(θ) = 1/(2N) Σᵢ (yᵢ − θ₀ − Σⱼ θⱼ xᵢⱼ)² by θ ← θ − α ∇L with
    ∂L/∂θⱼ = −(1/N) Σᵢ (yᵢ − f(xᵢ; θ)) xᵢⱼ (xᵢ₀ = 1), starting from θ = 0.
    With ``standardize=True`` the descent runs on standardised features
    zᵢⱼ = (xᵢⱼ − μⱼ)/σⱼ (same minimiser, much better conditioned); the learned
    coefficients are mapped back to the original units.

    Parameters
    ----------
    learning_rate : float, default=0.1
        Step size α > 0. Batch descent is stable for α < 2/λ_max, where λ_max is the
        largest eigenvalue of (1/N)ZᵀZ (≤ n_features for standardised features).
    max_iter : int, default=10_000
        Maximum number of epochs (passes over the data) ≥ 1.
    tol : float, default=1e-6
        Stop when the Euclidean norm of the full-data gradient is at most
        ``tol × max(std(y), tiny)`` (checked after every epoch), i.e. relative to the
        scale of ``y``. ≥ 0.
    standardize : bool, default=True
        Descend on standardised features (zero mean, unit variance; constant
        columns are only centred).
    batch_size : int or None, default=None
        None: batch gradient descent (one step per epoch on all N rows). An integer
        ≥ 1: mini-batch descent, rows shuffled every epoch, one step per batch.
    random_state : int or None, default=None
        Seed of the per-epoch shuffle (mini-batch only).

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        θ₁…θₙ in the original feature units.
    intercept_ : float
        θ₀ in the original units.
    loss_history_ : ndarray of shape (n_iter_ + 1,)
        L(θ) on all training rows, in squared target units: before the first epoch
        and after each epoch.
    n_iter_ : int
        Epochs run.
    converged_ : bool
        True when the gradient criterion was met before ``max_iter``.
    mean_, scale_ : ndarray of shape (n_features,)
        Standardisation (zeros and ones when ``standardize=False``).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` was a DataFrame with string column names.

    Raises
    ------
    NotConverged
        From ``fit`` when the loss grows or becomes non-finite (α too large): no
        fitted state is kept from that call.
    """

    _param_constraints: ClassVar[dict[str, tuple[Constraint, ...]]] = {
        "learning_rate": (Interval("real", 0, None, closed="neither"),),
        "max_iter": (Interval("integral", 1, None),),
        "tol": (Interval("real", 0, None),),
        "standardize": (BOOLEAN,),
        "batch_size": (None, Interval("integral", 1, None)),
        "random_state": RANDOM_STATE,
    }

    def __init__(
        self,
        *,
        learning_rate: float = 0.1,
        max_iter: int = 10_000,
        tol: float = 1e-6,
        standardize: bool = True,
        batch_size: int | None = None,
        random_state: int | None = None,
    ) -> None:
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.tol = tol
        self.standardize = standardize
        self.batch_size = batch_size
        self.random_state = random_state

    # ------------------------------------------------------------------------ fit
    def fit(self, X: Any, y: Any) -> LinearRegressionGD:
        """Run gradient descent from θ = 0.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Numeric, finite.
        y : array-like of shape (n_samples,)
            Numeric, finite.

        Returns
        -------
        self

        Raises
        ------
        InvalidInput
            ``invalid_param``; ``non_numeric_input``, ``non_finite_input``,
            ``empty_input`` for bad ``X``/``y``.
        NotConverged
            The loss grew or became non-finite (reduce ``learning_rate``).
        """
        self._check_params()
        names = _string_columns(X)
        A = as_float_matrix(X, estimator=self)
        t = as_float_vector(y, estimator=self, n_samples=A.shape[0])
        n, d = A.shape
        if self.standardize:
            mean = A.mean(axis=0)
            scale = A.std(axis=0)
            scale[scale == 0.0] = 1.0
        else:
            mean, scale = np.zeros(d), np.ones(d)
        Z = (A - mean) / scale
        y_scale = max(float(np.std(t)), np.finfo(np.float64).tiny)

        theta = np.zeros(d + 1)  # theta[0] is the intercept θ₀
        alpha = float(self.learning_rate)
        rng = np.random.default_rng(self.random_state)
        history = [least_squares_loss(Z, t, theta)]
        converged = False
        epochs = 0
        size = n if self.batch_size is None else min(int(self.batch_size), n)
        batch = size == n
        for epoch in range(1, int(self.max_iter) + 1):
            if batch:
                theta = theta - alpha * least_squares_gradient(Z, t, theta)
            else:
                order = rng.permutation(n)
                for start in range(0, n, size):
                    rows = order[start : start + size]
                    theta = theta - alpha * least_squares_gradient(Z[rows], t[rows], theta)
            epochs = epoch
            loss = least_squares_loss(Z, t, theta)
            history.append(loss)
            self._check_divergence(history, epoch, batch=batch)
            if np.linalg.norm(least_squares_gradient(Z, t, theta)) <= self.tol * y_scale:
                converged = True
                break

        coef = theta[1:] / scale
        intercept = float(theta[0] - np.dot(coef, mean))
        # Assign only now: a diverged fit leaves no half-fitted state behind.
        self.coef_ = coef
        self.intercept_ = intercept
        self.mean_ = mean
        self.scale_ = scale
        self.loss_history_ = np.asarray(history)
        self.n_iter_ = epochs
        self.converged_ = converged
        self.n_features_in_ = d
        if names is not None:
            self.feature_names_in_ = np.asarray(names, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        return self

    def _check_divergence(self, history: list[float], epoch: int, *, batch: bool) -> None:
        loss, previous, first = history[-1], history[-2], history[0]
        # Batch descent on a quadratic decreases L at every step when α < 2/λ_max, so
        # any rise means α is too large. Mini-batch steps are noisy: only a loss above
        # the starting loss (θ = 0) counts as divergence.
        rose = loss > previous * (1 + _RISE_SLACK) if batch else loss > first
        if np.isfinite(loss) and not rose:
            return
        raise NotConverged(
            f"LinearRegressionGD diverged at epoch {epoch}: the loss went from "
            f"{previous:.6g} to {loss:.6g} (learning_rate={self.learning_rate!r} is too "
            "large; try a smaller one)",
            code="not_converged",
            details={"estimator": "LinearRegressionGD", "iteration": epoch, "loss": repr(loss)},
        )

    # -------------------------------------------------------------------- predict
    def predict(self, X: Any) -> np.ndarray:
        """Return f(x) = intercept_ + X · coef_.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)

        Raises
        ------
        NotFitted
            Before ``fit``.
        InvalidInput
            Wrong number of features, non-numeric or non-finite values.
        """
        check_fitted(self, "coef_")
        if isinstance(X, pd.DataFrame) and hasattr(self, "feature_names_in_"):
            missing = [c for c in self.feature_names_in_ if c not in X.columns]
            if missing:
                raise InvalidInput(
                    f"LinearRegressionGD: X lacks column(s) {', '.join(map(repr, missing))}",
                    code="missing_columns",
                    details={"missing": [str(c) for c in missing]},
                )
            X = X[list(self.feature_names_in_)]
        A = as_float_matrix(X, estimator=self)
        check_n_features(self, A.shape[1])
        return np.asarray(A @ self.coef_ + self.intercept_)

    # ---------------------------------------------------------------- persistence
    def to_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Return the fitted model as plain arrays and JSON metadata.

        Returns
        -------
        arrays : dict of str to ndarray
            ``coef``, ``mean``, ``scale``, ``loss_history`` (float64) and
            ``feature_names`` (unicode) when known.
        meta : dict
            ``params``, ``intercept``, ``n_iter``, ``converged``, ``n_features_in``.

        Raises
        ------
        NotFitted
            Before ``fit``.
        """
        check_fitted(self, "coef_")
        arrays = {
            "coef": np.asarray(self.coef_, dtype=np.float64),
            "mean": np.asarray(self.mean_, dtype=np.float64),
            "scale": np.asarray(self.scale_, dtype=np.float64),
            "loss_history": np.asarray(self.loss_history_, dtype=np.float64),
        }
        if hasattr(self, "feature_names_in_"):
            arrays["feature_names"] = np.asarray(self.feature_names_in_, dtype=str)
        meta = {
            "params": self.get_params(deep=False),
            "intercept": float(self.intercept_),
            "n_iter": int(self.n_iter_),
            "converged": bool(self.converged_),
            "n_features_in": int(self.n_features_in_),
        }
        return arrays, meta

    @classmethod
    def from_state(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> LinearRegressionGD:
        """Rebuild a fitted model written by :meth:`to_state`.

        Raises
        ------
        KeyError, ValueError
            The state is incomplete or inconsistent (persistence turns these into
            ``IntegrityError``).
        """
        model = cls(**meta["params"])
        model.coef_ = np.asarray(arrays["coef"], dtype=np.float64)
        model.mean_ = np.asarray(arrays["mean"], dtype=np.float64)
        model.scale_ = np.asarray(arrays["scale"], dtype=np.float64)
        model.loss_history_ = np.asarray(arrays["loss_history"], dtype=np.float64)
        model.intercept_ = float(meta["intercept"])
        model.n_iter_ = int(meta["n_iter"])
        model.converged_ = bool(meta["converged"])
        model.n_features_in_ = int(meta["n_features_in"])
        if model.coef_.shape != (model.n_features_in_,):
            raise ValueError("coef does not match n_features_in")
        if "feature_names" in arrays:
            model.feature_names_in_ = np.asarray(arrays["feature_names"], dtype=object)
        return model


def least_squares_loss(Z: np.ndarray, t: np.ndarray, theta: np.ndarray) -> float:
    """L(θ) = 1/(2N) Σ (yᵢ − θ₀ − zᵢ·θ₁..ₙ)²."""
    with np.errstate(over="ignore", invalid="ignore"):
        residual = t - theta[0] - Z @ theta[1:]
        return float(np.dot(residual, residual) / (2 * len(t)))


def least_squares_gradient(Z: np.ndarray, t: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """∇L: ∂L/∂θⱼ = −(1/N) Σ (yᵢ − f(zᵢ)) zᵢⱼ with zᵢ₀ = 1; shape (n_features + 1,)."""
    with np.errstate(over="ignore", invalid="ignore"):
        residual = t - theta[0] - Z @ theta[1:]
        grad = np.empty_like(theta)
        grad[0] = -residual.mean()
        grad[1:] = -(Z.T @ residual) / len(t)
    return grad


def _string_columns(X: Any) -> list[str] | None:
    if isinstance(X, pd.DataFrame) and all(isinstance(c, str) for c in X.columns):
        return list(X.columns)
    return None


class LinearRegression(TabularModel):
    """Ordinary least squares in closed form (scikit-learn's ``LinearRegression``).

    Minimises Σᵢ (yᵢ − θ₀ − xᵢ·θ)² exactly (via scipy's least-squares solver).
    Mixed-type DataFrames are accepted: numeric columns are median-imputed,
    categorical columns one-hot encoded (see :mod:`baryon.ml._tabular`).

    Parameters
    ----------
    fit_intercept : bool, default=True
        Fit θ₀ (otherwise the model goes through the origin).
    max_categories : int, default=32
        Most one-hot columns per categorical column (rarer values grouped), ≥ 2.

    Attributes
    ----------
    coef_ : ndarray of shape (n_encoded_features,)
        Coefficients on the encoded columns named by ``feature_names_out_``.
    intercept_ : float
    feature_names_out_ : ndarray of str
    task_ : str
        Always ``"regression"``.
    model_ : sklearn.linear_model.LinearRegression
    """

    _tasks: ClassVar[tuple[str, ...]] = ("regression",)
    _param_constraints: ClassVar[dict[str, tuple[Constraint, ...]]] = {
        "fit_intercept": (BOOLEAN,),
        "max_categories": (Interval("integral", 2, None),),
    }

    def __init__(self, *, fit_intercept: bool = True, max_categories: int = 32) -> None:
        self.fit_intercept = fit_intercept
        self.max_categories = max_categories

    def _requested_task(self) -> str:
        return "regression"

    def _make_model(self, task: str, *, n_samples: int, n_classes: int) -> Any:
        return _SkLinearRegression(fit_intercept=self.fit_intercept)

    def _after_fit(self, model: Any) -> None:
        self.coef_ = np.asarray(model.coef_)
        self.intercept_ = float(model.intercept_)
        self.feature_names_out_ = np.asarray(
            self.preprocessor_.get_feature_names_out(), dtype=object
        )
