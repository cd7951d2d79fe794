"""Two submits of one model's cycle at once on PostgreSQL: the model's row lock orders them.

SQLite runs one writer at a time (``BEGIN IMMEDIATE``); on PostgreSQL two transactions
could each see no cycle in progress and both record one. The module gets its own
throw-away database (``CREATE DATABASE``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pgkit import pg_settings

from baryon.core.clock import FixedClock
from baryon.core.errors import Conflict
from baryon.flywheel.jobs import prepare_cycle, submit_cycle
from baryon.flywheel.records import list_cycles
from baryon.jobs import JobQueue
from baryon.workspace import Workspace

from .cyclekit import MODEL, make_intent_model

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_ws(pg_url: str, tmp_path: Path) -> Iterator[Workspace]:
    clock = FixedClock()
    ws = Workspace.open(pg_settings(pg_url, tmp_path / "home"), clock=clock)
    try:
        make_intent_model(ws, tmp_path)
        clock.advance(3600)
        yield ws
    finally:
        ws.close()


def test_submit_cycle_second_waits_for_the_first_then_cycle_in_progress(
    pg_ws: Workspace,
) -> None:
    queue = JobQueue(pg_ws.db, pg_ws.clock)
    recipe = prepare_cycle(pg_ws, MODEL)
    submitted, commit = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def first() -> None:  # records its cycle, then holds its transaction open
        with pg_ws.db.session(pg_ws.scope) as session:
            outcome["first"] = submit_cycle(pg_ws, queue, recipe, actor="one", session=session)
            submitted.set()
            assert commit.wait(60)

    def second() -> None:
        try:
            outcome["second"] = submit_cycle(pg_ws, queue, recipe, actor="two")
        except Conflict as exc:
            outcome["second"] = exc

    one = threading.Thread(target=first)
    one.start()
    assert submitted.wait(60)
    two = threading.Thread(target=second)
    two.start()
    two.join(1.0)  # it waits on the model's row while the first transaction is open
    waited = two.is_alive()
    commit.set()
    one.join(60)
    two.join(60)

    assert waited, "the second submit did not wait for the first's transaction"
    refused = outcome["second"]
    assert isinstance(refused, Conflict), refused
    assert refused.code == "cycle_in_progress"
    assert len(list_cycles(pg_ws, model=MODEL)) == 1
