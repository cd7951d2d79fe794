"""Request field types with a rule of their own, shared by the schema modules.

Each type carries its rule in its JSON Schema (so the OpenAPI document says it) and
enforces it in validation (so it is enforced once, before any route code runs). A
value that breaks the rule is refused with the type's **named** error, which the API
answers as the problem's ``code`` (422): a client sees ``invalid_time``, not a generic
``invalid_input``.

* :data:`Integer`, :data:`WholeNumber` — a JSON integer as JSON Schema reads one:
  ``10`` and ``10.0`` are the same number (the document's ``integer`` admits both),
  while ``10.5``, ``true`` and ``"10"`` are refused (``invalid_input``).
* :data:`Timestamp` — the one accepted form of a time in a request (bodies and query
  parameters alike): an RFC 3339 date-time with a UTC offset (``2026-01-01T00:00:00Z``,
  ``2026-01-01T09:30:00+02:00``), read as UTC. A number (``0.5``, ``1767225600``), a
  date alone or a time without an offset is ``invalid_time``, never epoch seconds or
  local time.
* :func:`named` — report a failure of the constraints before it as one named error.
* :class:`OneOf` — a string from a set known at run time (estimator kinds, run
  statuses): ``enum`` in the schema, its named error otherwise.
* :class:`Unique` — a list without repeats: ``uniqueItems`` in the schema.
* :data:`NON_BLANK` — the pattern of a text with a character that is not white space.
* :data:`DatasetRef`, :data:`ModelName` — the reference grammar of
  :mod:`baryon.core.refs` as patterns (``invalid_ref``, ``invalid_model_name``).
* :data:`NonBlank` — a text with a character that is not white space (``empty_text``).
* :data:`IdempotencyKey` — the ``Idempotency-Key`` header: 1 to 255 visible ASCII
  characters (``invalid_idempotency_key``).

Like the schema modules, this one imports nothing but pydantic (and the reference
grammar of :mod:`baryon.core.refs`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated, Any, cast

from pydantic import (
    AwareDatetime,
    BeforeValidator,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StrictInt,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from baryon.core.refs import NAME_PATTERN, WHITE_SPACE, ref_pattern

__all__ = [
    "MAX_SAFE_INTEGER",
    "NON_BLANK",
    "TIME_FORMAT",
    "DatasetRef",
    "IdempotencyKey",
    "Integer",
    "ModelName",
    "NonBlank",
    "OneOf",
    "Timestamp",
    "Unique",
    "WholeNumber",
    "named",
]

#: The ``maximum`` of a request integer that is stored: the largest integer a JSON
#: number carries exactly (2**53 - 1, JavaScript's ``Number.MAX_SAFE_INTEGER``), well
#: inside a 64-bit database column. (2**63 - 1 itself would be a false bound: as a
#: JSON Schema float it equals 2**63, and validators let 2**63 + 191 through.)
MAX_SAFE_INTEGER = 2**53 - 1

#: RFC 3339 ``date-time`` (JSON Schema ``format: date-time``): seconds and an offset required.
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)")
TIME_FORMAT = "an RFC 3339 date-time with a UTC offset, e.g. 2026-01-01T00:00:00Z"

#: A text with at least one character that is not white space (``text.strip() != ""``).
NON_BLANK = f"[^{WHITE_SPACE}]"


def named(code: str, message: str, *, only: Iterable[str] = ()) -> WrapValidator:
    """Return a validator that reports any failure of the constraints before it as ``code``.

    Use it last in ``Annotated``: ``Annotated[str, Field(pattern=P), named("bad_x", "...")]``
    keeps the pattern in the JSON Schema and answers a mismatch with the error type
    ``code`` (the problem's ``code`` over HTTP, when it is in the catalogue
    :data:`baryon.core.errors.CODES`).

    Parameters
    ----------
    code : str
        The error type.
    message : str
        The error message (no input echoed back).
    only : iterable of str, optional
        Rename only errors of these types (``("too_short",)`` for an empty list whose
        items have named rules of their own); by default, any but a wrong JSON type
        (``string_type``, ``int_type``, ...), which stays a schema error
        (``invalid_input``).
    """
    kinds = frozenset(only)

    def check(value: Any, validate: ValidatorFunctionWrapHandler) -> Any:
        try:
            return validate(value)
        except ValidationError as error:
            types = {e["type"] for e in error.errors()}
            if (kinds and not types <= kinds) or any(t.endswith("_type") for t in types):
                raise
            raise PydanticCustomError(code, message) from None

    return WrapValidator(check)


class OneOf:
    """A string that must be one of ``values``: ``enum`` in the JSON Schema, ``code`` if not.

    Use it in ``Annotated[str, OneOf(KINDS, "unknown_kind", "kind")]``.

    Parameters
    ----------
    values : iterable of str
        The accepted values, in the order the schema lists them.
    code : str
        The named error of any other value.
    what : str
        What the value is, for the message (``"kind"``).
    """

    def __init__(self, values: Iterable[str], code: str, what: str) -> None:
        self.values = tuple(values)
        self.code = code
        self.what = what

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        out = handler(schema)
        out["enum"] = list(self.values)
        return out

    def _check(self, value: str) -> str:
        if value not in self.values:
            raise PydanticCustomError(
                self.code,
                "{what} must be one of {allowed}",
                {"what": self.what, "allowed": ", ".join(self.values)},
            )
        return value


class Unique:
    """A list whose items do not repeat: ``uniqueItems`` in the JSON Schema, ``code`` if
    they do.

    Parameters
    ----------
    code : str
        The named error of a repeated item.
    what : str
        What the list holds, for the message (``"classes"``).
    """

    def __init__(self, code: str, what: str) -> None:
        self.code = code
        self.what = what

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        out = handler(schema)
        out["uniqueItems"] = True
        return out

    def _check(self, value: list[Any]) -> list[Any]:
        if len(set(map(repr, value))) != len(value):
            raise PydanticCustomError(self.code, "{what} must not repeat", {"what": self.what})
        return value


def _whole_number(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


#: What makes an integer type take a whole float: ``10.0`` is ``10`` (JSON Schema's
#: ``integer``, which the OpenAPI document states, admits ``10.0``; a client that
#: writes whole numbers as floats, as Python's ``json.dumps(10.0)`` does, is not
#: refused). Put it after the type's bounds, so they stay in the JSON Schema:
#: ``Annotated[StrictInt, Field(ge=1), WholeNumber]``.
WholeNumber = BeforeValidator(_whole_number)
#: A request integer: strict (a boolean, a text or ``10.5`` is refused), but a whole
#: float is its integer (:data:`WholeNumber`). Bounds go on the field
#: (``n: Integer = Field(ge=1)``) or before :data:`WholeNumber`.
Integer = Annotated[StrictInt, WholeNumber]


def _rfc3339(value: Any, parse: ValidatorFunctionWrapHandler) -> datetime:
    if isinstance(value, datetime) or (isinstance(value, str) and _RFC3339.fullmatch(value)):
        try:
            return cast(datetime, parse(value)).astimezone(UTC)
        except (ValidationError, OverflowError):
            pass  # a day out of range, a naive datetime, 0001-01-01T00:00:00+14:00 in UTC
    raise PydanticCustomError("invalid_time", "expected {expected}", {"expected": TIME_FORMAT})


#: The one accepted form of a time in a request: an RFC 3339 date-time with its offset
#: (``2026-01-01T00:00:00Z``), read as an aware UTC :class:`~datetime.datetime`.
#: Numbers (epoch seconds), bare dates and offset-less times are refused with the error
#: type ``invalid_time``; Python callers may pass an aware ``datetime``.
Timestamp = Annotated[AwareDatetime, WrapValidator(_rfc3339)]

#: The ``Idempotency-Key`` header of a POST: 1 to 255 visible ASCII characters
#: (:func:`baryon.commerce.metering.check_idempotency_key` says the same).
IdempotencyKey = Annotated[
    str,
    Field(
        pattern=r"^[\x21-\x7e]{1,255}$",
        description="A retry with the same key and body "
        "returns the first answer and is metered once.",
    ),
    named("invalid_idempotency_key", "Idempotency-Key must be 1 to 255 visible ASCII characters"),
]

#: A dataset reference, ``[ORG/]NAME[:VERSION|@latest]`` (:func:`baryon.core.refs.parse_ref`).
DatasetRef = Annotated[
    str,
    Field(max_length=300, pattern=ref_pattern("dataset"), examples=["tickets", "tickets:2"]),
    named("invalid_ref", "not a dataset reference: use NAME, NAME:VERSION or NAME@latest"),
]
#: A model name: 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit.
ModelName = Annotated[
    str,
    Field(pattern=f"^{NAME_PATTERN}$"),
    named(
        "invalid_model_name",
        "invalid model name: use 1-100 letters, digits, '.', '_' or "
        "'-', starting with a letter or digit",
    ),
]
#: A text with at least one character that is not white space.
NonBlank = Annotated[str, Field(pattern=NON_BLANK), named("empty_text", "a text is empty")]
