"""Fixtures of the console tests: an app over a fresh workspace with two tenants."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).parent))

from consolekit import Tenants, make_tenants  # noqa: E402

from baryon.core.clock import FixedClock  # noqa: E402
from baryon.core.config import Settings  # noqa: E402
from baryon.serving.app import create_app  # noqa: E402
from baryon.workspace import Workspace  # noqa: E402


@pytest.fixture
def ws(settings: Settings, clock: FixedClock) -> Iterator[Workspace]:
    """A migrated workspace on the frozen clock."""
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
