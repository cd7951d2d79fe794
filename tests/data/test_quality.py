"""Column statistics over batches, and the report's warnings."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest

from baryon.data.quality import SKETCH_SIZE, ReportBuilder, build_report, sorted_unique


def _stats(*batches: pa.RecordBatch) -> dict:
    builder = ReportBuilder(batches[0].schema)
    for batch in batches:
        builder.update(batch)
    return builder.finish()


def test_sorted_unique_matches_numpy_unique() -> None:
    values = np.array([5, 1, 5, 3, 1, 9], dtype=np.uint64)
    assert sorted_unique(values).tolist() == [1, 3, 5, 9]
    assert len(sorted_unique(np.empty(0, dtype=np.uint64))) == 0


def test_report_builder_counts_nulls_distinct_and_duplicates_across_batches() -> None:
    a = pa.record_batch({"x": [1, 2, None], "s": ["a", None, "b"]})
    b = pa.record_batch({"x": [1, 3, None], "s": ["a", "c", "b"]})
    stats = _stats(a, b)
    assert stats["rows"] == 6
    assert stats["duplicate_rows"] == 2  # (1, "a") and (None, "b") each repeat once
    x, s = stats["columns"]["x"], stats["columns"]["s"]
    assert (x["nulls"], x["distinct"], x["distinct_estimated"]) == (2, 3, False)
    assert (s["nulls"], s["distinct"]) == (1, 3)
    assert s["value_counts"][0] == ["a", 2]


def test_report_builder_exact_duplicate_rows_with_nulls_count() -> None:
    batch = pa.record_batch({"x": [None, None, 1], "y": ["a", "a", "a"]})
    assert _stats(batch)["duplicate_rows"] == 1


def test_report_builder_numeric_summary_matches_numpy_over_finite_values() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(10, 2, size=3000)
    parts = np.array_split(values, 3)
    batches = [pa.record_batch({"v": pa.array(p)}) for p in parts]
    with_specials = pa.record_batch({"v": pa.array([np.nan, np.inf, -np.inf, None])})
    col = _stats(*batches, with_specials)["columns"]["v"]
    assert col["finite"] == 3000
    assert (col["nan"], col["inf"], col["pos_inf"], col["neg_inf"], col["nulls"]) == (1, 2, 1, 1, 1)
    assert col["mean"] == pytest.approx(values.mean(), rel=1e-12)
    assert col["std"] == pytest.approx(values.std(ddof=1), rel=1e-9)
    assert col["min"] == values.min()
    assert col["quantiles"]["p50"] == pytest.approx(np.median(values), rel=1e-9)


def test_report_builder_text_lengths_and_blank_cells() -> None:
    batch = pa.record_batch({"t": ["ab", "abcd", "", "   ", None, "abcdef"]})
    col = _stats(batch)["columns"]["t"]
    assert col["blank"] == 2
    assert col["length"]["max"] == 6
    assert col["length"]["min"] == 0
    assert col["length"]["p50"] == 3  # lengths 0, 2, 3, 4, 6


def test_report_builder_distinct_is_estimated_within_three_percent_beyond_sketch() -> None:
    n = 3 * SKETCH_SIZE
    batches = [pa.record_batch({"id": pa.array(np.arange(i, n, 4))}) for i in range(4)]
    col = _stats(*batches)["columns"]["id"]
    assert col["distinct_estimated"] is True
    assert abs(col["distinct"] - n) / n < 0.03
    assert col["distinct"] <= n
    assert "value_counts" not in col


def test_report_builder_datetime_bounds_are_iso() -> None:
    batch = pa.record_batch({"t": pa.array([86400, 0, None], pa.timestamp("s"))})
    col = _stats(batch)["columns"]["t"]
    assert (col["min"], col["max"]) == ("1970-01-01T00:00:00", "1970-01-02T00:00:00")


def _report(table: dict, schema: dict, roles: dict, **kw: object) -> dict:
    batch = pa.record_batch(table)
    return build_report(_stats(batch), schema, roles, **kw)  # type: ignore[arg-type]


def _codes(report: dict) -> set[tuple[str, str | None]]:
    return {(w["code"], w["column"]) for w in report["warnings"]}


def test_build_report_single_class_and_small_class_warnings() -> None:
    report = _report({"y": ["a"] * 6}, {"y": "category"}, {"y": "label"}, min_class_count=5)
    assert ("single_class", "y") in _codes(report)
    report = _report(
        {"y": ["a"] * 6 + ["b"] * 2}, {"y": "category"}, {"y": "label"}, min_class_count=5
    )
    assert ("small_class", "y") in _codes(report)
    assert report["label_balance"]["y"]["counts"] == {"a": 6, "b": 2}
    assert report["label_balance"]["y"]["imbalance_ratio"] == 3.0


def test_build_report_float_label_has_no_balance() -> None:
    report = _report({"y": [1.5, 2.5, 3.5]}, {"y": "float"}, {"y": "label"})
    assert report["label_balance"] == {}


def test_build_report_constant_mostly_null_all_null_and_non_finite() -> None:
    report = _report(
        {
            "c": [1, 1, 1, 1],
            "m": pa.array([None, None, None, 1.0]),
            "e": pa.array([None] * 4, pa.string()),
            "f": [1.0, math.nan, math.inf, 2.0],
        },
        {"c": "int", "m": "float", "e": "string", "f": "float"},
        {"c": "feature", "m": "feature", "e": "ignore", "f": "feature"},
    )
    codes = _codes(report)
    assert {("constant_column", "c"), ("mostly_null", "m"), ("all_null", "e")} <= codes
    assert ("non_finite", "f") in codes
    assert report["column_stats"]["f"]["nan"] == 1


def test_build_report_duplicate_rows_and_blank_text() -> None:
    report = _report({"t": ["hello there", "hello there", " "]}, {"t": "string"}, {"t": "text"})
    codes = _codes(report)
    assert ("duplicate_rows", None) in codes
    assert ("blank_text", "t") in codes
    assert report["text_lengths"]["t"]["max"] == 11


def test_build_report_clean_table_has_no_warnings() -> None:
    report = _report(
        {"x": [1.0, 2.0, 3.0], "y": ["a", "b", "a"]},
        {"x": "float", "y": "category"},
        {"x": "feature", "y": "label"},
        min_class_count=1,
    )
    assert report["warnings"] == []
    assert (report["rows"], report["columns"], report["duplicate_rows"]) == (3, 2, 0)
