"""Column types and roles: inference, suggestion, validation of user overrides.

Types
-----
Every column has one logical type: ``int``, ``float``, ``bool``, ``datetime``,
``string`` or ``category``. The first five follow the Arrow type of the stored column;
``category`` is a string column with few distinct values (stored as text, so every
consumer can read it). Users override types at ingest (``types={"zip": "string"}``).

Roles
-----
A role says what a column is *for*: ``id``, ``text``, ``label``, ``user``, ``item``,
``rating``, ``timestamp``, ``feature`` or ``ignore``. :func:`suggest_roles` proposes
them from names, types and statistics (rules listed in its docstring); users override
them with ``roles={"col": "label"}`` or ``--role col=label``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from baryon.core.errors import InvalidInput

__all__ = [
    "LOGICAL_TYPES",
    "ROLES",
    "arrow_type_for",
    "check_roles",
    "check_types",
    "infer_schema",
    "logical_type",
    "parse_pairs",
    "resolve_roles",
    "suggest_roles",
]

LOGICAL_TYPES = ("int", "float", "bool", "datetime", "string", "category")
ROLES = ("id", "text", "label", "user", "item", "rating", "timestamp", "feature", "ignore")

_ARROW_TYPES: dict[str, pa.DataType] = {
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "datetime": pa.timestamp("ns"),
    "string": pa.string(),
    "category": pa.string(),
}

# Name hints, matched on the lower-cased name split into words (camelCase and
# snake_case both split: "UserID" -> ["user", "id"]).
_LABEL_NAMES = (
    "label", "labels", "target", "class", "y", "intent", "category", "sentiment",
    "outcome", "topic", "tag", "polarity", "emotion", "stance", "verdict", "gold",
)  # fmt: skip
_TEXT_WORDS = {
    "text", "sentence", "message", "review", "comment", "body", "description",
    "title", "query", "utterance", "instruction", "response", "question", "answer",
    "content", "tweet", "post", "headline", "summary", "document", "abstract", "prompt",
}  # fmt: skip
_USER_WORDS = {"user", "customer", "client", "member", "reviewer", "visitor", "buyer", "uid"}
_ITEM_WORDS = {
    "item", "product", "movie", "film", "book", "wine", "song", "track", "article",
    "sku", "asin", "isbn", "listing", "iid", "beer", "recipe", "restaurant", "business",
}  # fmt: skip
_RATING_WORDS = {"rating", "ratings", "stars", "score", "rate", "preference"}
_ID_WORDS = {"id", "uuid", "guid", "key", "index", "idx"}

#: A string column is a ``category`` when it has at most this many distinct values ...
CATEGORY_MAX_DISTINCT = 50
#: ... or at most this share of its non-null values are distinct (capped at 1000).
CATEGORY_MAX_SHARE = 0.05
#: An id column whose distinct count is a sketch estimate is unique above this share.
UNIQUE_ESTIMATE_SHARE = 0.97
#: A string column averaging at least this many characters is ``text``.
TEXT_MIN_MEAN_LENGTH = 25.0


_ID_PREFIXES = _USER_WORDS | _ITEM_WORDS | {"rating", "row", "order", "session", "record"}


def _words(name: str) -> list[str]:
    """Split a column name into lower-case words: ``"UserID"`` → ``["user", "id"]``."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", spaced)
    words: list[str] = []
    for word in re.split(r"[^0-9a-zA-Z]+", spaced.lower()):
        if word.endswith("id") and word[:-2] in _ID_PREFIXES:  # "userid", "itemid"
            words.extend([word[:-2], "id"])
        elif word:
            words.append(word)
    return words


def arrow_type_for(logical: str) -> pa.DataType:
    """Return the Arrow storage type of a logical type (``category`` is stored as text)."""
    return _ARROW_TYPES[logical]


def parse_pairs(values: Sequence[str] | None, what: str) -> dict[str, str]:
    """Parse ``COLUMN=VALUE`` items (the CLI's ``--role``/``--type``, the API's form fields).

    The column may itself contain ``=``: the last ``=`` separates the value.

    Parameters
    ----------
    values : sequence of str, optional
        Items such as ``"category=label"``.
    what : str
        The option or field that gave them (``--role``, ``role``), for the error message.

    Returns
    -------
    dict
        ``{column: value}``, both stripped; a repeated column keeps its last value.

    Raises
    ------
    InvalidInput
        ``invalid_option`` for an item without ``=``, or with an empty column or value.
    """
    out: dict[str, str] = {}
    for item in values or []:
        column, eq, value = str(item).rpartition("=")
        if not eq or not column.strip() or not value.strip():
            raise InvalidInput(
                f"{what} expects COLUMN={what.lstrip('-').upper()}, got {item!r}",
                code="invalid_option",
            )
        out[column.strip()] = value.strip()
    return out


