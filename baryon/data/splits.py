"""Seeded train / validation / test splits.

:func:`assign_split` returns one code per row (0 train, 1 validation, 2 test); the
dataset store saves the codes with a new version (see
:meth:`baryon.data.versions.DatasetStore.split`). Strategies:

``random``
    A seeded permutation; the first ``round(test_size·n)`` rows are test, the next
    ``round(validation_size·n)`` validation.
``stratified``
    The same inside each class of the label column, so every split keeps the class
    proportions (up to rounding per class).
``time``
    Rows ordered by the timestamp column (missing times first): the newest
    ``test_size`` share is test, the share before it validation, the rest train — no
    training row is newer than a test row (ties at a boundary may straddle it).
``per_user``
    The recommender protocol: each user's interactions ordered by time (by file
    order without a timestamp column for ``last_n``, by a seeded shuffle for a
    fraction), then the last ``last_n`` of each user (or the last ``fraction`` share,
    default ``test_size``) are test and the ones before them (``last_n`` more, or a
    ``validation_size`` share) validation. Every user keeps at least one training
    interaction, so users with a single interaction are train only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from baryon.core.errors import InvalidInput

__all__ = [
    "SPLIT_NAMES",
    "STRATEGIES",
    "TEST",
    "TRAIN",
    "VALIDATION",
    "assign_split",
    "split_options",
]

TRAIN, VALIDATION, TEST = 0, 1, 2
SPLIT_NAMES = ("train", "validation", "test")
STRATEGIES = ("random", "stratified", "time", "per_user")
_OPTIONS = {
    "random": set(),
    "stratified": {"label"},
    "time": {"column"},
    "per_user": {"user", "time", "fraction", "last_n"},
}


def _bad(message: str, code: str = "invalid_split") -> InvalidInput:
    return InvalidInput(message, code=code)


def _column_for(
    frame: pd.DataFrame, roles: Mapping[str, str], given: Any, role: str, strategy: str
) -> str:
    if given is not None:
        if given not in frame.columns:
            raise InvalidInput(f"no column {given!r} in the dataset", code="unknown_column")
        return str(given)
    matches = [c for c in frame.columns if roles.get(c) == role]
    if not matches:
        raise _bad(
            f"a {strategy} split needs a column with the role {role!r}: set one with "
            f"--role COLUMN={role} at ingest, the set_role cleaning step, or name it",
            code="missing_role",
        )
    return str(matches[0])


def _round_half_up(x: np.ndarray | float) -> Any:
    return np.floor(np.asarray(x) + 0.5).astype(np.int64)


def _times(series: pd.Series) -> np.ndarray:
    """Sortable int64 times, missing values first."""
    values = pd.to_datetime(series, errors="coerce", utc=True)
    out = values.to_numpy(dtype="datetime64[ns]", na_value=np.datetime64("NaT"))
    ints = out.view(np.int64).copy()
    ints[np.isnat(out)] = np.iinfo(np.int64).min
    return ints


def split_options(
    strategy: str,
    *,
    label: str | None = None,
    time_column: str | None = None,
    user_column: str | None = None,
    fraction: float | None = None,
    last_n: int | None = None,
) -> dict[str, Any]:
    """Turn the user-facing split options (CLI flags, API fields) into ``assign_split``'s.

    ``time_column`` is the ``time`` strategy's ``column`` and the ``per_user``
    strategy's ``time``; options left ``None`` are left out. Whether an option fits
    the strategy is checked by :func:`assign_split` (``invalid_split``).

    Parameters
    ----------
    strategy : str
        ``random``, ``stratified``, ``time`` or ``per_user`` (``per-user`` accepted).
    label, time_column, user_column : str, optional
        Column names.
    fraction : float, optional
        ``per_user``: share of each user's rows held out.
    last_n : int, optional
        ``per_user``: number of each user's last rows held out.

    Returns
    -------
    dict
        Keyword options for :func:`assign_split`.
    """
    kind = strategy.strip().lower().replace("-", "_")
    options: dict[str, Any] = {}
    if label is not None:
        options["label"] = label
    if time_column is not None:
        options["column" if kind == "time" else "time"] = time_column
    if user_column is not None:
        options["user"] = user_column
    if fraction is not None:
        options["fraction"] = fraction
    if last_n is not None:
        options["last_n"] = last_n
    return options


def assign_split(
    frame: pd.DataFrame,
    roles: Mapping[str, str],
    *,
    strategy: str,
    test_size: float = 0.2,
    validation_size: float = 0.1,
    seed: int = 42,
    **options: Any,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Assign every row to train (0), validation (1) or test (2).

    Parameters
    ----------
    frame : pandas.DataFrame
        At least the columns the strategy needs.
    roles : mapping
        ``{column: role}``; decides the default label/timestamp/user columns.
    strategy : str
        ``random``, ``stratified``, ``time`` or ``per_user`` (``per-user`` accepted).
    test_size, validation_size : float
        Shares of rows (per class / per user where applicable); ``test_size`` in
        (0, 1), ``validation_size`` in [0, 1), sum below 1.
    seed : int
        Seed of the random generator (``numpy.random.default_rng``).
    **options
        ``label=`` (stratified), ``column=`` (time), ``user=``, ``time=``,
        ``fraction=``, ``last_n=`` (per_user).

    Returns
    -------
    codes : ndarray of int8, shape (n_rows,)
        0 train, 1 validation, 2 test.
    spec : dict
        ``strategy``, ``seed``, ``test_size``, ``validation_size``, ``options`` (the
        columns actually used) and ``counts`` per split name.

    Raises
    ------
    InvalidInput
        ``invalid_split`` (unknown strategy/option, bad sizes), ``missing_role``,
        ``unknown_column``, ``too_few_rows``.
    """
    strategy = strategy.strip().lower().replace("-", "_")
    if strategy not in STRATEGIES:
        raise _bad(f"unknown split strategy {strategy!r}; use random, stratified, time or per-user")
    options = {k: v for k, v in options.items() if v is not None}
    unknown = set(options) - _OPTIONS[strategy]
    if unknown:
        raise _bad(f"the {strategy} split has no option(s) {', '.join(sorted(unknown))}")
    try:
        test_size, validation_size, seed = float(test_size), float(validation_size), int(seed)
    except (TypeError, ValueError):
        raise _bad("test_size and validation_size must be numbers, seed an integer") from None
    if seed < 0:  # numpy.random.default_rng refuses negative seeds with a bare ValueError
        raise _bad(f"seed must be a non-negative integer, got {seed}")
    if not 0 < test_size < 1 or not 0 <= validation_size < 1 or test_size + validation_size >= 1:
        raise _bad(
            "test_size must be in (0, 1), validation_size in [0, 1), and their sum below 1",
            code="invalid_split_size",
        )
    n = len(frame)
    if n < 2:
        raise _bad("a split needs at least 2 rows", code="too_few_rows")
    rng = np.random.default_rng(seed)
    used: dict[str, Any] = {}
    codes = np.zeros(n, dtype=np.int8)
    if strategy == "random":
        _cut(codes, rng.permutation(n), test_size, validation_size)
    elif strategy == "stratified":
        label = used["label"] = _column_for(frame, roles, options.get("label"), "label", strategy)
        classes = frame[label].astype(object).where(frame[label].notna(), None).map(repr)
        for _, positions in sorted(classes.groupby(classes, sort=False).indices.items()):
            _cut(codes, rng.permutation(positions), test_size, validation_size)
    elif strategy == "time":
        column = used["column"] = _column_for(
            frame, roles, options.get("column"), "timestamp", strategy
        )
        order = np.argsort(_times(frame[column]), kind="stable")
        _cut(codes, order[::-1].copy(), test_size, validation_size)
    else:
        used.update(_per_user(codes, frame, roles, rng, test_size, validation_size, options))
    counts = {name: int((codes == i).sum()) for i, name in enumerate(SPLIT_NAMES)}
    if counts["train"] == 0:
        raise _bad("the split leaves no training rows", code="too_few_rows")
    spec = {
        "strategy": strategy,
        "seed": seed,
        "test_size": test_size,
        "validation_size": validation_size,
        "options": used,
        "counts": counts,
    }
    return codes, spec


