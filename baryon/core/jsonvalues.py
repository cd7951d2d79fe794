"""JSON values: one policy for what Python, NumPy and pandas values become in JSON.

Everything Baryon writes as JSON — API responses and problem documents, ``--json``
output of the CLI, dataset and model manifests, run records, evaluation reports and
prediction outputs — goes through :func:`to_jsonable` (or :func:`dumps`, which calls
it). The policy:

- ``None``, ``bool``, ``int``, ``str`` and finite ``float``: as they are;
- NaN, ``+inf``, ``-inf``: ``null`` — JSON has no such numbers (the ``on_nonfinite``
  hook lets a caller keep or count them);
- NumPy scalars and arrays, pandas Series: Python values and nested lists
  (``.tolist()``); ``pandas.NA`` and ``pandas.NaT``: ``null``;
- ``datetime``: ISO 8601, an aware one converted to UTC first
  (``2026-01-01T00:00:00+00:00``), a naive one as it is (no offset is invented);
  ``date`` and ``time``: ISO 8601;
- ``Decimal``: its exact text (``"12.30"``), a NaN or infinite one ``null``;
- ``pathlib`` paths: their text;
- mappings: objects whose keys are strings (a non-string key becomes ``str()`` of its
  converted value: ``3`` → ``"3"``, ``True`` → ``"True"``, as every helper before did);
- lists and tuples: arrays; sets and frozensets: arrays sorted by each item's JSON text;
- pydantic models: ``model_dump(mode="json")``;
- anything else: ``default(value)`` when the caller gives ``default``, else ``TypeError``.

:func:`canonical_bytes` is the other JSON form: the bytes that are *hashed* (dataset
recipes, prediction inputs, training recipes). It converts nothing, so two different
inputs never share a digest (a NaN fill value is not a null one) and the digests
already stored stay valid.

Parsing: :func:`loads` is the one way Baryon reads JSON text it did not write (request
bodies, uploaded JSON files, ``--param`` values of the CLI). It refuses text that nests
arrays and objects deeper than :data:`MAX_DEPTH` (``[[1]]`` nests 2 deep) with the
named error ``too_deep`` before parsing, so a hostile ``[[[[…`` never reaches a
recursive parser (``json.loads`` and pydantic raise ``RecursionError`` at about a
thousand levels). :func:`check_depth` is that check alone, for text another parser
reads (the server's request bodies: :mod:`baryon.serving.observability`).

On purpose outside the policy: a model's state metadata keeps NaN/inf (Python reads it
back; :mod:`baryon.ml.persistence` passes ``on_nonfinite``), and data is not a report —
nested values of a source file kept as JSON text in a column
(:mod:`baryon.data.sources`) and a written sentiment feed keep what they were given.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import PurePath
from typing import Any

from baryon.core.errors import InvalidInput

__all__ = ["MAX_DEPTH", "canonical_bytes", "check_depth", "dumps", "loads", "to_jsonable"]

#: Deepest nesting of arrays and objects that :func:`loads` accepts (``[[1]]`` is 2).
MAX_DEPTH = 64
#: A JSON string (skipped whole, escapes included; unterminated at the end of the text)
#: or one bracket: what :func:`check_depth` looks at.
_DEPTH_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]')
_OPENERS = frozenset(b"[{")

_SCALARS = (str, int, bool, type(None))


def _null(value: float) -> None:
    return None


def to_jsonable(
    value: Any,
    *,
    default: Callable[[Any], Any] | None = None,
    on_nonfinite: Callable[[float], Any] = _null,
) -> Any:
    """Return ``value`` as plain JSON values (dict, list, str, int, float, bool, None).

    Parameters
    ----------
    value : object
        Any nesting of the types in the module's list.
    default : callable, optional
        What a value of any other type becomes (e.g. ``str`` or ``repr``); its result
        is converted in turn. Without it such a value raises ``TypeError``.
    on_nonfinite : callable, optional
        What a NaN or ±inf float becomes (default: ``None``). Callers that must keep
        them (state read back by Python) pass ``lambda x: x``; callers that report a
        replacement pass a function that records it.

    Returns
    -------
    object
        A new value; ``value`` is not modified.

    Raises
    ------
    TypeError
        A value of another type and no ``default``.

    Examples
    --------
    >>> import numpy as np
    >>> to_jsonable({"auc": np.float64("nan"), "n": np.int64(3), "ids": {2, 1}})
    {'auc': None, 'n': 3, 'ids': [1, 2]}
    """

    def walk(v: Any) -> Any:
        t = type(v)
        if t is str or t is int or t is bool or v is None:
            return v
        if t is float:
            return v if math.isfinite(v) else on_nonfinite(v)
        if t is dict:
            return {k if type(k) is str else _key(k): walk(x) for k, x in v.items()}
        if t is list or t is tuple:
            return [walk(x) for x in v]
        return other(v)

    def other(v: Any) -> Any:
        if isinstance(v, float):  # a subclass, e.g. numpy.float64
            return walk(float(v))
        if isinstance(v, _SCALARS):  # subclasses: IntEnum, StrEnum, ...
            return v
        if _is_pandas_missing(v):
            return None
        if isinstance(v, datetime):
            return (v if v.tzinfo is None else v.astimezone(UTC)).isoformat()
        if isinstance(v, date | time):
            return v.isoformat()
        if isinstance(v, Decimal):
            return str(v) if v.is_finite() else None
        if isinstance(v, PurePath):
            return str(v)
        if isinstance(v, Mapping):
            return walk(dict(v))
        if isinstance(v, set | frozenset):
            return sorted((walk(x) for x in v), key=_sort_key)
        if isinstance(v, list | tuple):
            return [walk(x) for x in v]
        if callable(getattr(v, "tolist", None)):  # NumPy scalars and arrays, pandas
            return walk(v.tolist())
        if callable(getattr(v, "model_dump", None)):  # pydantic models
            return walk(v.model_dump(mode="json"))
        if default is not None:
            return walk(default(v))
        raise TypeError(f"not JSON serialisable: {type(v).__name__}")

    def _key(k: Any) -> str:
        converted = walk(k)
        return converted if isinstance(converted, str) else str(converted)

    return walk(value)


def dumps(
    value: Any,
    *,
    default: Callable[[Any], Any] | None = None,
    indent: int | None = None,
    sort_keys: bool = False,
) -> bytes:
    """Return ``value`` as UTF-8 JSON bytes, after :func:`to_jsonable`.

    Parameters
    ----------
    value : object
        What to write.
    default : callable, optional
        Passed to :func:`to_jsonable`.
    indent : int, optional
        Pretty-print with this indent (default: compact, no spaces).
    sort_keys : bool
        Sort object keys.

    Returns
    -------
    bytes
        Strict JSON: non-ASCII characters as they are, never ``NaN`` or ``Infinity``.

    Raises
    ------
    TypeError
        A value :func:`to_jsonable` cannot convert.
    """
    text = json.dumps(
        to_jsonable(value, default=default),
        ensure_ascii=False,
        allow_nan=False,
        indent=indent,
        separators=(",", ":") if indent is None else (",", ": "),
        sort_keys=sort_keys,
    )
    return text.encode("utf-8")


def canonical_bytes(value: Any, *, ensure_ascii: bool = False) -> bytes:
    """Return the canonical JSON bytes of ``value`` for hashing.

    Sorted keys, no spaces, UTF-8. Nothing is converted: ``value`` must already be
    JSON values, and NaN/±inf are written as ``NaN``/``Infinity`` so that they hash
    differently from ``null``. These bytes are digested, never parsed back or sent.

    Parameters
    ----------
    value : object
        JSON values (dict, list, str, int, float, bool, None).
    ensure_ascii : bool
        Escape non-ASCII characters (the form training recipes were first hashed in).

    Raises
    ------
    TypeError
        ``value`` holds something that is not a JSON value.
    """
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=ensure_ascii)
    return text.encode("utf-8")


def check_depth(text: str | bytes, *, max_depth: int = MAX_DEPTH, what: str = "the JSON") -> None:
    """Refuse JSON text that nests arrays and objects deeper than ``max_depth``.

    A scan of the text, not a parse: brackets inside strings do not count, and text
    that is not JSON is left for the parser to refuse. Linear in the text's length;
    text with no more opening brackets than ``max_depth`` is not scanned at all.

    Parameters
    ----------
    text : str or bytes
        JSON text (bytes as UTF-8).
    max_depth : int
        Deepest nesting allowed (``[[1]]`` is 2, a scalar 0).
    what : str
        Names the text in the message (``"--param max_depth"``, ``"the request body"``).

    Raises
    ------
    InvalidInput
        Code ``too_deep``, with ``details={"max_depth": max_depth}``.
    """
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    if data.count(b"[") + data.count(b"{") <= max_depth:
        return
    depth = 0
    for match in _DEPTH_TOKEN.finditer(data):
        first = match.group()[0]
        if first in _OPENERS:
            depth += 1
            if depth > max_depth:
                raise _too_deep(what, max_depth)
        elif first != 0x22:  # a closing bracket (0x22 is '"': a string, skipped)
            depth -= 1


def loads(
    text: str | bytes, *, max_depth: int = MAX_DEPTH, what: str = "the JSON", **options: Any
) -> Any:
    """Parse JSON text that Baryon did not write, refusing deep nesting first.

    Parameters
    ----------
    text : str or bytes
        JSON text (bytes as UTF-8).
    max_depth : int
        Deepest nesting of arrays and objects allowed (see :func:`check_depth`).
    what : str
        Names the text in the ``too_deep`` message.
    **options
        Passed to :func:`json.loads` (``object_pairs_hook``, ``parse_constant``, ...).

    Returns
    -------
    object
        The parsed value.

    Raises
    ------
    InvalidInput
        Code ``too_deep``: nested deeper than ``max_depth``.
    ValueError
        The text is not JSON (:class:`json.JSONDecodeError`, as :func:`json.loads`).
    """
    check_depth(text, max_depth=max_depth, what=what)
    try:
        return json.loads(text, **options)
    except RecursionError:  # only with max_depth near the interpreter's recursion limit
        raise _too_deep(what, max_depth) from None


def _too_deep(what: str, max_depth: int) -> InvalidInput:
    return InvalidInput(
        f"{what} nests arrays or objects more than {max_depth} levels deep",
        code="too_deep",
        details={"max_depth": max_depth},
    )


def _is_pandas_missing(value: Any) -> bool:
    pd = sys.modules.get("pandas")  # without pandas loaded, no value can be pandas' NA
    return pd is not None and (value is pd.NA or value is pd.NaT)


def _sort_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)
