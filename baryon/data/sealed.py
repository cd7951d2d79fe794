"""Encryption at rest of dataset artifacts: a sealing view of the artifact store.

Datasets marked *sensitive* store every artifact of their versions (Parquet data,
manifest, split assignment) sealed by :mod:`baryon.core.encryption`: AES-256-GCM
under a fresh data key per artifact, the data key wrapped by the key provider's
key-encryption key (KEK) and kept in ``artifact_keys`` by the sealed artifact's
digest. The store stays content-addressed — the digest is the ciphertext's — and
every read through :class:`SealedArtifactStore` decrypts transparently; bytes that
are not sealed pass through unchanged, so one view reads both kinds.

Key rotation (:func:`rotate_kek`) re-wraps the data keys, never the artifacts.
Deleting a wrapped key (:func:`forget_keys`, used by erasure) makes the artifact
unreadable even from a backup of the store.
"""

from __future__ import annotations

import base64
import contextlib
import io
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from baryon.core import scratch
from baryon.core.artifacts import ArtifactStore, sha256_hex
from baryon.core.clock import Clock
from baryon.core.db import Database
from baryon.core.encryption import (
    KeyProvider,
    WrappedKey,
    is_sealed,
    new_data_key,
    open_sealed,
    seal,
)
from baryon.core.errors import EncryptionKeyMissing, IntegrityError
from baryon.data.tables import ArtifactKeyRow

__all__ = ["SealedArtifactStore", "forget_keys", "rotate_kek"]


class SealedArtifactStore(ArtifactStore):
    """An artifact store that seals what it stores and opens what it reads.

    Parameters
    ----------
    inner : ArtifactStore
        Where the (sealed) bytes live.
    db : Database
        Holds the wrapped data keys (``artifact_keys``).
    keys : KeyProvider or None
        Wraps and unwraps data keys; ``None``: sealed artifacts cannot be read
        (``encryption_key_missing``) and nothing can be sealed.
    clock : Clock
    seal : bool
        Seal what is stored (``True``) or store it as is (``False``, a reading view).
    """

    def __init__(
        self,
        inner: ArtifactStore,
        db: Database,
        keys: KeyProvider | None,
        clock: Clock,
        *,
        seal: bool,
    ) -> None:
        self.inner = inner
        self.db = db
        self.keys = keys
        self.clock = clock
        self.sealing = seal

    def sealed(self, on: bool) -> SealedArtifactStore:
        """The same view, sealing what it stores (``on``) or not."""
        if on == self.sealing:
            return self
        return SealedArtifactStore(self.inner, self.db, self.keys, self.clock, seal=on)

    # ------------------------------------------------------------- writing
    def put_stream(self, stream: BinaryIO) -> str:
        if not self.sealing:
            return self.inner.put_stream(stream)
        keys = self._provider()
        if not keys.exists():
            with self.db.session() as session:  # a lost key ring is never replaced silently
                if session.scalar(select(ArtifactKeyRow.digest).limit(1)) is not None:
                    keys.wrap(b"")  # raises encryption_key_missing with the provider's words
            keys.create()
        data_key = new_data_key()
        wrapped = keys.wrap(data_key)
        blob = seal(stream.read(), data_key)
        digest = sha256_hex(blob)
        with self.db.session() as session:
            session.add(
                ArtifactKeyRow(
                    digest=digest,
                    kek_id=wrapped.kek_id,
                    wrapped_key=base64.b64encode(wrapped.wrapped).decode("ascii"),
                    created_at=self.clock.now(),
                )
            )
        return self.inner.put_bytes(blob)

    # ------------------------------------------------------------- reading
    def get_bytes(
        self, digest: str, *, verify: bool = True, session: Session | None = None
    ) -> bytes:
        """The artifact's bytes, decrypted if sealed.

        ``session``: an open session of the database to read the wrapped key with
        (a caller inside a transaction must pass its own: SQLite allows one writer).
        Raises as :meth:`ArtifactStore.get_bytes`, plus ``encryption_key_missing`` and
        ``decryption_failed``.
        """
        data = self.inner.get_bytes(digest, verify=verify)
        if not is_sealed(data):
            return data
        return open_sealed(data, self._data_key(digest, session))

    def open(self, digest: str) -> BinaryIO:
        return io.BytesIO(self.get_bytes(digest))

    def is_encrypted(self, digest: str) -> bool:
        """Whether the stored artifact is sealed (reads its first bytes)."""
        with self.inner.open(digest) as fh:
            return is_sealed(fh.read(16))

    def _provider(self) -> KeyProvider:
        if self.keys is None:
            raise EncryptionKeyMissing("no key provider is configured for encrypted datasets")
        return self.keys

    def _data_key(self, digest: str, session: Session | None) -> bytes:
        if session is None:
            with self.db.session() as own:
                return self._data_key(digest, own)
        row = session.get(ArtifactKeyRow, digest)
        if row is None:
            raise EncryptionKeyMissing(
                f"artifact {digest[:12]}… is encrypted but its data key is gone "
                "(erased, or the database is not the store's)",
                details={"digest": digest},
            )
        return self._provider().unwrap(WrappedKey(row.kek_id, base64.b64decode(row.wrapped_key)))

    # --------------------------------------------------------- delegation
    def exists(self, digest: str) -> bool:
        return self.inner.exists(digest)

    def size(self, digest: str) -> int:
        return self.inner.size(digest)

    def delete(self, digest: str) -> None:
        self.inner.delete(digest)

    def digests(self) -> Iterator[str]:
        return self.inner.digests()

    @contextlib.contextmanager
    def scratch_file(self, *, suffix: str = "") -> Iterator[Path]:
        with self.inner.scratch_file(suffix=suffix) as path:
            yield path

    def sweep_temp(self, *, older_than: float = scratch.STALE_AFTER) -> list[str]:
        return self.inner.sweep_temp(older_than=older_than)


