"""Fixtures of the job tests: a migrated workspace per back end, and an organization.

``backend`` runs a test on SQLite and, when ``BARYON_TEST_POSTGRES_URL`` is set, on
PostgreSQL (a throw-away database per session, so other suites are not disturbed).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from homekit import copy_home_db
from jobkit import make_org
from pgkit import pg_settings
from sqlalchemy import delete

from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.core.scope import SYSTEM
from baryon.jobs import JobQueue
from baryon.jobs.tables import JobRow, JobScheduleRow
from baryon.workspace import Workspace


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated once per session; tests copy it (migrating takes ~0.5 s)."""
    home = tmp_path_factory.mktemp("jobs-template")
    Workspace.open(Settings(home=home)).close()
    return home / "baryon.db"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend_settings(request: pytest.FixtureRequest, tmp_path: Path, migrated_db: Path) -> Settings:
    """Settings of a fresh workspace on each back end."""
    home = tmp_path / "home"
    if request.param == "postgres":
        url = request.getfixturevalue("pg_url")
        return pg_settings(url, home)
    copy_home_db(migrated_db, home)
    return Settings(home=home)


def _open(settings: Settings, clock: FixedClock | None) -> Workspace:
    ws = Workspace.open(settings, clock=clock)
    if not ws.db.is_sqlite:  # one database for the session: start from an empty queue
        with ws.db.session(SYSTEM) as session:
            session.execute(delete(JobScheduleRow))
            session.execute(delete(JobRow))
    return ws


@pytest.fixture
def ws(backend_settings: Settings, clock: FixedClock) -> Iterator[Workspace]:
    """A migrated workspace on the frozen clock (advance it to expire leases)."""
    workspace = _open(backend_settings, clock)
    try:
        yield workspace
    finally:
        workspace.close()


@pytest.fixture
def live_ws(backend_settings: Settings) -> Iterator[Workspace]:
    """A migrated workspace on the real clock (for threads and heartbeats)."""
    workspace = _open(backend_settings, None)
    try:
        yield workspace
    finally:
        workspace.close()


@pytest.fixture
def org_id(ws: Workspace) -> str:
    """An organization in ``ws``."""
    return make_org(ws)


@pytest.fixture
def queue(ws: Workspace) -> JobQueue:
    """The job queue of ``ws`` (frozen clock, no wake-up)."""
    return JobQueue(ws.db, ws.clock)
