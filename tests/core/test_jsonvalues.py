"""Tests of baryon.core.jsonvalues: one policy for what values become in JSON."""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from enum import IntEnum, StrEnum
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from baryon.core.errors import InvalidInput
from baryon.core.jsonvalues import (
    MAX_DEPTH,
    canonical_bytes,
    check_depth,
    dumps,
    loads,
    to_jsonable,
)


class _Color(StrEnum):
    RED = "red"


class _Level(IntEnum):
    HIGH = 3


class _Point(BaseModel):
    x: int
    at: datetime


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (True, True),
        (3, 3),
        (-0.5, -0.5),
        ("é", "é"),
        (math.nan, None),
        (math.inf, None),
        (-math.inf, None),
        (np.float64("nan"), None),
        (np.float32(0.5), 0.5),
        (np.int64(7), 7),
        (np.bool_(True), True),
        (np.array([[1, 2], [3, 4]]), [[1, 2], [3, 4]]),
        (np.array([1.0, np.nan, np.inf]), [1.0, None, None]),
        (pd.Series([1, 2]), [1, 2]),
        (pd.NA, None),
        (pd.NaT, None),
        (pd.Timestamp("2026-01-02T03:04:05Z"), "2026-01-02T03:04:05+00:00"),
        (datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "2026-01-02T03:04:05+00:00"),
        (
            datetime(2026, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2))),
            "2026-01-02T03:04:05+00:00",
        ),
        (datetime(2026, 1, 2, 3, 4, 5), "2026-01-02T03:04:05"),  # naive: no offset invented
        (date(2026, 1, 2), "2026-01-02"),
        (time(3, 4), "03:04:00"),
        (Decimal("12.30"), "12.30"),
        (Decimal("NaN"), None),
        (Decimal("-Infinity"), None),
        (Path("/tmp/x.csv"), "/tmp/x.csv"),
        (PurePosixPath("a/b"), "a/b"),
        ({3, 1, 2}, [1, 2, 3]),
        (frozenset({"b", "a"}), ["a", "b"]),
        ({1, "a", None}, ["a", 1, None]),  # mixed: by JSON text ('"a"' < "1" < "null")
        ((1, (2, 3)), [1, [2, 3]]),
        (_Color.RED, "red"),
        (_Level.HIGH, 3),
        (_Point(x=1, at=datetime(2026, 1, 1, tzinfo=UTC)), {"x": 1, "at": "2026-01-01T00:00:00Z"}),
    ],
)
def test_to_jsonable_each_type_follows_the_policy(value: Any, expected: Any) -> None:
    assert to_jsonable(value) == expected
    json.dumps(to_jsonable(value), allow_nan=False)  # strict JSON


def test_to_jsonable_nested_and_keys_become_strings() -> None:
    value = {
        "metrics": {"auc": np.float64("nan"), "n": np.int64(3)},
        np.int64(4): [math.inf, {"x": (1, 2)}],
        2.5: "f",
        None: "n",
        True: "t",
        date(2026, 1, 2): "d",
    }
    assert to_jsonable(value) == {
        "metrics": {"auc": None, "n": 3},
        "4": [None, {"x": [1, 2]}],
        "2.5": "f",
        "None": "n",
        "True": "t",
        "2026-01-02": "d",
    }


def test_to_jsonable_mapping_subclass_and_order_kept() -> None:
    assert list(to_jsonable(OrderedDict([("b", 1), ("a", 2)]))) == ["b", "a"]


def test_to_jsonable_does_not_modify_its_input() -> None:
    value = {"a": [math.nan]}
    to_jsonable(value)
    assert math.isnan(value["a"][0])


def test_to_jsonable_unknown_type_raises_without_default() -> None:
    with pytest.raises(TypeError, match="not JSON serialisable: object"):
        to_jsonable({"x": object()})


def test_to_jsonable_default_converts_unknown_types_and_its_result_is_walked() -> None:
    class Thing:
        def __repr__(self) -> str:
            return "<thing>"

    assert to_jsonable([Thing()], default=repr) == ["<thing>"]
    assert to_jsonable(b"\x00", default=lambda b: [math.nan]) == [None]


def test_to_jsonable_on_nonfinite_hook_decides_and_sees_each_value() -> None:
    seen: list[float] = []
    kept = to_jsonable([1.0, math.nan, [-math.inf]], on_nonfinite=lambda x: seen.append(x) or x)
    assert math.isnan(kept[1])
    assert kept[2] == [-math.inf]
    assert len(seen) == 2


