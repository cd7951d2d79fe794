"""Text classifier on a fixed, hashed feature space: kind ``hashed_text_classifier``.

Texts become word n-gram counts hashed into ``n_features`` columns (scikit-learn's
``HashingVectorizer``, the "hashing trick": Weinberger et al., *Feature Hashing for
Large Scale Multitask Learning*, ICML 2009), L2-normalised; a multinomial logistic
regression (softmax) head is fitted by mini-batch gradient descent on the
cross-entropy loss with an L2 penalty:

* model     p(c | x) = softmax(xW + b)_c, W of shape (n_features, n_classes)
* loss      L(W, b) = −1/N Σᵢ log p(yᵢ | xᵢ) + α/2 ‖W‖²
* gradient  ∂L/∂W = 1/N Xᵀ(P − Y) + αW,  ∂L/∂b = 1/N Σᵢ (Pᵢ − Yᵢ)

(Bishop, *Pattern Recognition and Machine Learning*, §4.3.4, eq. 4.109).

The feature space depends on ``n_features`` and ``ngram_range`` only, never on the
data: two organizations that never share a text get parameters of the same shape,
which is what federated learning (:mod:`baryon.federated`) averages.
:func:`softmax_descent` is the one descent loop, used by :meth:`HashedTextClassifier.fit`
and by each federated silo.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import HashingVectorizer

from baryon.core.errors import InvalidInput
from baryon.ml._validation import (
    RANDOM_STATE,
    Constraint,
    Interval,
    ParamsValidated,
    SequenceOf,
    check_fitted,
)
from baryon.ml.text import check_labels, check_texts

__all__ = ["HashedTextClassifier", "hashed_features", "softmax_descent", "softmax_loss"]

_RANGE = SequenceOf(Interval("integral", 1, 4), "(min_n, max_n) with 1 <= min_n <= max_n <= 4")


def hashed_features(texts: list[str], *, n_features: int, ngram_range: tuple[int, int]) -> Any:
    """Hash ``texts`` into L2-normalised word n-gram counts.

    Parameters
    ----------
    texts : list of str
    n_features : int
        Number of hashed columns.
    ngram_range : (int, int)
        Smallest and largest word n-gram.

    Returns
    -------
    scipy.sparse.csr_matrix of shape (n_texts, n_features)
    """
    vectorizer = HashingVectorizer(
        n_features=n_features,
        ngram_range=tuple(ngram_range),
        alternate_sign=False,
        norm="l2",
        lowercase=True,
        dtype=np.float64,
    )
    return vectorizer.transform(texts)


def _softmax(Z: np.ndarray) -> np.ndarray:
    Z = Z - Z.max(axis=1, keepdims=True)
    E = np.exp(Z)
    return np.asarray(E / E.sum(axis=1, keepdims=True))


def softmax_loss(X: Any, y: np.ndarray, W: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of the softmax head on ``(X, y)``.

    Parameters
    ----------
    X : sparse or dense matrix of shape (n_samples, n_features)
    y : ndarray of int of shape (n_samples,)
        Class indices.
    W : ndarray of shape (n_features, n_classes)
    b : ndarray of shape (n_classes,)

    Returns
    -------
    (loss, accuracy) : (float, float)
        Mean −log p(yᵢ | xᵢ) (nats) and the share of rows whose most probable class is yᵢ.
    """
    P = _softmax(np.asarray(X @ W) + b)
    rows = np.arange(len(y))
    loss = float(-np.mean(np.log(np.clip(P[rows, y], 1e-12, None))))
    return loss, float(np.mean(P.argmax(axis=1) == y))


