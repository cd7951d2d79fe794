"""Encryption at rest: sensitive datasets are sealed; keys rotate; a lost key is named."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from baryon.core.encryption import FileKeyProvider, new_data_key, open_sealed, seal
from baryon.core.errors import EncryptionKeyMissing, IntegrityError, InvalidInput
from baryon.data.sealed import rotate_kek
from baryon.data.tables import ArtifactKeyRow
from baryon.workspace import Workspace

SECRET = "ann@example.com"
CSV = f"id,email,label\n1,{SECRET},a\n2,bob@example.org,b\n3,cy@example.net,a\n"


def _stored(ws: Workspace) -> bytes:
    root = Path(ws.settings.resolved_artifact_root)
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


def _ingest(ws: Workspace, tmp_path: Path, *, sensitive: bool = True):
    path = tmp_path / "people.csv"
    path.write_text(CSV)
    return ws.datasets.ingest(path, name="people", sensitive=sensitive)


def test_seal_round_trip_and_tamper_detected() -> None:
    key = new_data_key()
    blob = seal(b"hello", key)
    assert b"hello" not in blob
    assert open_sealed(blob, key) == b"hello"
    with pytest.raises(IntegrityError) as err:
        open_sealed(blob[:-1] + bytes([blob[-1] ^ 1]), key)
    assert err.value.code == "decryption_failed"


def test_sensitive_ingest_stores_no_clear_text_and_reads_back(
    workspace: Workspace, tmp_path: Path
) -> None:
    version = _ingest(workspace, tmp_path)
    assert version.encrypted
    assert SECRET.encode() not in _stored(workspace)
    assert next(iter(version.to_pandas()["email"])) == SECRET
    split = workspace.datasets.split("people", strategy="random", test_size=0.34)
    assert split.encrypted
    assert len(split.to_pandas("train")) >= 1
    kek = workspace.settings.resolved_kek_file
    assert stat.S_IMODE(kek.stat().st_mode) == 0o600


def test_clear_dataset_makes_no_key(workspace: Workspace, tmp_path: Path) -> None:
    version = _ingest(workspace, tmp_path, sensitive=False)
    assert not version.encrypted
    assert SECRET.encode() in _stored(workspace)
    assert not workspace.settings.resolved_kek_file.exists()


def test_missing_kek_is_encryption_key_missing(workspace: Workspace, tmp_path: Path) -> None:
    _ingest(workspace, tmp_path)
    kek = workspace.settings.resolved_kek_file
    kek.rename(kek.with_suffix(".bak"))
    with pytest.raises(EncryptionKeyMissing) as err:
        workspace.datasets.get("people")
    assert err.value.code == "encryption_key_missing"
    assert err.value.http_status == 503
    # A new sensitive write refuses too: a lost ring is never replaced silently.
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n3,4\n")
    with pytest.raises(EncryptionKeyMissing):
        workspace.datasets.ingest(path, name="other", sensitive=True)
    assert not kek.exists()


def test_rotate_rewraps_keys_and_old_kek_is_gone(workspace: Workspace, tmp_path: Path) -> None:
    version = _ingest(workspace, tmp_path)
    keys = FileKeyProvider(workspace.settings.resolved_kek_file)
    old_ring = keys.path.read_text()
    result = rotate_kek(workspace.db, keys)
    assert result["rewrapped"] >= 2
    assert len(result["retired"]) == 1
    assert result["retired"][0] in old_ring
    assert result["kek_id"] not in old_ring
    with workspace.db.session() as s:
        assert {r.kek_id for r in s.query(ArtifactKeyRow)} == {result["kek_id"]}
    assert next(iter(workspace.datasets.get("people").to_pandas()["email"])) == SECRET
    assert version.id == workspace.datasets.get("people").id
    # The old ring alone no longer opens anything.
    keys.path.write_text(old_ring)
    keys.path.chmod(0o600)
    with pytest.raises(EncryptionKeyMissing):
        workspace.datasets.get("people")


def test_kek_file_others_can_read_refused(workspace: Workspace, tmp_path: Path) -> None:
    _ingest(workspace, tmp_path)
    workspace.settings.resolved_kek_file.chmod(0o644)
    with pytest.raises(InvalidInput) as err:
        workspace.datasets.get("people")
    assert err.value.code == "key_file_insecure"
