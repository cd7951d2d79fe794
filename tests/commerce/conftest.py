"""Commerce fixtures: a workspace copied from a database migrated once per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from homekit import copy_home_db

from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.workspace import Workspace


@pytest.fixture(scope="session")
def commerce_template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("commerce-template")
    Workspace.open(Settings(home=home)).close()
    return home / "baryon.db"


@pytest.fixture
def workspace(
    settings: Settings, clock: FixedClock, commerce_template_db: Path
) -> Iterator[Workspace]:
    """A migrated workspace on the frozen clock (overrides the root fixture: faster)."""
    copy_home_db(commerce_template_db, settings.home)
    ws = Workspace.open(settings, clock=clock)
    try:
        yield ws
    finally:
        ws.close()