def _cut(codes: np.ndarray, order: np.ndarray, test_size: float, validation_size: float) -> None:
    """Mark the first test share of ``order`` as test and the next share as validation."""
    size = len(order)
    n_test = int(_round_half_up(test_size * size))
    n_val = int(_round_half_up(validation_size * size))
    if size >= 2:
        n_test = min(n_test, size - 1)
        n_val = min(n_val, size - 1 - n_test)
    codes[order[:n_test]] = TEST
    codes[order[n_test : n_test + n_val]] = VALIDATION


def _per_user(
    codes: np.ndarray,
    frame: pd.DataFrame,
    roles: Mapping[str, str],
    rng: np.random.Generator,
    test_size: float,
    validation_size: float,
    options: Mapping[str, Any],
) -> dict[str, Any]:
    user = _column_for(frame, roles, options.get("user"), "user", "per_user")
    used: dict[str, Any] = {"user": user}
    time_column = options.get("time")
    if time_column is None:
        time_column = next((c for c in frame.columns if roles.get(c) == "timestamp"), None)
    elif time_column not in frame.columns:
        raise InvalidInput(f"no column {time_column!r} in the dataset", code="unknown_column")
    last_n = options.get("last_n")
    fraction = options.get("fraction")
    if last_n is not None and fraction is not None:
        raise _bad("give either last_n or fraction, not both")
    n = len(frame)
    if time_column is not None:
        times = _times(frame[time_column])
        used["time"] = time_column
    elif last_n is not None:
        times = np.arange(n, dtype=np.int64)  # file order
    else:
        times = rng.permutation(n).astype(np.int64)  # no time: a seeded shuffle
    user_codes = pd.factorize(frame[user].astype(object), use_na_sentinel=False)[0]
    order = np.lexsort((np.arange(n), times, user_codes))
    sorted_users = user_codes[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_users)) + 1]
    sizes = np.diff(np.r_[starts, n])
    size_of_row = np.repeat(sizes, sizes)
    rank = np.arange(n) - np.repeat(starts, sizes)
    from_end = size_of_row - rank - 1
    if last_n is not None:
        try:
            last_n = int(last_n)
        except (TypeError, ValueError):
            raise _bad("last_n must be a positive integer") from None
        if last_n < 1:
            raise _bad("last_n must be a positive integer")
        used["last_n"] = last_n
        n_test = np.minimum(last_n, size_of_row - 1)
        n_val = np.minimum(last_n if validation_size > 0 else 0, size_of_row - 1 - n_test)
    else:
        share = test_size if fraction is None else float(fraction)
        if not 0 < share < 1:
            raise _bad("fraction must be in (0, 1)", code="invalid_split_size")
        used["fraction"] = share
        n_test = np.minimum(_round_half_up(share * size_of_row), size_of_row - 1)
        n_val = np.minimum(_round_half_up(validation_size * size_of_row), size_of_row - 1 - n_test)
    sorted_codes = np.where(
        from_end < n_test, TEST, np.where(from_end < n_test + n_val, VALIDATION, TRAIN)
    ).astype(np.int8)
    codes[order] = sorted_codes
    used["users"] = len(sizes)
    used["users_in_test"] = len(np.unique(sorted_users[sorted_codes == TEST]))
    return used
