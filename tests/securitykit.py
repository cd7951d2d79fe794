"""The security suite's shared corpus: path-traversal names and pickle-family canaries.

``TRAVERSAL`` holds names that try to leave a directory: plain, percent-encoded,
double-encoded, with backslashes, absolute (POSIX and Windows), with a NUL byte.
Every one contains ``baryon-escape`` so a test can look for any file it made.

A *canary* is a benign payload in a format that runs code when loaded (pickle, joblib,
a torch ``.pt`` zip holding a pickle): loading it creates the file ``marker``. An
ingress that refuses it must leave ``marker`` absent.
"""

from __future__ import annotations

import io
import pathlib
import pickle
import zipfile
from pathlib import Path

__all__ = ["ESCAPE", "TRAVERSAL", "canaries", "escaped_files"]

ESCAPE = "baryon-escape"
TRAVERSAL = (
    f"../../../{ESCAPE}",
    f"..%2F..%2F..%2F{ESCAPE}",
    f"..%252F..%252F..%252F{ESCAPE}",
    f"..\\..\\..\\{ESCAPE}",
    f"/tmp/{ESCAPE}",
    f"C:\\{ESCAPE}",
    f"{ESCAPE}\x00.csv",
    f"%00{ESCAPE}",
    f"....//....//{ESCAPE}",
    "..",
)


class _Canary:
    """Unpickling calls ``Path.touch(marker)``: harmless, and visible."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def canaries(marker: Path) -> dict[str, bytes]:
    """``{file name: bytes}`` of each canary kind (``.pkl``, ``.joblib``, ``.pt``)."""
    import joblib

    raw = pickle.dumps(_Canary(marker), protocol=4)
    buffer = io.BytesIO()
    joblib.dump(_Canary(marker), buffer)
    torch_zip = io.BytesIO()
    with zipfile.ZipFile(torch_zip, "w") as archive:  # torch.save's layout
        archive.writestr("archive/data.pkl", raw)
        archive.writestr("archive/version", "3\n")
    return {
        "canary.pkl": raw,
        "canary.joblib": buffer.getvalue(),
        "canary.pt": torch_zip.getvalue(),
        "canary.skops": torch_zip.getvalue(),  # a zip that only pretends to be skops
        "canary.csv": raw,  # a pickle under a data file's name
    }


def escaped_files(*roots: Path) -> list[Path]:
    """Files or directories named like :data:`ESCAPE` under ``roots`` and in /tmp."""
    found = [p for root in roots for p in Path(root).rglob(f"*{ESCAPE}*")]
    found += list(Path("/tmp").glob(f"{ESCAPE}*"))
    return found
