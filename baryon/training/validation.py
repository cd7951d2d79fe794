"""Pre-train validation: refuse data no honest model can be trained or tested on.

Each check raises :class:`~baryon.core.errors.ValidationFailed` with a one-line reason
and ``details["check"]`` naming the check; the trainer ends the run
``failed_validation`` with that reason and code. Checks, in order:

========================  ==================================================================
check                     fails when
========================  ==================================================================
``empty_dataset``         the dataset version has 0 rows
``too_few_rows``          it has 1 row, or the training split has fewer than 2 rows, or
                          fewer rows than ``cv_folds``
``no_split``              the dataset version has no train/validation/test split
``empty_split``           the test split has no rows (nothing to measure on)
``no_target``             no target column could be chosen (tabular and text kinds), or
                          the named one does not exist
``missing_role``          no column has a role the kind needs (``text``; ``user``/``item``)
``no_features``           a tabular kind finds no feature column
``all_nan_column``        a feature, text, target or user/item column is missing in every
                          training row
``constant_column``       a feature column holds one value on every training row (or the
                          regression target does)
``non_numeric_target``    a regression target is not numeric
``single_class``          the training rows hold one class only (classification)
``class_too_small``       a class has fewer training rows than ``cv_folds`` (stratified
                          cross-validation needs one member per fold)
``unseen_label``          a label of the test or validation split never occurs in training
``no_relevant_test_items``  no test user has a relevant item (recommenders; rating ≥
                          threshold)
========================  ==================================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from baryon.core.errors import ValidationFailed

__all__ = [
    "CHECKS",
    "check_classes",
    "check_columns",
    "check_interactions",
    "check_rows",
    "check_target",
    "fail",
]

#: Every check name, as stored in ``Run.error_code``.
CHECKS = (
    "empty_dataset",
    "too_few_rows",
    "no_split",
    "empty_split",
    "no_target",
    "missing_role",
    "no_features",
    "all_nan_column",
    "constant_column",
    "non_numeric_target",
    "single_class",
    "class_too_small",
    "unseen_label",
    "no_relevant_test_items",
)


def fail(check: str, message: str, **details: Any) -> ValidationFailed:
    """Return the :class:`ValidationFailed` of ``check`` (for the caller to raise)."""
    return ValidationFailed(message, details={"check": check, **details})


def _preview(values: Sequence[Any], limit: int = 5) -> str:
    shown = ", ".join(repr(v) for v in list(values)[:limit])
    more = len(values) - limit
    return shown + (f" (+{more} more)" if more > 0 else "")


def check_rows(total_rows: int, train_rows: int, test_rows: int, *, cv_folds: int = 0) -> None:
    """Check there are enough rows to train and to test.

    Parameters
    ----------
    total_rows : int
        Rows of the dataset version.
    train_rows, test_rows : int
        Rows of the training and test splits (after dropping rows without a target).
    cv_folds : int
        Cross-validation folds on the training split (0 = none).

    Raises
    ------
    ValidationFailed
        ``empty_dataset``, ``too_few_rows`` or ``empty_split``.
    """
    if total_rows == 0:
        raise fail("empty_dataset", "the dataset has 0 rows")
    if total_rows == 1:
        raise fail("too_few_rows", "the dataset has 1 row; training needs at least 2")
    if train_rows < 2:
        raise fail(
            "too_few_rows",
            f"the training split has {train_rows} usable row(s); training needs at least 2",
            train_rows=train_rows,
        )
    if cv_folds and train_rows < cv_folds:
        raise fail(
            "too_few_rows",
            f"the training split has {train_rows} rows, fewer than cv_folds={cv_folds}",
            train_rows=train_rows,
            cv_folds=cv_folds,
        )
    if test_rows == 0:
        raise fail("empty_split", "the test split has no usable rows: nothing to measure on")


def check_columns(train: pd.DataFrame, columns: Sequence[str], *, constant: bool = True) -> None:
    """Check no column is all-missing (and, if ``constant``, none is constant) in ``train``.

    Parameters
    ----------
    train : pandas.DataFrame
        The training rows.
    columns : sequence of str
        Columns to check (feature columns, or the text/user/item columns).
    constant : bool
        Also refuse columns with a single distinct value.

    Raises
    ------
    ValidationFailed
        ``all_nan_column`` or ``constant_column`` (the column is named).
    """
    for column in columns:
        values = train[column]
        present = values.dropna()
        if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
            present = present[present.astype(str).str.strip() != ""]
        if present.empty:
            raise fail(
                "all_nan_column",
                f"column {column!r} has no value in any training row",
                column=column,
            )
        if constant and present.nunique() <= 1 and len(values) > 1:
            raise fail(
                "constant_column",
                f"column {column!r} has the same value ({present.iloc[0]!r}) in every "
                "training row; drop it or mark it ignore",
                column=column,
            )


def check_target(train: pd.Series, *, task: str) -> None:
    """Check the training target column is usable for ``task``.

    Parameters
    ----------
    train : pandas.Series
        Target values of the training rows (missing values already dropped).
    task : str
        ``classification``, ``text_classification`` or ``regression``.

    Raises
    ------
    ValidationFailed
        ``all_nan_column``, ``non_numeric_target`` or ``constant_column`` (regression).
    """
    name = str(train.name)
    if train.dropna().empty:
        raise fail("all_nan_column", f"target column {name!r} has no value", column=name)
    if task == "regression":
        if not pd.api.types.is_numeric_dtype(train.dtype) or pd.api.types.is_bool_dtype(
            train.dtype
        ):
            raise fail(
                "non_numeric_target",
                f"regression target {name!r} is not numeric ({train.dtype})",
                column=name,
            )
        if train.nunique() <= 1:
            raise fail(
                "constant_column",
                f"target column {name!r} is constant on the training rows",
                column=name,
            )


def check_classes(
    train: pd.Series,
    *,
    evaluation: dict[str, pd.Series] | None = None,
    cv_folds: int = 0,
) -> list[Any]:
    """Check the classes of a classification target.

    Parameters
    ----------
    train : pandas.Series
        Training labels (missing values dropped).
    evaluation : dict of str to pandas.Series, optional
        Labels of the splits measured on (``{"test": ..., "validation": ...}``).
    cv_folds : int
        Stratified cross-validation folds (0 = none).

    Returns
    -------
    list
        The sorted training classes.

    Raises
    ------
    ValidationFailed
        ``single_class``, ``class_too_small`` or ``unseen_label``.
    """
    counts = train.value_counts()
    classes = sorted(counts.index.tolist(), key=str)
    if len(classes) < 2:
        only = classes[0] if classes else None
        raise fail(
            "single_class",
            f"the training rows hold a single class ({only!r}); a classifier needs at least 2",
            classes=[str(c) for c in classes],
        )
    if cv_folds:
        small = counts[counts < cv_folds]
        if not small.empty:
            raise fail(
                "class_too_small",
                f"class {small.index[0]!r} has {int(small.iloc[0])} training row(s), fewer "
                f"than cv_folds={cv_folds}",
                classes={str(k): int(v) for k, v in small.items()},
                cv_folds=cv_folds,
            )
    known = set(classes)
    for split, labels in (evaluation or {}).items():
        unseen = sorted({v for v in labels.dropna().tolist() if v not in known}, key=str)
        if unseen:
            raise fail(
                "unseen_label",
                f"the {split} split has label(s) never seen in training: {_preview(unseen)}",
                split=split,
                labels=[str(v) for v in unseen],
            )
    return classes


def check_interactions(train: pd.DataFrame, test: pd.DataFrame, *, threshold: float | None) -> None:
    """Check recommender interactions (columns ``user``, ``item``, optional ``rating``).

    Parameters
    ----------
    train, test : pandas.DataFrame
        Training and test interactions.
    threshold : float or None
        Relevance threshold on the rating (None: every test interaction is relevant).

    Raises
    ------
    ValidationFailed
        ``all_nan_column`` or ``no_relevant_test_items``.
    """
    check_columns(train, ["user", "item"], constant=False)
    if "rating" in train.columns:
        check_columns(train, ["rating"], constant=False)
    if threshold is not None and "rating" in test.columns:
        relevant = int((pd.to_numeric(test["rating"], errors="coerce") >= threshold).sum())
        if relevant == 0:
            raise fail(
                "no_relevant_test_items",
                f"no test interaction has rating >= {threshold:g}: ranking metrics are undefined",
                threshold=threshold,
            )
