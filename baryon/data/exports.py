"""Exporting a dataset version (or one split of it) to a file.

The format follows the output file's extension: ``.csv`` (also ``.csv.gz``), ``.tsv``,
``.parquet``, ``.jsonl``. A version with a split gets a ``split`` column
(``train``/``validation``/``test``) unless one split is asked for. The file is
written next to its final name and renamed into place, so a failed export never
leaves half a file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from baryon.core.errors import InvalidInput
from baryon.data.splits import SPLIT_NAMES

if TYPE_CHECKING:
    from baryon.data.versions import DatasetVersion

__all__ = ["EXPORT_FORMATS", "export_version"]

EXPORT_FORMATS = ("csv", "tsv", "parquet", "jsonl")


def _format_of(path: Path, requested: str | None) -> tuple[str, bool]:
    suffixes = [s.lower() for s in path.suffixes]
    gzipped = bool(suffixes) and suffixes[-1] == ".gz"
    if gzipped:
        suffixes = suffixes[:-1]
    fmt = (requested or (suffixes[-1].lstrip(".") if suffixes else "")).lower()
    if requested is not None and fmt not in EXPORT_FORMATS:
        raise InvalidInput(
            f"unknown export format {requested!r}; use csv, tsv, parquet or jsonl",
            code="invalid_format",
        )
    if fmt not in EXPORT_FORMATS:
        raise InvalidInput(
            f"cannot tell the export format of {path.name!r}; use a .csv, .tsv, .parquet "
            "or .jsonl file name (or --format)",
            code="invalid_format",
        )
    if gzipped and fmt not in ("csv", "tsv", "jsonl"):
        raise InvalidInput("only text formats can be gzipped", code="invalid_format")
    return fmt, gzipped


def _with_split_column(version: DatasetVersion, table: pa.Table) -> pa.Table:
    codes = version.split_codes()
    names = pa.array([SPLIT_NAMES[c] for c in range(len(SPLIT_NAMES))])
    labels = pa.DictionaryArray.from_arrays(pa.array(codes, type=pa.int8()), names)
    column = "split" if "split" not in table.column_names else "__split__"
    return table.append_column(column, labels.dictionary_decode())


def export_version(
    version: DatasetVersion,
    out: str | os.PathLike[str],
    *,
    split: str | None = None,
    format: str | None = None,
) -> dict[str, Any]:
    """Write ``version`` (or its ``split`` rows) to ``out``.

    Parameters
    ----------
    version : DatasetVersion
        What to export.
    out : str or PathLike
        Output file; its directory must exist. An existing file is replaced.
    split : {"train", "validation", "test"}, optional
        Only these rows (needs a version with a split).
    format : str, optional
        ``csv``, ``tsv``, ``parquet`` or ``jsonl`` (default: from the extension).

    Returns
    -------
    dict
        ``{"path", "format", "rows", "columns"}``.

    Raises
    ------
    InvalidInput
        ``invalid_format``, ``no_split``, ``invalid_split`` or ``invalid_path``.
    """
    path = Path(out).expanduser()
    fmt, gzipped = _format_of(path, format)
    if not path.parent.is_dir():
        raise InvalidInput(f"directory {path.parent} does not exist", code="invalid_path")
    table = version.to_arrow(split)
    if split is None and version.split_digest is not None:
        table = _with_split_column(version, table)
    # not tempfile.mkstemp: its 0600 mode would survive the rename, and an exported file
    # should get the usual permissions (0666 less the umask, applied by the kernel)
    tmp = str(path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp")
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        _write(table, tmp, fmt, gzipped)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return {"path": str(path), "format": fmt, "rows": table.num_rows, "columns": table.num_columns}


def _write(table: pa.Table, tmp: str, fmt: str, gzipped: bool) -> None:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, tmp)
        return
    sink: Any = pa.CompressedOutputStream(tmp, "gzip") if gzipped else pa.OSFile(tmp, "wb")
    with sink:
        if fmt == "jsonl":
            frame = table.to_pandas()
            text = frame.to_json(orient="records", lines=True, date_format="iso", force_ascii=False)
            sink.write((text or "").encode("utf-8"))
        else:
            import pyarrow.csv as pv

            delimiter = "\t" if fmt == "tsv" else ","
            pv.write_csv(table, sink, write_options=pv.WriteOptions(delimiter=delimiter))
