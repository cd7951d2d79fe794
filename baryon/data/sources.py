"""Reading local files: CSV/TSV (also gzipped), JSON Lines, JSON arrays, Parquet, .xlsx.

:func:`open_source` checks a path, hashes the file, works out its format (the given
one, else the extension, else the content) and returns a :class:`Source` whose
:meth:`Source.batches` streams Arrow record batches with clean column names and
normalised types. :func:`read_table` reads a whole file into a pandas DataFrame
through the same code and with the same named errors, without making a version.

Only delimited text and Parquet stream in bounded memory; JSON, JSON Lines and
.xlsx files are parsed whole (their readers cannot stream reliably).

Errors (all :class:`~baryon.core.errors.InvalidFile` unless said otherwise):
``file_not_found``, ``not_a_file``, ``file_not_readable``, ``empty_file``,
``header_only``, ``binary_file``, ``encoding_error``, ``ragged_rows``,
``header_mismatch``, ``unterminated_quote``, ``duplicate_columns``, ``invalid_json``,
``invalid_parquet``, ``invalid_xlsx``, ``corrupt_file``, ``source_changed``,
``unsupported_format`` and :class:`~baryon.core.errors.InvalidInput`
``invalid_format`` / ``unknown_encoding`` / ``invalid_delimiter`` /
``type_override_failed``.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from baryon.core.errors import InvalidFile, InvalidInput
from baryon.core.jsonvalues import loads
from baryon.data._files import (
    GZIP_MAGIC,
    ProgressCallback,
    RestartRead,
    clean_column_names,
    fingerprint,
    open_raw,
    read_head,
    sha256_file,
)
from baryon.data.delimited import SAMPLE_BYTES, CsvReader, detect_dialect, detect_encoding
from baryon.data.schema import arrow_type_for, check_types

__all__ = [
    "FORMATS",
    "Source",
    "collect_table",
    "column_array",
    "normalise_array",
    "open_source",
    "read_table",
]

FORMATS = ("csv", "tsv", "jsonl", "json", "parquet", "xlsx")
_EXTENSIONS = {
    ".csv": "csv", ".txt": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl",
    ".ndjson": "jsonl", ".json": "json", ".parquet": "parquet", ".pq": "parquet",
    ".xlsx": "xlsx", ".xlsm": "xlsx",
}  # fmt: skip
_BATCH_ROWS = 65_536
_SURROGATES = re.compile("[\ud800-\udfff]")


@dataclass
class Source:
    """A file opened for ingest.

    Attributes
    ----------
    path : Path
        The file.
    format : str
        One of :data:`FORMATS`.
    gzipped : bool
        Whether the file is gzip-compressed.
    size : int
        Bytes on disk.
    sha256 : str
        SHA-256 of the bytes on disk.
    encoding, delimiter : str or None
        What was used for delimited text (``None`` for other formats).
    names : list of str
        Clean column names.
    renamed : dict
        ``{clean name: name in the file}`` for names that were trimmed or invented.
    """

    path: Path
    format: str
    gzipped: bool
    size: int
    sha256: str
    encoding: str | None = None
    delimiter: str | None = None
    names: list[str] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)
    _csv: CsvReader | None = field(default=None, repr=False)
    _table: pa.Table | None = field(default=None, repr=False)
    _parquet: Any = field(default=None, repr=False)
    _declared: dict[str, pa.DataType] = field(default_factory=dict, repr=False)
    _fingerprint: tuple[int, int] = field(default=(0, 0), repr=False)

    @property
    def decimal_comma(self) -> dict[str, str]:
        """``{column: example value}`` of the text columns read as numbers written with
        decimal commas (delimited text only; see :mod:`baryon.data.delimited`)."""
        return self._csv.converted_columns() if self._csv is not None else {}

    def describe(self) -> dict[str, Any]:
        """Return the facts recorded in a version's manifest (``source``)."""
        if self._csv is not None:  # the reader may have changed its mind (cp1252 fallback)
            self.encoding = self._csv.dialect.encoding
        return {
            "filename": self.path.name,
            "format": self.format,
            "compression": "gzip" if self.gzipped else None,
            "size": self.size,
            "sha256": self.sha256,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "renamed_columns": dict(self.renamed),
            "decimal_comma_columns": sorted(self.decimal_comma),
        }

    def batches(self, progress: ProgressCallback | None = None) -> Iterator[pa.RecordBatch]:
        """Yield the file's rows as record batches.

        Raises
        ------
        RestartRead
            (delimited text only) a column type was widened: call again from scratch.
        InvalidFile
            ``source_changed`` if the file changed since it was hashed.
        """
        if self._csv is not None:
            yield from self._csv.batches(progress)
        elif self._parquet is not None:
            for batch in self._parquet.iter_batches(batch_size=_BATCH_ROWS):
                yield _normalise(batch, self.names, self._declared)
        else:
            assert self._table is not None
            yield from self._table.to_batches(max_chunksize=_BATCH_ROWS)
        if progress is not None:
            progress(self.size, self.size)
        if fingerprint(self.path) != self._fingerprint:
            raise InvalidFile(
                f"{self.path.name} changed while it was being read; ingest it again",
                code="source_changed",
            )


