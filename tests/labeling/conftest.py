"""Fixtures of the labeling tests: a migrated workspace on a frozen clock, two orgs.

Helpers (queues, tasks, sessions) live in ``labelkit.py`` beside this file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from homekit import copy_home_db

from baryon.commerce.orgs import create_org
from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.core.scope import SYSTEM
from baryon.workspace import Workspace


@pytest.fixture(scope="session")
def labeling_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database migrated once per session, with orgs acme and globex."""
    home = tmp_path_factory.mktemp("labeling-template")
    with Workspace.open(Settings(home=home)) as ws, ws.db.session(SYSTEM) as s:
        create_org(s, name="acme")
        create_org(s, name="globex")
    return home / "baryon.db"


@pytest.fixture
def ws(settings: Settings, clock: FixedClock, labeling_template: Path) -> Iterator[Workspace]:
    """A file-SQLite workspace (a copy of the template) on the frozen clock."""
    copy_home_db(labeling_template, settings.home)
    workspace = Workspace.open(settings, clock=clock)
    try:
        yield workspace
    finally:
        workspace.close()
