"""The quality report: statistics of every dataset version, and warnings.

:class:`ReportBuilder` sees the data one Arrow record batch at a time, so a report is
built while a big file streams through, in memory that does not grow with the file
except for one 8-byte hash per row (exact duplicate-row count). Per column it keeps:

- missing values (nulls) and, for floats, NaN and ±inf counts (kept in the data,
  reported here, never turned into finite numbers);
- distinct values: exact up to 65,536, beyond that estimated with a k-minimum-values
  sketch (Bar-Yossef et al., "Counting distinct elements in a data stream",
  RANDOM 2002; relative error about 1/sqrt(k) ≈ 0.4 %), flagged ``distinct_estimated``;
- value counts while the column has at most 1,000 distinct values (label balance);
- numeric summaries over finite values: mean and standard deviation merged batch by
  batch (Chan, Golub & LeVeque, "Algorithms for computing the sample variance", 1983),
  min, max and quantiles from a systematic sample of at most 65,536 values;
- text lengths in characters (histogram, exact quantiles up to 4,096 characters) and
  blank cells;
- first and last timestamps.

:func:`build_report` turns the statistics, the column types and roles into the report
stored in every version's manifest, with warnings (duplicate rows, constant column,
mostly-null column, NaN/inf, single class, small classes, blank text).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from baryon.core.jsonvalues import to_jsonable

__all__ = ["ReportBuilder", "build_report"]

SKETCH_SIZE = 1 << 16
TRACK_VALUES = 1000
QUANTILE_SAMPLE = 1 << 16
LENGTH_CAP = 4096
_NULL_HASH = np.uint64(0x9E3779B97F4A7C15)
_PRIME = np.uint64(0x100000001B3)
_QUANTILES = {"p05": 0.05, "p25": 0.25, "p50": 0.5, "p75": 0.75, "p95": 0.95}


def _jsonable(value: Any) -> Any:
    """A report value: long text cut to 80 characters, bytes as hex, the rest by the
    one JSON policy (:func:`baryon.core.jsonvalues.to_jsonable`: NaN/±inf → None)."""
    if isinstance(value, str) and len(value) > 80:
        return value[:77] + "..."
    if isinstance(value, bytes):
        return value.hex()
    return to_jsonable(value, default=str)


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values of a 1-d array (sort-based; numpy's hash-based
    ``np.unique`` is several times slower on uint64 hashes)."""
    if len(values) == 0:
        return values
    ordered = np.sort(values)
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def hash_column(array: pa.Array) -> tuple[np.ndarray, np.ndarray | None]:
    """Hash every value of an Arrow array to uint64 (nulls share one hash).

    Strings are dictionary-encoded first so each distinct value is hashed once
    (``pandas.util.hash_array``); numbers and timestamps are hashed from their bits.

    Returns
    -------
    hashes : ndarray of uint64, shape (n,)
        One hash per value.
    distinct : ndarray of uint64 or None
        For strings, the hashes of the distinct non-null values (a by-product of the
        dictionary encoding); ``None`` for other types.
    """
    hashes, distinct, _ = _hash(array)
    return hashes, distinct


def _hash(
    array: pa.Array,
) -> tuple[np.ndarray, np.ndarray | None, tuple[pa.Array, np.ndarray] | None]:
    """:func:`hash_column`, plus ``(dictionary, count per entry)`` for strings."""
    t = array.type
    n = len(array)
    if pa.types.is_null(t) or array.null_count == n:
        return np.full(n, _NULL_HASH, dtype=np.uint64), None, None
    if _is_text(t) or pa.types.is_binary(t):
        encoded = pc.dictionary_encode(array)
        dictionary = encoded.dictionary
        distinct = pd.util.hash_array(
            np.asarray(dictionary.to_numpy(zero_copy_only=False), dtype=object),
            categorize=False,
        )
        indices = encoded.indices.fill_null(-1).to_numpy().astype(np.int64, copy=False)
        present = indices >= 0
        hashes = np.full(n, _NULL_HASH, dtype=np.uint64)
        hashes[present] = distinct[indices[present]]
        counts = np.bincount(indices[present], minlength=len(dictionary))
        return hashes, distinct, (dictionary, counts)
    if pa.types.is_date32(t):  # Arrow casts date32 only to its own width first
        array = array.cast(pa.int32()).cast(pa.int64())
    elif pa.types.is_timestamp(t) or pa.types.is_date(t):
        array = array.cast(pa.int64())
    elif pa.types.is_boolean(t):
        array = array.cast(pa.uint8())
    elif pa.types.is_decimal(t):
        array = array.cast(pa.float64())
    values = array.fill_null(0).to_numpy(zero_copy_only=False)
    hashes = pd.util.hash_array(values, categorize=False)
    if array.null_count:
        hashes[array.is_null().to_numpy(zero_copy_only=False)] = _NULL_HASH
    return hashes, None, None


