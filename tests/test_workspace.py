from __future__ import annotations

from pathlib import Path

import pytest

from baryon.core.config import Settings
from baryon.core.errors import InvalidHome
from baryon.workspace import Workspace, prepare_home


def test_open_creates_home_database_and_reports_info(tmp_path: Path) -> None:
    ws = Workspace.open(Settings(home=tmp_path / "new"))
    try:
        info = ws.info()
    finally:
        ws.close()
    assert (tmp_path / "new" / "baryon.db").is_file()
    assert info["schema_version"] == info["schema_head"]
    assert "audit_events" in info["counts"]


def test_home_that_is_a_file_raises_and_creates_nothing(tmp_path: Path) -> None:
    home = tmp_path / "file"
    home.write_text("x")
    with pytest.raises(InvalidHome):
        Workspace.open(Settings(home=home))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_home_below_a_file_raises_and_creates_nothing(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(InvalidHome):
        prepare_home(tmp_path / "file" / "sub" / "home")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_unwritable_home_on_readonly_mount_raises(tmp_path: Path) -> None:
    # /proc is read-only even for root: a real "not writable" directory.
    with pytest.raises(InvalidHome):
        prepare_home(Path("/proc/baryon-home"))
    with pytest.raises(InvalidHome):
        prepare_home(Path("/proc/self"))
