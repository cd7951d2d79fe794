"""Fixtures of the console tests: an app over a fresh workspace with two tenants."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).parent))

from consolekit import Tenants, make_tenants

from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.serving.app import create_app
from baryon.workspace import Workspace


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database migrated to head once per session; tests copy it."""
    home = tmp_path_factory.mktemp("console-template")
    Workspace.open(Settings(home=home)).close()
    return home / "baryon.db"


@pytest.fixture
def ws(settings: Settings, clock: FixedClock, migrated_db: Path) -> Iterator[Workspace]:
    """A migrated workspace (a copy of the session's template) on the frozen clock."""
    settings.home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(migrated_db, settings.home / "baryon.db")
    workspace = Workspace.open(settings, clock=clock)
    try:
        yield workspace
    finally:
        workspace.close()


@pytest.fixture
def tenants(ws: Workspace, clock: FixedClock) -> Tenants:
    """acme and globex, one key per role."""
    return make_tenants(ws, clock)


@pytest.fixture
def app(settings: Settings, ws: Workspace, clock: FixedClock) -> FastAPI:
    """The whole app (API and console) over ``ws``."""
    return create_app(settings, workspace=ws, clock=clock)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A cookie-keeping client over plain http (no lifespan: no job worker)."""
    with TestClient(app, base_url="http://testserver") as c:
        yield c
