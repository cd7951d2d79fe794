"""Shared machinery of the tabular wrappers around scikit-learn models.

:class:`TabularModel` turns a pandas DataFrame (or a 2-d array) with mixed column types
into a numeric matrix with a scikit-learn :class:`~sklearn.compose.ColumnTransformer`,
then fits one scikit-learn model on it. Subclasses (``linear_regression``,
``decision_tree``, ``gradient_boosting``, ``mlp``) only choose the model and how the
columns are encoded; the scikit-learn estimators do the learning.

Column handling (decided from the dtypes seen in ``fit`` and kept for ``predict``):

========================  ===================================================
column dtype              becomes
========================  ===================================================
int, float                numeric (missing values: see ``_impute_numeric``)
bool                      numeric 0/1
datetime64 (any tz)       numeric, seconds since 1970-01-01 UTC
anything else (str,       categorical: one-hot (at most ``max_categories``
object, category)         per column, rarer ones grouped) or ordinal codes
========================  ===================================================

Task ``"auto"`` is decided from ``y`` by :func:`infer_task`.
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler
from sklearn.utils.metaestimators import available_if

from baryon.core.errors import BaryonError, InvalidInput
from baryon.ml._validation import ParamsValidated, check_fitted

__all__ = ["MAX_AUTO_CLASSES", "TabularModel", "infer_task"]

#: Numeric targets with at most this many distinct integer values are classes.
MAX_AUTO_CLASSES = 20


def infer_task(y: Any) -> str:
    """Decide ``"classification"`` or ``"regression"`` from a target vector.

    Rule: booleans, strings, categories and other non-numeric values are classes;
    numeric targets are classes when every value is an integer and there are at most
    :data:`MAX_AUTO_CLASSES` distinct values, otherwise regression.

    Parameters
    ----------
    y : array-like of shape (n_samples,)

    Returns
    -------
    str
        ``"classification"`` or ``"regression"``.
    """
    series = pd.Series(np.asarray(y, dtype=object) if not hasattr(y, "dtype") else y)
    if pd.api.types.is_bool_dtype(series.dtype):
        return "classification"
    if not pd.api.types.is_numeric_dtype(series.dtype):
        converted = pd.to_numeric(series, errors="coerce")
        if series.notna().sum() == 0 or converted.notna().sum() < series.notna().sum():
            return "classification"
        if any(isinstance(v, str | bool) for v in series.dropna()):
            return "classification"
        series = converted
    values = series.dropna().to_numpy(dtype=np.float64)
    integral = bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))
    if integral and len(np.unique(values)) <= MAX_AUTO_CLASSES:
        return "classification"
    return "regression"


def _is_classifier(self: TabularModel) -> bool:
    return getattr(self, "task_", getattr(self, "task", "regression")) != "regression"


class TabularModel(ParamsValidated, BaseEstimator):  # type: ignore[misc]
    """Base class: mixed-type columns → ColumnTransformer → one scikit-learn model.

    Subclasses define ``__init__`` (keyword-only parameters, stored as is),
    ``_param_constraints`` and :meth:`_make_model`, and may change the class
    attributes below. Fitted attributes common to all subclasses:

    Attributes
    ----------
    task_ : str
        ``"classification"`` or ``"regression"``.
    n_features_in_ : int
    feature_names_in_ : ndarray of str, shape (n_features_in_,)
        Only when ``fit`` got a DataFrame with string column names.
    numeric_columns_, datetime_columns_, categorical_columns_ : list of str
        How each input column was read.
    preprocessor_ : sklearn.compose.ColumnTransformer
    model_ : scikit-learn estimator
    classes_ : ndarray of shape (n_classes,)
        Classification only.
    converged_ : bool
        False when the model stopped at its iteration limit.
    """

    #: "onehot" or "ordinal" encoding of categorical columns.
    _categorical_encoding: ClassVar[str] = "onehot"
    #: Median-impute missing numeric values (models that cannot take NaN).
    _impute_numeric: ClassVar[bool] = True
    #: Standardise numeric columns (models sensitive to scale).
    _scale_numeric: ClassVar[bool] = False
    #: Tasks the subclass supports.
    _tasks: ClassVar[tuple[str, ...]] = ("classification", "regression")

    # ----------------------------------------------------------------- subclass hooks
    def _make_model(self, task: str, *, n_samples: int, n_classes: int) -> Any:
        """Return the unfitted scikit-learn model for ``task``."""
        raise NotImplementedError

    def _fit_model(
        self,
        model: Any,
        Z: np.ndarray,
        y: np.ndarray,
        validation: tuple[np.ndarray, np.ndarray] | None,
    ) -> None:
        """Fit ``model`` on encoded rows; ``validation`` is encoded ``(Z_val, y_val)``."""
        model.fit(Z, y)

    def _after_fit(self, model: Any) -> None:
        """Copy learning curves etc. from the fitted model onto ``self``."""

    def _requested_task(self) -> str:
        return str(getattr(self, "task", self._tasks[0]))

    # --------------------------------------------------------------------- the frame
    def _read(self, X: Any) -> tuple[pd.DataFrame, bool]:
        """Return ``X`` as a DataFrame and whether its column names are meaningful."""
        if isinstance(X, pd.DataFrame):
            return X, all(isinstance(c, str) for c in X.columns)
        arr = np.asarray(X, dtype=object) if not hasattr(X, "dtype") else np.asarray(X)
        if arr.ndim != 2:
            raise InvalidInput(
                f"{type(self).__name__}: X must be 2-dimensional (n_samples, n_features), "
                f"got shape {arr.shape}",
                code="invalid_input",
            )
        return pd.DataFrame(arr).infer_objects(), False

    def _fit_frame(self, X: Any) -> tuple[pd.DataFrame, list[str] | None]:
        """The training frame with string column names, and the user's names if any."""
        frame, named = self._read(X)
        name = type(self).__name__
        if frame.shape[0] == 0 or frame.shape[1] == 0:
            raise InvalidInput(f"{name}: X is empty (shape {frame.shape})", code="empty_input")
        names = [str(c) for c in frame.columns] if named else None
        if names is not None and len(set(names)) != len(names):
            raise InvalidInput(f"{name}: X has duplicate column names", code="invalid_input")
        frame = frame.copy()
        frame.columns = names or [f"x{i}" for i in range(frame.shape[1])]
        return frame, names

    def _predict_frame(self, X: Any) -> pd.DataFrame:
        """The frame to transform: the fit's columns, in the fit's order."""
        check_fitted(self, "model_")
        names = (
            [str(c) for c in self.feature_names_in_] if hasattr(self, "feature_names_in_") else None
        )
        return self._align(X, names, int(self.n_features_in_))

    def _align(self, X: Any, names: list[str] | None, n_features: int) -> pd.DataFrame:
        frame, named = self._read(X)
        est = type(self).__name__
        if named and names is not None:
            missing = [c for c in names if c not in frame.columns]
            if missing:
                raise InvalidInput(
                    f"{est}: X lacks column(s) {', '.join(map(repr, missing))} seen in fit",
                    code="missing_columns",
                    details={"missing": missing},
                )
            return frame[names]
        if frame.shape[1] != n_features:
            raise InvalidInput(
                f"{est}: X has {frame.shape[1]} feature(s) but the model was fitted with "
                f"{n_features}",
                code="feature_mismatch",
                details={"expected": n_features, "got": int(frame.shape[1])},
            )
        frame = frame.copy()
        frame.columns = names or [f"x{i}" for i in range(n_features)]
        return frame

    def _coerce(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Give every column the representation chosen in ``fit`` (numbers or strings)."""
        out: dict[str, Any] = {}
        for col in self.numeric_columns_:
            try:
                out[col] = frame[col].astype(np.float64)
            except (TypeError, ValueError):
                raise InvalidInput(
                    f"{type(self).__name__}: column {col!r} must be numeric",
                    code="non_numeric_input",
                    details={"column": col},
                ) from None
        for col in self.datetime_columns_:
            stamps = pd.to_datetime(frame[col], utc=True, errors="coerce")
            seconds = (stamps - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
            out[col] = seconds.astype(np.float64)
        for col in self.categorical_columns_:
            values = frame[col].astype(object)
            mask = values.notna()
            text = values.map(lambda v: v if isinstance(v, str) else str(v))
            out[col] = text.where(mask, np.nan).astype(object)
        return pd.DataFrame(out, index=frame.index)[
            [*self.numeric_columns_, *self.datetime_columns_, *self.categorical_columns_]
        ]

    def _split_columns(self, frame: pd.DataFrame) -> None:
        numeric, dates, cats = [], [], []
        for col in frame.columns:
            dtype = frame[col].dtype
            if pd.api.types.is_bool_dtype(dtype) or (
                pd.api.types.is_numeric_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype)
            ):
                numeric.append(col)
            elif pd.api.types.is_datetime64_any_dtype(dtype):
                dates.append(col)
            else:
                cats.append(col)
        self.numeric_columns_ = numeric
        self.datetime_columns_ = dates
        self.categorical_columns_ = cats

    def _make_preprocessor(self) -> ColumnTransformer:
        steps: list[tuple[str, Any]] = []
        if self._impute_numeric:
            steps.append(("impute", SimpleImputer(strategy="median", keep_empty_features=True)))
        if self._scale_numeric:
            steps.append(("scale", StandardScaler()))
        numeric: Any = Pipeline(steps) if steps else "passthrough"
        max_categories = int(getattr(self, "max_categories", 32))
        categorical: Any
        if self._categorical_encoding == "ordinal":
            categorical = OrdinalEncoder(
                handle_unknown="use_encoded_value",
                unknown_value=np.nan,
                encoded_missing_value=np.nan,
                max_categories=max_categories,
            )
        else:
            categorical = OneHotEncoder(
                handle_unknown="infrequent_if_exist",
                max_categories=max_categories,
                sparse_output=False,
            )
        return ColumnTransformer(
            [
                ("numeric", numeric, [*self.numeric_columns_, *self.datetime_columns_]),
                ("categorical", categorical, list(self.categorical_columns_)),
            ],
            remainder="drop",
            sparse_threshold=0.0,
            verbose_feature_names_out=False,
        )

    # ----------------------------------------------------------------------- target
    def _target(self, y: Any, n_samples: int, task: str | None = None) -> tuple[np.ndarray, str]:
        name = type(self).__name__
        values = y.to_numpy(dtype=object) if isinstance(y, pd.Series) else np.asarray(y)
        if values.ndim == 2 and values.shape[1] == 1:
            values = values[:, 0]
        if values.ndim != 1 or values.shape[0] != n_samples:
            raise InvalidInput(
                f"{name}: y must have shape ({n_samples},), got {values.shape}",
                code="invalid_input",
            )
        if pd.isna(pd.Series(values, dtype=object)).any():
            raise InvalidInput(f"{name}: y has missing values", code="missing_target")
        if task is None:
            requested = self._requested_task()
            task = infer_task(values) if requested == "auto" else requested
        if task not in self._tasks:
            raise InvalidInput(f"{name} does not support task {task!r}", code="invalid_param")
        if task == "regression":
            try:
                values = values.astype(np.float64)
            except (TypeError, ValueError):
                raise InvalidInput(
                    f"{name}: a regression target must be numeric", code="non_numeric_input"
                ) from None
            if not np.isfinite(values).all():
                raise InvalidInput(f"{name}: y contains infinity", code="non_finite_input")
        else:
            if not (values.dtype == object and all(isinstance(v, str) for v in values)):
                values = np.asarray(pd.Series(values).infer_objects().to_numpy())
            if len(pd.unique(values)) < 2:
                raise InvalidInput(
                    f"{name}: classification needs at least 2 classes in y",
                    code="too_few_classes",
                )
        return values, task

    # ------------------------------------------------------------------------ api
    def fit(self, X: Any, y: Any) -> TabularModel:
        """Fit the preprocessing and the model.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Mixed column types are allowed (see the module docstring).
        y : array-like of shape (n_samples,)
            Class labels or numeric targets.

        Returns
        -------
        self

        Raises
        ------
        InvalidInput
            ``invalid_param``, ``empty_input``, ``missing_target``,
            ``too_few_classes``, ``non_numeric_input``, ``fit_failed`` (scikit-learn
            refused the data).
        """
        return self._fit(X, y)

    def _fit(
        self, X: Any, y: Any, X_val: Any | None = None, y_val: Any | None = None
    ) -> TabularModel:
        self._check_params()
        frame, names = self._fit_frame(X)
        target, task = self._target(y, frame.shape[0])
        self._split_columns(frame)
        try:
            pre = self._make_preprocessor()
            Z = pre.fit_transform(self._coerce(frame))
            n_classes = len(np.unique(target)) if task == "classification" else 0
            model = self._make_model(task, n_samples=frame.shape[0], n_classes=n_classes)
            validation = None
            if X_val is not None:
                val = self._align(X_val, names, frame.shape[1])
                Z_val = pre.transform(self._coerce(val))
                validation = (Z_val, self._target(y_val, Z_val.shape[0], task=task)[0])
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                self._fit_model(model, Z, target, validation)
        except BaryonError:
            raise
        except ValueError as exc:
            raise InvalidInput(f"{type(self).__name__}: {exc}", code="fit_failed") from exc
        for w in caught:
            if not issubclass(w.category, ConvergenceWarning):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        self.task_ = task
        self.n_features_in_ = frame.shape[1]
        if names is not None:
            self.feature_names_in_ = np.asarray(names, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self.preprocessor_ = pre
        self.model_ = model
        self.converged_ = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
        if task == "classification":
            self.classes_ = np.asarray(model.classes_)
        elif hasattr(self, "classes_"):
            del self.classes_
        self._after_fit(model)
        return self

    def _transform(self, X: Any) -> np.ndarray:
        frame = self._predict_frame(X)
        try:
            Z = np.asarray(self.preprocessor_.transform(self._coerce(frame)))
        except BaryonError:
            raise
        except ValueError as exc:
            raise InvalidInput(f"{type(self).__name__}: {exc}", code="invalid_input") from exc
        if Z.dtype.kind == "f" and np.isinf(Z).any():
            # Broke as a bare ValueError in the model ("Input X contains infinity").
            raise InvalidInput(
                f"{type(self).__name__}: X contains infinity", code="non_finite_input"
            )
        return Z

    def predict(self, X: Any) -> np.ndarray:
        """Predict class labels or values.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Same columns as in ``fit`` (a DataFrame may have extra columns).

        Returns
        -------
        ndarray of shape (n_samples,)

        Raises
        ------
        NotFitted
            Before ``fit``.
        InvalidInput
            ``missing_columns``, ``feature_mismatch``, ``non_numeric_input``.
        """
        Z = self._transform(X)
        return np.asarray(self.model_.predict(Z))

    @available_if(_is_classifier)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (classification only).

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns ordered as :attr:`classes_`; rows sum to 1.
        """
        Z = self._transform(X)
        if self.task_ != "classification":
            raise InvalidInput(
                f"{type(self).__name__} was fitted for regression; it has no probabilities",
                code="not_a_classifier",
            )
        return np.asarray(self.model_.predict_proba(Z))

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import ClassifierTags, RegressorTags

        tags = super().__sklearn_tags__()
        task = getattr(self, "task_", self._requested_task())
        if task == "classification":
            tags.estimator_type = "classifier"
            tags.classifier_tags = ClassifierTags()
        elif task == "regression":
            tags.estimator_type = "regressor"
            tags.regressor_tags = RegressorTags()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        return tags