def _check_path(path: str | os.PathLike[str]) -> Path:
    p = Path(path).expanduser()
    if not p.exists():
        raise InvalidFile(f"no such file: {p}", code="file_not_found")
    if not p.is_file():
        raise InvalidFile(f"{p} is not a file", code="not_a_file")
    if not os.access(p, os.R_OK):
        raise InvalidFile(f"cannot read {p}: permission denied", code="file_not_readable")
    return p


def _resolve_format(path: Path, requested: str | None, head: bytes) -> str:
    if requested is not None:
        fmt = requested.strip().lower().lstrip(".")
        if fmt in ("ndjson",):
            fmt = "jsonl"
        if fmt not in FORMATS:
            raise InvalidInput(
                f"unknown format {requested!r}; use one of {', '.join(FORMATS)}",
                code="invalid_format",
            )
        return fmt
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    if suffixes:
        if suffixes[-1] in _EXTENSIONS:
            return _EXTENSIONS[suffixes[-1]]
        if suffixes[-1] == ".xls":
            raise InvalidFile(
                "old .xls workbooks are not supported; save the sheet as .xlsx or CSV",
                code="unsupported_format",
            )
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"["):
        return "json"
    if stripped.startswith(b"{"):
        return "jsonl"
    return "csv"


def open_source(
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    types: Mapping[str, str] | None = None,
) -> Source:
    """Check, hash and open a file for reading.

    Parameters
    ----------
    path : str or PathLike
        A local file.
    format : str, optional
        One of :data:`FORMATS`; by default from the extension (``.gz`` looked
        through), else from the content.
    delimiter : str, optional
        For delimited text; sniffed when omitted (``\\t`` is preferred for ``.tsv``).
    encoding : str, optional
        For text formats; detected when omitted.
    types : mapping, optional
        ``{column: logical type}`` to read columns as (see :mod:`baryon.data.schema`).

    Returns
    -------
    Source
        With ``names`` filled in; rows are read by :meth:`Source.batches`.

    Raises
    ------
    InvalidFile, InvalidInput
        With the codes listed in the module docstring.
    """
    p = _check_path(path)
    stamp = fingerprint(p)
    size = stamp[0]
    if size == 0:
        raise InvalidFile(f"{p.name} is empty", code="empty_file")
    with p.open("rb") as fh:
        magic = fh.read(4)
    gzipped = magic.startswith(GZIP_MAGIC)
    head, at_eof = read_head(p, SAMPLE_BYTES, gzipped=gzipped)
    if not head:
        raise InvalidFile(f"{p.name} is empty", code="empty_file")
    fmt = _resolve_format(p, format, head)
    if fmt == "tsv" and format is not None and delimiter is None:
        delimiter = "\t"  # asked for TSV: tabs, whatever the sniffer would say
    declared = {c: arrow_type_for(t) for c, t in check_types(types).items()}
    # Hash on a worker thread (hashlib releases the GIL) while the format is examined.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="baryon-hash") as pool:
        digest = pool.submit(sha256_file, p)
        source = Source(path=p, format=fmt, gzipped=gzipped, size=size, sha256="")
        source._declared, source._fingerprint = declared, stamp
        try:
            _examine(source, head, at_eof, magic, delimiter, encoding)
        finally:
            source.sha256 = digest.result()
    return source


