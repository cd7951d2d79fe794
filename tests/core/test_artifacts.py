"""Conformance suite every artifact back end passes, plus back-end specifics.

The suite runs on the local directory, the in-memory dict, the fsspec store on fsspec's
own in-memory file system (always) and on S3 (marked ``s3``: a fresh bucket per test on
the server of ``BARYON_TEST_S3_URL``, see ``tests/s3kit.py``).
"""

from __future__ import annotations

import io
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from s3kit import SECRET_KEY, fresh_bucket, s3_endpoint, s3_options

from baryon.core.artifacts import (
    ArtifactStore,
    FsspecArtifactStore,
    LocalArtifactStore,
    MemoryArtifactStore,
    _credentials,
    open_artifact_store,
    sha256_hex,
)
from baryon.core.errors import (
    ArtifactStoreUnavailable,
    IntegrityError,
    InvalidInput,
    MissingDependency,
    NotFound,
)


@pytest.fixture
def memory_fs_store() -> Iterator[FsspecArtifactStore]:
    """The fsspec store on fsspec's in-memory file system, under a root of its own."""
    store = FsspecArtifactStore(f"memory://baryon-test-{secrets.token_hex(6)}/artifacts")
    try:
        yield store
    finally:
        if store.fs.exists(store.root):
            store.fs.rm(store.root, recursive=True)


@pytest.fixture
def s3_store() -> Iterator[FsspecArtifactStore]:
    """The fsspec store on a fresh bucket of the test S3 server."""
    with fresh_bucket() as (bucket, options):
        yield FsspecArtifactStore(f"s3://{bucket}/artifacts", storage_options=options)


