"""Masking of personal data in text: e-mail addresses, phone numbers, card numbers, IBANs.

Each kind is found by a regular expression and, where a checksum exists, confirmed by
it, so that ordinary numbers are left alone:

- ``email`` → ``[EMAIL]``: ``local@domain.tld`` (RFC 5322's common subset).
- ``iban`` → ``[IBAN]``: two letters, two check digits, 11–30 letters/digits (spaces
  allowed every four), accepted only when the ISO 13616 mod-97 check gives 1.
- ``card`` → ``[CARD]``: 13–19 digits (spaces or dashes allowed) whose first digit is
  2–6 (the ISO/IEC 7812 major-industry digits of payment networks) and that pass
  the Luhn check (ISO/IEC 7812-1, annex B). A 15-digit order number starting with 1
  is not a card.
- ``phone`` → ``[PHONE]``: 8–15 digits (E.164 allows at most 15) written either
  with a leading ``+`` country code or in groups separated by spaces, dots, dashes or
  parentheses; ISO dates (``2024-01-31``) are not phone numbers. A bare run of
  digits is never masked as a phone number (it is more often an id).

Kinds are applied in the order e-mail, IBAN, card, phone, each on the text left by
the previous one.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from baryon.core.errors import InvalidInput

__all__ = [
    "PII_KINDS",
    "BatchMasker",
    "iban_valid",
    "luhn_valid",
    "mask_json",
    "mask_series",
    "mask_text",
]

PII_KINDS = ("email", "iban", "card", "phone")

_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d{1,4}(?:[\s.-]\d{1,4}){1,5}(?!\w)"
    r"|(?<![\w+])\+\d{7,15}(?!\w)"
)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CANDIDATE = re.compile(r"@|\d{2}")


def luhn_valid(digits: str) -> bool:
    """Return whether a string of digits passes the Luhn check (ISO/IEC 7812-1)."""
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_valid(text: str) -> bool:
    """Return whether ``text`` (spaces ignored) is an IBAN with a valid ISO 13616 check."""
    iban = text.replace(" ", "").upper()
    if not 15 <= len(iban) <= 34 or not iban[:2].isalpha() or not iban[2:4].isdigit():
        return False
    rearranged = iban[4:] + iban[:4]
    if not rearranged.isalnum():
        return False
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(number) % 97 == 1


def _card(match: re.Match[str]) -> bool:
    digits = re.sub(r"[ -]", "", match.group(0))
    return 13 <= len(digits) <= 19 and digits[0] in "23456" and luhn_valid(digits)


def _phone(match: re.Match[str]) -> bool:
    text = match.group(0)
    digits = sum(ch.isdigit() for ch in text)
    if not 8 <= digits <= 15 or _ISO_DATE.match(text):
        return False
    return text.startswith("+") or any(ch in text for ch in " .-()")


_RULES: dict[str, tuple[re.Pattern[str], Callable[[re.Match[str]], bool], str]] = {
    "email": (_EMAIL, lambda m: True, "[EMAIL]"),
    "iban": (_IBAN, lambda m: iban_valid(m.group(0)), "[IBAN]"),
    "card": (_CARD, _card, "[CARD]"),
    "phone": (_PHONE, _phone, "[PHONE]"),
}


def mask_text(text: str, kinds: Iterable[str] = PII_KINDS) -> tuple[str, Counter[str]]:
    """Replace personal data in one string.

    Parameters
    ----------
    text : str
        Any text.
    kinds : iterable of str
        Subset of :data:`PII_KINDS`.

    Returns
    -------
    masked : str
        The text with each finding replaced by ``[EMAIL]``, ``[IBAN]``, ``[CARD]`` or
        ``[PHONE]``.
    counts : Counter
        Findings per kind.
    """
    counts: Counter[str] = Counter()
    wanted = set(kinds)
    for kind in PII_KINDS:
        if kind not in wanted:
            continue
        pattern, accept, token = _RULES[kind]

        def replace(
            m: re.Match[str],
            accept: Callable[[re.Match[str]], bool] = accept,
            token: str = token,
            kind: str = kind,
        ) -> str:
            if accept(m):
                counts[kind] += 1
                return token
            return m.group(0)

        text = pattern.sub(replace, text)
    return text, counts


def mask_json(value: Any, kinds: Iterable[str] = PII_KINDS) -> tuple[Any, Counter[str]]:
    """Mask personal data in every string of a JSON value (a prediction's input).

    Strings anywhere in ``value`` — itself, values of objects, items of arrays — are
    masked with :func:`mask_text`; object keys, numbers, booleans and nulls are kept.

    Parameters
    ----------
    value : object
        JSON values (dict, list, str, int, float, bool, None).
    kinds : iterable of str
        Subset of :data:`PII_KINDS`.

    Returns
    -------
    masked : object
        A new value of the same shape (``value`` is not modified).
    counts : Counter
        Findings per kind.
    """
    wanted = tuple(kinds)
    counts: Counter[str] = Counter()

    def walk(v: Any) -> Any:
        if isinstance(v, str):
            if not _CANDIDATE.search(v):
                return v
            masked, found = mask_text(v, wanted)
            counts.update(found)
            return masked
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [walk(x) for x in v]
        return v

    return walk(value), counts


def mask_series(
    series: pd.Series, kinds: Iterable[str] = PII_KINDS
) -> tuple[pd.Series, Counter[str]]:
    """Mask personal data in every string of a Series (missing values are left missing).

    Only cells containing ``@`` or two adjacent digits are looked at, so long columns
    of ordinary text cost one vectorised scan.

    Returns
    -------
    masked : pandas.Series
        Same index; object dtype where cells changed.
    counts : Counter
        Findings per kind over the whole Series.
    """
    kinds = list(kinds)
    counts: Counter[str] = Counter()
    text = series.astype("string")
    candidates = text.str.contains(_CANDIDATE, regex=True).fillna(False).to_numpy(dtype=bool)
    if not candidates.any():
        return series, counts
    values = series.to_numpy(dtype=object, copy=True)
    changed = False
    for position in np.flatnonzero(candidates):
        masked, found = mask_text(str(values[position]), kinds)
        if found:
            values[position] = masked
            counts.update(found)
            changed = True
    if not changed:
        return series, counts
    return pd.Series(values, index=series.index, name=series.name), counts


class BatchMasker:
    """Masks personal data in chosen columns of a stream of Arrow record batches.

    What ingest uses so that no unmasked row is ever written: the batches are masked
    on their way from the file to the Parquet writer. A masked column is stored as
    text (a card number read as an integer becomes ``"[CARD]"``-able text).

    Parameters
    ----------
    columns : sequence of str
        The columns to mask (at least one; each must exist in the batches).
    kinds : sequence of str
        Subset of :data:`PII_KINDS` (default all).

    Raises
    ------
    InvalidInput
        ``invalid_mask_pii`` (no column, an unknown kind), ``unknown_column`` (at the
        first batch without a named column), ``mask_pii_type`` (a column whose type
        cannot be read as text, e.g. a nested list).
    """

    def __init__(self, columns: Sequence[str], kinds: Sequence[str] = PII_KINDS) -> None:
        chosen = list(dict.fromkeys(c for c in columns if c))
        if not chosen:
            raise InvalidInput("name at least one column to mask", code="invalid_mask_pii")
        unknown = [k for k in kinds if k not in PII_KINDS]
        if unknown or not kinds:
            raise InvalidInput(
                f"PII kinds are {', '.join(PII_KINDS)}; got {list(kinds)!r}",
                code="invalid_mask_pii",
            )
        self.columns = chosen
        self.kinds = [k for k in PII_KINDS if k in kinds]
        self.counts: dict[str, Counter[str]] = {}
        self.rows = 0

    def __call__(self, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        """Yield each batch with the chosen columns masked (counts start afresh)."""
        self.counts = {c: Counter() for c in self.columns}
        self.rows = 0
        for batch in batches:
            yield self._mask(batch)

    def _mask(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        names = batch.schema.names
        missing = [c for c in self.columns if c not in names]
        if missing:
            raise InvalidInput(
                f"--mask-pii: unknown column(s) {', '.join(map(repr, missing))}; the file "
                f"has {', '.join(map(repr, names))}",
                code="unknown_column",
                details={"columns": missing},
            )
        arrays = list(batch.columns)
        for column in self.columns:
            i = names.index(column)
            try:
                text = pc.cast(arrays[i], pa.string())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                raise InvalidInput(
                    f"column {column!r} of type {arrays[i].type} cannot be masked as text",
                    code="mask_pii_type",
                ) from None
            masked, found = mask_series(pd.Series(text.to_pylist(), dtype=object), self.kinds)
            self.counts[column].update(found)
            cells = [None if v is None or v is pd.NA or v != v else str(v) for v in masked]
            arrays[i] = pa.array(cells, type=pa.string())
        self.rows += batch.num_rows
        return pa.RecordBatch.from_arrays(arrays, names=names)

    def lineage(self) -> dict[str, Any]:
        """The lineage step of the last pass: columns, kinds and findings per column.

        Shaped as a cleaning step's lineage entry (``step``, ``columns``, ``kinds``,
        ``rows_before``, ``rows_after``, ``report``) with ``at: "ingest"``.
        """
        return {
            "step": "mask_pii",
            "at": "ingest",
            "columns": list(self.columns),
            "kinds": list(self.kinds),
            "rows_before": self.rows,
            "rows_after": self.rows,
            "report": {
                "masked": {
                    c: {k: self.counts.get(c, Counter()).get(k, 0) for k in self.kinds}
                    for c in self.columns
                },
                "kinds": list(self.kinds),
            },
        }