class _ColumnStats:
    """Statistics of one column, updated batch by batch."""

    def __init__(self, arrow_type: pa.DataType) -> None:
        self.type = arrow_type
        self.count = 0
        self.nulls = 0
        self.sketch = np.empty(0, dtype=np.uint64)
        self.saturated = False
        self.values: dict[Any, int] | None = (
            {}
            if _is_text(arrow_type)
            or pa.types.is_integer(arrow_type)
            or pa.types.is_boolean(arrow_type)
            else None
        )
        self.examples: list[Any] = []
        self.numeric = pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type)
        self.finite = self.nan = self.pos_inf = self.neg_inf = 0
        self.mean = self.m2 = 0.0
        self.minimum: Any = None
        self.maximum: Any = None
        self.sample: list[np.ndarray] = []
        self.sample_size = 0
        self.stride = 1
        self.lengths = np.zeros(LENGTH_CAP + 1, dtype=np.int64)
        self.max_length = 0
        self.blank = 0
        self.true = 0

    # ---------------------------------------------------------------- update
    def update(
        self,
        array: pa.Array,
        hashes: np.ndarray,
        distinct: np.ndarray | None,
        text: tuple[pa.Array, np.ndarray] | None = None,
    ) -> None:
        """Add one array and its value hashes (from :func:`hash_column`).

        ``text`` is ``(dictionary, count per entry)`` of a string array: lengths, blank
        cells and value counts are then computed once per distinct value.
        """
        seen_before = self.count - self.nulls
        self.count += len(array)
        self.nulls += array.null_count
        if self.count == self.nulls:
            return
        if text is not None:
            self._update_dictionary(*text)
            self._update_distinct(distinct if distinct is not None else hashes)
            return
        valid = array.drop_null() if array.null_count else array
        if len(self.examples) < 3:
            head = pc.unique(valid[:100]).to_pylist()
            self.examples.extend(_jsonable(v) for v in head[: 3 - len(self.examples)])
        if array.null_count:
            hashes = hashes[array.is_valid().to_numpy(zero_copy_only=False)]
        if distinct is None and not self.saturated and 0 < len(self.sketch) < 0.05 * seen_before:
            distinct = hash_column(pc.unique(valid))[0]  # few values so far: hash them once
        self._update_distinct(hashes if distinct is None else distinct)
        if self.values is not None:
            self._update_values(valid)
        t = self.type
        if self.numeric:
            self._update_numeric(valid)
        elif _is_text(t):
            self._update_text(valid)
        elif pa.types.is_boolean(t):
            self.true += int(pc.sum(valid).as_py() or 0)
        elif pa.types.is_timestamp(t) or pa.types.is_date(t):
            bounds = pc.min_max(valid)
            lo, hi = bounds["min"].as_py(), bounds["max"].as_py()
            self.minimum = lo if self.minimum is None else min(self.minimum, lo)
            self.maximum = hi if self.maximum is None else max(self.maximum, hi)

    def _update_dictionary(self, dictionary: pa.Array, counts: np.ndarray) -> None:
        """Text statistics from a batch's distinct values and how often each occurs."""
        if len(self.examples) < 3:
            head = dictionary[: 3 - len(self.examples)].to_pylist()
            self.examples.extend(_jsonable(v) for v in head)
        lengths = pc.utf8_length(dictionary).to_numpy(zero_copy_only=False)
        self.lengths += np.bincount(
            np.minimum(lengths, LENGTH_CAP), weights=counts, minlength=LENGTH_CAP + 1
        ).astype(np.int64)
        self.max_length = max(self.max_length, int(lengths[counts > 0].max()))
        blank = (lengths == 0) | pc.utf8_is_space(dictionary).to_numpy(zero_copy_only=False)
        self.blank += int(counts[blank].sum())
        if self.values is not None:
            if self.saturated or len(self.sketch) + len(dictionary) > 2 * TRACK_VALUES:
                self.values = None
                return
            for value, count in zip(dictionary.to_pylist(), counts.tolist(), strict=True):
                if count:
                    self.values[value] = self.values.get(value, 0) + count
            if len(self.values) > TRACK_VALUES:
                self.values = None

    def _update_distinct(self, candidates: np.ndarray) -> None:
        """Merge value hashes into the k-minimum-values sketch."""
        if self.saturated:
            candidates = candidates[candidates < self.sketch[-1]]
        if len(candidates) == 0:
            return
        merged = sorted_unique(np.concatenate([self.sketch, candidates]))
        if len(merged) > SKETCH_SIZE:
            merged = merged[:SKETCH_SIZE]
            self.saturated = True
        self.sketch = merged

    def _update_values(self, valid: pa.Array) -> None:
        assert self.values is not None
        if self.saturated or len(self.sketch) > TRACK_VALUES:
            self.values = None
            return
        counts = pc.value_counts(valid)
        for value, count in zip(
            counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True
        ):
            self.values[value] = self.values.get(value, 0) + count

    def _update_numeric(self, valid: pa.Array) -> None:
        if pa.types.is_floating(self.type):
            self.nan += int(pc.sum(pc.is_nan(valid)).as_py() or 0)
            inf = pc.is_inf(valid)
            if pc.any(inf).as_py():
                self.pos_inf += int(pc.sum(pc.and_(inf, pc.greater(valid, 0))).as_py() or 0)
                self.neg_inf += int(pc.sum(pc.and_(inf, pc.less(valid, 0))).as_py() or 0)
            valid = valid.filter(pc.is_finite(valid))
        n_b = len(valid)
        if n_b == 0:
            return
        values = valid.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
        mean_b = float(values.mean())
        m2_b = float(((values - mean_b) ** 2).sum())
        n_a = self.finite
        n = n_a + n_b
        delta = mean_b - self.mean
        self.mean += delta * n_b / n
        self.m2 += m2_b + delta * delta * n_a * n_b / n
        self.finite = n
        lo, hi = float(values.min()), float(values.max())
        self.minimum = lo if self.minimum is None else min(self.minimum, lo)
        self.maximum = hi if self.maximum is None else max(self.maximum, hi)
        positions = np.arange(n_a, n, dtype=np.int64)
        kept = values[positions % self.stride == 0]
        self.sample.append(kept)
        self.sample_size += len(kept)
        if self.sample_size > QUANTILE_SAMPLE:
            whole = np.concatenate(self.sample)[::2]
            self.sample, self.sample_size, self.stride = [whole], len(whole), self.stride * 2

    def _update_text(self, valid: pa.Array) -> None:
        lengths = pc.utf8_length(valid).to_numpy(zero_copy_only=False)
        self.lengths += np.bincount(np.minimum(lengths, LENGTH_CAP), minlength=LENGTH_CAP + 1)
        self.max_length = max(self.max_length, int(lengths.max()))
        self.blank += int((lengths == 0).sum()) + int(pc.sum(pc.utf8_is_space(valid)).as_py() or 0)

    # ---------------------------------------------------------------- finish
    def distinct(self) -> tuple[int, bool]:
        if not self.saturated:
            return len(self.sketch), False
        kth = float(self.sketch[-1]) / 2.0**64
        return min(round((SKETCH_SIZE - 1) / kth), self.count - self.nulls), True

    def finish(self) -> dict[str, Any]:
        distinct, estimated = self.distinct()
        out: dict[str, Any] = {
            "arrow_type": str(self.type),
            "nulls": self.nulls,
            "non_null": self.count - self.nulls,
            "distinct": distinct,
            "distinct_estimated": estimated,
            "examples": self.examples,
        }
        if self.values is not None:
            top = sorted(self.values.items(), key=lambda kv: (-kv[1], str(kv[0])))
            out["value_counts"] = [[_jsonable(k), v] for k, v in top]
        if self.numeric:
            out.update(self._numeric_summary())
        elif _is_text(self.type) and self.count > self.nulls:
            out["length"] = self._length_summary()
            out["blank"] = self.blank
        elif pa.types.is_boolean(self.type):
            out["true"] = self.true
        elif self.minimum is not None:
            out["min"], out["max"] = _jsonable(self.minimum), _jsonable(self.maximum)
        return out

    def _numeric_summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "finite": self.finite,
            "nan": self.nan,
            "inf": self.pos_inf + self.neg_inf,
            "pos_inf": self.pos_inf,
            "neg_inf": self.neg_inf,
        }
        if self.finite:
            sample = np.concatenate(self.sample)
            std = math.sqrt(self.m2 / (self.finite - 1)) if self.finite > 1 else 0.0
            out.update(mean=self.mean, std=std, min=self.minimum, max=self.maximum)
            qs = np.quantile(sample, list(_QUANTILES.values()))
            out["quantiles"] = {k: float(q) for k, q in zip(_QUANTILES, qs, strict=True)}
            out["quantiles_sampled"] = self.stride > 1
        return out

    def _length_summary(self) -> dict[str, Any]:
        total = int(self.lengths.sum())
        cumulative = np.cumsum(self.lengths)
        positions = np.arange(LENGTH_CAP + 1)

        def quantile(q: float) -> int:
            return int(np.searchsorted(cumulative, q * total, side="left"))

        mean = float((self.lengths * positions).sum() / total) if total else 0.0
        return {
            "mean": mean,  # lengths above the cap count as the cap
            "min": int(np.argmax(self.lengths > 0)),
            "p50": quantile(0.5),
            "p95": quantile(0.95),
            "max": self.max_length,
        }


