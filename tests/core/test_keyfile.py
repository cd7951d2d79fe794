"""Per-install secret files: mode 0600, loose modes refused, one key when raced."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from baryon.core.errors import InvalidHome, InvalidInput
from baryon.core.keyfile import ensure_random_key, read_secret_file, write_secret_file


def test_write_secret_file_mode_0600_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        write_secret_file(tmp_path / "s", "abc")
    finally:
        os.umask(old)
    assert (tmp_path / "s").stat().st_mode & 0o777 == 0o600
    assert read_secret_file(tmp_path / "s") == "abc"


def test_write_secret_file_no_replace_keeps_the_first(tmp_path: Path) -> None:
    assert write_secret_file(tmp_path / "s", "first", replace=False) is True
    assert write_secret_file(tmp_path / "s", "second", replace=False) is False
    assert read_secret_file(tmp_path / "s") == "first"
    assert write_secret_file(tmp_path / "s", "third") is True
    assert read_secret_file(tmp_path / "s") == "third"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]  # no temp file left


def test_write_secret_file_unwritable_named_error(tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    with pytest.raises(InvalidHome) as err:
        write_secret_file(tmp_path / "s", "x")
    assert err.value.code == "key_file_unwritable"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o602, 0o777])
def test_read_secret_file_loose_mode_refused(tmp_path: Path, mode: int) -> None:
    write_secret_file(tmp_path / "s", "x")
    (tmp_path / "s").chmod(mode)
    with pytest.raises(InvalidInput) as err:
        read_secret_file(tmp_path / "s")
    assert err.value.code == "key_file_insecure"
    assert f"{mode:04o}" in err.value.message


def test_read_secret_file_owner_only_modes_accepted(tmp_path: Path) -> None:
    write_secret_file(tmp_path / "s", "x")
    (tmp_path / "s").chmod(0o400)
    assert read_secret_file(tmp_path / "s") == "x"


def test_read_secret_file_missing_and_not_regular(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as err:
        read_secret_file(tmp_path / "none")
    assert err.value.code == "key_file_missing"
    os.mkfifo(tmp_path / "fifo", 0o600)
    with pytest.raises(InvalidInput) as err:
        read_secret_file(tmp_path / "fifo")
    assert err.value.code == "key_file_insecure"


def test_ensure_random_key_made_once_then_read(tmp_path: Path) -> None:
    key = ensure_random_key(tmp_path / "k")
    assert len(key) == 32
    assert ensure_random_key(tmp_path / "k") == key
    assert ensure_random_key(tmp_path / "other") != key


@pytest.mark.parametrize("content", ["not hex", "abcd", ""])
def test_ensure_random_key_bad_content_key_file_invalid(tmp_path: Path, content: str) -> None:
    write_secret_file(tmp_path / "k", content)
    with pytest.raises(InvalidInput) as err:
        ensure_random_key(tmp_path / "k")
    assert err.value.code == "key_file_invalid"


def test_ensure_random_key_raced_by_threads_gives_one_key(tmp_path: Path) -> None:
    keys: list[bytes] = []
    start = threading.Barrier(8)

    def make() -> None:
        start.wait()
        keys.append(ensure_random_key(tmp_path / "k"))

    threads = [threading.Thread(target=make) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(keys) == 8
    assert len(set(keys)) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k"]
