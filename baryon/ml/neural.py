"""Feed-forward neural network: kind ``mlp``.

A thin wrapper around scikit-learn's multi-layer perceptron (``MLPClassifier`` /
``MLPRegressor``; Rumelhart, Hinton & Williams, "Learning representations by
back-propagating errors", Nature 323, 1986; trained with Adam, Kingma & Ba, ICLR 2015).
The default shape is one dense hidden layer of 64 ReLU units. Numeric inputs are
median-imputed and standardised, categorical ones one-hot encoded
(:mod:`baryon.ml._tabular`); regression targets are standardised for training and
mapped back for prediction.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler

from baryon.ml._tabular import TabularModel
from baryon.ml._validation import (
    RANDOM_STATE,
    Constraint,
    Interval,
    Options,
    SequenceOf,
)

__all__ = ["MLP"]

#: ``early_stopping="auto"`` turns early stopping on from this many training rows.
EARLY_STOPPING_MIN_ROWS = 500


class MLP(TabularModel):
    """Multi-layer perceptron for classification or regression.

    Parameters
    ----------
    task : {"auto", "classification", "regression"}, default="auto"
    hidden_layer_sizes : sequence of int, default=(64,)
        Units per hidden layer.
    activation : {"relu", "tanh", "logistic", "identity"}, default="relu"
    alpha : float, default=1e-4
        L2 penalty (≥ 0).
    learning_rate_init : float, default=1e-3
        Adam's initial step size (> 0).
    batch_size : int or "auto", default="auto"
        Mini-batch size (``"auto"``: min(200, n_samples)).
    max_iter : int, default=200
        Epochs at most (≥ 1). Reaching it sets ``converged_ = False`` (no warning).
    early_stopping : {"auto"} or bool, default="auto"
        Hold out ``validation_fraction`` of the training rows and stop when their
        score has not improved for ``n_iter_no_change`` epochs. ``"auto"``: on when
        there are at least 500 rows (and, for classification, the held-out part can
        hold every class).
    validation_fraction : float, default=0.1
        In (0, 1).
    n_iter_no_change : int, default=10
    max_categories : int, default=32
        Most one-hot columns per categorical column (≥ 2).
    random_state : int or None, default=None
        Seed of weight initialisation, shuffling and the early-stopping hold-out.

    Attributes
    ----------
    task_, classes_, n_features_in_, feature_names_in_, model_, preprocessor_
        See :class:`baryon.ml._tabular.TabularModel`.
    n_iter_ : int
        Epochs run.
    loss_curve_ : ndarray of shape (n_iter_,)
        Training loss per epoch (on standardised targets for regression).
    validation_scores_ : ndarray of shape (n_iter_,)
        Held-out score per epoch (accuracy, or R² for regression), with early stopping.
    converged_ : bool
    """

    _scale_numeric: ClassVar[bool] = True
    _param_constraints: ClassVar[dict[str, tuple[Constraint, ...]]] = {
        "task": (Options(("auto", "classification", "regression")),),
        "hidden_layer_sizes": (
            SequenceOf(Interval("integral", 1, None), "a non-empty list of positive integers"),
        ),
        "activation": (Options(("relu", "tanh", "logistic", "identity")),),
        "alpha": (Interval("real", 0, None),),
        "learning_rate_init": (Interval("real", 0, None, closed="neither"),),
        "batch_size": (Options(("auto",)), Interval("integral", 1, None)),
        "max_iter": (Interval("integral", 1, None),),
        "early_stopping": (Options(("auto", True, False)),),
        "validation_fraction": (Interval("real", 0, 1, closed="neither"),),
        "n_iter_no_change": (Interval("integral", 1, None),),
        "max_categories": (Interval("integral", 2, None),),
        "random_state": RANDOM_STATE,
    }

    def __init__(
        self,
        *,
        task: str = "auto",
        hidden_layer_sizes: tuple[int, ...] | list[int] = (64,),
        activation: str = "relu",
        alpha: float = 1e-4,
        learning_rate_init: float = 1e-3,
        batch_size: int | str = "auto",
        max_iter: int = 200,
        early_stopping: str | bool = "auto",
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 10,
        max_categories: int = 32,
        random_state: int | None = None,
    ) -> None:
        self.task = task
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.alpha = alpha
        self.learning_rate_init = learning_rate_init
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.max_categories = max_categories
        self.random_state = random_state

    def _early_stopping(self, task: str, n_samples: int, n_classes: int) -> bool:
        if self.early_stopping != "auto":
            return bool(self.early_stopping)
        held_out = math.ceil(self.validation_fraction * n_samples)
        return n_samples >= EARLY_STOPPING_MIN_ROWS and (
            task == "regression" or held_out >= 2 * n_classes
        )

    def _make_model(self, task: str, *, n_samples: int, n_classes: int) -> Any:
        kwargs: dict[str, Any] = {
            "hidden_layer_sizes": tuple(int(h) for h in self.hidden_layer_sizes),
            "activation": self.activation,
            "alpha": self.alpha,
            "learning_rate_init": self.learning_rate_init,
            "batch_size": self.batch_size,
            "max_iter": self.max_iter,
            "early_stopping": self._early_stopping(task, n_samples, n_classes),
            "validation_fraction": self.validation_fraction,
            "n_iter_no_change": self.n_iter_no_change,
            "random_state": self.random_state,
        }
        if task == "classification":
            return MLPClassifier(**kwargs)
        return TransformedTargetRegressor(
            regressor=MLPRegressor(**kwargs), transformer=StandardScaler()
        )

    def _after_fit(self, model: Any) -> None:
        net = model.regressor_ if isinstance(model, TransformedTargetRegressor) else model
        self.n_iter_ = int(net.n_iter_)
        self.loss_curve_ = np.asarray(net.loss_curve_, dtype=np.float64)
        self.__dict__.pop("validation_scores_", None)
        scores = getattr(net, "validation_scores_", None)
        if scores is not None:
            self.validation_scores_ = np.asarray(scores, dtype=np.float64)
