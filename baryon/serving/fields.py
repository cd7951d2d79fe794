"""Request field types with a rule of their own, shared by the schema modules.

Each type carries its rule in its JSON Schema (so the OpenAPI document says it) and
enforces it in validation (so it is enforced once, before any route code runs). A
value that breaks the rule is refused with the type's **named** error, which the API
answers as the problem's ``code`` (422): a client sees ``invalid_time``, not a generic
``invalid_input``.

* :data:`Timestamp` — the one accepted form of a time in a request (bodies and query
  parameters alike): an RFC 3339 date-time with a UTC offset (``2026-01-01T00:00:00Z``,
  ``2026-01-01T09:30:00+02:00``), read as UTC. A number (``0.5``, ``1767225600``), a
  date alone or a time without an offset is ``invalid_time``, never epoch seconds or
  local time.
* :func:`named` — report a failure of the constraints before it as one named error.
* :data:`NON_BLANK` — the pattern of a text with a character that is not white space.
* :data:`IdempotencyKey` — the ``Idempotency-Key`` header: 1 to 255 visible ASCII
  characters (``invalid_idempotency_key``).

Like the schema modules, this one imports nothing but pydantic.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, cast

from pydantic import (
    AwareDatetime,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic_core import PydanticCustomError

__all__ = ["NON_BLANK", "TIME_FORMAT", "IdempotencyKey", "Timestamp", "named"]

#: RFC 3339 ``date-time`` (JSON Schema ``format: date-time``): seconds and an offset required.
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)")
TIME_FORMAT = "an RFC 3339 date-time with a UTC offset, e.g. 2026-01-01T00:00:00Z"

#: Python's white space (``str.isspace``: what ``str.strip`` removes), spelled out so
#: that the pattern means the same to Python, to the Rust regex engine of pydantic and
#: to JSON Schema's ECMA-262 (whose ``\s`` differs: it has U+FEFF, not U+001C-U+001F).
_SPACE = (
    "\\t\\n\\u000b\\u000c\\r\\u001c-\\u001f \\u0085\\u00a0\\u1680\\u2000-\\u200a"
    "\\u2028\\u2029\\u202f\\u205f\\u3000"
)
#: A text with at least one character that is not white space (``text.strip() != ""``).
NON_BLANK = f"[^{_SPACE}]"


def named(code: str, message: str) -> WrapValidator:
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
    """

    def check(value: Any, validate: ValidatorFunctionWrapHandler) -> Any:
        try:
            return validate(value)
        except ValidationError:
            raise PydanticCustomError(code, message) from None

    return WrapValidator(check)


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
