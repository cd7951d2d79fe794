"""References to datasets and models: one grammar, one parser.

The CLI, the HTTP API and the SDK all name a dataset or a model the same way
(DESIGN.md §2)::

    ref     = [owner "/"] name [":" version | "@" alias]
    owner   = an organization name         [a-z0-9][a-z0-9_.-]{0,63}
    name    = a dataset or model name      [A-Za-z0-9][A-Za-z0-9_.-]{0,99}
    version = a version number             1 .. 2147483647, ASCII digits
    alias   = "latest" for datasets; "champion" or "challenger" for models

``NAME`` alone means the latest version of a dataset and the champion of a model.
``ORG/NAME`` names an object another organization shares with the caller
(``acme/tickets``, ``acme/support-intent@champion``).

Examples
--------
>>> parse_ref("tickets:3", kind="dataset")
Ref(name='tickets', version=3, alias=None, owner=None)
>>> str(parse_ref("acme/support-intent@champion", kind="model"))
'acme/support-intent@champion'

Every malformed reference raises :class:`~baryon.core.errors.InvalidInput` with the
one code ``invalid_ref`` and a message that says how to write it; the old dataset form
``NAME@3`` is refused with "use NAME:3".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from baryon.core.errors import InvalidInput

__all__ = [
    "ALIASES",
    "DATASET_ALIASES",
    "MAX_VERSION",
    "MODEL_ALIASES",
    "NAME_PATTERN",
    "ORG_NAME_PATTERN",
    "WHITE_SPACE",
    "Kind",
    "Ref",
    "check_name",
    "parse_ref",
    "ref_pattern",
]

#: What a reference names.
Kind = Literal["dataset", "model"]
#: What :func:`check_name` checks: references' kinds and sources (one name rule).
NameKind = Literal["dataset", "model", "source"]

#: The alias of a dataset: its newest version.
DATASET_ALIASES: tuple[str, ...] = ("latest",)
#: The aliases a model version can carry (moved by promote, rollback, set_alias).
MODEL_ALIASES: tuple[str, ...] = ("champion", "challenger")
#: Allowed aliases per kind.
ALIASES: Mapping[str, tuple[str, ...]] = {"dataset": DATASET_ALIASES, "model": MODEL_ALIASES}

#: A dataset or model name (without anchors): 1-100 characters.
NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}"
#: An organization name (without anchors): 1-64 lower-case characters.
ORG_NAME_PATTERN = r"[a-z0-9][a-z0-9_.-]{0,63}"
#: The largest version number a reference may carry (fits a 32-bit INTEGER column).
MAX_VERSION = 2**31 - 1

_NAME_RE = re.compile(NAME_PATTERN)
_ORG_RE = re.compile(ORG_NAME_PATTERN)
_DIGITS_RE = re.compile(r"[0-9]+")
# The error code of a bad *name* (not a bad reference) per kind; both predate this module.
_NAME_CODES = {
    "dataset": "invalid_name",
    "model": "invalid_model_name",
    "source": "invalid_source_name",
}
_ALL_ALIASES = (*DATASET_ALIASES, *MODEL_ALIASES)
_NAME_RULE = "1-100 letters, digits, '.', '_' or '-', starting with a letter or digit"


@dataclass(frozen=True)
class Ref:
    """A parsed reference to a dataset or a model.

    Attributes
    ----------
    name : str
        Dataset or model name.
    version : int or None
        Version number (``NAME:N``); None when not given.
    alias : str or None
        Alias (``NAME@ALIAS``); None when not given. At most one of ``version`` and
        ``alias`` is set.
    owner : str or None
        Organization name of a shared object (``ORG/NAME``); None for the caller's own.

    ``str(ref)`` is the canonical form: ``[owner/]name[:version|@alias]``.

    Raises
    ------
    InvalidInput
        Parts that no reference can spell (code ``invalid_ref``): a bad name or
        owner, a version outside 1 .. :data:`MAX_VERSION`, an alias of no kind, or
        both a version and an alias. So ``str(ref)`` always parses back to ``ref``.
    """

    name: str
    version: int | None = None
    alias: str | None = None
    owner: str | None = None

    def __post_init__(self) -> None:
        why = None
        if not isinstance(self.name, str) or not _NAME_RE.fullmatch(self.name):
            why = f"name {_short(self.name)} breaks the name rule ({_NAME_RULE})"
        elif self.owner is not None and not (
            isinstance(self.owner, str) and _ORG_RE.fullmatch(self.owner)
        ):
            why = f"owner {_short(self.owner)} is not an organization name"
        elif self.version is not None and self.alias is not None:
            why = "a reference has a version or an alias, not both"
        elif self.version is not None and (
            type(self.version) is not int or not 1 <= self.version <= MAX_VERSION
        ):
            why = f"version {self.version!r} is not a whole number from 1 to {MAX_VERSION}"
        elif self.alias is not None and self.alias not in _ALL_ALIASES:
            why = f"alias {self.alias!r} is none of {', '.join(_ALL_ALIASES)}"
        if why is not None:
            raise InvalidInput(f"invalid reference: {why}", code="invalid_ref")

    def __str__(self) -> str:
        head = self.name if self.owner is None else f"{self.owner}/{self.name}"
        if self.version is not None:
            return f"{head}:{self.version}"
        if self.alias is not None:
            return f"{head}@{self.alias}"
        return head


def check_name(name: object, *, kind: NameKind) -> str:
    """Return ``name`` if it is a valid dataset or model name.

    The one name rule: 1-100 ASCII letters, digits, ``.``, ``_`` or ``-``, starting
    with a letter or digit (so a name never holds ``/``, ``:`` or ``@``).

    Parameters
    ----------
    name : str
        The name to check.
    kind : {"dataset", "model", "source"}
        Picks the error code.

    Returns
    -------
    str
        ``name`` unchanged.

    Raises
    ------
    InvalidInput
        Not a valid name (code ``invalid_name`` for datasets, ``invalid_model_name``
        for models, ``invalid_source_name`` for sources).
    """
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise InvalidInput(
            f"invalid {kind} name {_short(name)}: use {_NAME_RULE}", code=_NAME_CODES[kind]
        )
    return name


def parse_ref(text: object, *, kind: Kind) -> Ref:
    """Parse ``[ORG/]NAME[:VERSION|@ALIAS]`` into a :class:`Ref`.

    Parameters
    ----------
    text : str
        The reference as typed (surrounding white space is ignored).
    kind : {"dataset", "model"}
        What it names; decides the allowed aliases (``latest`` for datasets,
        ``champion`` and ``challenger`` for models).

    Returns
    -------
    Ref
        ``str()`` of it is the canonical form of ``text``.

    Raises
    ------
    InvalidInput
        Malformed reference (code ``invalid_ref``; ``details`` carry ``ref`` and
        ``kind``): empty, a bad name or organization, a version that is not a whole
        number from 1 to :data:`MAX_VERSION`, an alias not allowed for ``kind``, or
        both a version and an alias. ``NAME@3`` is refused with "use NAME:3".

    Examples
    --------
    >>> parse_ref("tickets", kind="dataset")
    Ref(name='tickets', version=None, alias=None, owner=None)
    >>> parse_ref("intents@challenger", kind="model").alias
    'challenger'
    """
    if kind not in ALIASES:
        raise ValueError(f"kind must be one of {', '.join(ALIASES)}, got {kind!r}")
    if not isinstance(text, str):
        raise _bad(text, kind, f"a {kind} reference is a string, not {type(text).__name__}")
    ref = text.strip()
    if not ref:
        raise _bad(text, kind, f"empty {kind} reference; {_forms(kind)}")
    owner: str | None = None
    if "/" in ref:
        owner, ref = ref.split("/", 1)
        if not _ORG_RE.fullmatch(owner):
            raise _bad(
                text,
                kind,
                f"{_short(owner)} is not an organization name (1-64 lower-case letters, digits, "
                f"'.', '_' or '-', starting with a letter or digit); {_forms(kind)}",
            )
    if "@" in ref and ":" in ref:
        raise _bad(text, kind, f"give a version or an alias, not both; {_forms(kind)}")
    name, at, alias = ref.partition("@")
    name, colon, raw = name.partition(":")
    if not _NAME_RE.fullmatch(name):
        raise _bad(
            text, kind, f"{_short(name)} is not a {kind} name ({_NAME_RULE}); {_forms(kind)}"
        )
    head = name if owner is None else f"{owner}/{name}"
    if colon:
        if raw in ALIASES[kind]:
            raise _bad(text, kind, f"an alias goes after '@': use {head}@{raw}")
        return Ref(name, version=_version(text, kind, raw), owner=owner)
    if at:
        if _DIGITS_RE.fullmatch(alias):
            raise _bad(text, kind, f"a version number goes after ':': use {head}:{alias}")
        if alias not in ALIASES[kind]:
            raise _bad(text, kind, f"unknown {kind} alias {_short(alias)}; {_aliases(kind)}")
        return Ref(name, alias=alias, owner=owner)
    return Ref(name, owner=owner)


#: Python's white space (``str.isspace``, what ``str.strip`` removes) as the body of a
#: character class that ECMA-262 (JSON Schema), Python and pydantic's Rust engine all
#: read the same way (ECMA's ``\\s`` differs: it has U+FEFF, not U+001C-U+001F).
WHITE_SPACE = (
    "\\t\\n\\u000b\\u000c\\r\\u001c-\\u001f \\u0085\\u00a0\\u1680\\u2000-\\u200a"
    "\\u2028\\u2029\\u202f\\u205f\\u3000"
)
#: A version number from 1 to MAX_VERSION (2147483647), leading zeros allowed.
_VERSION_PATTERN = (
    "0*(?:[1-9][0-9]{0,8}|1[0-9]{9}|20[0-9]{8}|21[0-3][0-9]{7}|214[0-6][0-9]{6}"
    "|2147[0-3][0-9]{5}|21474[0-7][0-9]{4}|214748[0-2][0-9]{3}|2147483[0-5][0-9]{2}"
    "|21474836[0-3][0-9]|214748364[0-7])"
)


def ref_pattern(kind: Kind) -> str:
    """Return the anchored regular expression of what :func:`parse_ref` accepts.

    For JSON Schema's ``pattern`` (ECMA-262), read the same way by Python and by
    pydantic's Rust engine: ``[ORG/]NAME[:VERSION|@ALIAS]`` with optional white space
    around it, the version a whole number from 1 to :data:`MAX_VERSION`.
    """
    aliases = "|".join(re.escape(a) for a in ALIASES[kind])
    return (
        f"^[{WHITE_SPACE}]*(?:{ORG_NAME_PATTERN}/)?{NAME_PATTERN}"
        f"(?::{_VERSION_PATTERN}|@(?:{aliases}))?[{WHITE_SPACE}]*$"
    )


def _version(text: str, kind: Kind, raw: str) -> int:
    # leading zeros off and the length test first: int() refuses over 4,300 digits
    digits = raw.lstrip("0")
    if (
        not _DIGITS_RE.fullmatch(raw)
        or len(digits) > 10
        or not 1 <= int(digits or "0") <= MAX_VERSION
    ):
        raise _bad(text, kind, f"the version after ':' is a whole number from 1 to {MAX_VERSION}")
    return int(digits)


def _forms(kind: Kind) -> str:
    return f"use NAME, NAME:VERSION or NAME@ALIAS, optionally ORG/ first ({_aliases(kind)})"


def _aliases(kind: Kind) -> str:
    names = ALIASES[kind]
    return f"{kind} alias{'es' if len(names) > 1 else ''}: {', '.join(names)}"


def _short(value: object) -> str:
    """``repr(value)``, cut to about 120 characters (a reference may be any length)."""
    shown = repr(value)
    return shown if len(shown) <= 120 else f"{shown[:100]}...{shown[-10:]}"


def _bad(text: object, kind: Kind, why: str) -> InvalidInput:
    return InvalidInput(
        f"invalid {kind} reference {_short(text)}: {why}",
        code="invalid_ref",
        details={"ref": _short(text), "kind": kind},
    )
