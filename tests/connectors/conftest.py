"""Fixtures of the connector tests: a workspace that may fetch from loopback, an origin."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from homekit import copy_home_db
from originkit import Origin

from baryon.core.config import Settings
from baryon.workspace import Workspace


@pytest.fixture(scope="session")
def sources_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated once per session; tests copy it."""
    home = tmp_path_factory.mktemp("sources-template")
    Workspace.open(Settings(home=home)).close()
    return home / "baryon.db"


@pytest.fixture
def loopback_settings(tmp_path: Path, sources_db: Path) -> Settings:
    """Settings of a fresh workspace whose sources may fetch from 127.0.0.1."""
    home = tmp_path / "home"
    copy_home_db(sources_db, home)
    return Settings(
        home=home, fetch_allow=["127.0.0.1/32"], source_secrets={"api-token": "tok-from-settings"}
    )


@pytest.fixture
def ws(loopback_settings: Settings) -> Iterator[Workspace]:
    workspace = Workspace.open(loopback_settings)
    try:
        yield workspace
    finally:
        workspace.close()


@pytest.fixture
def origin() -> Iterator[Origin]:
    with Origin() as server:
        yield server
