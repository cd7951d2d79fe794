"""Declarative cleaning steps: each a pure function, each recorded in lineage.

A step takes a DataFrame and the column roles and returns a new DataFrame, new roles
and a small report of what it did; it never changes its inputs. Steps are written
``STEP[:ARGS]`` on the command line (``--step missing:age=median``), as dicts in
Python (``{"step": "missing", "age": "median"}``) or in a YAML recipe::

    steps:
      - drop_duplicates
      - trim
      - step: missing
        age: median
        city: fill=unknown
      - step: mask_pii
        columns: [text]

``ARGS`` is a comma-separated list of ``key=value``; a bare value is a column name
(several columns: ``text+title``). Parsing and the registry of step names live in
:mod:`baryon.data.recipes`. The steps:

=====================  ==================================================================
``drop_duplicates``    drop rows equal to an earlier row (``columns=`` compares a subset)
``dedupe``             one row per ``key=`` (``keep=first|last|mean``; mean averages the
                       rating columns, or ``mean_of=``, and keeps the first of the rest)
``normalize_unicode``  NFC (``form=NFKC``), lone surrogates and non-characters → U+FFFD
``trim``               strip leading/trailing whitespace
``drop_empty_text``    drop rows whose text is missing or blank
``strip_urls``         remove ``http(s)://`` and ``www.`` links from text
``strip_html``         remove tags and decode entities (``&amp;`` → ``&``)
``missing``            per column ``drop``, ``fill=VALUE``, ``median``, ``mean``, ``mode``
                       or ``flag`` (adds ``<col>_missing``)
``coerce_numeric``     text → numbers; failures become missing and are reported
                       (``decimal=comma`` for ``1,5``)
``flag_outliers``      adds ``<col>_outlier`` for values outside
                       [Q1 − k·IQR, Q3 + k·IQR] (Tukey 1977; ``k=1.5``)
``mask_pii``           e-mail, phone, card (Luhn), IBAN → ``[EMAIL]`` ... (``kinds=``)
``drop_columns``       remove columns
``set_role``           ``col=role`` pairs
=====================  ==================================================================

Text steps default to the columns whose role is ``text``; ``trim``,
``normalize_unicode`` and ``mask_pii`` to every text-typed column.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from baryon.core.errors import InvalidInput
from baryon.data.pii import PII_KINDS, mask_series

__all__ = [
    "StepResult",
    "coerce_numeric",
    "dedupe",
    "drop_columns",
    "drop_duplicates",
    "drop_empty_text",
    "flag_outliers",
    "handle_missing",
    "mask_pii",
    "normalize_unicode",
    "set_role",
    "strip_html",
    "strip_urls",
    "trim",
]


@dataclass(frozen=True)
class StepResult:
    """What a step returns: the new frame, the new roles and a report dict."""

    frame: pd.DataFrame
    roles: dict[str, str]
    report: dict[str, Any] = field(default_factory=dict)


def _bad_args(message: str) -> InvalidInput:
    return InvalidInput(message, code="invalid_step_args")


def _check_columns(frame: pd.DataFrame, columns: Sequence[str], step: str) -> None:
    unknown = [c for c in columns if c not in frame.columns]
    if unknown:
        raise InvalidInput(
            f"step {step!r}: unknown column(s) {', '.join(map(repr, unknown))}",
            code="unknown_column",
            details={"columns": unknown},
        )


def _is_text(series: pd.Series) -> bool:
    dtype = series.dtype
    if isinstance(dtype, pd.ArrowDtype):
        import pyarrow as pa

        return bool(
            pa.types.is_string(dtype.pyarrow_dtype) or pa.types.is_large_string(dtype.pyarrow_dtype)
        )
    return bool(pd.api.types.is_string_dtype(dtype))


def _text_columns(
    frame: pd.DataFrame,
    roles: Mapping[str, str],
    columns: Sequence[str] | None,
    step: str,
    *,
    by_role: bool,
) -> list[str]:
    if columns:
        _check_columns(frame, columns, step)
        return list(columns)
    if by_role:
        chosen = [c for c in frame.columns if roles.get(c) == "text"]
        if not chosen:
            raise InvalidInput(
                f"step {step!r}: no column has the role 'text'; name the columns "
                f"({step}:COLUMN) or set a role (set_role:COLUMN=text)",
                code="no_text_columns",
            )
        return chosen
    return [c for c in frame.columns if _is_text(frame[c])]


def _cells(series: pd.Series) -> np.ndarray:
    """The values as an object array with ``None`` for every kind of missing (NaN, NA)."""
    values = series.to_numpy(dtype=object, copy=True)
    values[np.array(series.isna(), dtype=bool)] = None
    return values


def _changed(before: pd.Series, after: pd.Series) -> int:
    """Number of cells present in both and different (works with pd.NA in any dtype)."""
    old, new = _cells(before), _cells(after)
    return sum(
        1 for x, y in zip(old, new, strict=True) if x is not None and y is not None and x != y
    )


def _map_text(
    series: pd.Series, func: Callable[[str], str], mask: np.ndarray | None = None
) -> pd.Series:
    values = series.to_numpy(dtype=object, copy=True)
    present = np.array(series.notna(), dtype=bool)
    if mask is not None:
        present = present & mask
    for i in np.flatnonzero(present):
        values[i] = func(values[i])
    return pd.Series(values, index=series.index, name=series.name, dtype=object)


# ---------------------------------------------------------------------- steps
def drop_duplicates(
    frame: pd.DataFrame, roles: Mapping[str, str], *, columns: Sequence[str] | None = None
) -> StepResult:
    """Drop rows equal to an earlier row (on ``columns``, default all); first kept."""
    if columns:
        _check_columns(frame, columns, "drop_duplicates")
    out = frame.drop_duplicates(subset=list(columns) if columns else None, keep="first")
    return StepResult(out.reset_index(drop=True), dict(roles), {"dropped": len(frame) - len(out)})


def dedupe(
    frame: pd.DataFrame,
    roles: Mapping[str, str],
    *,
    key: Sequence[str],
    keep: str = "first",
    mean_of: Sequence[str] | None = None,
) -> StepResult:
    """Keep one row per ``key``: the first, the last, or averaged (``keep="mean"``).

    With ``keep="mean"`` the ``mean_of`` columns (default: the ``rating`` columns,
    else every numeric non-key column that is not an id or timestamp) are averaged
    over the duplicates; every other column keeps its first value. Groups keep the
    order of their first row.
    """
    _check_columns(frame, key, "dedupe")
    if keep in ("first", "last"):
        out = frame.drop_duplicates(subset=list(key), keep="first" if keep == "first" else "last")
    else:
        if mean_of:
            _check_columns(frame, mean_of, "dedupe")
            averaged = list(mean_of)
        else:
            averaged = [c for c in frame.columns if roles.get(c) == "rating"] or [
                c
                for c in frame.columns
                if c not in key
                and roles.get(c) not in ("id", "timestamp")
                and pd.api.types.is_numeric_dtype(frame[c])
                and not pd.api.types.is_bool_dtype(frame[c])
            ]
        grouped = frame.groupby(list(key), sort=False, dropna=False)
        out = grouped.first()
        for column in averaged:
            out[column] = grouped[column].mean()
        out = out.reset_index()[list(frame.columns)]
    report = {"dropped": len(frame) - len(out), "key": list(key), "keep": keep}
    return StepResult(out.reset_index(drop=True), dict(roles), report)


_SURROGATES = re.compile("[\ud800-\udfff]")
_NONCHARACTERS = re.compile(
    "[\ufdd0-\ufdef\ufffe\uffff"
    + "".join(f"{chr(p * 0x10000 + 0xFFFE)}{chr(p * 0x10000 + 0xFFFF)}" for p in range(1, 17))
    + "]"
)


def normalize_unicode(
    frame: pd.DataFrame,
    roles: Mapping[str, str],
    *,
    columns: Sequence[str] | None = None,
    form: str = "NFC",
) -> StepResult:
    """Unicode-normalise text (NFC by default) and replace invalid code points.

    Lone surrogates (U+D800–U+DFFF, which cannot be encoded in UTF-8) and
    non-characters (U+FDD0–U+FDEF, U+xFFFE, U+xFFFF) become U+FFFD. ASCII cells are
    skipped (already normal).
    """

    def fix(text: str) -> str:
        text = _NONCHARACTERS.sub("\ufffd", _SURROGATES.sub("\ufffd", text))
        return unicodedata.normalize(form, text)  # type: ignore[arg-type]

    out, report = frame.copy(), {}
    for column in _text_columns(frame, roles, columns, "normalize_unicode", by_role=False):
        series = frame[column]
        ascii_only = series.astype(object).map(lambda v: isinstance(v, str) and v.isascii())
        fixed = _map_text(series, fix, ~ascii_only.to_numpy(dtype=bool))
        report[column] = _changed(series, fixed)
        out[column] = fixed
    return StepResult(out, dict(roles), {"changed": report, "form": form})


def _text_step(
    name: str, func: Callable[[str], str], *, by_role: bool, only: str | None = None
) -> Callable[..., StepResult]:
    """Build a step applying ``func`` to the text cells (those matching ``only``, a regex)."""

    def step(
        frame: pd.DataFrame, roles: Mapping[str, str], *, columns: Sequence[str] | None = None
    ) -> StepResult:
        out, report = frame.copy(), {}
        for column in _text_columns(frame, roles, columns, name, by_role=by_role):
            series = frame[column]
            mask = None
            if only is not None:
                found = series.astype("string").str.contains(only, regex=True)
                mask = np.array(found.fillna(False), dtype=bool)
            fixed = _map_text(series, func, mask)
            report[column] = _changed(series, fixed)
            out[column] = fixed
        return StepResult(out, dict(roles), {"changed": report})

    step.__name__ = name
    return step


_URL = re.compile(r"\s*(?i:https?://|www\.)[^\s<>\"']*[^\s<>\"'.,;:!?)\]]")
_TAG = re.compile(r"<[A-Za-z/!][^<>]{0,500}>")
_SPACES = re.compile(r"\s{2,}")

trim = _text_step("trim", str.strip, by_role=False)
trim.__doc__ = "Strip leading and trailing whitespace from text cells."
strip_urls = _text_step(
    "strip_urls",
    lambda t: _SPACES.sub(" ", _URL.sub("", t)).strip(),
    by_role=True,
    only=_URL.pattern,
)
strip_urls.__doc__ = "Remove http(s):// and www. links from text, collapsing the spaces left."
strip_html = _text_step(
    "strip_html",
    lambda t: _SPACES.sub(" ", html.unescape(_TAG.sub(" ", t))).strip(),
    by_role=True,
    only=r"[<&]",
)
strip_html.__doc__ = "Remove HTML tags and decode entities (&amp; → &), collapsing spaces."


def drop_empty_text(
    frame: pd.DataFrame, roles: Mapping[str, str], *, columns: Sequence[str] | None = None
) -> StepResult:
    """Drop rows whose text (the ``text``-role columns by default) is missing or blank."""
    chosen = _text_columns(frame, roles, columns, "drop_empty_text", by_role=True)
    blank = np.zeros(len(frame), dtype=bool)
    for column in chosen:
        values = _cells(frame[column])
        blank |= np.array([v is None or (isinstance(v, str) and not v.strip()) for v in values])
    out = frame.loc[~blank].reset_index(drop=True)
    return StepResult(out, dict(roles), {"dropped": int(blank.sum()), "columns": chosen})


_MISSING_STRATEGIES = ("drop", "fill", "median", "mean", "mode", "flag")


def _fill_value(series: pd.Series, raw: Any) -> Any:
    if pd.api.types.is_bool_dtype(series):
        return str(raw).strip().lower() in ("1", "true", "yes")
    if pd.api.types.is_numeric_dtype(series):
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise _bad_args(f"fill value {raw!r} is not a number for {series.name!r}") from None
        return int(value) if pd.api.types.is_integer_dtype(series) and value.is_integer() else value
    if pd.api.types.is_datetime64_any_dtype(series):
        return pd.Timestamp(raw)
    return str(raw)


def handle_missing(
    frame: pd.DataFrame, roles: Mapping[str, str], *, columns: Mapping[str, Mapping[str, Any]]
) -> StepResult:
    """Treat missing values per column.

    ``columns`` maps a column to ``{"strategy": s}`` (plus ``"value"`` for ``fill``):
    ``drop`` the rows, ``fill`` with a value, ``median``/``mean`` (numeric columns),
    ``mode`` (most frequent value; ties → smallest), or ``flag`` (add a boolean
    ``<col>_missing`` column with role ``feature``, values unchanged). NaN counts as
    missing here.
    """
    _check_columns(frame, list(columns), "missing")
    out, new_roles, report = frame.copy(), dict(roles), {}
    for column, spec in columns.items():
        strategy = spec["strategy"]
        series = out[column]
        missing = series.isna().to_numpy(dtype=bool)
        entry: dict[str, Any] = {"missing": int(missing.sum()), "strategy": strategy}
        if strategy == "drop":
            out = out.loc[~missing].reset_index(drop=True)
        elif strategy == "flag":
            flag = f"{column}_missing"
            out[flag] = missing
            new_roles[flag] = "feature"
            entry["column"] = flag
        else:
            if strategy in ("median", "mean"):
                if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
                    raise _bad_args(
                        f"missing: {strategy} needs a numeric column, {column!r} is not"
                    )
                numbers = pd.to_numeric(series, errors="coerce").astype(float)
                numbers = numbers[np.isfinite(numbers.to_numpy(dtype=float, na_value=np.nan))]
                value: Any = getattr(numbers, strategy)() if len(numbers) else None
                if value is not None and pd.api.types.is_integer_dtype(series):
                    value = float(value) if not float(value).is_integer() else int(value)
            elif strategy == "mode":
                modes = series.dropna().mode()
                value = modes.iloc[0] if len(modes) else None
            else:
                value = _fill_value(series, spec.get("value"))
            if value is not None and missing.any():
                if isinstance(value, float) and pd.api.types.is_integer_dtype(series):
                    series = series.astype("Float64")
                out[column] = series.fillna(value)
            entry["value"] = (
                value.item()
                if hasattr(value, "item")
                else (
                    value
                    if isinstance(value, int | float | str | bool) or value is None
                    else str(value)
                )
            )
        report[column] = entry
    return StepResult(out, new_roles, {"columns": report})


_NAN_WORDS = {"nan", "+nan", "-nan"}


def coerce_numeric(
    frame: pd.DataFrame, roles: Mapping[str, str], *, columns: Sequence[str], decimal: str = "point"
) -> StepResult:
    """Convert text columns to numbers; values that fail become missing and are reported.

    ``decimal="comma"`` reads ``1,5`` as 1.5 (and drops ``.`` thousands separators).
    ``NaN``/``inf`` spelled out are numbers, not failures.
    """
    _check_columns(frame, columns, "coerce_numeric")
    out, report = frame.copy(), {}
    for column in columns:
        series = frame[column]
        text = series.astype(object).map(lambda v: v.strip() if isinstance(v, str) else v)
        if decimal == "comma":
            text = text.map(
                lambda v: v.replace(".", "").replace(",", ".") if isinstance(v, str) else v
            )
        numbers = pd.to_numeric(text, errors="coerce")
        failed_mask = series.notna().to_numpy(dtype=bool) & numbers.isna().to_numpy(dtype=bool)
        failed_mask &= ~text.map(lambda v: isinstance(v, str) and v.lower() in _NAN_WORDS).to_numpy(
            dtype=bool
        )
        failed = series[failed_mask]
        examples = list(dict.fromkeys(str(v) for v in failed.head(50)))[:5]
        report[column] = {"failed": int(failed_mask.sum()), "examples": examples}
        out[column] = numbers
    return StepResult(out, dict(roles), {"columns": report})


def flag_outliers(
    frame: pd.DataFrame,
    roles: Mapping[str, str],
    *,
    columns: Sequence[str] | None = None,
    k: float = 1.5,
) -> StepResult:
    """Add ``<col>_outlier`` (role ``ignore``): True outside [Q1 − k·IQR, Q3 + k·IQR].

    Quartiles are over finite values (Tukey, *Exploratory Data Analysis*, 1977).
    Default columns: numeric columns with role feature, label or rating.
    """
    if columns:
        _check_columns(frame, columns, "flag_outliers")
        chosen = list(columns)
    else:
        chosen = [
            c
            for c in frame.columns
            if roles.get(c) in ("feature", "label", "rating")
            and pd.api.types.is_numeric_dtype(frame[c])
            and not pd.api.types.is_bool_dtype(frame[c])
        ]
    out, new_roles, report = frame.copy(), dict(roles), {}
    for column in chosen:
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(
            dtype=float, na_value=np.nan
        )
        finite = values[np.isfinite(values)]
        if len(finite) == 0:
            raise _bad_args(f"flag_outliers: column {column!r} has no numbers")
        q1, q3 = np.percentile(finite, [25, 75])
        low, high = q1 - k * (q3 - q1), q3 + k * (q3 - q1)
        with np.errstate(invalid="ignore"):
            flags = (values < low) | (values > high)
        name = f"{column}_outlier"
        out[name] = flags
        new_roles[name] = "ignore"
        report[column] = {"outliers": int(flags.sum()), "low": float(low), "high": float(high)}
    return StepResult(out, new_roles, {"columns": report, "k": k})


def mask_pii(
    frame: pd.DataFrame,
    roles: Mapping[str, str],
    *,
    columns: Sequence[str] | None = None,
    kinds: Sequence[str] = PII_KINDS,
) -> StepResult:
    """Mask e-mail addresses, phone numbers, card numbers and IBANs (see :mod:`baryon.data.pii`)."""
    out, report = frame.copy(), {}
    for column in _text_columns(frame, roles, columns, "mask_pii", by_role=False):
        masked, counts = mask_series(frame[column], kinds)
        out[column] = masked
        report[column] = {kind: counts.get(kind, 0) for kind in kinds}
    return StepResult(out, dict(roles), {"masked": report, "kinds": list(kinds)})


def drop_columns(
    frame: pd.DataFrame, roles: Mapping[str, str], *, columns: Sequence[str]
) -> StepResult:
    """Remove columns (at least one must remain)."""
    _check_columns(frame, columns, "drop_columns")
    if len(set(columns)) >= frame.shape[1]:
        raise _bad_args("drop_columns would remove every column")
    out = frame.drop(columns=list(columns))
    new_roles = {c: r for c, r in roles.items() if c not in columns}
    return StepResult(out, new_roles, {"dropped": list(columns)})


def set_role(
    frame: pd.DataFrame, roles: Mapping[str, str], *, columns: Mapping[str, str]
) -> StepResult:
    """Set column roles (``{"column": "role"}``); data unchanged."""
    _check_columns(frame, list(columns), "set_role")
    new_roles = dict(roles)
    new_roles.update(columns)
    return StepResult(frame, new_roles, {"roles": dict(columns)})
