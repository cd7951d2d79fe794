"""Each cleaning step: a pure function with a known answer on a tiny frame."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from baryon.core.errors import InvalidInput
from baryon.data import cleaning


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "text": ["  Hello  ", "hello", None, "   ", "Visit https://x.io/a now"],
            "n": [1.0, 2.0, None, 4.0, 100.0],
            "city": ["a", "b", "b", None, "c"],
        }
    )


def _unchanged(before: pd.DataFrame, frame: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(before, frame)


def test_drop_duplicates_drops_exact_repeats_and_keeps_first() -> None:
    frame = pd.DataFrame({"a": [1, 1, 2, 1], "b": ["x", "x", "y", "z"]})
    before = frame.copy()
    result = cleaning.drop_duplicates(frame, {})
    assert result.frame.to_dict("list") == {"a": [1, 2, 1], "b": ["x", "y", "z"]}
    assert result.report == {"dropped": 1}
    assert cleaning.drop_duplicates(frame, {}, columns=["a"]).report == {"dropped": 2}
    _unchanged(before, frame)


def test_dedupe_keep_last_and_mean_of_ratings() -> None:
    frame = pd.DataFrame(
        {
            "user": [1, 1, 2, 1],
            "item": [7, 7, 7, 8],
            "rating": [4.0, 2.0, 5.0, 1.0],
            "c": list("abcd"),
        }
    )
    roles = {"user": "user", "item": "item", "rating": "rating", "c": "feature"}
    last = cleaning.dedupe(frame, roles, key=["user", "item"], keep="last").frame
    assert last["rating"].tolist() == [2.0, 5.0, 1.0]
    mean = cleaning.dedupe(frame, roles, key=["user", "item"], keep="mean")
    assert mean.frame.to_dict("list") == {
        "user": [1, 2, 1],
        "item": [7, 7, 8],
        "rating": [3.0, 5.0, 1.0],
        "c": ["a", "c", "d"],
    }
    assert mean.report["dropped"] == 1


def test_dedupe_unknown_key_is_refused() -> None:
    with pytest.raises(InvalidInput) as info:
        cleaning.dedupe(pd.DataFrame({"a": [1]}), {}, key=["b"])
    assert info.value.code == "unknown_column"


def test_normalize_unicode_composes_and_replaces_invalid_code_points() -> None:
    frame = pd.DataFrame({"t": ["cafe\u0301", "bad \ud800 x", "ok", None, "\ufffe"]}, dtype=object)
    before = frame.copy()
    result = cleaning.normalize_unicode(frame, {})
    assert result.frame["t"].tolist() == ["caf\u00e9", "bad \ufffd x", "ok", None, "\ufffd"]
    assert result.report["changed"] == {"t": 3}
    _unchanged(before, frame)


def test_trim_strips_every_text_column() -> None:
    frame = _frame()
    result = cleaning.trim(frame, {})
    assert result.frame["text"].tolist()[:2] == ["Hello", "hello"]
    assert result.frame["text"].tolist()[3] == ""
    assert result.report["changed"]["text"] == 2
    assert result.frame["n"].equals(frame["n"])


def test_drop_empty_text_drops_missing_and_blank_rows() -> None:
    frame = _frame()
    result = cleaning.drop_empty_text(frame, {"text": "text"})
    assert result.report["dropped"] == 2
    assert len(result.frame) == 3


def test_text_steps_without_text_role_ask_for_columns() -> None:
    with pytest.raises(InvalidInput) as info:
        cleaning.drop_empty_text(_frame(), {})
    assert info.value.code == "no_text_columns"


def test_strip_urls_removes_links_and_collapses_spaces() -> None:
    result = cleaning.strip_urls(_frame(), {"text": "text"})
    assert result.frame["text"].tolist()[4] == "Visit now"
    assert result.report["changed"] == {"text": 1}


def test_strip_urls_keeps_punctuation_after_a_link() -> None:
    frame = pd.DataFrame({"t": ["See https://example.com/help, it says", "www.a.org."]})
    result = cleaning.strip_urls(frame, {"t": "text"})
    assert result.frame["t"].tolist() == ["See, it says", "."]


def test_strip_html_removes_tags_and_decodes_entities() -> None:
    frame = pd.DataFrame({"t": ["Tom &amp; Jerry<br/>show", "<p>a &lt; b</p>", "no tags"]})
    result = cleaning.strip_html(frame, {"t": "text"})
    assert result.frame["t"].tolist() == ["Tom & Jerry show", "a < b", "no tags"]


def test_handle_missing_each_strategy() -> None:
    frame = _frame()
    result = cleaning.handle_missing(
        frame,
        {},
        columns={"n": {"strategy": "median"}, "city": {"strategy": "mode"}},
    )
    assert result.frame["n"].tolist() == [1.0, 2.0, 3.0, 4.0, 100.0]
    assert result.frame["city"].tolist() == ["a", "b", "b", "b", "c"]
    assert result.report["columns"]["n"] == {"missing": 1, "strategy": "median", "value": 3.0}
    mean = cleaning.handle_missing(frame, {}, columns={"n": {"strategy": "mean"}})
    assert mean.frame["n"].tolist()[2] == pytest.approx(26.75)
    fill = cleaning.handle_missing(frame, {}, columns={"n": {"strategy": "fill", "value": "0"}})
    assert fill.frame["n"].tolist()[2] == 0.0
    drop = cleaning.handle_missing(frame, {}, columns={"city": {"strategy": "drop"}})
    assert len(drop.frame) == 4
    flag = cleaning.handle_missing(frame, {"n": "feature"}, columns={"n": {"strategy": "flag"}})
    assert flag.frame["n_missing"].tolist() == [False, False, True, False, False]
    assert flag.roles["n_missing"] == "feature"
    assert frame["n"].isna().sum() == 1  # input untouched


def test_handle_missing_median_of_text_is_refused() -> None:
    with pytest.raises(InvalidInput) as info:
        cleaning.handle_missing(_frame(), {}, columns={"city": {"strategy": "median"}})
    assert info.value.code == "invalid_step_args"


def test_handle_missing_median_ignores_nan_and_inf_on_arrow_columns() -> None:
    table = pa.table({"x": pa.array([1.0, None, math.nan, math.inf, 3.0])})
    frame = table.to_pandas(types_mapper=pd.ArrowDtype)
    result = cleaning.handle_missing(frame, {}, columns={"x": {"strategy": "median"}})
    assert result.report["columns"]["x"]["value"] == 2.0


def test_coerce_numeric_reports_failures_with_examples() -> None:
    frame = pd.DataFrame({"p": ["1", " 2.5 ", "three", None, "NaN", "4x"]})
    result = cleaning.coerce_numeric(frame, {}, columns=["p"])
    values = result.frame["p"].tolist()
    assert values[:2] == [1.0, 2.5]
    assert math.isnan(values[2])
    assert result.report["columns"]["p"] == {"failed": 2, "examples": ["three", "4x"]}


def test_coerce_numeric_decimal_comma() -> None:
    frame = pd.DataFrame({"p": ["1,5", "1.234,5"]})
    result = cleaning.coerce_numeric(frame, {}, columns=["p"], decimal="comma")
    assert result.frame["p"].tolist() == [1.5, 1234.5]


def test_flag_outliers_uses_tukey_fences() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0, 100.0, np.nan]})
    result = cleaning.flag_outliers(frame, {"x": "feature"})
    assert result.frame["x_outlier"].tolist() == [False, False, False, False, True, False]
    assert result.roles["x_outlier"] == "ignore"
    report = result.report["columns"]["x"]
    assert (report["low"], report["high"]) == (-1.0, 7.0)  # Q1 2, Q3 4, IQR 2


def test_mask_pii_masks_text_columns_and_counts() -> None:
    frame = pd.DataFrame({"t": ["mail a@b.org", "card 4111 1111 1111 1111"], "n": [1, 2]})
    result = cleaning.mask_pii(frame, {})
    assert result.frame["t"].tolist() == ["mail [EMAIL]", "card [CARD]"]
    assert result.report["masked"]["t"]["email"] == 1
    assert result.report["masked"]["t"]["card"] == 1


def test_drop_columns_and_set_role() -> None:
    frame = _frame()
    dropped = cleaning.drop_columns(frame, {"city": "feature", "n": "label"}, columns=["city"])
    assert list(dropped.frame.columns) == ["text", "n"]
    assert dropped.roles == {"n": "label"}
    with pytest.raises(InvalidInput):
        cleaning.drop_columns(frame, {}, columns=["text", "n", "city"])
    roles = cleaning.set_role(frame, {"n": "feature"}, columns={"n": "label"}).roles
    assert roles == {"n": "label"}


EVERY_STEP = [
    "drop_duplicates",
    "dedupe:key=k,keep=mean",
    "normalize_unicode",
    "trim",
    "drop_empty_text",
    "strip_urls",
    "strip_html",
    "missing:n=median,k=mode,t=flag,b=fill=true",
    "coerce_numeric:t",
    "flag_outliers:n",
    "mask_pii",
    "drop_columns:b",
    "set_role:n=label",
]


@pytest.mark.parametrize("spec", EVERY_STEP)
def test_every_step_runs_on_arrow_backed_frame_with_missing_values(spec: str) -> None:
    """Regression: `clean` hands steps Arrow-backed columns, where missing is pd.NA
    (a NA in an object comparison raised "boolean value of NA is ambiguous")."""
    from baryon.data.recipes import STEPS, apply_steps, parse_step

    table = pa.table(
        {
            "k": ["a", "a", None, "b"],
            "t": ["x@y.org <b>hi</b>", None, " https://a.io ", "caf\u0065\u0301"],
            "n": pa.array([1.0, None, math.nan, 4.0]),
            "b": pa.array([True, None, False, True]),
        }
    )
    frame = table.to_pandas(types_mapper=pd.ArrowDtype)
    roles = {"k": "feature", "t": "text", "n": "feature", "b": "feature"}
    before = frame.copy()
    out, _, lineage = apply_steps(frame, roles, [parse_step(spec)])
    assert lineage[0]["step"] in STEPS
    assert len(out) <= len(frame)
    pd.testing.assert_frame_equal(frame, before)