def softmax_descent(
    X: Any,
    y: np.ndarray,
    W: np.ndarray,
    b: np.ndarray,
    *,
    epochs: int,
    learning_rate: float,
    batch_size: int,
    alpha: float,
    rng: np.random.Generator,
    anchor: tuple[np.ndarray, np.ndarray] | None = None,
    proximal_mu: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Mini-batch gradient descent on the softmax head, from ``(W, b)``.

    With ``proximal_mu > 0`` the FedProx proximal term μ/2 ‖w − w_anchor‖² is added to
    the loss (Li et al., *Federated Optimization in Heterogeneous Networks*, MLSys
    2020, eq. 2), pulling the local model towards the global one.

    Parameters
    ----------
    X : sparse or dense matrix of shape (n_samples, n_features)
    y : ndarray of int of shape (n_samples,)
        Class indices in ``[0, n_classes)``.
    W : ndarray of shape (n_features, n_classes)
    b : ndarray of shape (n_classes,)
        Starting parameters (not modified).
    epochs : int
        Passes over the rows (rows shuffled each pass).
    learning_rate : float
        Step size.
    batch_size : int
        Rows per step.
    alpha : float
        L2 penalty on W.
    rng : numpy.random.Generator
        Shuffle source.
    anchor : (ndarray, ndarray), optional
        The global ``(W, b)`` of the proximal term.
    proximal_mu : float
        μ of the proximal term (0: plain descent).

    Returns
    -------
    (W, b) : the fitted parameters (new arrays).
    """
    W = np.array(W, dtype=np.float64)
    b = np.array(b, dtype=np.float64)
    n = X.shape[0]
    n_classes = W.shape[1]
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            Xb = X[idx]
            P = _softmax(np.asarray(Xb @ W) + b)
            P[np.arange(len(idx)), y[idx]] -= 1.0
            grad_W = np.asarray(Xb.T @ P) / len(idx)
            if alpha > 0:
                grad_W += alpha * W
            grad_b = P.mean(axis=0)
            if proximal_mu > 0 and anchor is not None:
                grad_W += proximal_mu * (W - anchor[0])
                grad_b += proximal_mu * (b - anchor[1])
            W -= learning_rate * grad_W
            b -= learning_rate * grad_b
    if n_classes and not np.all(np.isfinite(W)):
        raise InvalidInput(
            "HashedTextClassifier: gradient descent diverged; lower learning_rate",
            code="not_converged",
        )
    return W, b


class HashedTextClassifier(ParamsValidated, ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Hashed word n-grams → softmax regression fitted by mini-batch gradient descent.

    Parameters
    ----------
    n_features : int, default=8192
        Hashed columns (2⁴ to 2²⁰). More columns, fewer collisions, bigger model
        (``n_features × n_classes`` float64 weights).
    ngram_range : (int, int), default=(1, 2)
        Smallest and largest word n-gram.
    learning_rate : float, default=8.0
        Step size (> 0; the rows are L2-normalised, so large steps are stable).
    epochs : int, default=15
        Passes over the training rows (≥ 1).
    batch_size : int, default=128
        Rows per step (≥ 1).
    alpha : float, default=0.0
        L2 penalty on the weights (≥ 0).
    random_state : int or None, default=None
        Seed of the per-epoch shuffle.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (n_features, n_classes)
    intercept_ : ndarray of shape (n_classes,)
    """

    _param_constraints: ClassVar[dict[str, tuple[Constraint, ...]]] = {
        "n_features": (Interval("integral", 16, 2**20),),
        "ngram_range": (_RANGE,),
        "learning_rate": (Interval("real", 0, None, closed="neither"),),
        "epochs": (Interval("integral", 1, None),),
        "batch_size": (Interval("integral", 1, None),),
        "alpha": (Interval("real", 0, None),),
        "random_state": RANDOM_STATE,
    }

    def __init__(
        self,
        *,
        n_features: int = 2**13,
        ngram_range: tuple[int, int] = (1, 2),
        learning_rate: float = 8.0,
        epochs: int = 15,
        batch_size: int = 128,
        alpha: float = 0.0,
        random_state: int | None = None,
    ) -> None:
        self.n_features = n_features
        self.ngram_range = ngram_range
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.alpha = alpha
        self.random_state = random_state

    def transform(self, X: Any) -> Any:
        """Hash texts into this model's feature space.

        Returns
        -------
        scipy.sparse.csr_matrix of shape (n_texts, n_features)

        Raises
        ------
        InvalidInput
            ``X`` is not a sequence of str.
        """
        texts = check_texts(X, "HashedTextClassifier", None)
        return hashed_features(
            texts,
            n_features=int(self.n_features),
            ngram_range=(int(self.ngram_range[0]), int(self.ngram_range[1])),
        )

    def fit(self, X: Any, y: Any) -> HashedTextClassifier:
        """Fit the softmax head on texts ``X`` and labels ``y``.

        Raises
        ------
        InvalidInput
            Bad parameters or inputs, fewer than two classes, divergence.
        """
        self._check_params()
        features = self.transform(X)
        labels = check_labels(y, features.shape[0], "HashedTextClassifier")
        classes, codes = np.unique(labels, return_inverse=True)
        if len(classes) < 2:
            raise InvalidInput(
                "HashedTextClassifier: y needs at least two classes", code="single_class"
            )
        W = np.zeros((int(self.n_features), len(classes)))
        b = np.zeros(len(classes))
        self.coef_, self.intercept_ = softmax_descent(
            features,
            codes,
            W,
            b,
            epochs=int(self.epochs),
            learning_rate=float(self.learning_rate),
            batch_size=int(self.batch_size),
            alpha=float(self.alpha),
            rng=np.random.default_rng(self.random_state),
        )
        self.classes_ = classes
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, ndarray of shape (n_texts, n_classes), columns in ``classes_``."""
        check_fitted(self, "coef_")
        return _softmax(np.asarray(self.transform(X) @ self.coef_) + self.intercept_)

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class per text, ndarray of shape (n_texts,)."""
        return np.asarray(self.classes_[self.predict_proba(X).argmax(axis=1)])

    # ---------------------------------------------------------------- persistence
    def to_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Return the fitted model as arrays (``coef``, ``intercept``, ``classes``) and meta.

        Raises
        ------
        NotFitted
            Before ``fit``.
        """
        check_fitted(self, "coef_")
        classes = np.asarray(self.classes_)
        arrays = {
            "coef": np.asarray(self.coef_, dtype=np.float64),
            "intercept": np.asarray(self.intercept_, dtype=np.float64),
            "classes": classes.astype(str) if classes.dtype == object else classes,
        }
        params = self.get_params(deep=False)
        params["ngram_range"] = list(params["ngram_range"])
        return arrays, {"params": params}

    @classmethod
    def from_state(
        cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]
    ) -> HashedTextClassifier:
        """Rebuild a model written by :meth:`to_state` (or by a federated run).

        Raises
        ------
        KeyError, ValueError
            Incomplete or inconsistent state.
        """
        params = dict(meta["params"])
        params["ngram_range"] = tuple(params["ngram_range"])
        model = cls(**params)
        model.coef_ = np.asarray(arrays["coef"], dtype=np.float64)
        model.intercept_ = np.asarray(arrays["intercept"], dtype=np.float64)
        classes = np.asarray(arrays["classes"])
        model.classes_ = classes.astype(object) if classes.dtype.kind == "U" else classes
        if model.coef_.shape != (int(model.n_features), len(model.classes_)):
            raise ValueError("coef does not match n_features and classes")
        if model.intercept_.shape != (len(model.classes_),):
            raise ValueError("intercept does not match classes")
        return model
