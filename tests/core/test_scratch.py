"""Scratch files: held by their writer, swept when stale and unheld (issue 12, kind 8)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from baryon.core.artifacts import LocalArtifactStore, MemoryArtifactStore
from baryon.core.scratch import (
    MARKER,
    is_held,
    open_scratch_dir,
    scratch_dir,
    scratch_file,
    sweep,
)

HOUR = 3600.0


def _age(path: Path, seconds: float = 2 * HOUR) -> None:
    then = time.time() - seconds
    for inner in [path, *(path.rglob("*") if path.is_dir() else [])]:
        os.utime(inner, (then, then))


def test_sweep_old_unheld_file_is_removed_new_one_kept(tmp_path: Path) -> None:
    old, new = tmp_path / "put-1-old", tmp_path / "put-2-new"
    old.write_bytes(b"x" * 10)
    new.write_bytes(b"y")
    _age(old)
    assert sweep(tmp_path) == [old]
    assert not old.exists()
    assert new.exists()


def test_sweep_old_file_held_by_a_live_writer_is_kept(tmp_path: Path) -> None:
    with scratch_file(tmp_path, prefix="build-") as held:
        assert held.name.startswith(f"build-{os.getpid()}-")
        _age(held)
        assert is_held(held)
        assert sweep(tmp_path) == []
        assert held.exists()
    assert not held.exists()  # the writer removes its own file


def test_sweep_directories_by_their_marker_and_newest_file(tmp_path: Path) -> None:
    crashed = tmp_path / "upload-1-abc"
    crashed.mkdir()
    (crashed / "part").write_bytes(b"z")
    (crashed / MARKER).touch()  # its holder is gone: nothing holds it
    _age(crashed)
    busy = tmp_path / "upload-2-def"
    busy.mkdir()
    (busy / "part").write_bytes(b"z")
    _age(busy)
    (busy / "part").write_bytes(b"zz")  # written just now
    with scratch_dir(tmp_path, prefix="export-") as live:
        _age(live)
        assert sweep(tmp_path) == [crashed]
        assert live.exists()
    assert busy.exists()
    assert not live.exists()


def test_sweep_missing_directory_is_nothing(tmp_path: Path) -> None:
    assert sweep(tmp_path / "nope") == []


def test_open_scratch_dir_holds_until_the_marker_is_closed(tmp_path: Path) -> None:
    workdir, fd = open_scratch_dir(tmp_path, prefix="upload-")
    _age(workdir)
    assert sweep(tmp_path) == []
    os.close(fd)
    assert sweep(tmp_path) == [workdir]


def test_local_store_scratch_file_lives_in_its_tmp_and_is_swept(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path / "artifacts")
    with store.scratch_file(suffix=".parquet") as path:
        assert path.parent == tmp_path / "artifacts" / "tmp"
        _age(path)
        assert store.sweep_temp() == []
    left = tmp_path / "artifacts" / "tmp" / "put-99999-crashed"
    left.write_bytes(b"half an artifact")
    _age(left)
    assert store.sweep_temp() == [left.name]
    assert store.sweep_temp(older_than=0) == []


@pytest.mark.parametrize("older_than", [HOUR, 0.0])
def test_memory_store_has_nothing_to_sweep(older_than: float) -> None:
    assert MemoryArtifactStore().sweep_temp(older_than=older_than) == []