class ReportBuilder:
    """Accumulate column statistics and duplicate rows over record batches.

    Parameters
    ----------
    schema : pyarrow.Schema
        Schema of every batch that will be passed to :meth:`update`.

    Examples
    --------
    >>> import pyarrow as pa
    >>> builder = ReportBuilder(pa.schema([("x", pa.int64())]))
    >>> builder.update(pa.record_batch({"x": [1, 1, 2]}))
    >>> stats = builder.finish()
    >>> stats["rows"], stats["duplicate_rows"], stats["columns"]["x"]["distinct"]
    (3, 1, 2)
    """

    def __init__(self, schema: pa.Schema) -> None:
        self.schema = schema
        self.rows = 0
        self._columns = {f.name: _ColumnStats(f.type) for f in schema}
        self._row_hashes: list[np.ndarray] = []

    def update(self, batch: pa.RecordBatch | pa.Table) -> None:
        """Add one batch (its schema must equal the builder's)."""
        n = batch.num_rows
        if n == 0:
            return
        self.rows += n
        combined = np.full(n, np.uint64(len(self._columns)), dtype=np.uint64)
        for name, column in self._columns.items():
            array = batch.column(name)
            if isinstance(array, pa.ChunkedArray):
                array = array.combine_chunks()
            hashes, distinct, text = _hash(array)
            column.update(array, hashes, distinct, text)
            combined ^= hashes
            combined *= _PRIME
        self._row_hashes.append(combined)

    def finish(self) -> dict[str, Any]:
        """Return ``{"rows", "duplicate_rows", "columns": {name: stats}}``."""
        distinct_rows = (
            len(sorted_unique(np.concatenate(self._row_hashes))) if self._row_hashes else 0
        )
        return {
            "rows": self.rows,
            "duplicate_rows": self.rows - distinct_rows,
            "columns": {name: col.finish() for name, col in self._columns.items()},
        }


