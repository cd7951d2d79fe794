"""Logical types and automatic roles, on tiny tables shaped like the bundled datasets."""

from __future__ import annotations

import pyarrow as pa
import pytest

from baryon.core.errors import InvalidInput
from baryon.data.quality import ReportBuilder
from baryon.data.schema import (
    _words,
    check_roles,
    check_types,
    infer_schema,
    logical_type,
    parse_pairs,
    resolve_roles,
    suggest_roles,
)


def _schema_and_roles(table: pa.Table) -> tuple[dict[str, str], dict[str, str]]:
    builder = ReportBuilder(table.schema)
    builder.update(table)
    stats = builder.finish()["columns"]
    schema = infer_schema(table.schema, stats)
    return schema, suggest_roles(schema, stats)


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("UserID", ["user", "id"]),
        ("RatingID", ["rating", "id"]),
        ("user_id", ["user", "id"]),
        ("userid", ["user", "id"]),
        ("compressive_strength_mpa", ["compressive", "strength", "mpa"]),
        ("HTTPStatus", ["http", "status"]),
    ],
)
def test_words_split_camel_and_snake_case(name: str, words: list[str]) -> None:
    assert _words(name) == words


@pytest.mark.parametrize(
    ("arrow_type", "logical"),
    [
        (pa.int64(), "int"),
        (pa.float64(), "float"),
        (pa.bool_(), "bool"),
        (pa.timestamp("s"), "datetime"),
        (pa.date32(), "datetime"),
        (pa.string(), "string"),
    ],
)
def test_logical_type_follows_arrow_type(arrow_type: pa.DataType, logical: str) -> None:
    assert logical_type(arrow_type) == logical


def test_logical_type_few_distinct_short_strings_are_category() -> None:
    stats = {"non_null": 1000, "distinct": 3, "length": {"mean": 5.0}}
    assert logical_type(pa.string(), stats) == "category"


def test_logical_type_mostly_distinct_strings_are_string() -> None:
    stats = {"non_null": 1000, "distinct": 900, "length": {"mean": 5.0}}
    assert logical_type(pa.string(), stats) == "string"


def test_roles_banking77_shape_is_text_and_label() -> None:
    texts = [f"I am still waiting on my card number {i}?" for i in range(40)]
    labels = ["card_arrival", "lost_card", "refund"] * 13 + ["refund"]
    schema, roles = _schema_and_roles(pa.table({"text": texts, "category": labels}))
    assert schema == {"text": "string", "category": "category"}
    assert roles == {"text": "text", "category": "label"}


def test_roles_tfn_shape_int_label_is_label() -> None:
    texts = [f"$BYND - JPMorgan reels in expectations {i} https://t.co/x" for i in range(30)]
    table = pa.table({"text": texts, "label": [0, 1, 2] * 10})
    assert _schema_and_roles(table)[1] == {"text": "text", "label": "label"}


def test_roles_xwines_ratings_shape_is_recommender_data() -> None:
    n = 60
    table = pa.table(
        {
            "RatingID": list(range(1000, 1000 + n)),
            "UserID": [i % 7 for i in range(n)],
            "WineID": [100 + i % 11 for i in range(n)],
            "Vintage": [1990 + i % 20 for i in range(n)],
            "Rating": [float(1 + i % 5) for i in range(n)],
            "Date": pa.array(list(range(n)), pa.timestamp("s")),
        }
    )
    assert _schema_and_roles(table)[1] == {
        "RatingID": "id",
        "UserID": "user",
        "WineID": "item",
        "Vintage": "feature",
        "Rating": "rating",
        "Date": "timestamp",
    }


def test_roles_concrete_shape_last_numeric_is_label() -> None:
    n = 30
    columns = [
        "cement", "blast_furnace_slag", "fly_ash", "water", "superplasticizer",
        "coarse_aggregate", "fine_aggregate", "age_days",
    ]  # fmt: skip
    data = {"id": list(range(n))}
    data.update({c: [float((i * (k + 3)) % 17) for i in range(n)] for k, c in enumerate(columns)})
    data["compressive_strength_mpa"] = [10.0 + i for i in range(n)]
    roles = _schema_and_roles(pa.table(data))[1]
    assert roles["id"] == "id"
    assert [c for c, r in roles.items() if r == "feature"] == columns
    assert roles["compressive_strength_mpa"] == "label"


def test_roles_constant_and_empty_columns_are_ignored() -> None:
    table = pa.table(
        {"x": [1, 2, 3], "same": ["a", "a", "a"], "empty": pa.array([None] * 3, pa.string())}
    )
    roles = _schema_and_roles(table)[1]
    assert roles["same"] == "ignore"
    assert roles["empty"] == "ignore"


def test_roles_user_item_without_item_word_uses_repeated_id_column() -> None:
    table = pa.table(
        {"customer_id": [1, 1, 2, 2], "sku_code_id": [5, 6, 5, 7], "stars": [1, 2, 3, 4]}
    )
    roles = _schema_and_roles(table)[1]
    assert roles["customer_id"] == "user"
    assert roles["sku_code_id"] == "item"
    assert roles["stars"] == "rating"


def test_resolve_roles_override_replaces_the_suggested_label() -> None:
    schema = {"text": "string", "category": "category", "other": "category"}
    stats = {
        "text": {"non_null": 4, "distinct": 4, "length": {"mean": 40.0}},
        "category": {"non_null": 4, "distinct": 2},
        "other": {"non_null": 4, "distinct": 2},
    }
    roles = resolve_roles(schema, stats, {"other": "label"})
    assert roles == {"text": "text", "category": "feature", "other": "label"}


def test_resolve_roles_unknown_column_is_refused() -> None:
    with pytest.raises(InvalidInput) as info:
        resolve_roles({"a": "int"}, {"a": {}}, {"b": "label"})
    assert info.value.code == "unknown_column"


def test_check_roles_unknown_role_is_refused() -> None:
    with pytest.raises(InvalidInput) as info:
        check_roles({"a": "target"})
    assert info.value.code == "invalid_role"


def test_check_types_unknown_type_is_refused_and_case_is_ignored() -> None:
    assert check_types({"a": "Float"}) == {"a": "float"}
    with pytest.raises(InvalidInput) as info:
        check_types({"a": "decimal"})
    assert info.value.code == "invalid_type"


def test_infer_schema_declared_type_wins() -> None:
    schema = pa.schema([("zip", pa.string())])
    stats = {"zip": {"non_null": 100, "distinct": 3, "length": {"mean": 5.0}}}
    assert infer_schema(schema, stats) == {"zip": "category"}
    assert infer_schema(schema, stats, {"zip": "string"}) == {"zip": "string"}


def test_parse_pairs_last_equals_splits_and_blank_parts_are_refused() -> None:
    assert parse_pairs(["a=b=label", " c = id "], "--role") == {"a=b": "label", "c": "id"}
    assert parse_pairs(None, "role") == {}
    for bad in ("label", "=label", "a="):
        with pytest.raises(InvalidInput) as err:
            parse_pairs([bad], "--role")
        assert err.value.code == "invalid_option"
        assert "--role expects COLUMN=ROLE" in err.value.message
