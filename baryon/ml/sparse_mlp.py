"""A one-hidden-layer neural network for sparse inputs (TF-IDF text features).

``SparseMLP`` is the non-linear head of :class:`baryon.ml.text.TextClassifier`
(``model="mlp"``). Architecture and training:

* hidden layer ``h = relu(X W1 + b1)`` (``n_features × hidden_units``), output layer
  ``z = h W2 + b2`` with a softmax over the classes (Rumelhart, Hinton & Williams,
  "Learning representations by back-propagating errors", Nature 323, 1986);
* loss: mean cross-entropy of the mini-batch;
* optimiser: Adam (Kingma & Ba, "Adam: a method for stochastic optimization",
  ICLR 2015, Algorithm 1, with the step-size form of its §2 end:
  ``α_t = α √(1 − β₂ᵗ) / (1 − β₁ᵗ)``);
* initial weights: He et al., "Delving deep into rectifiers", ICCV 2015 (normal with
  standard deviation ``√(2 / fan_in)``), biases zero.

Why not scikit-learn's ``MLPClassifier``: with a sparse ``X`` it updates the whole
first weight matrix (10⁵ features × 512 units) on every mini-batch, ~60 s per epoch on
Banking77. Here a mini-batch touches only the rows of ``W1`` of the features that
occur in it, so Adam's moments of ``W1`` are updated *lazily*: only those rows move,
with the global step count ``t`` in the bias correction (the "lazy Adam" of
TensorFlow's ``LazyAdamOptimizer``). The dense parts (``b1``, ``W2``, ``b2``) follow
Adam exactly. Computation is in float32.

Deterministic given ``random_state`` (initial weights and the per-epoch shuffle come
from one ``numpy.random.Generator``).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin

from baryon.core.errors import InvalidInput
from baryon.ml._validation import (
    RANDOM_STATE,
    Constraint,
    Interval,
    NotConverged,
    ParamsValidated,
    check_fitted,
)

__all__ = ["SparseMLP"]

_BETA1 = 0.9
_BETA2 = 0.999
_EPSILON = 1e-8
_DTYPE = np.float32
_STATE_ARRAYS = ("W1_", "b1_", "W2_", "b2_", "loss_curve_")


class SparseMLP(ParamsValidated, ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Sparse-input feed-forward classifier: ReLU hidden layer, softmax output, Adam.

    Parameters
    ----------
    hidden_units : int, default=512
        Width of the hidden layer (≥ 1).
    epochs : int, default=5
        Passes over the training rows (≥ 1); no early stopping.
    learning_rate : float, default=1e-3
        Adam's step size α (> 0).
    batch_size : int, default=64
        Rows per mini-batch (≥ 1; the last batch of an epoch may be smaller).
    random_state : int or None, default=None
        Seed of the initial weights and of the shuffle.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Sorted class labels.
    n_features_in_ : int
    W1_ : ndarray of shape (n_features, hidden_units), float32
    b1_ : ndarray of shape (hidden_units,), float32
    W2_ : ndarray of shape (hidden_units, n_classes), float32
    b2_ : ndarray of shape (n_classes,), float32
    loss_curve_ : ndarray of shape (epochs,)
        Mean training cross-entropy (nats) of each epoch.
    n_iter_ : int
        Epochs run.
    """

    _param_constraints: ClassVar[dict[str, tuple[Constraint, ...]]] = {
        "hidden_units": (Interval("integral", 1, None),),
        "epochs": (Interval("integral", 1, None),),
        "learning_rate": (Interval("real", 0, None, closed="neither"),),
        "batch_size": (Interval("integral", 1, None),),
        "random_state": RANDOM_STATE,
    }

    def __init__(
        self,
        *,
        hidden_units: int = 512,
        epochs: int = 5,
        learning_rate: float = 1e-3,
        batch_size: int = 64,
        random_state: int | None = None,
    ) -> None:
        self.hidden_units = hidden_units
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.random_state = random_state

    # ---------------------------------------------------------------------- fit
    def fit(self, X: Any, y: Any) -> SparseMLP:
        """Train the network with mini-batch Adam.

        Parameters
        ----------
        X : scipy.sparse matrix or ndarray of shape (n_samples, n_features)
            Non-negative or real feature values (TF-IDF); converted to CSR float32.
        y : array-like of shape (n_samples,)
            Class labels (at least 2 classes).

        Returns
        -------
        self

        Raises
        ------
        InvalidInput
            ``invalid_param``; ``invalid_input`` (shape mismatch, no rows);
            ``non_finite_input``; ``too_few_classes``.
        NotConverged
            The training loss became non-finite (try a smaller ``learning_rate``).
        """
        self._check_params()
        matrix = self._matrix(X)
        labels = np.asarray(y)
        if labels.ndim != 1 or labels.shape[0] != matrix.shape[0] or matrix.shape[0] == 0:
            raise InvalidInput(
                f"SparseMLP: y must have shape ({matrix.shape[0]},) and X at least one row, "
                f"got y of shape {labels.shape}",
                code="invalid_input",
            )
        classes, target = np.unique(labels, return_inverse=True)
        if len(classes) < 2:
            raise InvalidInput("SparseMLP needs at least 2 classes in y", code="too_few_classes")
        n_samples, n_features = matrix.shape
        n_classes, units = len(classes), int(self.hidden_units)
        rng = np.random.default_rng(self.random_state)
        W1 = (rng.standard_normal((n_features, units)) * math.sqrt(2.0 / n_features)).astype(_DTYPE)
        W2 = (rng.standard_normal((units, n_classes)) * math.sqrt(2.0 / units)).astype(_DTYPE)
        params = [W1, np.zeros(units, _DTYPE), W2, np.zeros(n_classes, _DTYPE)]
        first = [np.zeros_like(p) for p in params]  # Adam's m
        second = [np.zeros_like(p) for p in params]  # Adam's v
        batch, step, losses = int(self.batch_size), 0, []
        for epoch in range(int(self.epochs)):
            order = rng.permutation(n_samples)
            shuffled, shuffled_target = matrix[order], target[order]
            total = 0.0
            for start in range(0, n_samples, batch):
                step += 1
                rows = shuffled[start : start + batch]
                total += _train_step(
                    rows,
                    shuffled_target[start : start + batch],
                    params,
                    first,
                    second,
                    step,
                    float(self.learning_rate),
                )
            mean_loss = total / n_samples
            if not math.isfinite(mean_loss):
                raise NotConverged(
                    f"SparseMLP: the training loss became {mean_loss} in epoch {epoch + 1}; "
                    "try a smaller learning_rate",
                    details={"estimator": "SparseMLP", "iteration": epoch + 1, "loss": None},
                )
            losses.append(mean_loss)
        self.W1_, self.b1_, self.W2_, self.b2_ = params
        self.classes_ = classes
        self.n_features_in_ = int(n_features)
        self.loss_curve_ = np.asarray(losses, dtype=np.float64)
        self.n_iter_ = int(self.epochs)
        return self

    # ------------------------------------------------------------------ predict
    def decision_function(self, X: Any) -> np.ndarray:
        """Output-layer logits (before the softmax), in scikit-learn's layout.

        Parameters
        ----------
        X : scipy.sparse matrix or ndarray of shape (n_samples, n_features_in_)

        Returns
        -------
        ndarray of shape (n_samples, n_classes), float64
            With two classes, shape (n_samples,): the logit of ``classes_[1]`` minus
            that of ``classes_[0]`` (scikit-learn's binary convention).

        Raises
        ------
        NotFitted
            Before ``fit``.
        InvalidInput
            ``feature_mismatch``; ``non_finite_input``.
        """
        logits = self._logits(X)
        return logits[:, 1] - logits[:, 0] if logits.shape[1] == 2 else logits

    def _logits(self, X: Any) -> np.ndarray:
        check_fitted(self, "W1_")
        matrix = self._matrix(X)
        if matrix.shape[1] != self.n_features_in_:
            raise InvalidInput(
                f"SparseMLP: X has {matrix.shape[1]} features, the model was fitted "
                f"on {self.n_features_in_}",
                code="feature_mismatch",
            )
        hidden = np.maximum(np.asarray(matrix @ self.W1_) + self.b1_, 0)
        return np.asarray(hidden @ self.W2_ + self.b2_, dtype=np.float64)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Softmax class probabilities, columns in the order of :attr:`classes_`.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Rows sum to 1.
        """
        return _softmax(self._logits(X))

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class per row (labels from :attr:`classes_`)."""
        return np.asarray(self.classes_[np.argmax(self._logits(X), axis=1)])

    # ---------------------------------------------------------------- persistence
    def to_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Arrays and JSON-able metadata (contracts.md, own-estimator persistence).

        Returns
        -------
        arrays : dict of str → ndarray
            Weights, biases and the loss curve.
        meta : dict
            ``params``, ``classes`` (a list), ``n_features_in``, ``n_iter``.

        Raises
        ------
        NotFitted
            Before ``fit``.
        """
        check_fitted(self, "W1_")
        arrays = {name.rstrip("_"): np.asarray(getattr(self, name)) for name in _STATE_ARRAYS}
        meta = {
            "params": self.get_params(deep=False),
            "classes": self.classes_.tolist(),
            "n_features_in": self.n_features_in_,
            "n_iter": self.n_iter_,
        }
        return arrays, meta

    @classmethod
    def from_state(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> SparseMLP:
        """Rebuild a fitted model from :meth:`to_state`'s output.

        Raises
        ------
        KeyError, TypeError
            A missing array or metadata entry (persistence reports a corrupt model).
        """
        model = cls(**meta["params"])
        for name in _STATE_ARRAYS:
            setattr(model, name, np.asarray(arrays[name.rstrip("_")]))
        model.classes_ = np.asarray(meta["classes"])
        model.n_features_in_ = int(meta["n_features_in"])
        model.n_iter_ = int(meta["n_iter"])
        return model

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _matrix(X: Any) -> sp.csr_matrix:
        if sp.issparse(X):
            matrix = sp.csr_matrix(X, dtype=_DTYPE)
        else:
            dense = np.asarray(X)
            if dense.ndim != 2 or not np.issubdtype(dense.dtype, np.number):
                raise InvalidInput(
                    f"SparseMLP: X must be a 2-d numeric matrix, got shape {dense.shape}",
                    code="invalid_input",
                )
            matrix = sp.csr_matrix(dense.astype(_DTYPE))
        if not np.isfinite(matrix.data).all():
            raise InvalidInput("SparseMLP: X has NaN or infinite values", code="non_finite_input")
        matrix.sum_duplicates()
        return matrix

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return np.asarray(exp / exp.sum(axis=1, keepdims=True))


def _train_step(
    rows: sp.csr_matrix,
    target: np.ndarray,
    params: list[np.ndarray],
    first: list[np.ndarray],
    second: list[np.ndarray],
    step: int,
    learning_rate: float,
) -> float:
    """One Adam step on a mini-batch; returns the batch's summed cross-entropy.

    Only the rows of ``W1`` (and of its moments) whose feature occurs in the batch
    are read and written: the batch is re-indexed onto those ``k`` active columns.
    """
    W1, b1, W2, b2 = params
    active, local = np.unique(rows.indices, return_inverse=True)
    compact = sp.csr_matrix(
        (rows.data, local.astype(np.int32), rows.indptr), shape=(rows.shape[0], len(active))
    )
    W1_active = W1[active]
    pre = np.asarray(compact @ W1_active) + b1
    hidden = np.maximum(pre, 0)
    logits = hidden @ W2 + b2
    proba = _softmax(logits)
    n = rows.shape[0]
    picked = proba[np.arange(n), target]
    loss = float(-np.log(np.maximum(picked, 1e-12)).sum())
    d_logits = proba
    d_logits[np.arange(n), target] -= 1
    d_logits /= n
    grad_W2 = hidden.T @ d_logits
    grad_b2 = d_logits.sum(axis=0)
    d_pre = (d_logits @ W2.T) * (pre > 0)
    grad_W1 = np.asarray(compact.T @ d_pre)
    grad_b1 = d_pre.sum(axis=0)
    scale = learning_rate * math.sqrt(1 - _BETA2**step) / (1 - _BETA1**step)
    # lazy Adam on the active rows of W1 (in place, few temporaries: this is the hot loop)
    squared = np.square(grad_W1)
    squared *= 1 - _BETA2
    grad_W1 *= 1 - _BETA1
    m = first[0][active]
    m *= _BETA1
    m += grad_W1
    v = second[0][active]
    v *= _BETA2
    v += squared
    first[0][active] = m
    second[0][active] = v
    np.sqrt(v, out=squared)
    squared += _EPSILON
    np.divide(m, squared, out=squared)
    squared *= scale
    W1_active -= squared
    W1[active] = W1_active
    # exact Adam on the dense parameters
    for k, grad in ((1, grad_b1), (2, grad_W2), (3, grad_b2)):
        first[k] *= _BETA1
        first[k] += (1 - _BETA1) * grad
        second[k] *= _BETA2
        second[k] += (1 - _BETA2) * grad * grad
        params[k] -= (scale * first[k] / (np.sqrt(second[k]) + _EPSILON)).astype(_DTYPE)
    return loss