def forget_keys(db: Database, digests: Iterable[str]) -> int:
    """Delete the wrapped data keys of ``digests`` (crypto-shredding); return how many."""
    wanted = sorted(set(digests))
    if not wanted:
        return 0
    with db.session() as session:
        result = session.execute(delete(ArtifactKeyRow).where(ArtifactKeyRow.digest.in_(wanted)))
        return int(getattr(result, "rowcount", 0) or 0)


def rotate_kek(db: Database, keys: KeyProvider) -> dict[str, object]:
    """Re-wrap every data key with a new key-encryption key and retire the old ones.

    Crash-safe: the new KEK joins the ring before any key is re-wrapped, all keys are
    re-wrapped in one transaction, and the old KEKs leave the ring only after it
    commits (a crash in between leaves a ring that still opens every key).

    Returns
    -------
    dict
        ``{"kek_id": new id, "rewrapped": number of data keys, "retired": [old ids]}``.

    Raises
    ------
    EncryptionKeyMissing
        The current ring is absent, or lacks a KEK some data key was wrapped with.
    """
    if not keys.exists():
        with db.session() as session:
            if session.scalar(select(ArtifactKeyRow.digest).limit(1)) is not None:
                keys.wrap(b"")  # raises encryption_key_missing
        keys.create()
    kek_id = keys.begin_rotation()
    count = 0
    with db.session() as session:
        for row in session.scalars(select(ArtifactKeyRow).where(ArtifactKeyRow.kek_id != kek_id)):
            data_key = keys.unwrap(WrappedKey(row.kek_id, base64.b64decode(row.wrapped_key)))
            fresh = keys.wrap(data_key)
            if fresh.kek_id != kek_id:
                raise IntegrityError("the key provider did not wrap with the new key")
            row.kek_id = fresh.kek_id
            row.wrapped_key = base64.b64encode(fresh.wrapped).decode("ascii")
            count += 1
    retired = keys.finish_rotation()
    return {"kek_id": kek_id, "rewrapped": count, "retired": retired}