@pytest.fixture(params=["local", "memory", "fsspec", pytest.param("s3", marks=pytest.mark.s3)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ArtifactStore:
    if request.param == "local":
        return LocalArtifactStore(tmp_path / "artifacts")
    if request.param == "fsspec":
        return request.getfixturevalue("memory_fs_store")
    if request.param == "s3":
        return request.getfixturevalue("s3_store")
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

    def test_put_stream_failing_midway_stores_nothing(self, store: ArtifactStore) -> None:
        with pytest.raises(OSError, match="source gone"):
            store.put_stream(_FailingStream())  # type: ignore[arg-type]
        assert list(store.digests()) == []


class _FailingStream(io.RawIOBase):
    """Gives one chunk, then fails (a connection or a disk gone mid-upload)."""

    def __init__(self) -> None:
        self.calls = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        self.calls += 1
        if self.calls > 1:
            raise OSError("source gone")
        buffer[:7] = b"partial"
        return 7


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
    s3 = open_artifact_store("s3://bucket/some/prefix/", storage_options={"anon": True})
    assert isinstance(s3, FsspecArtifactStore)
    assert (s3.url, s3.root) == ("s3://bucket/some/prefix", "bucket/some/prefix")
    with pytest.raises(InvalidInput):
        open_artifact_store("ftp://host/x")


def test_open_artifact_store_url_without_bucket_is_invalid() -> None:
    with pytest.raises(InvalidInput) as caught:
        open_artifact_store("s3://")
    assert caught.value.code == "invalid_artifact_url"


def test_open_artifact_store_package_missing_names_what_to_install() -> None:
    pytest.importorskip("s3fs")  # the dev extra has it; gcsfs is in no extra
    with pytest.raises(MissingDependency) as caught:
        open_artifact_store("gs://bucket/x")
    assert caught.value.code == "artifact_backend_unavailable"
    assert "gcsfs" in caught.value.message


def test_fsspec_store_lays_artifacts_out_as_the_local_store(
    memory_fs_store: FsspecArtifactStore,
) -> None:
    digest = memory_fs_store.put_bytes(b"layout")
    root = memory_fs_store.root
    assert memory_fs_store.fs.find(root) == [f"/{root}/sha256/{digest[:2]}/{digest[2:4]}/{digest}"]


def test_fsspec_store_failed_stream_leaves_no_object(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "scratch"
    store = FsspecArtifactStore(
        f"memory://baryon-test-{secrets.token_hex(6)}/a", scratch_dir=scratch
    )
    puts: list[str] = []
    monkeypatch.setattr(store.fs, "put_file", lambda *a, **k: puts.append(a[1]))
    with pytest.raises(OSError, match="source gone"):
        store.put_stream(_FailingStream())  # type: ignore[arg-type]
    assert puts == []  # nothing was uploaded, not even in part
    assert list(scratch.iterdir()) == []  # and the scratch file is gone


def test_fsspec_store_hashes_in_its_scratch_dir_and_cleans_up(tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    store = FsspecArtifactStore(
        f"memory://baryon-test-{secrets.token_hex(6)}/a", scratch_dir=scratch
    )
    digest = store.put_bytes(b"via scratch")
    assert store.get_bytes(digest) == b"via scratch"
    assert scratch.is_dir()
    assert list(scratch.iterdir()) == []
    store.fs.rm(store.root, recursive=True)


def test_fsspec_store_write_refused_is_artifact_write_failed_without_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = FsspecArtifactStore(f"memory://baryon-test-{secrets.token_hex(6)}/a")
    # as if the options held credentials (the memory file system takes none)
    store._secrets = _credentials({"client_kwargs": {"aws_secret_access_key": "hunter2-secret"}})

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError("Access Denied for key hunter2-secret")

    monkeypatch.setattr(store.fs, "put_file", refuse)
    with pytest.raises(ArtifactStoreUnavailable) as caught:
        store.put_bytes(b"refused")
    assert caught.value.code == "artifact_write_failed"
    assert caught.value.http_status == 503
    assert "hunter2-secret" not in caught.value.message
    assert "hunter2-secret" not in str(caught.value.details)
    assert store.url in caught.value.message
    assert list(store.digests()) == []


@pytest.mark.s3
def test_s3_store_corrupted_object_raises_integrity_error(
    s3_store: FsspecArtifactStore,
) -> None:
    digest = s3_store.put_bytes(b"original bytes")
    s3_store.fs.pipe_file(s3_store._key(digest), b"original bytez")
    with pytest.raises(IntegrityError):
        s3_store.get_bytes(digest)


@pytest.mark.s3
def test_s3_store_streams_a_large_artifact_back(s3_store: FsspecArtifactStore) -> None:
    data = os.urandom(20 * (1 << 20) + 5)  # several read blocks
    digest = s3_store.put_stream(io.BytesIO(data))
    with s3_store.open(digest) as fh:
        first = fh.read(1 << 20)
        rest = fh.read()
    assert first + rest == data


@pytest.mark.s3
def test_s3_store_sees_what_another_process_wrote(s3_store: FsspecArtifactStore) -> None:
    digest = s3_store.put_bytes(b"shared")
    other = FsspecArtifactStore(f"s3://{s3_store.root}", storage_options=s3_options(s3_endpoint()))
    assert list(other.digests()) == [digest]
    assert other.get_bytes(digest) == b"shared"


@pytest.mark.s3
def test_s3_store_missing_bucket_is_unavailable_and_writes_nothing() -> None:
    options = s3_options(s3_endpoint())
    store = FsspecArtifactStore(
        f"s3://baryon-missing-{secrets.token_hex(6)}/a", storage_options=options
    )
    with pytest.raises(ArtifactStoreUnavailable) as caught:
        store.put_bytes(b"nowhere")
    assert caught.value.code == "artifact_store_unavailable"
    assert "bucket" in caught.value.message
    assert SECRET_KEY not in caught.value.message


@pytest.mark.s3
def test_s3_store_unreachable_endpoint_is_unavailable_for_reads_and_writes() -> None:
    s3_endpoint()  # an S3 test: runs with the others
    options = s3_options(
        "http://127.0.0.1:9",  # the discard port: nothing listens on loopback
        config_kwargs={"retries": {"max_attempts": 1}, "connect_timeout": 2},
    )
    store = FsspecArtifactStore("s3://bucket/a", storage_options=options)
    for call in (
        lambda: store.put_bytes(b"x"),
        lambda: store.exists("0" * 64),
        lambda: store.get_bytes("0" * 64),
    ):
        with pytest.raises(ArtifactStoreUnavailable) as caught:
            call()
        assert caught.value.code == "artifact_store_unavailable"
        assert "s3://bucket/a" in caught.value.message
        assert SECRET_KEY not in caught.value.message
