"""Annotation races on PostgreSQL: row locks and unique slots instead of SQLite's one writer.

Each module run gets its own throw-away database (``CREATE DATABASE``), so other
suites using ``BARYON_TEST_POSTGRES_URL`` are not disturbed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from labelkit import CLAIM, add_task, as_org, make_queue
from pgkit import pg_settings
from sqlalchemy import select, text

from baryon.commerce.orgs import create_org
from baryon.core.clock import FixedClock
from baryon.core.errors import BaryonError
from baryon.core.scope import SYSTEM
from baryon.labeling.annotation import claim_next, skip_task, submit_label
from baryon.labeling.service import list_tasks, queue_progress, update_queue
from baryon.labeling.tables import AnnotationRow
from baryon.labeling.views import Claim, Submission
from baryon.workspace import Workspace

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_ws(pg_url: str, tmp_path: Path, clock: FixedClock) -> Iterator[Workspace]:
    ws = Workspace.open(pg_settings(pg_url, tmp_path / "home"), clock=clock)
    with ws.db.session(SYSTEM) as s:
        s.execute(text("DELETE FROM labeling_queues"))
        for name in ("acme", "globex"):
            if s.execute(text("SELECT 1 FROM organizations WHERE name = :n"), {"n": name}).first():
                continue
            create_org(s, name=name, clock=clock)
    try:
        yield ws
    finally:
        ws.close()


def _race(n: int, work: Callable[[int], Any]) -> list[Any]:
    barrier = threading.Barrier(n)
    out: list[Any] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            out[i] = work(i)
        except BaryonError as exc:
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def _submit(ws: Workspace, task_id: str, who: str, label: str) -> Submission:
    with as_org(ws) as s:
        return submit_label(
            s, task_id, annotator=who, label=label, claim_seconds=CLAIM, clock=ws.clock
        )


def _rows(ws: Workspace, task_id: str) -> list[AnnotationRow]:
    with ws.db.session(SYSTEM) as s:
        rows = list(s.scalars(select(AnnotationRow).where(AnnotationRow.task_id == task_id)))
        s.expunge_all()
        return rows


def test_pg_submit_two_annotators_at_once_single_overlap_one_accepted(pg_ws: Workspace) -> None:
    make_queue(pg_ws)
    for round_ in range(8):
        task_id = add_task(pg_ws, f"x{round_}")
        out = _race(2, lambda i, t=task_id: _submit(pg_ws, t, f"u{i}", "ab"[i]))  # type: ignore[misc]
        accepted = [o for o in out if isinstance(o, Submission)]
        refused = [o for o in out if isinstance(o, BaryonError)]
        assert len(accepted) == 1, out
        assert len(refused) == 1, out
        assert refused[0].code in ("task_not_open", "task_full")
        assert [r.status for r in _rows(pg_ws, task_id)] == ["submitted"]


def test_pg_submit_last_two_labels_at_once_decide_the_task(pg_ws: Workspace) -> None:
    make_queue(pg_ws, overlap=2)
    for round_ in range(6):
        task_id = add_task(pg_ws, f"y{round_}")
        out = _race(2, lambda i, t=task_id: _submit(pg_ws, t, f"u{i}", "a"))  # type: ignore[misc]
        assert all(isinstance(o, Submission) for o in out), out
        # without the task's row lock each would count only its own label: open forever
        assert {o.task.status for o in out} >= {"done"}
        assert sorted(r.slot for r in _rows(pg_ws, task_id)) == [0, 1]


def test_pg_claims_at_once_never_share_a_single_overlap_task(pg_ws: Workspace) -> None:
    make_queue(pg_ws)
    for n in range(6):
        add_task(pg_ws, f"z{n}")

    def claim(i: int) -> Claim | None:
        with as_org(pg_ws) as s:
            return claim_next(s, "q", annotator=f"u{i}", claim_seconds=CLAIM, clock=pg_ws.clock)

    got = _race(8, claim)
    claimed = [c.task.id for c in got if isinstance(c, Claim)]
    assert len(claimed) == 6
    assert len(set(claimed)) == 6
    assert sum(c is None for c in got) == 2


def test_pg_skips_at_once_take_distinct_negative_slots(pg_ws: Workspace) -> None:
    make_queue(pg_ws)
    task_id = add_task(pg_ws, "w")

    def skip(i: int) -> Submission:
        with as_org(pg_ws) as s:
            return skip_task(
                s, task_id, annotator=f"u{i}", reason="r", max_skips=10, clock=pg_ws.clock
            )

    out = _race(4, skip)
    assert all(isinstance(o, Submission) for o in out), out
    assert sorted(r.slot for r in _rows(pg_ws, task_id)) == [-4, -3, -2, -1]


def test_pg_progress_and_lower_overlap_queries_run(pg_ws: Workspace) -> None:
    make_queue(pg_ws, overlap=3)
    agreed, waiting = add_task(pg_ws, "agreed"), add_task(pg_ws, "waiting")
    for who in ("u0", "u1"):
        _submit(pg_ws, agreed, who, "a")
    _submit(pg_ws, waiting, "u0", "b")
    with as_org(pg_ws) as s:
        progress = queue_progress(s, "q", claim_seconds=CLAIM, clock=pg_ws.clock)
        assert progress.tasks["open"] == 2
        assert {a.annotator: a.submitted for a in progress.annotators} == {"u0": 2, "u1": 1}
        update_queue(s, "q", overlap=2, actor="t", clock=pg_ws.clock)
        status = {t.id: t.status for t in list_tasks(s, "q")}
    assert status == {agreed: "done", waiting: "open"}
