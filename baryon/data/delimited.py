"""Delimited text sources (CSV, TSV, ``;`` and ``|`` files, optionally gzipped).

What real files look like, and what this module does about it:

- **encoding** — a UTF-8/UTF-16 byte-order mark decides; otherwise the first MiB
  must decode as UTF-8, else it is cp1252 when it reads as Western European text,
  else charset-normalizer guesses. A detected UTF-8 that turns out invalid further
  down the file is read again as cp1252. The caller can name the encoding instead. NUL
  bytes in a non-UTF-16 file mean binary data (``binary_file``).
- **delimiter** — ``,`` tab ``;`` ``|`` are each tried on a sample with the csv
  module (so quoted delimiters and quoted newlines count right); the one that splits
  every sampled row into the same number (> 1) of fields wins.
- **validation** — every row must have the header's number of fields. pyarrow's
  parser reports the first bad row; the file is then re-scanned with the csv module
  to name the physical line numbers of the bad rows (``ragged_rows``), or to say the
  header is short or long when *every* row disagrees with it (``header_mismatch``).
- **streaming** — :meth:`CsvReader.batches` yields Arrow record batches of about
  1 MiB of text each, so memory stays bounded whatever the file size. Column types
  are inferred by pyarrow from the first 4 MiB; if a later block does not fit (an
  ``int`` column meets ``2.5``), the column is widened (int → float → string,
  timestamp[s] → timestamp[ns] → string) and the read restarts
  (:class:`~baryon.data._files.RestartRead`).
- **decimal commas** — in a file whose delimiter is not ``,`` (``;`` files from
  spreadsheets set to a European locale), a text column whose every value is a number
  written with a decimal comma (``12,5``, ``-0,75``, ``1.234,5`` with ``.``
  thousands separators; at least one comma) is read as ``float`` at ingest:
  :data:`DECIMAL_COMMA_PATTERN`, converted by :func:`decimal_comma_to_float`. The
  columns converted, with an example value, are in :attr:`CsvReader.decimal_comma`
  (recorded in the version's source and quality report). One value that does not
  fit (``n/a``, ``1.5``) keeps the whole column text; a column declared ``string``
  stays text, and a column declared ``float`` is converted the same way. In a
  ``,``-separated file a comma between digits is not read as a decimal point.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pv

from baryon.core.errors import InvalidFile, InvalidInput
from baryon.data._files import CountingReader, ProgressCallback, RestartRead, open_raw

__all__ = [
    "CANDIDATE_DELIMITERS",
    "DECIMAL_COMMA_PATTERN",
    "FALSE_VALUES",
    "NULL_VALUES",
    "TRUE_VALUES",
    "CsvDialect",
    "CsvReader",
    "decimal_comma_to_float",
    "detect_encoding",
    "find_bad_lines",
    "sniff_delimiter",
]

CANDIDATE_DELIMITERS = (",", "\t", ";", "|")
#: Cells read as missing. ``NaN``/``nan``/``inf`` are *not* here: in a numeric column
#: they are kept as IEEE values and reported by the quality report.
NULL_VALUES = ["", "NA", "N/A", "n/a", "NULL", "null", "#N/A"]
TRUE_VALUES = ["true", "True", "TRUE", "yes", "Yes", "YES", "1"]
FALSE_VALUES = ["false", "False", "FALSE", "no", "No", "NO", "0"]

SAMPLE_BYTES = 1 << 20  # bytes looked at to detect encoding and delimiter
INFER_BLOCK = 4 << 20  # bytes pyarrow infers column types from
BLOCK = 1 << 20  # bytes per streamed block
MAX_BAD_LINES = 20  # line numbers listed in a ragged_rows error

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_CONVERSION_RE = re.compile(r"In CSV column #(\d+): .*?conversion error to ([^:]+): (.*)", re.S)
#: A number written with a decimal comma: optional sign, digits (optionally grouped by
#: ``.`` thousands separators), optional ``,`` and decimals. ASCII digits only.
DECIMAL_COMMA_PATTERN = r"^[+-]?(?:[0-9]{1,3}(?:\.[0-9]{3})+|[0-9]+)(?:,[0-9]+)?$"
_DECIMAL_COMMA_RE = re.compile(DECIMAL_COMMA_PATTERN)
_INVALID_VALUE_RE = re.compile(r"invalid value '(.*)'", re.S)


def _decimal_comma_example(column: pa.Array) -> str | None:
    """The first value of a text column that shows it uses decimal commas, else None.

    ``None`` unless every non-missing value matches :data:`DECIMAL_COMMA_PATTERN` and
    at least one holds a comma.
    """
    values = column.drop_null()
    if (
        len(values) == 0
        or not pc.all(pc.match_substring_regex(values, DECIMAL_COMMA_PATTERN)).as_py()
    ):
        return None
    with_comma = values.filter(pc.match_substring(values, ","))
    return str(with_comma[0].as_py()) if len(with_comma) else None


def decimal_comma_to_float(column: pa.Array) -> pa.Array:
    """Read numbers written with decimal commas: ``"1.234,5"`` → 1234.5, ``"12,5"`` → 12.5.

    Parameters
    ----------
    column : pyarrow string array
        Values matching :data:`DECIMAL_COMMA_PATTERN` (or missing).

    Returns
    -------
    pyarrow float64 array
        Same length; missing stays missing. ``.`` thousands separators are dropped and
        the ``,`` becomes the decimal point (the convention of the CLDR number symbols
        of e.g. de, fr, es, it, pt, nl: https://cldr.unicode.org/).
    """
    plain = pc.replace_substring(column, ".", "")
    return pc.cast(pc.replace_substring(plain, ",", "."), pa.float64())


@dataclass(frozen=True)
class CsvDialect:
    """What was detected (or given) about a delimited file.

    Attributes
    ----------
    encoding : str
        Python codec name (``"utf-8"``, ``"utf-8-sig"``, ``"cp1252"``, ...).
    delimiter : str
        One character.
    detected : dict
        Which of the two were detected rather than given (``{"encoding": True}``).
    """

    encoding: str
    delimiter: str
    detected: dict[str, bool] = field(default_factory=dict)

    @property
    def arrow_encoding(self) -> str:
        """The encoding as pyarrow wants it (UTF-8, with or without BOM, is native)."""
        return (
            "utf8"
            if codecs.lookup(self.encoding).name in ("utf-8", "utf-8-sig")
            else (self.encoding)
        )


def detect_encoding(head: bytes, *, at_eof: bool) -> str:
    """Return the text encoding of a file from its first bytes.

    Parameters
    ----------
    head : bytes
        The first bytes of the (decompressed) file, e.g. 1 MiB.
    at_eof : bool
        Whether ``head`` is the whole file (a multi-byte character cut at the end of
        a sample is not an error; at the end of the file it is).

    Returns
    -------
    str
        A Python codec name.

    Raises
    ------
    InvalidFile
        ``binary_file`` when the bytes contain NUL characters (and no UTF-16/32 BOM)
        or many control characters; ``encoding_error`` when they look like text in an
        encoding that cannot be told apart.
    """
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    if b"\x00" in head:
        hint = ""
        if head.startswith(b"PK\x03\x04"):
            hint = " (it looks like a ZIP or .xlsx file; use --format xlsx)"
        elif head.startswith(b"PAR1"):
            hint = " (it looks like a Parquet file; use --format parquet)"
        raise InvalidFile(f"the file holds binary data, not text{hint}", code="binary_file")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=at_eof)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    if _plausible_cp1252(head):
        return "cp1252"
    from charset_normalizer import from_bytes

    best = from_bytes(head).best()
    if best is not None:
        return str(best.encoding)
    controls = sum(1 for b in head if b < 0x20 and b not in (0x09, 0x0A, 0x0D))
    if controls > 0.01 * len(head):
        raise InvalidFile("the file holds binary data, not text", code="binary_file")
    raise InvalidFile(
        "cannot tell the file's text encoding; name it with --encoding (e.g. cp1250, latin-1)",
        code="encoding_error",
    )


#: Non-ASCII characters common in Western European text written in cp1252/Latin-1.
_WESTERN = frozenset(
    [chr(c) for c in range(0xC0, 0x100) if c not in (0xD7, 0xF7)]
    + list(
        "\u20ac\u2019\u2018\u201c\u201d\u2013\u2014\u2026\u2022\u2122\u00a0\u00b0\u00ab\u00bb\u00a7\u00e6\u0153\u0152"
    )
)


def _plausible_cp1252(head: bytes) -> bool:
    """Whether ``head`` reads as Western European text in cp1252.

    charset-normalizer often names a Central European or Baltic code page for short
    French, German or Spanish files; cp1252 (what Windows software writes) is taken
    when at least 90 % of the non-ASCII characters it gives are Latin letters or
    common punctuation. Other text (Polish cp1250 shows superscripts and ``¿`` inside
    words) is left to charset-normalizer.
    """
    try:
        text = head.decode("cp1252")
    except UnicodeDecodeError:
        return False
    foreign = [ch for ch in text if ord(ch) > 127]
    return bool(foreign) and sum(ch in _WESTERN for ch in foreign) >= 0.9 * len(foreign)


def _field_counts(text: str, delimiter: str, limit: int = 200) -> list[int]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    counts: list[int] = []
    try:
        for row in reader:
            if row:
                counts.append(len(row))
            if len(counts) >= limit:
                break
    except csv.Error:
        pass
    return counts


def sniff_delimiter(text: str, *, preferred: str = ",") -> str:
    """Pick the delimiter among ``, \\t ; |`` that splits the sample most consistently.

    Parameters
    ----------
    text : str
        The start of the decoded file (cut at a line end by the caller, or whole).
    preferred : str
        Wins ties and is the answer for a one-column file (``"\\t"`` for ``.tsv``).

    Returns
    -------
    str
        The delimiter whose field count is the same on the most sampled rows, among
        those that give more than one field; ``preferred`` if none does.
    """
    order = [preferred, *(d for d in CANDIDATE_DELIMITERS if d != preferred)]
    best, best_score = preferred, (0.0, 0)
    for delimiter in order:
        counts = _field_counts(text, delimiter)
        if len(counts) < 1:
            continue
        data = counts[1:] or counts
        mode = max(set(data), key=data.count)
        if mode < 2:
            continue
        consistency = sum(c == mode for c in data) / len(data)
        header_agrees = int(counts[0] == mode)
        score = (consistency, header_agrees)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def detect_dialect(
    head: bytes,
    *,
    at_eof: bool,
    delimiter: str | None = None,
    encoding: str | None = None,
    preferred: str = ",",
) -> CsvDialect:
    """Detect (or check the given) encoding and delimiter of a delimited file.

    Raises
    ------
    InvalidInput
        ``unknown_encoding`` / ``invalid_delimiter`` for bad explicit options.
    InvalidFile
        ``binary_file``, or ``empty_file`` when the file holds no text at all.
    """
    detected = {"encoding": encoding is None, "delimiter": delimiter is None}
    if encoding is not None:
        try:
            encoding = codecs.lookup(encoding).name
        except (LookupError, ValueError):  # ValueError: a NUL or a lone surrogate in the name
            raise InvalidInput(f"unknown encoding {encoding!r}", code="unknown_encoding") from None
    else:
        encoding = detect_encoding(head, at_eof=at_eof)
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(head, final=at_eof)
    if not text.strip().strip("\ufeff"):
        raise InvalidFile("the file is empty", code="empty_file")
    if delimiter is not None:
        if len(delimiter) != 1 or delimiter in '"\r\n':
            raise InvalidInput(
                f"delimiter must be one character other than a quote or newline, not {delimiter!r}",
                code="invalid_delimiter",
            )
    else:
        if not at_eof and "\n" in text:
            text = text[: text.rfind("\n") + 1]
        delimiter = sniff_delimiter(text, preferred=preferred)
    return CsvDialect(encoding=encoding, delimiter=delimiter, detected=detected)


def find_bad_lines(
    path: Path, dialect: CsvDialect, *, gzipped: bool, expected: int
) -> tuple[list[int], int, int]:
    """Scan the whole file with the csv module for rows without ``expected`` fields.

    Returns
    -------
    lines : list of int
        1-based physical line numbers where the first :data:`MAX_BAD_LINES` bad rows
        start (the header is line 1).
    bad : int
        Number of bad rows in the file.
    rows : int
        Number of data rows (excluding the header and blank lines).

    Raises
    ------
    InvalidFile
        ``unterminated_quote`` when a quoted field runs to the end of the file.
    """
    try:
        return _scan(path, dialect, gzipped=gzipped, expected=expected, strict=True)
    except csv.Error:  # strict-only quirks such as 'x"y': count the lenient way
        return _scan(path, dialect, gzipped=gzipped, expected=expected, strict=False)


def _scan(
    path: Path, dialect: CsvDialect, *, gzipped: bool, expected: int, strict: bool
) -> tuple[list[int], int, int]:
    lines: list[int] = []
    bad = rows = 0
    with open_raw(path, gzipped=gzipped) as raw:
        stream = io.TextIOWrapper(raw, encoding=dialect.encoding, errors="replace", newline="")
        reader = csv.reader(stream, delimiter=dialect.delimiter, strict=strict)
        start = 1
        try:
            for index, row in enumerate(reader):
                if index > 0 and row:
                    rows += 1
                    if len(row) != expected:
                        bad += 1
                        if len(lines) < MAX_BAD_LINES:
                            lines.append(start)
                start = reader.line_num + 1
        except csv.Error as exc:
            if "unexpected end of data" not in str(exc):
                raise
            raise InvalidFile(
                f"a quoted field starting on line {start} is never closed",
                code="unterminated_quote",
                details={"line": start},
            ) from None
    return lines, bad, rows


def _widen(current: pa.DataType) -> pa.DataType:
    if pa.types.is_integer(current) or pa.types.is_null(current):
        return pa.float64()
    if pa.types.is_date(current):
        return pa.timestamp("s")
    if pa.types.is_timestamp(current) and current.unit != "ns":
        return pa.timestamp("ns", tz=current.tz)
    return pa.string()


class CsvReader:
    """Stream a delimited file as Arrow record batches with clean column names.

    Parameters
    ----------
    path : Path
        The file.
    dialect : CsvDialect
        Encoding and delimiter.
    gzipped : bool
        The file is gzip-compressed.
    size : int
        File size in bytes (progress).
    sha256 : str
        Expected SHA-256 of the file: reading checks the file did not change meanwhile.
    declared : dict, optional
        ``{clean column name: arrow type}`` chosen by the user (never widened).
    """

    def __init__(
        self,
        path: Path,
        dialect: CsvDialect,
        *,
        gzipped: bool,
        size: int,
        declared: dict[str, pa.DataType] | None = None,
    ) -> None:
        self.path = path
        self.dialect = dialect
        self.gzipped = gzipped
        self.size = size
        self.declared = dict(declared or {})
        self.raw_names: list[str] = []
        self.names: list[str] = []
        self.types: dict[str, pa.DataType] = {}
        #: ``{column: example value}`` of the columns read as float from decimal commas.
        self.decimal_comma: dict[str, str] = {}
        self._kept_text: set[str] = set()  # columns that turned out not to be numbers

    # ------------------------------------------------------------------ options
    def _read_options(self, block_size: int) -> pv.ReadOptions:
        return pv.ReadOptions(block_size=block_size, encoding=self.dialect.arrow_encoding)

    def _parse_options(self, handler: Any) -> pv.ParseOptions:
        return pv.ParseOptions(
            delimiter=self.dialect.delimiter,
            newlines_in_values=True,
            ignore_empty_lines=True,
            invalid_row_handler=handler,
        )

    def _convert_options(self, column_types: dict[str, pa.DataType] | None) -> pv.ConvertOptions:
        return pv.ConvertOptions(
            column_types=column_types,
            null_values=NULL_VALUES,
            true_values=TRUE_VALUES,
            false_values=FALSE_VALUES,
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        )

    def _open(self, progress: ProgressCallback | None = None) -> tuple[CountingReader, Any]:
        quotes = None if self.gzipped or self.dialect.arrow_encoding != "utf8" else b'"'
        counter = CountingReader(self.path.open("rb"), self.size, progress, count=quotes)
        stream: Any = pa.PythonFile(io.BufferedReader(counter, BLOCK), mode="r")
        if self.gzipped:
            stream = pa.CompressedInputStream(stream, "gzip")
        return counter, stream

    # ---------------------------------------------------------------- inference
    def infer(self, clean_names: Any) -> list[str]:
        """Read the first 4 MiB: raw header names and inferred column types.

        Parameters
        ----------
        clean_names : callable
            ``clean_names(raw_names) -> (names, renamed)`` (raises on duplicates).

        Returns
        -------
        list of str
            The clean column names.
        """
        counter, stream = self._open()
        try:
            reader = pv.open_csv(
                stream,
                read_options=self._read_options(INFER_BLOCK),
                parse_options=self._parse_options(lambda row: "skip"),
                convert_options=self._convert_options(None),
            )
            schema = reader.schema
            try:
                first: pa.RecordBatch | None = reader.read_next_batch()
            except StopIteration:
                first = None
            reader.close()
        except pa.ArrowInvalid as exc:
            raise self._translate(exc, bad_rows=False) from None
        except UnicodeDecodeError as exc:
            raise self._encoding_error(exc) from None
        finally:
            counter.close()
        self.raw_names = list(schema.names)
        self.names, _ = clean_names(self.raw_names)
        for raw, name in zip(self.raw_names, self.names, strict=True):
            inferred = schema.field(raw).type
            if pa.types.is_binary(inferred) or pa.types.is_large_binary(inferred):
                if self._fall_back_to_cp1252():
                    self.types, self.decimal_comma = {}, {}
                    return self.infer(clean_names)
                raise InvalidFile(
                    f"column {name!r} is not valid {self.dialect.encoding} text; name the "
                    "file's encoding with --encoding, e.g. cp1252",
                    code="encoding_error",
                )
            if pa.types.is_null(inferred):
                inferred = pa.string()  # nothing to infer from: text until told otherwise
            if (
                first is not None
                and pa.types.is_string(inferred)
                and self._commas_may_be_decimal(name)
            ):
                example = _decimal_comma_example(first.column(raw))
                if example is not None:
                    self.decimal_comma[name], inferred = example, pa.float64()
            self.types[name] = self.declared.get(name, inferred)
        return self.names

    def _commas_may_be_decimal(self, name: str) -> bool:
        """Whether ``name`` may hold decimal commas: not in a ``,`` file, not declared
        other than float, not already found to be text."""
        declared = self.declared.get(name)
        return (
            self.dialect.delimiter != ","
            and name not in self._kept_text
            and (declared is None or pa.types.is_floating(declared))
        )

    def converted_columns(self) -> dict[str, str]:
        """The decimal-comma columns still read as numbers (a declared type may say no)."""
        return {
            name: example
            for name, example in self.decimal_comma.items()
            if name not in self.declared or pa.types.is_floating(self.declared[name])
        }

    def _from_decimal_commas(self, batch: pa.RecordBatch, converted: dict[str, str]) -> list[Any]:
        """The batch's columns with the decimal-comma ones read as float64.

        Raises
        ------
        RestartRead
            A value of a detected column is not such a number: it is text after all.
        InvalidInput
            ``type_override_failed`` for such a value in a column declared ``float``.
        """
        columns = list(batch.columns)
        for index, name in enumerate(self.names):
            if name not in converted:
                continue
            values = columns[index]
            fits = pc.match_substring_regex(values, DECIMAL_COMMA_PATTERN)
            bad = values.filter(pc.invert(pc.fill_null(fits, True)))
            if len(bad):
                if name in self.declared:
                    raise InvalidInput(
                        f"column {name!r} does not fit the declared type: {bad[0].as_py()!r} "
                        "is not a number (with a decimal comma, like the rest of the column)",
                        code="type_override_failed",
                        details={"column": name},
                    )
                del self.decimal_comma[name]
                self._kept_text.add(name)
                self.types[name] = pa.string()
                raise RestartRead(name)
            columns[index] = decimal_comma_to_float(values)
        return columns

    # ---------------------------------------------------------------- streaming
    def batches(self, progress: ProgressCallback | None = None) -> Iterator[pa.RecordBatch]:
        """Yield record batches of the whole file.

        Raises
        ------
        RestartRead
            A column had to be widened: start over (batches already yielded are void).
        InvalidFile
            ``ragged_rows``, ``header_mismatch``, ``header_only``, ``encoding_error``,
            ``unterminated_quote``, ``unparseable_csv``.
        InvalidInput
            ``type_override_failed`` when a value does not fit a declared type.
        """
        bad_rows: list[int] = []

        def on_bad_row(row: Any) -> str:
            bad_rows.append(1)
            return "error"

        converted = self.converted_columns()
        column_types = {
            raw: pa.string() if name in converted else self.types[name]
            for raw, name in zip(self.raw_names, self.names, strict=True)
        }
        counter, stream = self._open(progress)
        rows = 0
        try:
            reader = pv.open_csv(
                stream,
                read_options=self._read_options(BLOCK),
                parse_options=self._parse_options(on_bad_row),
                convert_options=self._convert_options(column_types),
            )
            for batch in reader:
                rows += batch.num_rows
                columns = (
                    self._from_decimal_commas(batch, converted) if converted else batch.columns
                )
                yield pa.RecordBatch.from_arrays(columns, names=self.names)
        except pa.ArrowInvalid as exc:
            raise self._translate(exc, bad_rows=bool(bad_rows)) from None
        except UnicodeDecodeError as exc:
            raise self._encoding_error(exc) from None
        finally:
            counter.close()
        if counter.counted % 2:  # pyarrow accepts a quote left open at the end of the file
            find_bad_lines(self.path, self.dialect, gzipped=self.gzipped, expected=len(self.names))
            raise InvalidFile("a quoted field is never closed", code="unterminated_quote")
        if rows == 0:
            raise InvalidFile("the file has a header but no data rows", code="header_only")

    # ------------------------------------------------------------------- errors
    def _fall_back_to_cp1252(self) -> bool:
        """Switch a *detected* UTF-8 to cp1252 after invalid UTF-8 past the sample.

        Files exported by Windows software are often ASCII for megabytes, then hold
        one accented name in cp1252. Returns whether the encoding was switched (the
        caller reads again); an encoding the user named is never changed.
        """
        if not self.dialect.detected.get("encoding") or self.dialect.encoding != "utf-8":
            return False  # named by the user, or a BOM said UTF-8
        self.dialect = CsvDialect(
            encoding="cp1252",
            delimiter=self.dialect.delimiter,
            detected={**self.dialect.detected, "fallback": True},
        )
        return True

    def _encoding_error(self, exc: UnicodeDecodeError) -> InvalidFile:
        return InvalidFile(
            f"the file is not valid {self.dialect.encoding} text ({exc.reason} at byte "
            f"{exc.start} of a block); name its encoding with --encoding, e.g. cp1252",
            code="encoding_error",
        )

    def _translate(self, exc: pa.ArrowInvalid, *, bad_rows: bool) -> Exception:
        message = str(exc)
        if bad_rows or ("Expected" in message and "columns, got" in message):
            return self._ragged_error()
        if "invalid UTF8" in message or "invalid utf8" in message.lower():
            if self._fall_back_to_cp1252():
                return RestartRead("*")
            return InvalidFile(
                f"the file is not valid {self.dialect.encoding} text; name its encoding "
                "with --encoding, e.g. cp1252",
                code="encoding_error",
            )
        match = _CONVERSION_RE.search(message)
        if match and self.names:
            position, value = int(match.group(1)), match.group(3).strip()
            name = self.names[position]
            found = _INVALID_VALUE_RE.fullmatch(value)
            cell = found.group(1) if found else ""
            if (
                "," in cell
                and _DECIMAL_COMMA_RE.match(cell)
                and self._commas_may_be_decimal(name)
                and (
                    pa.types.is_integer(self.types[name]) or pa.types.is_floating(self.types[name])
                )
            ):
                # numbers so far, then "12,5": the column is written with decimal commas
                self.decimal_comma[name] = cell
                self.types[name] = pa.float64()
                return RestartRead(name)
            if name in self.declared:
                current = self.types[name]
                if pa.types.is_timestamp(current) and current.tz is None and "zone" in value:
                    self.types[name] = pa.timestamp(current.unit, tz="UTC")
                    return RestartRead(name)
                return InvalidInput(
                    f"column {name!r} does not fit the declared type: {value}",
                    code="type_override_failed",
                    details={"column": name},
                )
            widened = _widen(self.types[name])
            if widened == self.types[name]:
                return InvalidFile(f"column {name!r}: {value}", code="unparseable_csv")
            self.types[name] = widened
            return RestartRead(name)
        return InvalidFile(f"cannot parse the file as CSV: {message}", code="unparseable_csv")

    def _ragged_error(self) -> InvalidFile:
        expected = len(self.names)
        lines, bad, rows = find_bad_lines(
            self.path, self.dialect, gzipped=self.gzipped, expected=expected
        )
        shown = ", ".join(str(n) for n in lines) + (" ..." if bad > len(lines) else "")
        details = {"lines": lines, "bad_rows": bad, "expected_fields": expected}
        if rows and bad == rows:
            return InvalidFile(
                f"the header has {expected} fields but every data row has a different "
                f"number (lines {shown}); is a column name missing or extra?",
                code="header_mismatch",
                details=details,
            )
        return InvalidFile(
            f"{bad} row(s) do not have the header's {expected} fields, at line(s) {shown}",
            code="ragged_rows",
            details=details,
        )
