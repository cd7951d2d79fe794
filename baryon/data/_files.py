"""Low-level file helpers shared by the source readers (private).

- :class:`CountingReader` wraps a binary file and counts what is read (progress);
- :func:`fingerprint` (size, mtime) tells whether a file changed while it was read;
- :func:`sha256_file` hashes a file in 1 MiB chunks;
- :func:`open_raw` opens a file, transparently gunzipping it;
- :func:`clean_column_names` trims and de-BOMs header names, names empty ones and
  refuses duplicates.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

from baryon.core.errors import InvalidFile

__all__ = [
    "GZIP_MAGIC",
    "CountingReader",
    "ProgressCallback",
    "RestartRead",
    "clean_column_names",
    "fingerprint",
    "open_raw",
    "read_head",
    "sha256_file",
]

GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20
#: Characters stripped from both ends of a header name besides whitespace:
#: byte-order mark, zero-width space/joiners, word joiner.
_INVISIBLE = "\ufeff\u200b\u200c\u200d\u2060"

#: ``callback(bytes_done, bytes_total)``; both in bytes of the file as stored.
ProgressCallback = Callable[[int, int], None]


class RestartRead(Exception):
    """Internal signal: a column's type was widened mid-read; the consumer starts over.

    Parameters
    ----------
    column : str
        The widened column.
    """

    def __init__(self, column: str) -> None:
        super().__init__(column)
        self.column = column


class CountingReader(io.RawIOBase):
    """A read-only raw stream that counts the bytes read through it (for progress).

    Parameters
    ----------
    raw : BinaryIO
        The underlying binary file (read sequentially).
    total : int
        Size of the file in bytes (for progress reports).
    progress : callable, optional
        ``progress(bytes_done, total)`` called after every read.
    count : bytes, optional
        A byte whose occurrences are counted (``b'"'``: an odd number of quotes means
        a quoted field is never closed).
    """

    def __init__(
        self,
        raw: BinaryIO,
        total: int,
        progress: ProgressCallback | None = None,
        count: bytes | None = None,
    ) -> None:
        super().__init__()
        self._raw = raw
        self.total = total
        self.bytes_read = 0
        self.counted = 0
        self._count = count
        self._progress = progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = self._raw.readinto(buffer)  # type: ignore[attr-defined]
        if n:
            self.bytes_read += n
            if self._count is not None:
                self.counted += bytes(memoryview(buffer)[:n]).count(self._count)
            if self._progress is not None:
                self._progress(self.bytes_read, self.total)
        return n or 0

    def close(self) -> None:
        self._raw.close()
        super().close()


def fingerprint(path: Path) -> tuple[int, int]:
    """Return ``(size in bytes, modification time in ns)``: a changed file changes it."""
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def sha256_file(path: Path) -> str:
    """Return the SHA-256 hex digest of the file at ``path`` (read in 1 MiB chunks)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def open_raw(path: Path, *, gzipped: bool) -> BinaryIO:
    """Open ``path`` for binary reading, gunzipping on the fly when ``gzipped``."""
    if gzipped:
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def read_head(path: Path, n: int, *, gzipped: bool) -> tuple[bytes, bool]:
    """Return the first ``n`` (decompressed) bytes of the file and whether that is all.

    Raises
    ------
    InvalidFile
        ``corrupt_file`` if a gzip stream cannot be decompressed.
    """
    try:
        with open_raw(path, gzipped=gzipped) as fh:
            head = fh.read(n)
            at_eof = len(head) < n or not fh.read(1)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise InvalidFile(
            f"{path.name} is not a valid gzip file: {exc}", code="corrupt_file"
        ) from None
    return head, at_eof


def _clean_name(raw: object) -> str:
    text = "" if raw is None else str(raw)
    text = unicodedata.normalize("NFC", text)
    return text.strip().strip(_INVISIBLE).strip()


def clean_column_names(raw_names: Sequence[object]) -> tuple[list[str], dict[str, str]]:
    """Trim, de-BOM and NFC-normalise header names; name empty ones; refuse duplicates.

    Parameters
    ----------
    raw_names : sequence
        Column names as found in the file (``None`` or blank for unnamed columns).

    Returns
    -------
    names : list of str
        Clean names, same order. An empty name becomes ``column_<position>``
        (1-based), as pandas would write ``Unnamed: 0``.
    renamed : dict
        ``{clean name: raw name}`` for every name that changed.

    Raises
    ------
    InvalidFile
        ``duplicate_columns`` naming every repeated name (after cleaning).
    """
    names = [_clean_name(raw) for raw in raw_names]
    taken = set(names)
    renamed: dict[str, str] = {}
    for position, name in enumerate(names):
        if name:
            continue
        candidate = f"column_{position + 1}"
        while candidate in taken:
            candidate += "_"
        taken.add(candidate)
        names[position] = candidate
    for name, raw in zip(names, raw_names, strict=True):
        if name != raw:
            renamed[name] = "" if raw is None else str(raw)
    repeated = sorted(name for name, count in Counter(names).items() if count > 1)
    if repeated:
        raise InvalidFile(
            "duplicate column names: " + ", ".join(repr(n) for n in repeated),
            code="duplicate_columns",
            details={"columns": repeated},
        )
    return names, renamed