def check_types(types: Mapping[str, str] | None) -> dict[str, str]:
    """Validate a ``{column: logical type}`` mapping given by a user.

    Raises
    ------
    InvalidInput
        ``invalid_type`` naming the bad type and the allowed ones.
    """
    out: dict[str, str] = {}
    for column, logical in (types or {}).items():
        value = str(logical).strip().lower()
        if value not in LOGICAL_TYPES:
            raise InvalidInput(
                f"unknown type {logical!r} for column {column!r}; use one of "
                + ", ".join(LOGICAL_TYPES),
                code="invalid_type",
            )
        out[str(column)] = value
    return out


def check_roles(roles: Mapping[str, str] | None) -> dict[str, str]:
    """Validate a ``{column: role}`` mapping given by a user.

    Raises
    ------
    InvalidInput
        ``invalid_role`` naming the bad role and the allowed ones.
    """
    out: dict[str, str] = {}
    for column, role in (roles or {}).items():
        value = str(role).strip().lower()
        if value not in ROLES:
            raise InvalidInput(
                f"unknown role {role!r} for column {column!r}; use one of " + ", ".join(ROLES),
                code="invalid_role",
            )
        out[str(column)] = value
    return out


def _check_columns(given: Mapping[str, str], columns: Sequence[str], what: str) -> None:
    unknown = [c for c in given if c not in columns]
    if unknown:
        raise InvalidInput(
            f"{what} given for unknown column(s) {', '.join(map(repr, unknown))}; "
            f"the columns are {', '.join(map(repr, columns))}",
            code="unknown_column",
            details={"columns": unknown},
        )


def logical_type(arrow_type: pa.DataType, stats: Mapping[str, Any] | None = None) -> str:
    """Return the logical type of an Arrow column, using its statistics for ``category``.

    Parameters
    ----------
    arrow_type : pyarrow.DataType
        The stored type.
    stats : mapping, optional
        The column's statistics from :class:`baryon.data.quality.ReportBuilder`
        (``non_null``, ``distinct``, ``length``); without them strings are ``string``.
    """
    if pa.types.is_boolean(arrow_type):
        return "bool"
    if pa.types.is_integer(arrow_type):
        return "int"
    if pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type):
        return "float"
    if pa.types.is_timestamp(arrow_type) or pa.types.is_date(arrow_type):
        return "datetime"
    if stats and _looks_categorical(stats):
        return "category"
    return "string"


def _looks_categorical(stats: Mapping[str, Any]) -> bool:
    non_null, distinct = int(stats.get("non_null", 0)), int(stats.get("distinct", 0))
    mean_length = float((stats.get("length") or {}).get("mean") or 0.0)
    if non_null == 0 or distinct == 0 or distinct * 2 > non_null:
        return False
    if mean_length > 50:
        return False
    cap = min(1000.0, CATEGORY_MAX_SHARE * non_null)
    return distinct <= max(CATEGORY_MAX_DISTINCT, cap)