def _examine(
    source: Source,
    head: bytes,
    at_eof: bool,
    magic: bytes,
    delimiter: str | None,
    encoding: str | None,
) -> None:
    """Detect the dialect / open the reader of ``source`` and fill in its names."""
    p, fmt, gzipped, size, declared = (
        source.path,
        source.format,
        source.gzipped,
        source.size,
        source._declared,
    )
    if fmt in ("csv", "tsv"):
        dialect = detect_dialect(
            head,
            at_eof=at_eof,
            delimiter=_unescape(delimiter),
            encoding=encoding,
            preferred="\t" if fmt == "tsv" else ",",
        )
        source.encoding, source.delimiter = dialect.encoding, dialect.delimiter
        reader = CsvReader(p, dialect, gzipped=gzipped, size=size)
        reader.infer(clean_column_names)
        source.names = reader.names
        _check_declared(declared, source.names)
        reader.declared = declared
        reader.types.update(declared)
        source._csv = reader
        source.renamed = {
            n: r for n, r in zip(reader.names, reader.raw_names, strict=True) if n != r
        }
    elif fmt == "parquet":
        _open_parquet(source, magic)
    else:
        loader: Callable[[Source, bytes, bool, str | None], pa.Table] = {
            "json": _load_json_array,
            "jsonl": _load_json_lines,
            "xlsx": _load_xlsx,
        }[fmt]
        table = loader(source, head, at_eof, encoding)
        if table.num_rows == 0:
            raise InvalidFile(f"{p.name} has column names but no rows", code="header_only")
        names, renamed = clean_column_names(table.column_names)
        _check_declared(declared, names)
        source.names, source.renamed = names, renamed
        source._table = pa.Table.from_batches(
            [_normalise(b, names, declared) for b in table.to_batches()]
        )


