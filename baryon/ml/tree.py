"""Tree models: kinds ``decision_tree`` and ``gradient_boosting``.

Thin wrappers around scikit-learn (Breiman et al., *Classification and Regression
Trees*, 1984, for CART; Friedman, "Greedy function approximation: a gradient boosting
machine", Ann. Statist. 29(5), 2001, and Ke et al., "LightGBM", NeurIPS 2017, for the
histogram-based boosting scikit-learn implements). They add mixed-type DataFrame input
(:mod:`baryon.ml._tabular`) and ``task="auto"``; the learning is scikit-learn's.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from baryon.core.errors import InvalidInput
from baryon.ml._tabular import TabularModel
from baryon.ml._validation import RANDOM_STATE, Constraint, Interval, Options

__all__ = ["DecisionTree", "GradientBoosting"]

_TASK: tuple[Constraint, ...] = (Options(("auto", "classification", "regression")),)
_CLASS_WEIGHT: tuple[Constraint, ...] = (None, Options(("balanced",)))


class DecisionTree(TabularModel):
    """A single CART decision tree (scikit-learn's ``DecisionTree{Classifier,Regressor}``).

    Missing numeric values are handled natively by the tree; categorical columns
    are one-hot encoded.

    Parameters
    ----------
    task : {"auto", "classification", "regression"}, default="auto"
        ``"auto"`` decides from ``y`` in ``fit`` (see :func:`baryon.ml._tabular.infer_task`).
    max_depth : int or None, default=None
        Deepest level (None: grow until leaves are pure or too small).
    min_samples_split : int, default=2
        Fewest rows a node needs to be split (≥ 2).
    min_samples_leaf : int, default=1
        Fewest rows per leaf (≥ 1).
    max_features : int, float, {"sqrt", "log2"} or None, default=None
        Features tried per split (None: all).
    ccp_alpha : float, default=0.0
        Cost-complexity pruning strength (≥ 0).
    class_weight : {"balanced"} or None, default=None
        Classification only: weight classes inversely to their frequency.
    max_categories : int, default=32
        Most one-hot columns per categorical column (≥ 2).
    random_state : int or None, default=None
        Seed of the feature permutation at each split.

    Attributes
    ----------
    task_, classes_, n_features_in_, feature_names_in_, model_, preprocessor_
        See :class:`baryon.ml._tabular.TabularModel`.
    feature_importances_ : ndarray of shape (n_encoded_features,)
        Impurity-based importances of the encoded columns (``feature_names_out_``).
    feature_names_out_ : ndarray of str
    """

    _impute_numeric: ClassVar[bool] = False
    _param_constraints: ClassVar[dict[str, tuple[Constraint, ...]]] = {
        "task": _TASK,
        "max_depth": (None, Interval("integral", 1, None)),
        "min_samples_split": (Interval("integral", 2, None),),
        "min_samples_leaf": (Interval("integral", 1, None),),
        "max_features": (
            None,
            Interval("integral", 1, None),
            Interval("real", 0, 1, closed="right"),
            Options(("sqrt", "log2")),
        ),
        "ccp_alpha": (Interval("real", 0, None),),
        "class_weight": _CLASS_WEIGHT,
        "max_categories": (Interval("integral", 2, None),),
        "random_state": RANDOM_STATE,
    }

    def __init__(
        self,
        *,
        task: str = "auto",
        max_depth: int | None = None,
        min_samples_split: int = 2,
        min_samples_leaf: int = 1,
        max_features: int | float | str | None = None,
        ccp_alpha: float = 0.0,
        class_weight: str | None = None,
        max_categories: int = 32,
        random_state: int | None = None,
    ) -> None:
        self.task = task
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.ccp_alpha = ccp_alpha
        self.class_weight = class_weight
        self.max_categories = max_categories
        self.random_state = random_state

    def _make_model(self, task: str, *, n_samples: int, n_classes: int) -> Any:
        common: dict[str, Any] = {
            "max_depth": self.max_depth,
            "min_samples_split": self.min_samples_split,
            "min_samples_leaf": self.min_samples_leaf,
            "max_features": self.max_features,
            "ccp_alpha": self.ccp_alpha,
            "random_state": self.random_state,
        }
        if task == "classification":
            return DecisionTreeClassifier(class_weight=self.class_weight, **common)
        if self.class_weight is not None:
            raise InvalidInput(
                "DecisionTree: class_weight applies to classification only",
                code="invalid_param",
                details={"param": "class_weight"},
            )
        return DecisionTreeRegressor(**common)

    def _after_fit(self, model: Any) -> None:
        self.feature_importances_ = np.asarray(model.feature_importances_)
        self.feature_names_out_ = np.asarray(
            self.preprocessor_.get_feature_names_out(), dtype=object
        )


class GradientBoosting(TabularModel):
    """Histogram gradient-boosted trees (scikit-learn's ``HistGradientBoosting*``).

    Missing values are handled natively; categorical columns are ordinal-encoded and
    split on natively as categories (at most ``max_categories`` per column, rarer
    values grouped, unseen values treated as missing).

    Parameters
    ----------
    task : {"auto", "classification", "regression"}, default="auto"
    learning_rate : float, default=0.1
        Shrinkage of each tree's contribution, in (0, 1].
    max_iter : int, default=100
        Boosting iterations (trees per class), ≥ 1.
    max_leaf_nodes : int or None, default=31
        Leaves per tree (≥ 2; None: unlimited).
    max_depth : int or None, default=None
    min_samples_leaf : int, default=20
    l2_regularization : float, default=0.0
        L2 penalty on leaf values (≥ 0).
    early_stopping : {"auto"} or bool, default="auto"
        ``"auto"``: on when there are more than 10,000 rows or when validation data
        is passed to ``fit``. Stops when the validation loss has not improved for
        ``n_iter_no_change`` iterations.
    validation_fraction : float, default=0.1
        Share of training rows held out for early stopping when no validation data
        is passed, in (0, 1).
    n_iter_no_change : int, default=10
    class_weight : {"balanced"} or None, default=None
    max_categories : int, default=255
        Most categories per categorical column, in [2, 255].
    random_state : int or None, default=None

    Attributes
    ----------
    task_, classes_, n_features_in_, feature_names_in_, model_, preprocessor_
        See :class:`baryon.ml._tabular.TabularModel`.
    n_iter_ : int
        Boosting iterations actually run.
    train_score_, validation_score_ : ndarray
        Per-iteration scores (negative loss) when early stopping is on.
    """

    _impute_numeric: ClassVar[bool] = False
    _categorical_encoding: ClassVar[str] = "ordinal"
    _param_constraints: ClassVar[dict[str, tuple[Constraint, ...]]] = {
        "task": _TASK,
        "learning_rate": (Interval("real", 0, 1, closed="right"),),
        "max_iter": (Interval("integral", 1, None),),
        "max_leaf_nodes": (None, Interval("integral", 2, None)),
        "max_depth": (None, Interval("integral", 1, None)),
        "min_samples_leaf": (Interval("integral", 1, None),),
        "l2_regularization": (Interval("real", 0, None),),
        "early_stopping": (Options(("auto", True, False)),),
        "validation_fraction": (Interval("real", 0, 1, closed="neither"),),
        "n_iter_no_change": (Interval("integral", 1, None),),
        "class_weight": _CLASS_WEIGHT,
        "max_categories": (Interval("integral", 2, 255),),
        "random_state": RANDOM_STATE,
    }

    def __init__(
        self,
        *,
        task: str = "auto",
        learning_rate: float = 0.1,
        max_iter: int = 100,
        max_leaf_nodes: int | None = 31,
        max_depth: int | None = None,
        min_samples_leaf: int = 20,
        l2_regularization: float = 0.0,
        early_stopping: str | bool = "auto",
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 10,
        class_weight: str | None = None,
        max_categories: int = 255,
        random_state: int | None = None,
    ) -> None:
        self.task = task
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.max_leaf_nodes = max_leaf_nodes
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.class_weight = class_weight
        self.max_categories = max_categories
        self.random_state = random_state

    def fit(
        self, X: Any, y: Any, *, X_val: Any | None = None, y_val: Any | None = None
    ) -> GradientBoosting:
        """Fit on ``(X, y)``; with ``X_val``/``y_val``, stop early on that validation set.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        X_val : DataFrame or array-like of shape (n_val, n_features), optional
            Validation rows (e.g. the dataset's validation split) for early
            stopping; ignored when ``early_stopping=False``.
        y_val : array-like of shape (n_val,), optional

        Returns
        -------
        self

        Raises
        ------
        InvalidInput
            See :meth:`baryon.ml._tabular.TabularModel.fit`; ``invalid_input`` when
            only one of ``X_val``/``y_val`` is given.
        """
        if (X_val is None) != (y_val is None):
            raise InvalidInput(
                "GradientBoosting: pass both X_val and y_val, or neither", code="invalid_input"
            )
        if self.early_stopping is False:
            X_val = y_val = None
        self._fit(X, y, X_val, y_val)
        return self

    def _fit_model(
        self,
        model: Any,
        Z: np.ndarray,
        y: np.ndarray,
        validation: tuple[np.ndarray, np.ndarray] | None,
    ) -> None:
        if validation is None:
            model.fit(Z, y)
            return
        # scikit-learn documents "auto" as on when validation data is passed, but
        # (1.9) decides from the row count alone: be explicit.
        model.set_params(early_stopping=True)
        model.fit(Z, y, X_val=validation[0], y_val=validation[1])

    def _make_model(self, task: str, *, n_samples: int, n_classes: int) -> Any:
        n_numeric = len(self.numeric_columns_) + len(self.datetime_columns_)
        mask = np.zeros(n_numeric + len(self.categorical_columns_), dtype=bool)
        mask[n_numeric:] = True
        common: dict[str, Any] = {
            "learning_rate": self.learning_rate,
            "max_iter": self.max_iter,
            "max_leaf_nodes": self.max_leaf_nodes,
            "max_depth": self.max_depth,
            "min_samples_leaf": self.min_samples_leaf,
            "l2_regularization": self.l2_regularization,
            "early_stopping": self.early_stopping,
            "validation_fraction": self.validation_fraction,
            "n_iter_no_change": self.n_iter_no_change,
            "categorical_features": mask if mask.any() else None,
            "random_state": self.random_state,
        }
        if task == "classification":
            return HistGradientBoostingClassifier(class_weight=self.class_weight, **common)
        if self.class_weight is not None:
            raise InvalidInput(
                "GradientBoosting: class_weight applies to classification only",
                code="invalid_param",
                details={"param": "class_weight"},
            )
        return HistGradientBoostingRegressor(**common)

    def _after_fit(self, model: Any) -> None:
        self.n_iter_ = int(model.n_iter_)
        for name in ("train_score_", "validation_score_"):
            if hasattr(self, name):
                delattr(self, name)
            scores = getattr(model, name, None)
            if scores is not None and len(scores):
                setattr(self, name, np.asarray(scores, dtype=np.float64))
