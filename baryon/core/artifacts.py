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
- :class:`FsspecArtifactStore` — object storage through fsspec: S3 and S3-compatible
  stores (``s3://bucket/prefix``, the ``s3`` extra), Google Cloud Storage (``gs://``,
  gcsfs) and Azure Blob Storage (``az://``, adlfs). Same layout, same integrity check.

:func:`open_artifact_store` builds the back end a URL names (``BARYON_ARTIFACTS_URL``,
alias ``BARYON_ARTIFACT_ROOT``).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO, NoReturn, TypeVar

from baryon.core import scratch
from baryon.core.errors import (
    ArtifactStoreUnavailable,
    BaryonError,
    IntegrityError,
    InvalidInput,
    MissingDependency,
    NotFound,
)

__all__ = [
    "ArtifactStore",
    "FsspecArtifactStore",
    "LocalArtifactStore",
    "MemoryArtifactStore",
    "open_artifact_store",
    "sha256_hex",
]

_T = TypeVar("_T")
_CHUNK = 1 << 20  # 1 MiB
_READ_BLOCK = 8 << 20  # 8 MiB: one ranged GET per block when an object is streamed
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
        data = self._read_all(digest)
        if verify and sha256_hex(data) != digest:
            raise IntegrityError(
                f"artifact {digest[:12]}… is corrupt: its bytes no longer match its digest",
                details={"digest": digest},
            )
        return data

    def _read_all(self, digest: str) -> bytes:
        """The stored bytes, unchecked (a back end may read them in one request)."""
        with self.open(digest) as fh:
            return fh.read()


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


#: Object-storage URL schemes :func:`open_artifact_store` hands to fsspec, with the
#: package each needs and how to install it.
_OBJECT_STORES: dict[str, tuple[str, str]] = {
    "s3": ("s3fs", "pip install 'baryon[s3]'"),
    "s3a": ("s3fs", "pip install 'baryon[s3]'"),
    "gs": ("gcsfs", "pip install gcsfs"),
    "gcs": ("gcsfs", "pip install gcsfs"),
    "az": ("adlfs", "pip install adlfs"),
    "abfs": ("adlfs", "pip install adlfs"),
}
#: Words in a storage option's name (at any depth) that make its value a credential,
#: masked in every message: ``key``, ``secret``, ``aws_secret_access_key``, ``token``.
_SECRET_WORDS = ("key", "secret", "token", "password", "credential")


def _credentials(options: Mapping[str, Any]) -> list[str]:
    """The values of ``options`` (nested mappings too) whose names say credential."""
    found: list[str] = []
    for name, value in options.items():
        if isinstance(value, Mapping):
            found.extend(_credentials(value))
        elif isinstance(value, str) and value and any(w in name.lower() for w in _SECRET_WORDS):
            found.append(value)
    return found


class FsspecArtifactStore(ArtifactStore):
    """Artifacts as objects ``<root>/sha256/<aa>/<bb>/<digest>`` on an fsspec file system.

    One class for every fsspec URL; :func:`open_artifact_store` uses it for object
    stores: S3 and S3-compatible servers (``s3://bucket/prefix``, through s3fs),
    Google Cloud Storage (``gs://``) and Azure Blob Storage (``az://``). The layout is
    the local store's, so a store copied object by object between them stays valid.

    Writes are atomic for readers. An object store makes a PUT visible whole or not
    at all (a multipart upload appears when it completes), so each artifact is
    uploaded once, under its final key, after its digest is known:
    :meth:`put_stream` streams the input into a local scratch file while hashing it
    (1 MiB at a time: memory does not grow with the artifact), then uploads that file
    (s3fs switches to a multipart upload past its block size, 50 MiB). A failed
    upload leaves nothing under the key, and an artifact already stored is not sent
    again. The alternative, a temporary key copied to the final one, would cost a
    server-side copy and a delete per artifact and leave temporary objects behind
    when a writer dies; its only gain, not needing local disk for the artifact, does
    not matter to Baryon, which builds artifacts on local disk anyway. This relies on
    the file system publishing an object whole: a local directory goes through
    :class:`LocalArtifactStore` (temporary file, then rename) instead.

    Reads stream: :meth:`open` returns a file object that fetches ranged blocks of
    8 MiB; :meth:`get_bytes` reads the object in one GET and checks its SHA-256.

    Parameters
    ----------
    url : str
        fsspec URL of the store's root, e.g. ``s3://bucket/prefix``. The bucket must
        exist: the store never creates one.
    scratch_dir : Path, optional
        Local directory of the files being hashed before their upload (default: the
        system's temporary directory). :meth:`baryon.workspace.Workspace.open` passes
        ``<home>/tmp``, which it sweeps of what a crashed writer left.
    storage_options : mapping of str to any, optional
        Keyword arguments of the fsspec file system. For s3fs: ``endpoint_url``,
        ``key``, ``secret``, ``token``, ``client_kwargs`` (``{"region_name": ...}``),
        ``config_kwargs`` (botocore's ``Config``: timeouts, retries). Left out, s3fs
        finds the endpoint and credentials the way every AWS client does: the
        variables ``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``,
        ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_DEFAULT_REGION``,
        ``AWS_PROFILE``, then ``~/.aws``, then an instance role.

    Raises
    ------
    MissingDependency
        ``artifact_backend_unavailable``: the URL's file system needs a package that
        is not installed (``s3://``: ``pip install 'baryon[s3]'``).
    InvalidInput
        ``invalid_artifact_url``: fsspec knows no such protocol, or the URL names no
        bucket.

    Notes
    -----
    Every method that talks to the store raises
    :class:`~baryon.core.errors.ArtifactStoreUnavailable` when it cannot:
    ``artifact_write_failed`` when the store refuses a write or a delete (permission
    denied), ``artifact_store_unavailable`` otherwise (endpoint unreachable, bucket
    missing, credentials refused on a read). The message names the store and the
    reason, never a credential.
    """

    def __init__(
        self,
        url: str,
        *,
        storage_options: Mapping[str, Any] | None = None,
        scratch_dir: Path | None = None,
    ) -> None:
        import fsspec.core

        self._scratch_dir = scratch_dir
        options = dict(storage_options or {})
        self._secrets = _credentials(options)
        try:
            fs, root = fsspec.core.url_to_fs(url, skip_instance_cache=True, **options)
        except ImportError:
            scheme = url.split("://", 1)[0]
            package, install = _OBJECT_STORES.get(scheme, (scheme, f"install {scheme}'s fsspec"))
            raise MissingDependency(
                f"artifact store {scheme}:// needs {package}: {install}",
                code="artifact_backend_unavailable",
            ) from None
        except ValueError as exc:
            raise InvalidInput(
                f"unknown artifact store URL {url!r}: {exc}", code="invalid_artifact_url"
            ) from None
        root = str(root).strip("/")
        if not root:
            raise InvalidInput(
                f"artifact store URL {url!r} names no bucket", code="invalid_artifact_url"
            )
        self.fs = fs
        self.root = root
        protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
        #: The store as shown in messages: protocol, bucket and prefix (no credentials).
        self.url = f"{protocol}://{root}"

    def _key(self, digest: str) -> str:
        _check_digest(digest)
        return f"{self.root}/sha256/{digest[:2]}/{digest[2:4]}/{digest}"

    @contextlib.contextmanager
    def scratch_file(self, *, suffix: str = "") -> Iterator[Path]:
        with scratch.scratch_file(self._scratch_dir, prefix="baryon-scratch-", suffix=suffix) as p:
            yield p

    def put_stream(self, stream: BinaryIO) -> str:
        hasher = hashlib.sha256()
        with self.scratch_file(suffix=".put") as tmp:
            with tmp.open("wb") as out:
                while chunk := stream.read(_CHUNK):
                    hasher.update(chunk)
                    out.write(chunk)
            digest = hasher.hexdigest()
            key, what = self._key(digest), f"could not store artifact {digest[:12]}…"
            if not self._call(what, self.fs.exists, key):  # stored already: not sent again
                self._call(what, self.fs.put_file, str(tmp), key, writing=True)
        return digest

    def open(self, digest: str) -> BinaryIO:
        what = f"could not read artifact {digest[:12]}…"
        fh: BinaryIO = self._call(
            what, self.fs.open, self._key(digest), "rb", block_size=_READ_BLOCK, missing=digest
        )
        return fh

    def _read_all(self, digest: str) -> bytes:
        what = f"could not read artifact {digest[:12]}…"
        return bytes(self._call(what, self.fs.cat_file, self._key(digest), missing=digest))

    def exists(self, digest: str) -> bool:
        what = f"could not look up artifact {digest[:12]}…"
        return bool(self._call(what, self.fs.exists, self._key(digest)))

    def size(self, digest: str) -> int:
        what = f"could not look up artifact {digest[:12]}…"
        return int(self._call(what, self.fs.size, self._key(digest), missing=digest))

    def delete(self, digest: str) -> None:
        key = self._key(digest)

        def remove() -> None:
            with contextlib.suppress(FileNotFoundError):  # already gone: not an error
                self.fs.rm_file(key)

        self._call(f"could not delete artifact {digest[:12]}…", remove, writing=True)

    def digests(self) -> Iterator[str]:
        paths = self._call("could not list the artifacts", self.fs.find, f"{self.root}/sha256")
        for path in paths:
            name = str(path).rsplit("/", 1)[-1]
            if _DIGEST_RE.match(name):
                yield name

    def _call(
        self,
        what: str,
        call: Callable[..., _T],
        *args: Any,
        writing: bool = False,
        missing: str | None = None,
        **kwargs: Any,
    ) -> _T:
        """Return ``call(*args, **kwargs)``, a call of the file system, or raise the
        named error for its failure (:meth:`_fail`)."""
        try:
            return call(*args, **kwargs)
        except Exception as exc:
            self._fail(exc, what, writing=writing, digest=missing)

    def _fail(
        self, exc: Exception, what: str, *, writing: bool = False, digest: str | None = None
    ) -> NoReturn:
        """Raise the named error for ``exc``, a failure of the file system."""
        if isinstance(exc, BaryonError):
            raise exc
        if digest is not None and isinstance(exc, FileNotFoundError):
            raise NotFound(
                f"artifact {digest[:12]}… not found", code="artifact_not_found"
            ) from None
        reason = self._reason(exc)
        details = {"store": self.url, "reason": reason}
        if writing and isinstance(exc, PermissionError):
            raise ArtifactStoreUnavailable(
                f"artifact store {self.url} refused the write: {what}: {reason}",
                code="artifact_write_failed",
                details=details,
            ) from exc
        raise ArtifactStoreUnavailable(
            f"artifact store {self.url} is unavailable: {what}: {reason}",
            code="artifact_store_unavailable",
            details=details,
        ) from exc

    def _reason(self, exc: Exception) -> str:
        """``exc`` in one line, with any credential of the storage options masked."""
        if isinstance(exc, FileNotFoundError):
            text = "no such bucket or container"
        elif isinstance(exc, PermissionError):
            text = f"permission denied ({exc})"
        else:
            text = f"{type(exc).__name__}: {exc}"
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return " ".join(text.split())[:300]


def open_artifact_store(
    url: str,
    *,
    storage_options: Mapping[str, Any] | None = None,
    scratch_dir: Path | None = None,
) -> ArtifactStore:
    """Build the artifact store named by ``url``.

    Parameters
    ----------
    url : str
        ``memory://``, ``file:///abs/path``, a plain filesystem path, or an object
        store: ``s3://bucket/prefix`` (also ``s3a://``), ``gs://`` (``gcs://``),
        ``az://`` (``abfs://``).
    storage_options : mapping of str to any, optional
        Options of an object store's fsspec file system (see
        :class:`FsspecArtifactStore`); ignored by the other back ends.
    scratch_dir : Path, optional
        Where an object store hashes artifacts before uploading them (see
        :class:`FsspecArtifactStore`); ignored by the other back ends.

    Raises
    ------
    MissingDependency
        ``artifact_backend_unavailable``: an object store whose fsspec package is not
        installed (``s3://`` needs ``baryon[s3]``).
    InvalidInput
        ``invalid_artifact_url``: any other scheme, or an object-store URL without a
        bucket.
    """
    if url == "memory://":
        return MemoryArtifactStore()
    if url.startswith("file://"):
        return LocalArtifactStore(url[len("file://") :])
    scheme = url.split("://", 1)[0] if "://" in url else None
    if scheme in _OBJECT_STORES:
        return FsspecArtifactStore(url, storage_options=storage_options, scratch_dir=scratch_dir)
    if scheme is not None:
        raise InvalidInput(f"unknown artifact store URL {url!r}", code="invalid_artifact_url")
    return LocalArtifactStore(url)
