"""``baryon serve``'s in-process job worker: started by the app's lifespan, stopped with it."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import anyio
from fastapi import FastAPI

from baryon.commerce.orgs import create_org
from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.core.scope import SYSTEM
from baryon.jobs import Handler, Job, JobContext, JobQueue
from baryon.serving.app import create_app
from baryon.workspace import Workspace


def _org(ws: Workspace) -> str:
    with ws.db.session(SYSTEM) as session:
        return create_org(session, name="acme", clock=ws.clock).id


def _worker_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "baryon-job-worker"]


def _serve_and_wait(app: FastAPI, job_id: str, *, until: str, seconds: float = 10.0) -> Job:
    """Run the app's lifespan until the job reaches ``until`` (or ``seconds`` pass)."""

    async def scenario() -> Job:
        async with app.router.lifespan_context(app):
            queue: JobQueue = app.state.baryon.jobs
            expected = 1 if app.state.baryon.settings.inprocess_worker else 0
            assert len(_worker_threads()) == expected
            with anyio.move_on_after(seconds):
                while queue.get(job_id, org_id=None).status != until:
                    await anyio.sleep(0.02)
            return queue.get(job_id, org_id=None)

    return anyio.run(scenario)


def _app(
    settings: Settings,
    ws: Workspace,
    clock: FixedClock,
    handlers: Mapping[str, Handler] | None = None,
) -> FastAPI:
    return create_app(settings, workspace=ws, clock=clock, job_handlers=handlers)


def test_lifespan_inprocess_worker_runs_builtin_job_then_stops(
    settings: Settings, ws: Workspace, clock: FixedClock
) -> None:
    app = _app(settings, ws, clock)
    job = JobQueue(ws.db, clock).enqueue("noop", org_id=_org(ws))
    done = _serve_and_wait(app, job.id, until="succeeded")
    assert (done.status, done.result) == ("succeeded", {"ok": True})
    assert done.lease_owner is None
    assert _worker_threads() == []


def test_lifespan_runs_given_job_handlers(
    settings: Settings, ws: Workspace, clock: FixedClock
) -> None:
    def echo(ctx: JobContext) -> dict[str, Any]:
        return {"echo": ctx.payload["text"]}

    app = _app(settings, ws, clock, {"echo": echo})
    job = JobQueue(ws.db, clock).enqueue("echo", {"text": "hi"}, org_id=_org(ws))
    assert _serve_and_wait(app, job.id, until="succeeded").result == {"echo": "hi"}


def test_inprocess_worker_off_leaves_jobs_queued(ws: Workspace, clock: FixedClock) -> None:
    settings = ws.settings.model_copy(update={"inprocess_worker": False})
    app = _app(settings, ws, clock)
    job = JobQueue(ws.db, clock).enqueue("noop", org_id=_org(ws))
    assert _serve_and_wait(app, job.id, until="succeeded", seconds=0.5).status == "queued"


def test_startup_recovers_job_of_dead_worker(
    settings: Settings, ws: Workspace, clock: FixedClock
) -> None:
    queue = JobQueue(ws.db, clock)
    job = queue.enqueue("noop", org_id=_org(ws))
    queue.claim(kinds={"noop"}, owner="dead-worker:1", lease_seconds=60)
    clock.advance(61)  # the previous server died holding the job
    done = _serve_and_wait(_app(settings, ws, clock), job.id, until="succeeded")
    assert (done.status, done.attempts) == ("succeeded", 2)
