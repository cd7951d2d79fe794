"""Fixtures of the data-layer tests: tiny files written on demand, a dataset store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from baryon.data.versions import DatasetStore
from baryon.workspace import Workspace

WriteFile = Callable[[str, "bytes | str"], Path]


@pytest.fixture
def write_file(tmp_path: Path) -> WriteFile:
    """Write ``content`` (str as UTF-8, or bytes as is) to ``tmp_path/name``; return the path."""

    def write(name: str, content: bytes | str) -> Path:
        path = tmp_path / name
        data = content.encode("utf-8") if isinstance(content, str) else content
        path.write_bytes(data)
        return path

    return write


@pytest.fixture
def store(workspace: Workspace) -> DatasetStore:
    """The dataset store of a fresh workspace."""
    return workspace.datasets
