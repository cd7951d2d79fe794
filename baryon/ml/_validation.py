"""Shared checks for Baryon's estimators: parameters, fitted state and input arrays.

One error format for every estimator (STYLE.md §3):

* a bad hyper-parameter raises :class:`~baryon.core.errors.InvalidInput` with code
  ``invalid_param``, naming the estimator, the parameter, the value and what was
  expected (``details`` holds the same facts for machines);
* a method that needs a fitted model raises :class:`NotFitted` (code ``not_fitted``);
* training that diverges raises :class:`NotConverged` (code ``not_converged``);
* unusable input arrays raise :class:`~baryon.core.errors.InvalidInput` with a
  specific code (``non_finite_input``, ``feature_mismatch``, ``missing_columns``,
  ``empty_input``, ``non_numeric_input``).

Parameter constraints are declared per estimator class, in the manner of
scikit-learn's ``_parameter_constraints`` (``sklearn/utils/_param_validation.py``),
with four small constraint types: :class:`Interval`, :class:`Options`,
:class:`InstanceOf` and :class:`SequenceOf`. ``None`` in a constraint list means "None is allowed".

Error hierarchy added here::

    ModelNotReady                       (baryon.core.errors, HTTP 503)
    └── NotFitted(+ sklearn NotFittedError)   code "not_fitted"
    BaryonError
    └── NotConverged                    code "not_converged"   HTTP 422
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
from sklearn.exceptions import NotFittedError

from baryon.core.errors import BaryonError, InvalidInput, ModelNotReady

__all__ = [
    "BOOLEAN",
    "RANDOM_STATE",
    "Constraint",
    "InstanceOf",
    "Interval",
    "NotConverged",
    "NotFitted",
    "Options",
    "ParamsValidated",
    "SequenceOf",
    "as_float_matrix",
    "as_float_vector",
    "check_fitted",
    "check_n_features",
    "validate_params",
]


class NotFitted(ModelNotReady, NotFittedError):
    """A method that needs a fitted estimator was called before ``fit``.

    Subclasses both :class:`~baryon.core.errors.ModelNotReady` (so the HTTP layer maps
    it to 503 and ``except BaryonError`` catches it) and scikit-learn's
    :class:`~sklearn.exceptions.NotFittedError` (so scikit-learn tooling recognises it).
    """

    code = "not_fitted"


class NotConverged(BaryonError):
    """Training diverged (the loss grew or became non-finite); no model was kept.

    ``details`` holds ``{"estimator", "iteration", "loss"}``. The usual cure is a
    smaller learning rate.
    """

    code = "not_converged"
    http_status = 422


# --------------------------------------------------------------------------- constraints
@dataclass(frozen=True)
class Interval:
    """A real or integral number within bounds.

    Parameters
    ----------
    kind : {"real", "integral"}
        ``"integral"`` accepts Python and numpy integers; ``"real"`` also accepts
        floats. Booleans are never numbers here.
    left, right : float or None
        Bounds; ``None`` is unbounded on that side.
    closed : {"both", "left", "right", "neither"}
        Which bounds are included.
    """

    kind: Literal["real", "integral"]
    left: float | None
    right: float | None
    closed: Literal["both", "left", "right", "neither"] = "both"

    def is_satisfied_by(self, value: Any) -> bool:
        """Return True when ``value`` is a number of the right kind within bounds."""
        if isinstance(value, bool | np.bool_):
            return False
        wanted = numbers.Integral if self.kind == "integral" else numbers.Real
        if not isinstance(value, wanted):
            return False
        number = float(value)
        if not np.isfinite(number):
            return False
        if self.left is not None:
            if self.closed in ("both", "left"):
                if number < self.left:
                    return False
            elif number <= self.left:
                return False
        if self.right is not None:
            if self.closed in ("both", "right"):
                if number > self.right:
                    return False
            elif number >= self.right:
                return False
        return True

    def __str__(self) -> str:
        lo = "-inf" if self.left is None else f"{self.left:g}"
        hi = "inf" if self.right is None else f"{self.right:g}"
        lb = "[" if self.closed in ("both", "left") and self.left is not None else "("
        rb = "]" if self.closed in ("both", "right") and self.right is not None else ")"
        name = "an integer" if self.kind == "integral" else "a number"
        return f"{name} in {lb}{lo}, {hi}{rb}"


@dataclass(frozen=True)
class Options:
    """One of a fixed set of values (compared with ``==`` and the same type family)."""

    values: tuple[Any, ...]

    def is_satisfied_by(self, value: Any) -> bool:
        """Return True when ``value`` is one of :attr:`values` (``True`` is not ``1``)."""
        for option in self.values:
            if isinstance(option, bool) != isinstance(value, bool | np.bool_):
                continue
            if isinstance(option, str) != isinstance(value, str):
                continue
            if value == option:
                return True
        return False

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


@dataclass(frozen=True)
class InstanceOf:
    """An instance of one of ``types`` (booleans only when ``bool`` is listed)."""

    types: tuple[type, ...]
    description: str

    def is_satisfied_by(self, value: Any) -> bool:
        """Return True when ``value`` is an instance of :attr:`types`."""
        if isinstance(value, bool | np.bool_) and bool not in self.types:
            return False
        return isinstance(value, self.types)

    def __str__(self) -> str:
        return self.description


@dataclass(frozen=True)
class SequenceOf:
    """A non-empty list or tuple whose every element satisfies ``item``."""

    item: Interval | Options | InstanceOf
    description: str

    def is_satisfied_by(self, value: Any) -> bool:
        """Return True for a non-empty list/tuple of values satisfying :attr:`item`."""
        if not isinstance(value, list | tuple) or not value:
            return False
        return all(self.item.is_satisfied_by(v) for v in value)

    def __str__(self) -> str:
        return self.description


#: A parameter constraint; ``None`` in a constraint list allows the value None.
Constraint = Interval | Options | InstanceOf | SequenceOf | None

BOOLEAN: InstanceOf = InstanceOf((bool, np.bool_), "a boolean")
RANDOM_STATE: tuple[Constraint, ...] = (None, Interval("integral", 0, 2**32 - 1))


def _satisfies(value: Any, constraint: Constraint) -> bool:
    if constraint is None:
        return value is None
    return constraint.is_satisfied_by(value)


def validate_params(
    estimator: Any, constraints: Mapping[str, Sequence[Constraint]] | None = None
) -> None:
    """Check every parameter of ``estimator`` against its declared constraints.

    Parameters
    ----------
    estimator : scikit-learn style estimator
        Has ``get_params(deep=False)``.
    constraints : mapping of str to sequence of Constraint, optional
        Parameter name → allowed constraints (any one suffices). Defaults to the
        class attribute ``_param_constraints``. Every parameter must be listed.

    Raises
    ------
    InvalidInput
        Code ``invalid_param``: a value satisfies none of its constraints. The message
        names the estimator, the parameter, the value and what was expected.
    TypeError
        A parameter has no declared constraint (a programming error in Baryon).
    """
    table = constraints if constraints is not None else type(estimator)._param_constraints
    name = type(estimator).__name__
    for param, value in estimator.get_params(deep=False).items():
        if param not in table:
            raise TypeError(f"{name} declares no constraint for parameter {param!r}")
        allowed = table[param]
        if any(_satisfies(value, c) for c in allowed):
            continue
        expected = " or ".join("None" if c is None else str(c) for c in allowed)
        raise InvalidInput(
            f"{name}: parameter {param}={value!r} is invalid; expected {expected}",
            code="invalid_param",
            details={"estimator": name, "param": param, "value": repr(value), "expected": expected},
        )


def check_fitted(estimator: Any, attributes: str | Sequence[str]) -> None:
    """Raise :class:`NotFitted` unless ``estimator`` has every attribute in ``attributes``.

    Parameters
    ----------
    estimator : object
    attributes : str or sequence of str
        Fitted attribute names (ending in ``_``).

    Raises
    ------
    NotFitted
        Code ``not_fitted``; the message says to call ``fit`` first.
    """
    names = [attributes] if isinstance(attributes, str) else list(attributes)
    if not all(hasattr(estimator, a) for a in names):
        raise NotFitted(
            f"this {type(estimator).__name__} is not fitted yet; call fit before using it",
            code="not_fitted",
        )


# --------------------------------------------------------------------------- arrays
def as_float_matrix(X: Any, *, estimator: Any, name: str = "X") -> np.ndarray:
    """Convert ``X`` to a finite float64 array of shape (n_samples, n_features).

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_features)
        Numeric values only.
    estimator : object
        Named in error messages.
    name : str
        How the caller calls ``X`` in messages.

    Returns
    -------
    ndarray of shape (n_samples, n_features), dtype float64

    Raises
    ------
    InvalidInput
        ``empty_input`` (no rows or no columns), ``non_numeric_input`` (a value is not a
        number; the message names the column when ``X`` is a DataFrame),
        ``non_finite_input`` (NaN or infinity; names the column), ``invalid_input``
        (not two-dimensional).
    """
    est = type(estimator).__name__
    columns = list(X.columns) if hasattr(X, "columns") else None
    try:
        arr = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        bad = None
        if columns is not None:
            for col in columns:
                try:
                    np.asarray(X[col], dtype=np.float64)
                except (TypeError, ValueError):
                    bad = col
                    break
        where = f" (column {bad!r})" if bad is not None else ""
        raise InvalidInput(
            f"{est}: {name} must be numeric{where}",
            code="non_numeric_input",
            details={"column": None if bad is None else str(bad)},
        ) from None
    if arr.ndim != 2:
        raise InvalidInput(
            f"{est}: {name} must be 2-dimensional (n_samples, n_features), got shape {arr.shape}",
            code="invalid_input",
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InvalidInput(f"{est}: {name} is empty (shape {arr.shape})", code="empty_input")
    finite = np.isfinite(arr)
    if not finite.all():
        j = int(np.nonzero(~finite.all(axis=0))[0][0])
        col = columns[j] if columns is not None else j
        raise InvalidInput(
            f"{est}: {name} contains NaN or infinity (column {col!r}); "
            "impute or drop missing values first",
            code="non_finite_input",
            details={"column": str(col)},
        )
    return arr


def as_float_vector(y: Any, *, estimator: Any, n_samples: int, name: str = "y") -> np.ndarray:
    """Convert a target to a finite float64 vector of length ``n_samples``.

    Raises
    ------
    InvalidInput
        ``non_numeric_input``, ``non_finite_input`` or ``invalid_input`` (wrong shape
        or length).
    """
    est = type(estimator).__name__
    try:
        arr = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidInput(f"{est}: {name} must be numeric", code="non_numeric_input") from None
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1 or arr.shape[0] != n_samples:
        raise InvalidInput(
            f"{est}: {name} must have shape ({n_samples},), got {arr.shape}",
            code="invalid_input",
        )
    if not np.isfinite(arr).all():
        raise InvalidInput(f"{est}: {name} contains NaN or infinity", code="non_finite_input")
    return arr


def check_n_features(estimator: Any, n_features: int) -> None:
    """Raise ``InvalidInput(code="feature_mismatch")`` unless ``n_features`` matches fit.

    Parameters
    ----------
    estimator : fitted estimator with ``n_features_in_``
    n_features : int
        Columns of the array handed to ``predict``.
    """
    expected = int(estimator.n_features_in_)
    if n_features != expected:
        raise InvalidInput(
            f"{type(estimator).__name__}: X has {n_features} feature(s) but the model "
            f"was fitted with {expected}",
            code="feature_mismatch",
            details={"expected": expected, "got": n_features},
        )


class ParamsValidated:
    """Mixin: ``_param_constraints`` declared per class, checked by :meth:`_check_params`."""

    _param_constraints: ClassVar[dict[str, tuple[Constraint, ...]]] = {}

    def _check_params(self) -> None:
        validate_params(self)
