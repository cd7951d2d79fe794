"""Fixtures of the serving tests: an app over a fresh workspace, tenants, tiny models.

Helpers (transport, models, tenants) live in ``servingkit.py`` beside this file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from servingkit import (
    ClientFactory,
    PortalTransport,
    StaticResolver,
    Tenants,
    fresh_home,
    make_resolver,
    make_tenants,
)

from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.serving.app import create_app
from baryon.workspace import Workspace


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database migrated to head once per session; tests copy it (migrating takes ~0.5 s)."""
    home = tmp_path_factory.mktemp("template-home")
    Workspace.open(Settings(home=home)).close()
    return home / "baryon.db"


@pytest.fixture
def ws(settings: Settings, clock: FixedClock, migrated_db: Path) -> Iterator[Workspace]:
    """A migrated workspace (copied from the session template) on the frozen clock."""
    fresh_home(migrated_db, settings.home)
    workspace = Workspace.open(settings, clock=clock)
    try:
        yield workspace
    finally:
        workspace.close()


@pytest.fixture
def resolver() -> StaticResolver:
    """In-memory models (see :func:`make_resolver`)."""
    return make_resolver()


@pytest.fixture
def app(settings: Settings, ws: Workspace, clock: FixedClock, resolver: StaticResolver) -> FastAPI:
    """The full app over ``ws``, frozen clock, in-memory models."""
    return create_app(settings, workspace=ws, clock=clock, resolver=resolver)


@pytest.fixture
def tenants(ws: Workspace, clock: FixedClock) -> Tenants:
    """acme, globex and ops with one key per role (plan ``test``: quota 1000)."""
    return make_tenants(ws, clock)


@pytest.fixture
def api(app: FastAPI) -> Iterator[ClientFactory]:
    """``api(secret)`` → an httpx client on the app sending that bearer key."""
    transport = PortalTransport(app)
    clients: list[httpx.Client] = []

    def make(secret: str | None = None, **headers: str) -> httpx.Client:
        hdrs = dict(headers)
        if secret is not None:
            hdrs["Authorization"] = f"Bearer {secret}"
        client = httpx.Client(base_url="http://testserver", transport=transport, headers=hdrs)
        clients.append(client)
        return client

    try:
        yield make
    finally:
        for c in clients:
            c.close()
        transport.shutdown()