def test_dumps_is_compact_utf8_strict_json() -> None:
    out = dumps({"b": math.nan, "a": "é", "d": Decimal("1.10")})
    assert out == '{"b":null,"a":"é","d":"1.10"}'.encode()


def test_dumps_indent_and_sort_keys() -> None:
    assert (
        dumps({"b": 1, "a": [2]}, indent=1, sort_keys=True) == b'{\n "a": [\n  2\n ],\n "b": 1\n}'
    )


def test_dumps_default_reaches_unknown_types() -> None:
    assert dumps([object], default=lambda o: "obj") == b'["obj"]'
    with pytest.raises(TypeError):
        dumps([object])


def test_canonical_bytes_sorted_compact_and_unconverted() -> None:
    assert canonical_bytes({"b": 1, "a": "é"}) == '{"a":"é","b":1}'.encode()
    assert canonical_bytes({"a": "é"}, ensure_ascii=True) == b'{"a":"\\u00e9"}'
    # a NaN is not a null: the two recipes must not share a digest
    assert canonical_bytes([math.nan]) != canonical_bytes([None])
    with pytest.raises(TypeError):
        canonical_bytes(np.int64(1))


def test_canonical_bytes_pins_the_historic_hash_form() -> None:
    # The form dataset recipes, prediction inputs and hand-offs were hashed in: changing
    # it would orphan every stored digest.
    value = {"z": [1, 2.5, None, True], "a": {"é": "x"}}
    historic = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical_bytes(value) == historic.encode("utf-8")


json_leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
    | st.decimals(allow_nan=True, allow_infinity=True)
    | st.datetimes(timezones=st.none() | st.just(UTC))
    | st.integers(-(2**62), 2**62).map(np.int64)
    | st.floats(allow_nan=True, allow_infinity=True).map(np.float64)
)
values = st.recursive(
    json_leaves,
    lambda children: (
        st.lists(children, max_size=4)
        | st.tuples(children, children)
        | st.dictionaries(st.text(max_size=4) | st.integers(), children, max_size=4)
        | st.frozensets(st.integers() | st.text(max_size=3), max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(value=values)
def test_dumps_any_value_is_strict_json_and_idempotent(value: Any) -> None:
    out = dumps(value)
    parsed = json.loads(out, parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
    assert to_jsonable(parsed) == parsed
    assert dumps(parsed) == out


# ------------------------------------------------------------------ nesting depth
def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


@pytest.mark.parametrize(
    "text",
    ["[" * 10_000 + "]" * 10_000, "[" * 100_000, '{"a":' * 5_000 + "1" + "}" * 5_000],
)
def test_loads_ten_thousand_levels_too_deep_not_recursion_error(text: str) -> None:
    # Broke as RecursionError from json.loads (internal_error in the CLI).
    with pytest.raises(InvalidInput) as info:
        loads(text, what="--param x")
    assert info.value.code == "too_deep"
    assert info.value.details == {"max_depth": MAX_DEPTH}
    assert info.value.message.startswith("--param x nests")


def test_loads_at_max_depth_parses_one_more_refused() -> None:
    at_limit = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert _depth(loads(at_limit)) == MAX_DEPTH
    with pytest.raises(InvalidInput):
        loads("[" + at_limit + "]")


def test_check_depth_brackets_inside_strings_do_not_count() -> None:
    text = json.dumps({"s": "[" * 500 + '\\"{' * 100, "t": ["]" * 10]})
    check_depth(text)
    check_depth(text.encode())
    assert loads(text)["t"] == ["]" * 10]


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} refused")


def test_loads_not_json_is_value_error_passes_options() -> None:
    with pytest.raises(json.JSONDecodeError):
        loads("[1, 2")
    with pytest.raises(ValueError, match="NaN refused"):
        loads("[NaN]", parse_constant=_no_constant)


@settings(max_examples=200, deadline=None)
@given(
    value=st.recursive(
        st.none() | st.integers() | st.text(alphabet='[]{}"\\ab', max_size=6),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.text(alphabet='[]{}"a', max_size=3), children, max_size=3)
        ),
        max_leaves=30,
    ),
    limit=st.integers(0, 8),
)
def test_check_depth_agrees_with_the_parsed_depth(value: Any, limit: int) -> None:
    text = json.dumps(value)
    if _depth(value) <= limit:
        check_depth(text, max_depth=limit)
    else:
        with pytest.raises(InvalidInput):
            check_depth(text, max_depth=limit)
