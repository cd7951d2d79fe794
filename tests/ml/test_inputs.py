"""Tests of baryon.ml.inputs: input contracts and the one JSON row → model input path."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from baryon.core.errors import InvalidInput
from baryon.ml.inputs import InputContract, check_missing_policy, input_contract, read_rows

FEATURES = ("x1", "x2", "color", "flag", "at")
SCHEMA = {"x1": "float", "x2": "int", "color": "category", "flag": "bool", "at": "datetime"}
STRICT = InputContract.from_schema(SCHEMA, FEATURES)
ROW = {"x1": 0.5, "x2": 3, "color": "red", "flag": True, "at": "2026-01-02T03:04:05+00:00"}


def _train() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "x1": [1.0, 2.0, np.nan, 10.0],
            "x2": [1, 3, 3, 8],
            "color": pd.Categorical(["red", "blue", "blue", None]),
            "flag": [True, False, False, True],
            "at": pd.to_datetime(["2026-01-01", "2026-01-03", "2026-01-03", None], utc=True),
        }
    )


def _refused(inputs: list[Any], contract: InputContract = STRICT) -> list[dict[str, Any]]:
    with pytest.raises(InvalidInput) as info:
        read_rows(inputs, FEATURES, contract)
    assert info.value.code == "invalid_features"
    return list(info.value.details["errors"])


def test_input_contract_types_from_schema_fill_median_and_most_frequent() -> None:
    contract = input_contract(_train(), SCHEMA, missing="impute")
    assert contract.missing == "impute"
    assert dict(contract.types) == {
        "x1": "number", "x2": "number", "color": "string", "flag": "boolean", "at": "datetime",
    }  # fmt: skip
    assert dict(contract.fill) == {
        "x1": 2.0,  # median of 1, 2, 10 (the NaN left out)
        "x2": 3.0,  # median of 1, 3, 3, 8
        "color": "blue",
        "flag": False,  # a tie goes to the first in sorted order ("False" < "True")
        "at": "2026-01-03T00:00:00+00:00",
    }
    assert InputContract.from_dict(contract.to_dict()) == contract


def test_input_contract_all_null_column_has_nothing_to_impute_so_refuses() -> None:
    train = pd.DataFrame({"x1": [np.nan, np.nan]})
    contract = input_contract(train, {"x1": "float"}, missing="impute")
    assert contract.fill == {"x1": None}
    with pytest.raises(InvalidInput) as info:
        read_rows([{"x1": None}], ("x1",), contract)
    assert info.value.message == "inputs[0].x1 is null (expected a number; missing=impute)"


def test_read_rows_good_rows_objects_and_lists_in_feature_order() -> None:
    rows = read_rows([ROW, list(ROW.values())], FEATURES, STRICT)
    assert list(rows.frame.columns) == list(FEATURES)
    assert rows.frame.to_dict("records")[0] == ROW
    assert rows.frame.to_dict("records")[1] == ROW
    assert rows.imputed == [[], []]


@pytest.mark.parametrize(
    ("field", "value", "problem", "expected", "got"),
    [
        ("x1", None, "null", "a number", "null"),  # was imputed silently
        ("x1", True, "wrong_type", "a number", "a boolean"),  # was 1.0
        ("x1", "0.7", "wrong_type", "a number", "a string"),  # was 0.7
        ("x1", [1], "wrong_type", "a number", "an array"),
        ("color", 3, "wrong_type", "a string", "a number"),  # was the category "3"
        ("flag", 1, "wrong_type", "true or false", "a number"),
        ("flag", "true", "wrong_type", "true or false", "a string"),
        ("at", "yesterday", "wrong_type", "an ISO 8601 date-time string", "a string"),
        ("at", 1_700_000_000, "wrong_type", "an ISO 8601 date-time string", "a number"),
    ],
)
def test_read_rows_strict_refuses_each_bad_value_naming_row_and_field(
    field: str, value: Any, problem: str, expected: str, got: str
) -> None:
    errors = _refused([ROW, {**ROW, field: value}])
    assert errors == [
        {"row": 1, "field": field, "problem": problem, "expected": expected, "got": got}
    ]


def test_read_rows_missing_and_unknown_features_refused_all_reported() -> None:
    bad = {k: v for k, v in ROW.items() if k != "x2"} | {"x3": 1.0}
    with pytest.raises(InvalidInput) as info:
        read_rows([bad, ROW, [1.0, 2.0]], FEATURES, STRICT)
    assert info.value.message == "inputs[0].x3 is not a feature of this model (and 2 more)"
    assert [(e["row"], e["field"], e["problem"]) for e in info.value.details["errors"]] == [
        (0, "x3", "unknown_feature"),
        (0, "x2", "missing"),
        (2, None, "wrong_length"),
    ]


@pytest.mark.parametrize("row", [3, "text", None, True])
def test_read_rows_a_row_that_is_not_an_object_or_list_refused(row: Any) -> None:
    assert _refused([row])[0]["problem"] == "not_a_row"


def test_read_rows_impute_fills_null_and_missing_and_says_which() -> None:
    contract = input_contract(_train(), SCHEMA, missing="impute")
    rows = read_rows(
        [{**ROW, "x1": None}, {k: v for k, v in ROW.items() if k not in ("color", "at")}, ROW],
        FEATURES,
        contract,
    )
    assert rows.imputed == [["x1"], ["color", "at"], []]
    records = rows.frame.to_dict("records")
    assert records[0]["x1"] == 2.0
    assert (records[1]["color"], records[1]["at"]) == ("blue", "2026-01-03T00:00:00+00:00")


@pytest.mark.parametrize(
    "row", [{**ROW, "x1": True}, {**ROW, "x1": "0.7"}, {**ROW, "extra": 1}, {**ROW, "flag": 0}]
)
def test_read_rows_impute_still_refuses_wrong_types_and_unknown_features(row: Any) -> None:
    _refused([row], input_contract(_train(), SCHEMA, missing="impute"))


def test_read_rows_untyped_contract_takes_numbers_and_strings_only() -> None:
    rows = read_rows([{"a": 1, "b": "x"}], ("a", "b"))
    assert rows.frame.to_dict("records") == [{"a": 1, "b": "x"}]
    for value in (None, True, {"c": 1}):
        with pytest.raises(InvalidInput):
            read_rows([{"a": value, "b": "x"}], ("a", "b"))


def test_read_rows_without_features_rows_name_columns_and_must_agree() -> None:
    assert read_rows([[1, 2], [3, 4]], ()).frame.values.tolist() == [[1, 2], [3, 4]]
    assert list(read_rows([{"a": 1}], ()).frame.columns) == ["a"]
    with pytest.raises(InvalidInput) as info:
        read_rows([{"a": 1}, {"b": 2}], ())
    assert [(e["row"], e["field"]) for e in info.value.details["errors"]] == [(0, "b"), (1, "a")]


def test_input_contract_from_dict_of_older_versions_is_none() -> None:
    assert InputContract.from_dict(None) is None
    assert InputContract.from_dict({"types": {}}) is None
    assert InputContract.from_dict({"missing": "maybe"}) is None


def test_check_missing_policy_refuses_unknown() -> None:
    assert check_missing_policy("impute") == "impute"
    with pytest.raises(InvalidInput) as info:
        check_missing_policy("drop")
    assert info.value.code == "invalid_missing_policy"
