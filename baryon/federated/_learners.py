"""What one silo computes in a federated run, per kind: local training and evaluation.

A learner turns the global parameters (a list of numpy arrays, the same shape in every
silo) plus the silo's own rows into new parameters and metrics. Only the arrays and
the numeric metrics leave the silo (:mod:`baryon.federated._flower_app`).

=======================  ==============================================  =============
kind                     parameters                                      metrics
=======================  ==============================================  =============
linear_regression_gd     θ of shape (n_features + 1,), on standardised    loss, rmse
                         features (global mean/scale from a stats round)
hashed_text_classifier   W (n_features, n_classes), b (n_classes,)        loss, accuracy
=======================  ==============================================  =============
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np

from baryon.core.errors import InvalidInput

__all__ = ["FEDERATED_KINDS", "Learner", "SiloData", "learner_for"]

#: Kinds a federated run can train.
FEDERATED_KINDS = ("hashed_text_classifier", "linear_regression_gd")


@dataclass(frozen=True)
class SiloData:
    """One silo's prepared rows: training split and held-out (test) split.

    Attributes
    ----------
    X_train, X_test : ndarray or sparse matrix of shape (n_rows, n_features)
        Numeric features (hashed text, or the tabular feature columns).
    y_train, y_test : ndarray of shape (n_rows,)
        Targets (class indices for classifiers, floats for regression).
    """

    X_train: Any
    y_train: np.ndarray
    X_test: Any
    y_test: np.ndarray


class Learner(ABC):
    """Local training and evaluation of one kind (see the module docstring).

    Parameters
    ----------
    params : dict
        Hyper-parameters: ``learning_rate``, ``local_epochs``, ``batch_size`` and the
        kind's own (``n_features``, ``ngram_range``, ``alpha`` for text).
    """

    kind: str

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params

    @abstractmethod
    def initial_arrays(self, n_features: int, n_classes: int) -> list[np.ndarray]:
        """Starting global parameters (zeros)."""

    @abstractmethod
    def fit(
        self,
        arrays: list[np.ndarray],
        data: SiloData,
        *,
        rng: np.random.Generator,
        proximal_mu: float,
        stats: dict[str, list[float]],
    ) -> tuple[list[np.ndarray], dict[str, float]]:
        """Train locally from ``arrays``; return new arrays and ``{"train_loss"}``."""

    @abstractmethod
    def evaluate(
        self, arrays: list[np.ndarray], data: SiloData, *, stats: dict[str, list[float]]
    ) -> dict[str, float]:
        """Metrics of ``arrays`` on the silo's test split."""


def _linear_design(X: Any, stats: dict[str, list[float]]) -> np.ndarray:
    mean = np.asarray(stats["mean"], dtype=np.float64)
    scale = np.asarray(stats["scale"], dtype=np.float64)
    return np.asarray((np.asarray(X, dtype=np.float64) - mean) / scale)