def _warn(code: str, message: str, column: str | None = None) -> dict[str, Any]:
    return {"code": code, "column": column, "message": message}


def build_report(
    stats: Mapping[str, Any],
    schema: Mapping[str, str],
    roles: Mapping[str, str],
    *,
    min_class_count: int = 5,
    mostly_null_share: float = 0.5,
    notes: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """Build the quality report of a version from its statistics, types and roles.

    Parameters
    ----------
    stats : mapping
        Output of :meth:`ReportBuilder.finish`.
    schema, roles : mapping
        ``{column: logical type}`` and ``{column: role}``.
    min_class_count : int
        A label class with fewer rows than this gets a ``small_class`` warning.
    mostly_null_share : float
        A column missing in more than this share of rows gets ``mostly_null``.
    notes : sequence of dict
        Warnings found earlier (renamed columns, ...), added first.

    Returns
    -------
    dict
        ``rows``, ``columns``, ``duplicate_rows``, ``column_stats`` (per column, with
        ``type`` and ``role``), ``label_balance``, ``text_lengths`` and ``warnings``
        (each ``{"code", "column", "message"}``).
    """
    rows = int(stats["rows"])
    warnings: list[dict[str, Any]] = list(notes)
    column_stats: dict[str, Any] = {}
    label_balance: dict[str, Any] = {}
    text_lengths: dict[str, Any] = {}
    if stats.get("duplicate_rows"):
        n = stats["duplicate_rows"]
        warnings.append(_warn("duplicate_rows", f"{n} row(s) repeat an earlier row exactly"))
    for name, col in stats["columns"].items():
        role = roles.get(name, "feature")
        column_stats[name] = {"type": schema.get(name), "role": role, **col}
        nulls = int(col["nulls"])
        if rows and nulls == rows:
            warnings.append(_warn("all_null", f"column {name!r} has no values", name))
        elif rows and nulls / rows > mostly_null_share:
            share = f"{100 * nulls / rows:.0f}%"
            warnings.append(_warn("mostly_null", f"column {name!r} is {share} missing", name))
        if rows > 1 and nulls < rows and col["distinct"] == 1:
            warnings.append(_warn("constant_column", f"column {name!r} has one value", name))
        if col.get("nan") or col.get("inf"):
            warnings.append(
                _warn(
                    "non_finite",
                    f"column {name!r} has {col.get('nan', 0)} NaN and {col.get('inf', 0)} "
                    "infinite value(s), kept as they are",
                    name,
                )
            )
        if role == "text" and "length" in col:
            text_lengths[name] = col["length"]
            if col.get("blank"):
                warnings.append(
                    _warn(
                        "blank_text", f"text column {name!r} has {col['blank']} blank cell(s)", name
                    )
                )
        if role == "label":
            balance = _label_balance(name, col, schema.get(name), min_class_count, warnings)
            if balance is not None:
                label_balance[name] = balance
    return {
        "rows": rows,
        "columns": len(column_stats),
        "duplicate_rows": int(stats.get("duplicate_rows", 0)),
        "column_stats": column_stats,
        "label_balance": label_balance,
        "text_lengths": text_lengths,
        "warnings": warnings,
    }


def _label_balance(
    name: str,
    col: Mapping[str, Any],
    logical: str | None,
    min_class_count: int,
    warnings: list[dict[str, Any]],
) -> dict[str, Any] | None:
    counts = col.get("value_counts")
    if logical == "float" or counts is None:
        return None  # a regression target, or too many values to call classes
    classes = {str(k): int(v) for k, v in counts}
    if not classes:
        return None
    if len(classes) == 1:
        only = next(iter(classes))
        warnings.append(_warn("single_class", f"label {name!r} has one class ({only!r})", name))
    small = sorted((c for c, n in classes.items() if n < min_class_count), key=lambda c: classes[c])
    if small:
        shown = ", ".join(f"{c!r} ({classes[c]})" for c in small[:5])
        more = f" and {len(small) - 5} more" if len(small) > 5 else ""
        warnings.append(
            _warn(
                "small_class",
                f"label {name!r} has {len(small)} class(es) with fewer than "
                f"{min_class_count} rows: {shown}{more}",
                name,
            )
        )
    largest, smallest = max(classes.values()), min(classes.values())
    return {
        "classes": len(classes),
        "counts": classes,
        "largest": largest,
        "smallest": smallest,
        "imbalance_ratio": largest / smallest,
    }
