"""Content-addressed artifact store.

Artifacts (dataset Parquet files, manifests, model files, reports) are stored by
the SHA-256 of their bytes. Callers hand the store bytes or a binary stream and get
the hex digest back; they never pass a file path in. Writes are atomic: bytes go to
a temporary file in the store, are flushed to disk, then renamed into place, so a
reader sees either the whole artifact or none.

Temporary files (``<root>/tmp``: artifacts being written, files being built with
:meth:`ArtifactStore.scratch_file`) are held by their writer; the ones a crashed
process left behind are removed by :meth:`ArtifactStore.sweep_temp`, which
:meth:`baryon.workspace.Workspace.open` calls (the safety rule is in
:mod:`baryon.core.scratch`).

Back ends
---------
- :class:`LocalArtifactStore` — a directory (``file://`` URL or plain path).
- :class:`MemoryArtifactStore` — a dict, for tests and throw-away workspaces.

Object storage (``s3://``, ``gs://``) is planned through fsspec.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from baryon.core import scratch
from baryon.core.errors import IntegrityError, InvalidInput, MissingDependency, NotFound

__all__ = [
    "ArtifactStore",
    "LocalArtifactStore",
    "MemoryArtifactStore",
    "open_artifact_store",
    "sha256_hex",
]

_CHUNK = 1 << 20  # 1 MiB
_DIGEST_RE = re.compile(r"^[0-9a-f]{64}$")


def sha256_hex(data: bytes) -> str:
    """Return the SHA-256 of ``data`` as 64 lower-case hex characters."""
    return hashlib.sha256(data).hexdigest()


def _check_digest(digest: str) -> str:
    if not isinstance(digest, str) or not _DIGEST_RE.match(digest):
        raise InvalidInput(f"not a SHA-256 hex digest: {digest!r}", code="invalid_digest")
    return digest


class ArtifactStore(ABC):
    """Interface of every artifact back end.

    All methods identify an artifact by its SHA-256 hex digest (64 characters).
    Putting the same bytes twice stores them once and returns the same digest.
    """

    @abstractmethod
    def put_stream(self, stream: BinaryIO) -> str:
        """Store everything read from ``stream`` and return its SHA-256 hex digest."""

    @abstractmethod
    def open(self, digest: str) -> BinaryIO:
        """Return a readable binary file object of the artifact.

        Raises
        ------
        NotFound
            If no artifact has this digest.
        """

    @abstractmethod
    def exists(self, digest: str) -> bool:
        """Return whether an artifact with ``digest`` is stored."""

    @abstractmethod
    def size(self, digest: str) -> int:
        """Return the artifact's size in bytes (raises :class:`NotFound`)."""

    @abstractmethod
    def delete(self, digest: str) -> None:
        """Remove the artifact; removing a missing one is not an error."""

    @abstractmethod
    def digests(self) -> Iterator[str]:
        """Yield the digest of every stored artifact (no particular order)."""

    def put_bytes(self, data: bytes) -> str:
        """Store ``data`` and return its SHA-256 hex digest."""
        return self.put_stream(io.BytesIO(data))

    @contextlib.contextmanager
    def scratch_file(self, *, suffix: str = "") -> Iterator[Path]:
        """A temporary file to build an artifact in before :meth:`put_stream`.

        Held by this process and deleted when the block ends; a crash leaves it to
        :meth:`sweep_temp`. This back end keeps it in the system's temporary
        directory; :class:`LocalArtifactStore` keeps it in the store.
        """
        with scratch.scratch_file(None, prefix="baryon-scratch-", suffix=suffix) as path:
            yield path

    def sweep_temp(self, *, older_than: float = scratch.STALE_AFTER) -> list[str]:
        """Remove temporary files a crashed writer left in the store.

        Only files no live process holds and unchanged for ``older_than`` seconds
        (:func:`baryon.core.scratch.sweep`). Returns their names; nothing to do for a
        store without temporary files.
        """
        return []

    def get_bytes(self, digest: str, *, verify: bool = True) -> bytes:
        """Return the artifact's bytes.

        Parameters
        ----------
        digest : str
            SHA-256 hex digest.
        verify : bool
            Recompute the hash and compare (default ``True``).

        Raises
        ------
        NotFound
            No such artifact.
        IntegrityError
            The stored bytes no longer hash to ``digest`` (corruption or tampering).
        """
        with self.open(digest) as fh:
            data = fh.read()
        if verify and sha256_hex(data) != digest:
            raise IntegrityError(
                f"artifact {digest[:12]}… is corrupt: its bytes no longer match its digest",
                details={"digest": digest},
            )
        return data


