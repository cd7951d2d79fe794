"""Conformance suite every artifact back end passes, plus local-store specifics."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from baryon.core.artifacts import (
    ArtifactStore,
    LocalArtifactStore,
    MemoryArtifactStore,
    open_artifact_store,
    sha256_hex,
)
from baryon.core.errors import IntegrityError, InvalidInput, MissingDependency, NotFound


@pytest.fixture(params=["local", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ArtifactStore:
    if request.param == "local":
        return LocalArtifactStore(tmp_path / "artifacts")
    return MemoryArtifactStore()


class TestArtifactStoreConformance:
    def test_put_bytes_returns_sha256_digest(self, store: ArtifactStore) -> None:
        digest = store.put_bytes(b"hello")
        assert digest == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"

    def test_get_bytes_roundtrip_returns_same_bytes(self, store: ArtifactStore) -> None:
        digest = store.put_bytes(b"\x00\x01payload")
        assert store.get_bytes(digest) == b"\x00\x01payload"

    def test_put_stream_large_input_matches_put_bytes(self, store: ArtifactStore) -> None:
        data = os.urandom(3 * (1 << 20) + 17)  # crosses the 1 MiB chunk boundary
        digest = store.put_stream(io.BytesIO(data))
        assert digest == sha256_hex(data)
        assert store.size(digest) == len(data)

    def test_put_twice_stores_once(self, store: ArtifactStore) -> None:
        first = store.put_bytes(b"same")
        second = store.put_bytes(b"same")
        assert first == second
        assert list(store.digests()) == [first]

    def test_exists_missing_digest_is_false(self, store: ArtifactStore) -> None:
        assert store.exists("0" * 64) is False

    def test_get_missing_digest_raises_not_found(self, store: ArtifactStore) -> None:
        with pytest.raises(NotFound):
            store.get_bytes("0" * 64)

    def test_size_missing_digest_raises_not_found(self, store: ArtifactStore) -> None:
        with pytest.raises(NotFound):
            store.size("f" * 64)

    @pytest.mark.parametrize("bad", ["../../etc/passwd", "abc", "G" * 64, ""])
    def test_malformed_digest_is_rejected(self, store: ArtifactStore, bad: str) -> None:
        with pytest.raises(InvalidInput):
            store.exists(bad)

    def test_delete_removes_and_is_idempotent(self, store: ArtifactStore) -> None:
        digest = store.put_bytes(b"bye")
        store.delete(digest)
        store.delete(digest)
        assert not store.exists(digest)

    def test_open_reads_stream(self, store: ArtifactStore) -> None:
        digest = store.put_bytes(b"stream me")
        with store.open(digest) as fh:
            assert fh.read() == b"stream me"


def test_local_store_corrupted_file_raises_integrity_error(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path)
    digest = store.put_bytes(b"original bytes")
    path = tmp_path / "sha256" / digest[:2] / digest[2:4] / digest
    os.chmod(path, 0o644)
    path.write_bytes(b"original bytez")
    with pytest.raises(IntegrityError):
        store.get_bytes(digest)


def test_local_store_failed_stream_leaves_no_file(tmp_path: Path) -> None:
    class Exploding(io.RawIOBase):
        def __init__(self) -> None:
            self.calls = 0

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            self.calls += 1
            if self.calls > 1:
                raise OSError("disk gone")
            return b"partial"

    store = LocalArtifactStore(tmp_path)
    with pytest.raises(OSError, match="disk gone"):
        store.put_stream(Exploding())  # type: ignore[arg-type]
    assert list(store.digests()) == []
    assert list((tmp_path / "tmp").iterdir()) == []


def test_open_artifact_store_factory_picks_backend(tmp_path: Path) -> None:
    assert isinstance(open_artifact_store("memory://"), MemoryArtifactStore)
    assert isinstance(open_artifact_store(str(tmp_path)), LocalArtifactStore)
    assert isinstance(open_artifact_store(f"file://{tmp_path}"), LocalArtifactStore)
    with pytest.raises(MissingDependency):
        open_artifact_store("s3://bucket/x")
    with pytest.raises(InvalidInput):
        open_artifact_store("ftp://host/x")
