"""Sortable, kind-prefixed identifiers, and the one rule for matching ids.

Ids are opaque strings compared exactly, everywhere: no trimming, no case folding, no
Unicode normalisation, no reading of digits. Where an id may also be a number (a
recommender's user and item ids, X-Wines ``UserID``/``WineID``), a string names that
number only when it is its canonical decimal spelling (:func:`canonical_int`): ``"42"``
is user 42, but ``"042"``, ``"+42"``, ``"4_2"``, ``" 42"`` and ``"٤٢"`` are other ids.

An id looks like ``run_01jd8x3k6q9w2f7c0m4t5v8b1a``: a kind prefix, an underscore,
then 26 Crockford base-32 characters (lower case) encoding a 48-bit millisecond
timestamp followed by 80 random bits, as in the ULID specification
(https://github.com/ulid/spec). Ids of one kind sort by creation time.
"""

from __future__ import annotations

import re
import secrets

from baryon.core.clock import Clock, SystemClock
from baryon.core.errors import InvalidInput

__all__ = ["ID_BODY", "KINDS", "canonical_int", "is_id", "new_id"]

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base 32, lower case

#: Known kind prefixes. New kinds are added here so prefixes stay unique.
KINDS = frozenset(
    {
        "ds", "dsv", "split", "run", "mdl", "mv", "org", "usr", "key", "plan", "sub",
        "use", "pred", "fb", "evt", "task", "ann", "aud", "inv", "lic", "item", "alert",
        "job", "ws", "grant", "lq", "fw", "it", "iti", "sch", "bill", "cred", "ses", "era",
        "rule", "chn", "dlv",
        "src", "srun", "tune",
    }
)  # fmt: skip

#: What follows ``KIND_`` in an id: 26 characters of Crockford's base 32, lower case.
ID_BODY = "[0-9a-hjkmnp-tv-z]{26}"
_ID_RE = re.compile(f"[a-z]+_{ID_BODY}")
_CANONICAL_INT_RE = re.compile(r"0|-?[1-9][0-9]{0,18}")


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def new_id(kind: str, clock: Clock | None = None) -> str:
    """Return a new sortable id such as ``"run_01jd8x3k6q9w2f7c0m4t5v8b1a"``.

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`.
    clock : Clock, optional
        Source of the timestamp part (default: the system clock).

    Raises
    ------
    InvalidInput
        If ``kind`` is not a known kind.
    """
    if kind not in KINDS:
        raise InvalidInput(f"unknown id kind {kind!r}", code="invalid_id_kind")
    millis = int((clock or SystemClock()).now().timestamp() * 1000)
    value = (millis << 80) | secrets.randbits(80)
    return f"{kind}_{_encode(value, 26)}"


def is_id(value: str, kind: str | None = None) -> bool:
    """Return whether ``value`` is well formed (and of ``kind``, if given)."""
    if not isinstance(value, str) or not _ID_RE.fullmatch(value):
        return False
    return kind is None or value.split("_", 1)[0] == kind


def canonical_int(value: object) -> int | None:
    """Return the integer an id names, or ``None`` when it names no integer exactly.

    An ``int`` (not a ``bool``) names itself. A ``str`` names an integer only when it
    is that integer's canonical decimal spelling, ``str(n) == value``: ASCII digits,
    an optional ``-`` (never ``+``), no leading zeros, no ``_``, no whitespace, at most
    19 digits. So ``"42"`` → 42, while ``"042"``, ``"+42"``, ``"4_2"``, ``" 42"``,
    ``"42\\n"``, ``"-0"`` and ``"٤٢"`` (Arabic-Indic digits) → ``None``: those are other
    ids, and must not reach integer id 42's data (Python's ``int()`` accepts all of them).

    Parameters
    ----------
    value : object
        An id as received (path parameter, JSON value, stored text).

    Returns
    -------
    int or None
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _CANONICAL_INT_RE.fullmatch(value):
        return int(value)
    return None
