"""What a pull returns, and the JSONPath-like selector of the HTTP API puller.

Selector grammar (a small subset of JSONPath, RFC 9535): an optional ``$``, then
steps ``.name``, ``['name']``, ``[N]`` (an index, negative from the end) and ``[*]``
or ``.*`` (every element or value). ``data.items`` is ``$.data.items``. A selector
yields every value it reaches; a step that does not apply (a key missing, an index
out of range) yields nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from baryon.core.errors import InvalidInput

__all__ = ["Pull", "Selector", "content_hash", "problem"]

_STEP = re.compile(
    r"""\.(?P<name>[A-Za-z_][A-Za-z0-9_-]*)
      | \.\*
      | \[\s*(?P<index>-?\d+)\s*\]
      | \[\s*\*\s*\]
      | \[\s*'(?P<quoted>[^']*)'\s*\]
      | \[\s*"(?P<dquoted>[^"]*)"\s*\]""",
    re.VERBOSE,
)
_WILD = object()


@dataclass
class Pull:
    """The outcome of one pull, before de-duplication.

    Attributes
    ----------
    records : list of dict
        Each with ``source_key`` (id, link, canonical URL or key field) and
        ``content_hash`` (SHA-256 of its content) besides its columns.
    failed : list of dict
        ``{"where", "code", "reason"}`` per record or page skipped.
    fetches : list of dict
        ``{"url", "status", "fetched_at", "etag", "last_modified", "bytes"}`` per
        response used (the lineage).
    state : dict
        The incremental state to keep if the run succeeds.
    fetched : int
        Records (items, pages) fetched, before de-duplication.
    notes : list of str
        Facts worth showing (``not_modified``, ``max_pages_reached``).
    """

    records: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    fetches: list[dict[str, Any]] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    fetched: int = 0
    notes: list[str] = field(default_factory=list)


def problem(where: str, code: str, reason: str) -> dict[str, str]:
    """One skipped record or page of a run report."""
    return {"where": where[:300], "code": code, "reason": reason[:300]}


def content_hash(*parts: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of ``parts``."""
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class Selector:
    """A compiled selector (see the module docstring).

    Raises
    ------
    InvalidInput
        ``invalid_selector``.
    """

    def __init__(self, text: str) -> None:
        if not isinstance(text, str) or len(text) > 300:
            raise InvalidInput(
                "a selector is text of at most 300 characters", code="invalid_selector"
            )
        self.text = text
        rest = text.strip()
        rest = rest[1:] if rest.startswith("$") else ("." + rest if rest else "")
        steps: list[Any] = []
        while rest:
            match = _STEP.match(rest)
            if match is None:
                raise InvalidInput(
                    f"cannot read the selector {text!r} at {rest[:20]!r} "
                    "(steps: .name, ['name'], [N], [*])",
                    code="invalid_selector",
                )
            if match.group("name") is not None:
                steps.append(match.group("name"))
            elif match.group("index") is not None:
                steps.append(int(match.group("index")))
            elif match.group("quoted") is not None:
                steps.append(match.group("quoted"))
            elif match.group("dquoted") is not None:
                steps.append(match.group("dquoted"))
            else:
                steps.append(_WILD)
            rest = rest[match.end() :]
        self.steps = tuple(steps)

    def find(self, document: Any) -> list[Any]:
        """Every value the selector reaches in ``document``, in document order."""
        return list(self._walk(document, 0))

    def first(self, document: Any) -> Any:
        """The first value reached, or ``None``."""
        return next(self._walk(document, 0), None)

    def _walk(self, value: Any, at: int) -> Iterator[Any]:
        if at == len(self.steps):
            yield value
            return
        step = self.steps[at]
        if step is _WILD:
            children = value if isinstance(value, list) else (
                list(value.values()) if isinstance(value, dict) else []
            )  # fmt: skip
            for child in children:
                yield from self._walk(child, at + 1)
        elif isinstance(step, int):
            if isinstance(value, list) and -len(value) <= step < len(value):
                yield from self._walk(value[step], at + 1)
        elif isinstance(value, dict) and step in value:
            yield from self._walk(value[step], at + 1)