def _unescape(delimiter: str | None) -> str | None:
    if delimiter is None:
        return None
    named = {"\\t": "\t", "tab": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
    return named.get(delimiter.lower(), delimiter)


def _check_declared(declared: Mapping[str, Any], names: list[str]) -> None:
    unknown = [c for c in declared if c not in names]
    if unknown:
        raise InvalidInput(
            f"a type was given for unknown column(s) {', '.join(map(repr, unknown))}; "
            f"the columns are {', '.join(map(repr, names))}",
            code="unknown_column",
            details={"columns": unknown},
        )


# ----------------------------------------------------------------- normalising
def _to_json_text(array: pa.Array) -> pa.Array:
    values = [None if v is None else json.dumps(v, default=str) for v in array.to_pylist()]
    return pa.array(values, type=pa.string())


def normalise_array(array: pa.Array) -> pa.Array:
    """Return ``array`` with a storage type every reader of a version understands.

    Dictionary → values, null → string, large string → string, date → timestamp[s],
    decimal → float64, time/duration → string, binary → UTF-8 text (else hex),
    lists/structs → JSON text.
    """
    t = array.type
    if pa.types.is_dictionary(t):
        array = array.dictionary_decode()
        t = array.type
    if pa.types.is_null(t):
        return array.cast(pa.string())
    if pa.types.is_large_string(t):
        return array.cast(pa.string())
    if pa.types.is_date(t):
        return array.cast(pa.timestamp("s"))
    if pa.types.is_decimal(t):
        return array.cast(pa.float64())
    if pa.types.is_time(t) or pa.types.is_duration(t):
        return array.cast(pa.string())
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        try:
            return array.cast(pa.string())
        except pa.ArrowInvalid:  # not UTF-8: keep the bytes, as hex
            return pa.array([None if v is None else v.hex() for v in array.to_pylist()])
    if pa.types.is_nested(t):
        return _to_json_text(array)
    return array


def _cast_declared(array: pa.Array, target: pa.DataType, name: str) -> pa.Array:
    if array.type == target:
        return array
    try:
        return array.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        if pa.types.is_timestamp(target) and pa.types.is_string(array.type):
            try:  # ISO 8601 with a zone offset: keep it, as UTC
                return array.cast(pa.timestamp(target.unit, tz="UTC"))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                pass
        raise InvalidInput(
            f"column {name!r} does not fit the declared type: {exc}",
            code="type_override_failed",
            details={"column": name},
        ) from None


def _normalise(
    batch: pa.RecordBatch, names: list[str], declared: Mapping[str, pa.DataType]
) -> pa.RecordBatch:
    arrays = []
    for array, name in zip(batch.columns, names, strict=True):
        array = normalise_array(array)
        if name in declared:
            array = _cast_declared(array, declared[name], name)
        arrays.append(array)
    return pa.RecordBatch.from_arrays(arrays, names=names)


def column_array(values: list[Any]) -> pa.Array:
    """Build an Arrow array from Python values, falling back to text for mixed columns.

    Lists and dicts become JSON text, lone surrogates U+FFFD, ``None`` stays missing.
    """
    try:
        return pa.array(values, from_pandas=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, UnicodeEncodeError):
        pass
    out: list[str | None] = []
    for v in values:
        if v is None:
            out.append(None)
        elif isinstance(v, str):
            out.append(_SURROGATES.sub("\ufffd", v))
        elif isinstance(v, dict | list):
            out.append(_SURROGATES.sub("\ufffd", json.dumps(v, default=str)))
        else:
            out.append(str(v))
    return pa.array(out, type=pa.string())


def _records_table(names: list[str], columns: list[list[Any]]) -> pa.Table:
    arrays = [column_array(values) for values in columns]
    return pa.Table.from_arrays(arrays, names=[str(n) for n in names])


# ----------------------------------------------------------------- formats
def _open_parquet(source: Source, magic: bytes) -> None:
    import pyarrow.parquet as pq

    if source.gzipped or not magic.startswith(b"PAR1"):
        raise InvalidFile(f"{source.path.name} is not a Parquet file", code="invalid_parquet")
    try:
        parquet = pq.ParquetFile(source.path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidFile(
            f"{source.path.name} is not a readable Parquet file: {exc}", code="invalid_parquet"
        ) from None
    names, renamed = clean_column_names(parquet.schema_arrow.names)
    _check_declared(source._declared, names)
    if parquet.metadata.num_rows == 0:
        raise InvalidFile(f"{source.path.name} has column names but no rows", code="header_only")
    source.names, source.renamed, source._parquet = names, renamed, parquet


def _json_text(source: Source, head: bytes, at_eof: bool, encoding: str | None) -> str:
    if encoding is None:
        encoding = detect_encoding(head, at_eof=at_eof)
    source.encoding = encoding
    try:
        with open_raw(source.path, gzipped=source.gzipped) as fh:
            return fh.read().decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise InvalidFile(
            f"{source.path.name} is not valid {encoding} text ({exc})", code="encoding_error"
        ) from None


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        repeated = sorted({k for k in keys if keys.count(k) > 1})
        raise InvalidFile(
            "duplicate column names: " + ", ".join(repr(k) for k in repeated),
            code="duplicate_columns",
            details={"columns": repeated},
        )
    return dict(pairs)


def _records_to_table(records: list[Any], where: Callable[[int], str]) -> pa.Table:
    order: dict[str, None] = {}
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            raise InvalidFile(
                f"{where(i)} is a JSON {type(record).__name__}, not an object", code="invalid_json"
            )
        for key in record:
            order.setdefault(key, None)
    names = list(order)
    columns = [[record.get(name) for record in records] for name in names]
    return _records_table(names, columns)


def _load_json_array(source: Source, head: bytes, at_eof: bool, encoding: str | None) -> pa.Table:
    text = _json_text(source, head, at_eof, encoding)
    if not text.strip().lstrip("\ufeff"):
        raise InvalidFile(f"{source.path.name} is empty", code="empty_file")
    try:
        data = loads(
            text.lstrip("\ufeff"), what=source.path.name, object_pairs_hook=_no_duplicate_keys
        )
    except json.JSONDecodeError as exc:
        raise InvalidFile(
            f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
            code="invalid_json",
            details={"line": exc.lineno},
        ) from None
    if not isinstance(data, list):
        raise InvalidFile(
            "expected a JSON array of objects (or JSON Lines, one object per line)",
            code="invalid_json",
        )
    if not data:
        raise InvalidFile(f"{source.path.name} is an empty JSON array", code="empty_file")
    return _records_to_table(data, lambda i: f"element {i}")


def _load_json_lines(source: Source, head: bytes, at_eof: bool, encoding: str | None) -> pa.Table:
    text = _json_text(source, head, at_eof, encoding)
    records: list[Any] = []
    numbers: list[int] = []
    for number, line in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(
                loads(
                    line,
                    what=f"{source.path.name} line {number}",
                    object_pairs_hook=_no_duplicate_keys,
                )
            )
        except json.JSONDecodeError as exc:
            raise InvalidFile(
                f"invalid JSON on line {number}: {exc.msg}",
                code="invalid_json",
                details={"line": number},
            ) from None
        numbers.append(number)
    if not records:
        raise InvalidFile(f"{source.path.name} is empty", code="empty_file")
    return _records_to_table(records, lambda i: f"line {numbers[i]}")


def _load_xlsx(source: Source, head: bytes, at_eof: bool, encoding: str | None) -> pa.Table:
    import zipfile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    if source.gzipped or not head.startswith(b"PK\x03\x04"):
        raise InvalidFile(f"{source.path.name} is not an .xlsx workbook", code="invalid_xlsx")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles it ignores
            book = load_workbook(source.path, read_only=True, data_only=True)
            sheet = book.worksheets[0]
            rows = [list(r) for r in sheet.iter_rows(values_only=True)]
            book.close()
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, IndexError) as exc:
        raise InvalidFile(
            f"{source.path.name} is not a readable .xlsx workbook: {exc}", code="invalid_xlsx"
        ) from None
    rows = [r for r in rows if any(v is not None and str(v).strip() != "" for v in r)]
    if not rows:
        raise InvalidFile(f"{source.path.name} has an empty first sheet", code="empty_file")
    width = max(len(r) for r in rows)
    rows = [r + [None] * (width - len(r)) for r in rows]
    keep = [j for j in range(width) if any(r[j] is not None for r in rows)]
    header, body = [rows[0][j] for j in keep], rows[1:]
    columns = [[r[j] for r in body] for j in keep]
    return _records_table([("" if h is None else str(h)) for h in header], columns)


# ----------------------------------------------------------------- whole tables
def collect_table(source: Source, progress: ProgressCallback | None = None) -> pa.Table:
    """Read every batch of ``source`` into one table (restarting after a widening)."""
    for _ in range(4 * max(len(source.names), 1) + 1):
        try:
            batches = list(source.batches(progress))
        except RestartRead:
            continue
        schema = batches[0].schema if batches else None
        return pa.Table.from_batches(batches, schema=schema)
    raise InvalidFile("column types kept changing while reading", code="unparseable_csv")


def read_table(
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
) -> pd.DataFrame:
    """Read a file into a DataFrame with the ingest reader; no version is made.

    Parameters
    ----------
    path : str or PathLike
        A CSV/TSV (optionally ``.gz``), JSON Lines, JSON array, Parquet or .xlsx file.
    format, delimiter, encoding : str, optional
        As for :func:`open_source`.

    Returns
    -------
    pandas.DataFrame
        Clean column names; NaN/inf kept; missing values as NA.

    Raises
    ------
    InvalidFile, InvalidInput
        The same named errors as ingest (``empty_file``, ``ragged_rows``, ...).
    """
    source = open_source(path, format=format, delimiter=delimiter, encoding=encoding)
    return collect_table(source).to_pandas()