def infer_schema(
    arrow_schema: pa.Schema,
    stats: Mapping[str, Mapping[str, Any]],
    declared: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Return ``{column: logical type}`` for every column, declared types first.

    Raises
    ------
    InvalidInput
        ``unknown_column`` if a declared type names a column that does not exist.
    """
    declared = dict(declared or {})
    _check_columns(declared, arrow_schema.names, "a type was")
    return {
        f.name: declared.get(f.name) or logical_type(f.type, stats.get(f.name))
        for f in arrow_schema
    }


def suggest_roles(
    schema: Mapping[str, str], stats: Mapping[str, Mapping[str, Any]]
) -> dict[str, str]:
    """Suggest a role for every column.

    Rules, in order (the first that applies wins):

    1. ``ignore`` — every value missing, or one value repeated on every row.
    2. ``timestamp`` — the first ``datetime`` column.
    3. ``user`` — a name with a user-like word (user, customer, client, member, ...).
    4. ``item`` — a name with an item-like word (item, product, movie, wine, ...), or,
       when a user column exists, the first non-unique id-like column.
    5. ``rating`` — a numeric column named rating/score/stars when a user or item
       column exists.
    6. ``id`` — an id-like name (``id``, ``*_id``, ``RatingID``, ``uuid``, ``key``)
       whose values are all distinct.
    7. ``label`` — the first column (by priority of name: label, target, class, y,
       intent, category, sentiment, ...) that is numeric, boolean or has few distinct
       values. Without such a name, and when the table is not user-item data: with a
       text column, the first ``category``/``bool`` column; without one, the last
       numeric or ``category`` column (the UCI convention).
    8. ``text`` — a ``string`` column named like text (text, sentence, review, ...)
       or averaging at least 25 characters.
    9. ``feature`` — everything else.

    Parameters
    ----------
    schema : mapping
        ``{column: logical type}`` in column order.
    stats : mapping
        Per-column statistics (``non_null``, ``distinct``, ``length.mean``).

    Returns
    -------
    dict
        ``{column: role}`` in column order.
    """
    roles: dict[str, str] = {}
    columns = list(schema)

    def free(c: str) -> bool:
        return c not in roles

    def st(c: str) -> Mapping[str, Any]:
        return stats.get(c, {})

    def unique(c: str) -> bool:
        s = st(c)
        non_null, distinct = int(s.get("non_null", 0)), int(s.get("distinct", -1))
        if s.get("distinct_estimated"):  # a sketch estimate: within 3 % counts as all distinct
            return non_null > 0 and distinct >= UNIQUE_ESTIMATE_SHARE * non_null
        return non_null > 0 and distinct == non_null

    def id_like(c: str) -> bool:
        words = _words(c)
        return bool(words) and words[-1] in _ID_WORDS

    for c in columns:  # 1. ignore
        s = st(c)
        if int(s.get("non_null", 0)) == 0 or (
            int(s.get("distinct", 0)) <= 1 and int(s.get("non_null", 0)) > 1
        ):
            roles[c] = "ignore"
    for c in columns:  # 2. timestamp
        if free(c) and schema[c] == "datetime":
            roles[c] = "timestamp"
            break
    idish = ("int", "string", "category")
    for c in columns:  # 3. user
        if free(c) and schema[c] in idish and set(_words(c)) & _USER_WORDS:
            roles[c] = "user"
            break
    has_user = "user" in roles.values()
    for c in columns:  # 4. item: by name first, then the first repeated id next to a user
        if free(c) and schema[c] in idish and set(_words(c)) & _ITEM_WORDS:
            roles[c] = "item"
            break
    else:
        for c in columns:
            if has_user and free(c) and schema[c] in idish and id_like(c) and not unique(c):
                roles[c] = "item"
                break
    recsys = has_user or "item" in roles.values()
    if recsys:  # 5. rating
        for c in columns:
            numeric = schema[c] in ("int", "float")
            if free(c) and numeric and not id_like(c) and set(_words(c)) & _RATING_WORDS:
                roles[c] = "rating"
                break
    for c in columns:  # 6. id
        if free(c) and schema[c] in idish and id_like(c) and unique(c):
            roles[c] = "id"
    for c in columns:  # 8 (decided early so 7 can look at it). text
        if free(c) and schema[c] == "string":
            mean_length = float((st(c).get("length") or {}).get("mean") or 0.0)
            if set(_words(c)) & _TEXT_WORDS or mean_length >= TEXT_MIN_MEAN_LENGTH:
                roles[c] = "text"
    label = None if recsys else _pick_label(columns, schema, stats, roles, free)
    if label is not None:
        roles[label] = "label"
    for c in columns:  # 9. feature
        roles.setdefault(c, "feature")
    return {c: roles[c] for c in columns}


def _pick_label(
    columns: list[str],
    schema: Mapping[str, str],
    stats: Mapping[str, Mapping[str, Any]],
    roles: Mapping[str, str],
    free: Any,
) -> str | None:
    def few_values(c: str) -> bool:
        if schema[c] in ("int", "float", "bool", "category"):
            return True
        s = stats.get(c, {})
        return int(s.get("distinct", 0)) <= max(0.5 * int(s.get("non_null", 0)), 20)

    for wanted in _LABEL_NAMES:
        for c in columns:
            if free(c) and wanted in (c.lower(), *_words(c)[-1:]) and few_values(c):
                return c
    if "text" in roles.values():
        for c in columns:
            if free(c) and schema[c] in ("category", "bool"):
                return c
        return None
    for c in reversed(columns):
        if free(c) and schema[c] in ("int", "float", "category", "bool"):
            return c
    return None


def resolve_roles(
    schema: Mapping[str, str],
    stats: Mapping[str, Mapping[str, Any]],
    overrides: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Suggested roles with the user's overrides applied.

    Raises
    ------
    InvalidInput
        ``unknown_column`` when an override names a column that does not exist.
    """
    overrides = check_roles(overrides)
    _check_columns(overrides, list(schema), "a role was")
    roles = suggest_roles(schema, stats)
    for column, role in overrides.items():
        if role in ("label", "timestamp", "user", "item", "rating"):
            # The user's choice replaces the suggestion for single-column roles.
            for other, suggested in roles.items():
                if suggested == role and other not in overrides:
                    roles[other] = "feature"
        roles[column] = role
    return roles
