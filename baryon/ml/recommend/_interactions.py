"""Interaction tables in, sparse matrices and normalised ids out; parameter checks.

Ids are normalised once: integer-like ids stay Python ``int``, anything else becomes
``str``. Users and items are indexed in sorted id order, so a fitted model does not depend
on the row order of its training table. In saved state ids are int64 or unicode arrays
(never object arrays: models are loaded with ``allow_pickle=False``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, SupportsFloat, cast

import numpy as np
import pandas as pd
import scipy.sparse as sp

from baryon.core.errors import IntegrityError, InvalidInput
from baryon.core.ids import canonical_int

__all__ = [
    "Interactions",
    "check_param",
    "id_array",
    "ids_from_state",
    "ids_to_state",
    "lookup_ids",
    "parse_interactions",
]


@dataclass(frozen=True)
class Interactions:
    """A parsed interaction table.

    Attributes
    ----------
    users, items : ndarray of object, shape (n_users,), (n_items,)
        Sorted distinct ids (Python ``int`` or ``str``).
    matrix : scipy.sparse.csr_matrix of shape (n_users, n_items)
        One stored entry per observed (user, item) pair; the value is the rating (the mean
        rating when a pair occurs more than once) or 1.0 when there is no rating column.
    has_rating : bool
        Whether the table had a ``rating`` column.
    """

    users: np.ndarray
    items: np.ndarray
    matrix: sp.csr_matrix
    has_rating: bool


def _normalise(values: Sequence[Any] | np.ndarray | pd.Series, *, name: str) -> np.ndarray:
    """Return ids as an int64 array (all integer-like) or a unicode array (otherwise)."""
    series = pd.Series(values) if not isinstance(values, pd.Series) else values
    if series.isna().any():
        raise InvalidInput(f"column '{name}' has missing ids", code="missing_values")
    if pd.api.types.is_bool_dtype(series.dtype):
        return np.asarray(series.astype(str).to_numpy(), dtype=str)
    if pd.api.types.is_integer_dtype(series.dtype):
        return series.to_numpy(dtype=np.int64)
    if pd.api.types.is_float_dtype(series.dtype):
        floats = series.to_numpy(dtype=np.float64)
        if np.all(np.isfinite(floats)) and np.all(floats == np.round(floats)):
            return floats.astype(np.int64)
        return np.asarray([repr(float(v)) for v in floats], dtype=str)
    objects = series.to_numpy(dtype=object)
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in objects):
        return objects.astype(np.int64)
    return np.asarray([str(v) for v in objects], dtype=str)


def check_param(
    name: str,
    value: Any,
    *,
    minimum: float | None = None,
    strict: bool = False,
    below: float | None = None,
    integer: bool = False,
    allow_none: bool = False,
    choices: Sequence[Any] | None = None,
) -> None:
    """Validate one estimator parameter, with the error code of ``baryon.ml._validation``.

    ``minimum`` is inclusive unless ``strict``; ``below`` is an exclusive upper bound.

    Raises
    ------
    InvalidInput
        ``invalid_param`` (the code of :func:`baryon.ml._validation.validate_params`),
        with ``details={"param": name, "value": repr(value)}``.
    """

    def fail(expected: str) -> InvalidInput:
        return InvalidInput(
            f"parameter {name}={value!r} is invalid: expected {expected}",
            code="invalid_param",
            details={"param": name, "value": repr(value)},
        )

    if value is None:
        if allow_none:
            return
        raise fail("a value, not None")
    if choices is not None:
        # type-exact, so that 1 is not accepted for True
        if not any(type(value) is type(c) and value == c for c in choices):
            raise fail(f"one of {list(choices)}")
        return
    kinds: tuple[type, ...] = (int, np.integer) if integer else (int, float, np.number)
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise fail("an integer" if integer else "a finite number")
    number = float(cast(SupportsFloat, value))
    if not np.isfinite(number):
        raise fail("a finite number")
    if minimum is not None and (number <= minimum if strict else number < minimum):
        raise fail(f"{'>' if strict else '>='} {minimum}")
    if below is not None and number >= below:
        raise fail(f"< {below}")


def id_array(values: np.ndarray) -> np.ndarray:
    """Convert an int64 or unicode id array to an object array of Python ints or strs."""
    out = np.empty(len(values), dtype=object)
    out[:] = values.tolist()
    return out


def ids_to_state(ids: np.ndarray) -> np.ndarray:
    """Return ids as an ``int64`` or unicode array that ``np.load(allow_pickle=False)`` reads."""
    values = ids.tolist()
    if all(isinstance(v, int) for v in values):
        return np.asarray(values, dtype=np.int64)
    return np.asarray([str(v) for v in values], dtype=str)


def ids_from_state(array: np.ndarray) -> np.ndarray:
    """Inverse of :func:`ids_to_state`: an object array of Python ints or strs."""
    if array.dtype.kind not in "iuU":
        raise IntegrityError(
            f"id array has dtype {array.dtype}; expected integers or unicode", code="bad_state"
        )
    return id_array(array)


def parse_interactions(X: Any, *, require_rating: bool) -> Interactions:
    """Validate an interaction table and turn it into a sparse user × item matrix.

    Parameters
    ----------
    X : pandas.DataFrame
        Columns ``user`` and ``item`` (ids), optionally ``rating`` (finite, non-negative
        numbers). Other columns are ignored.
    require_rating : bool
        Whether a ``rating`` column must be present.

    Returns
    -------
    Interactions

    Raises
    ------
    InvalidInput
        ``not_a_dataframe``, ``missing_column``, ``empty``, ``missing_values``,
        ``bad_rating`` (non-numeric, non-finite or negative ratings).
    """
    if not isinstance(X, pd.DataFrame):
        raise InvalidInput(
            "recommenders take a pandas DataFrame with columns user, item[, rating]",
            code="not_a_dataframe",
        )
    needed = ["user", "item"] + (["rating"] if require_rating else [])
    missing = [c for c in needed if c not in X.columns]
    if missing:
        raise InvalidInput(
            f"interaction table lacks column(s) {missing}",
            code="missing_column",
            details={"missing": missing},
        )
    if len(X) == 0:
        raise InvalidInput("interaction table has no rows", code="empty")
    user_raw = _normalise(X["user"], name="user")
    item_raw = _normalise(X["item"], name="item")
    has_rating = "rating" in X.columns
    if has_rating:
        if not pd.api.types.is_numeric_dtype(X["rating"].dtype) or pd.api.types.is_bool_dtype(
            X["rating"].dtype
        ):
            raise InvalidInput("column 'rating' is not numeric", code="bad_rating")
        ratings = X["rating"].to_numpy(dtype=np.float64, na_value=np.nan)
        if not np.all(np.isfinite(ratings)):
            raise InvalidInput("column 'rating' has missing or infinite values", code="bad_rating")
        if np.any(ratings < 0):
            raise InvalidInput("ratings must be non-negative", code="bad_rating")
    else:
        ratings = np.ones(len(X), dtype=np.float64)
    users, u_code = np.unique(user_raw, return_inverse=True)
    items, i_code = np.unique(item_raw, return_inverse=True)
    flat = u_code.astype(np.int64) * len(items) + i_code
    pairs, p_code = np.unique(flat, return_inverse=True)
    sums = np.bincount(p_code, weights=ratings)
    counts = np.bincount(p_code)
    matrix = sp.csr_matrix(
        (sums / counts, (pairs // len(items), pairs % len(items))),
        shape=(len(users), len(items)),
        dtype=np.float64,
    )
    matrix.sort_indices()
    return Interactions(id_array(users), id_array(items), matrix, has_rating)


def lookup_ids(known: np.ndarray, queries: list[Any]) -> np.ndarray:
    """Position of each query id in ``known`` (sorted ids of one kind), -1 when unknown.

    Ids are compared exactly (:mod:`baryon.core.ids`). For integer ids, ``42``, ``42.0``
    (the normalisation training applies to float columns) and ``"42"`` find ``42``, but a
    non-canonical spelling (``"042"``, ``"+42"``, ``"4_2"``, ``" 42"``, ``"٤٢"``) finds
    nothing (:func:`~baryon.core.ids.canonical_int`); for string ids, ``42`` finds ``"42"``
    and a string finds only itself.

    Parameters
    ----------
    known : ndarray of object, shape (n_known,)
    queries : list of ids

    Returns
    -------
    ndarray of int64, shape (len(queries),)
    """
    if len(known) == 0 or not queries:
        return np.full(len(queries), -1, dtype=np.int64)
    as_int = isinstance(known[0], int)
    keys: list[Any] = []
    for q in queries:
        if as_int:
            if isinstance(q, float | np.floating):
                keys.append(int(q) if np.isfinite(q) and float(q).is_integer() else None)
            else:
                keys.append(canonical_int(q.item() if isinstance(q, np.integer) else q))
        else:
            keys.append(None if q is None else str(q))
    pos = pd.Index(known).get_indexer(pd.Index(keys, dtype=object))
    return np.asarray(pos, dtype=np.int64)
