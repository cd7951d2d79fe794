"""Shared fixtures: a fresh, migrated workspace in a temp home."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from pgkit import fresh_database

from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.workspace import Workspace


@pytest.fixture(scope="module")
def pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh PostgreSQL database for one test module (skips without a server)."""
    with fresh_database(f"baryon_{request.module.__name__.rsplit('.', 1)[-1][:30]}") as url:
        yield url


@pytest.fixture
def redis_url() -> str:
    """The test Redis (``BARYON_TEST_REDIS_URL``; skips when it is unset)."""
    url = os.environ.get("BARYON_TEST_REDIS_URL")
    if not url:
        pytest.skip("BARYON_TEST_REDIS_URL not set: no Redis server to test against")
    return url


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of one test's own (``baryon-test:<random>:``); its keys are deleted after."""
    prefix = f"baryon-test:{secrets.token_hex(6)}:"
    yield prefix
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings whose home is a fresh temporary directory."""
    return Settings(home=tmp_path / "home")


@pytest.fixture
def clock() -> FixedClock:
    """A frozen clock at 2026-01-01T00:00Z that tests advance by hand."""
    return FixedClock()


@pytest.fixture
def workspace(settings: Settings) -> Iterator[Workspace]:
    """A migrated workspace on the real clock, closed after the test."""
    ws = Workspace.open(settings)
    try:
        yield ws
    finally:
        ws.close()


@pytest.fixture
def cli_home(tmp_path: Path) -> Path:
    """A home directory path for CLI tests: pass as ``--home`` (not created yet)."""
    return tmp_path / "cli-home"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the modules holding the most ``slow`` tests first (stable otherwise).

    With ``make test``'s one-module-per-worker scheduling, the longest module (the
    demo's, which trains every solution) then starts at once instead of last.
    """
    slow: dict[object, int] = {}
    for item in items:
        if item.get_closest_marker("slow"):
            module = getattr(item, "module", None)
            slow[module] = slow.get(module, 0) + 1
    items.sort(key=lambda item: -slow.get(getattr(item, "module", None), 0))
