"""Sortable, kind-prefixed identifiers.

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

__all__ = ["ID_BODY", "KINDS", "is_id", "new_id"]

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base 32, lower case

#: Known kind prefixes. New kinds are added here so prefixes stay unique.
KINDS = frozenset(
    {
        "ds", "dsv", "split", "run", "mdl", "mv", "org", "usr", "key", "plan", "sub",
        "use", "pred", "fb", "evt", "task", "ann", "aud", "inv", "lic", "item", "alert",
        "job", "ws", "grant", "lq", "fw", "it", "iti",
    }
)  # fmt: skip

#: What follows ``KIND_`` in an id: 26 characters of Crockford's base 32, lower case.
ID_BODY = "[0-9a-hjkmnp-tv-z]{26}"
_ID_RE = re.compile(f"^[a-z]+_{ID_BODY}$")


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
    if not _ID_RE.match(value):
        return False
    return kind is None or value.split("_", 1)[0] == kind