class LocalArtifactStore(ArtifactStore):
    """Artifacts as files under ``root/sha256/<aa>/<bb>/<digest>``.

    Parameters
    ----------
    root : str or Path
        Directory of the store; created on the first write.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, digest: str) -> Path:
        _check_digest(digest)
        return self.root / "sha256" / digest[:2] / digest[2:4] / digest

    @property
    def _tmp(self) -> Path:
        return self.root / "tmp"

    def put_stream(self, stream: BinaryIO) -> str:
        tmp_dir = self._tmp
        tmp_dir.mkdir(parents=True, exist_ok=True)
        hasher = hashlib.sha256()
        fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix=f"put-{os.getpid()}-")
        try:
            scratch.hold(fd)  # until the rename: a sweep leaves a live writer's file alone
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(_CHUNK):
                    hasher.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            digest = hasher.hexdigest()
            final = self._path(digest)
            if final.exists():
                os.unlink(tmp_name)
                return digest
            final.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(tmp_name, 0o444)
            os.replace(tmp_name, final)
            return digest
        except BaseException:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
            raise

    @contextlib.contextmanager
    def scratch_file(self, *, suffix: str = "") -> Iterator[Path]:
        with scratch.scratch_file(self._tmp, prefix="build-", suffix=suffix) as path:
            yield path

    def sweep_temp(self, *, older_than: float = scratch.STALE_AFTER) -> list[str]:
        return [p.name for p in scratch.sweep(self._tmp, older_than=older_than)]

    def open(self, digest: str) -> BinaryIO:
        path = self._path(digest)
        try:
            return path.open("rb")
        except FileNotFoundError:
            raise NotFound(
                f"artifact {digest[:12]}… not found", code="artifact_not_found"
            ) from None

    def exists(self, digest: str) -> bool:
        return self._path(digest).is_file()

    def size(self, digest: str) -> int:
        path = self._path(digest)
        try:
            return path.stat().st_size
        except FileNotFoundError:
            raise NotFound(
                f"artifact {digest[:12]}… not found", code="artifact_not_found"
            ) from None

    def delete(self, digest: str) -> None:
        self._path(digest).unlink(missing_ok=True)

    def digests(self) -> Iterator[str]:
        base = self.root / "sha256"
        if not base.is_dir():
            return
        for path in base.glob("*/*/*"):
            if _DIGEST_RE.match(path.name):
                yield path.name


class MemoryArtifactStore(ArtifactStore):
    """Artifacts in a dict (lost when the process ends)."""

    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}

    def put_stream(self, stream: BinaryIO) -> str:
        data = stream.read()
        digest = sha256_hex(data)
        self._blobs.setdefault(digest, data)
        return digest

    def open(self, digest: str) -> BinaryIO:
        try:
            return io.BytesIO(self._blobs[_check_digest(digest)])
        except KeyError:
            raise NotFound(
                f"artifact {digest[:12]}… not found", code="artifact_not_found"
            ) from None

    def exists(self, digest: str) -> bool:
        return _check_digest(digest) in self._blobs

    def size(self, digest: str) -> int:
        try:
            return len(self._blobs[_check_digest(digest)])
        except KeyError:
            raise NotFound(
                f"artifact {digest[:12]}… not found", code="artifact_not_found"
            ) from None

    def delete(self, digest: str) -> None:
        self._blobs.pop(_check_digest(digest), None)

    def digests(self) -> Iterator[str]:
        yield from list(self._blobs)


def open_artifact_store(url: str) -> ArtifactStore:
    """Build the artifact store named by ``url``.

    Parameters
    ----------
    url : str
        ``memory://``, ``file:///abs/path`` or a plain filesystem path.

    Raises
    ------
    MissingDependency
        For object-storage schemes (``s3://``, ``gs://``), not yet shipped.
    InvalidInput
        For any other scheme.
    """
    if url == "memory://":
        return MemoryArtifactStore()
    if url.startswith("file://"):
        return LocalArtifactStore(url[len("file://") :])
    if url.startswith(("s3://", "gs://", "az://")):
        raise MissingDependency(
            f"object storage ({url.split('://')[0]}://) is not available yet; "
            "use a local artifact root",
            code="artifact_backend_unavailable",
        )
    if "://" in url:
        raise InvalidInput(f"unknown artifact store URL {url!r}", code="invalid_artifact_url")
    return LocalArtifactStore(url)