class LinearLearner(Learner):
    """Least-squares regression by gradient descent (kind ``linear_regression_gd``).

    Local steps are :func:`baryon.ml.linear.least_squares_gradient` on features
    standardised with the federation's mean and scale, plus the FedProx proximal term
    μ(θ − θ_global) when the strategy asks for it (Li et al., MLSys 2020, eq. 2).
    """

    kind = "linear_regression_gd"

    def initial_arrays(self, n_features: int, n_classes: int) -> list[np.ndarray]:
        return [np.zeros(n_features + 1)]

    def fit(
        self,
        arrays: list[np.ndarray],
        data: SiloData,
        *,
        rng: np.random.Generator,
        proximal_mu: float,
        stats: dict[str, list[float]],
    ) -> tuple[list[np.ndarray], dict[str, float]]:
        from baryon.ml.linear import least_squares_gradient, least_squares_loss

        Z = _linear_design(data.X_train, stats)
        t = np.asarray(data.y_train, dtype=np.float64)
        anchor = np.asarray(arrays[0], dtype=np.float64)
        theta = anchor.copy()
        rate = float(self.params.get("learning_rate", 0.1))
        for _ in range(int(self.params.get("local_epochs", 5))):
            step = least_squares_gradient(Z, t, theta)
            if proximal_mu > 0:
                step = step + proximal_mu * (theta - anchor)
            theta = theta - rate * step
        if not np.all(np.isfinite(theta)):
            raise InvalidInput("local gradient descent diverged", code="not_converged")
        return [theta], {"train_loss": least_squares_loss(Z, t, theta)}

    def evaluate(
        self, arrays: list[np.ndarray], data: SiloData, *, stats: dict[str, list[float]]
    ) -> dict[str, float]:
        from baryon.ml.linear import least_squares_loss

        Z = _linear_design(data.X_test, stats)
        t = np.asarray(data.y_test, dtype=np.float64)
        theta = np.asarray(arrays[0], dtype=np.float64)
        loss = least_squares_loss(Z, t, theta)
        residual = t - theta[0] - Z @ theta[1:]
        sse = float(residual @ residual)
        sst = float(((t - t.mean()) ** 2).sum()) if len(t) else 0.0
        return {
            "loss": loss,
            "mse": 2 * loss,
            "r2": 1 - sse / sst if sst > 0 else 0.0,
            "sse": sse,
            "sum_y": float(t.sum()),
            "sum_y2": float(t @ t),
        }


class SoftmaxLearner(Learner):
    """Softmax head on hashed text (kind ``hashed_text_classifier``).

    Local steps are :func:`baryon.ml.hashed_text.softmax_descent`.
    """

    kind = "hashed_text_classifier"

    def initial_arrays(self, n_features: int, n_classes: int) -> list[np.ndarray]:
        return [np.zeros((n_features, n_classes)), np.zeros(n_classes)]

    def fit(
        self,
        arrays: list[np.ndarray],
        data: SiloData,
        *,
        rng: np.random.Generator,
        proximal_mu: float,
        stats: dict[str, list[float]],
    ) -> tuple[list[np.ndarray], dict[str, float]]:
        from baryon.ml.hashed_text import softmax_descent, softmax_loss

        W0, b0 = (np.asarray(a, dtype=np.float64) for a in arrays)
        W, b = softmax_descent(
            data.X_train,
            data.y_train,
            W0,
            b0,
            epochs=int(self.params.get("local_epochs", 2)),
            learning_rate=float(self.params.get("learning_rate", 8.0)),
            batch_size=int(self.params.get("batch_size", 128)),
            alpha=float(self.params.get("alpha", 0.0)),
            rng=rng,
            anchor=(W0, b0),
            proximal_mu=proximal_mu,
        )
        loss, _ = softmax_loss(data.X_train, data.y_train, W, b)
        return [W, b], {"train_loss": loss}

    def evaluate(
        self, arrays: list[np.ndarray], data: SiloData, *, stats: dict[str, list[float]]
    ) -> dict[str, float]:
        from baryon.ml.hashed_text import softmax_loss

        W, b = (np.asarray(a, dtype=np.float64) for a in arrays)
        loss, accuracy = softmax_loss(data.X_test, data.y_test, W, b)
        return {"loss": loss, "accuracy": accuracy}


def learner_for(kind: str, params: dict[str, Any]) -> Learner:
    """Return the learner of ``kind``.

    Raises
    ------
    InvalidInput
        Code ``kind_not_federated``: the kind cannot be trained federated.
    """
    if kind == LinearLearner.kind:
        return LinearLearner(params)
    if kind == SoftmaxLearner.kind:
        return SoftmaxLearner(params)
    raise InvalidInput(
        f"kind {kind!r} cannot be trained federated; use one of {', '.join(FEDERATED_KINDS)}",
        code="kind_not_federated",
        details={"kind": kind, "known": list(FEDERATED_KINDS)},
    )
