"""Worker: outcomes of handlers, progress, cancel, stop, leases, and no job run twice."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from jobkit import make_org, wait_until

from baryon.core.clock import FixedClock
from baryon.core.errors import InvalidInput
from baryon.jobs import JobContext, JobQueue, Worker, builtin_handlers
from baryon.workspace import Workspace

FAST = {"poll_interval": 0.05, "lease_seconds": 30.0}


def _worker(ws: Workspace, handlers: dict[str, Any], **kw: Any) -> Worker:
    return Worker(ws, handlers, **{**FAST, **kw})


def test_run_once_empty_queue_returns_none(ws: Workspace) -> None:
    assert _worker(ws, builtin_handlers()).run_once() is None


def test_run_once_handler_result_succeeds_with_result(
    ws: Workspace, queue: JobQueue, org_id: str
) -> None:
    seen: list[dict[str, Any]] = []

    def double(ctx: JobContext) -> dict[str, Any]:
        seen.append(ctx.payload)
        return {"y": ctx.payload["x"] * 2}

    job = queue.enqueue("double", {"x": 21}, org_id=org_id)
    done = _worker(ws, {"double": double}).run_once()
    assert done is not None
    assert (done.id, done.status, done.result) == (job.id, "succeeded", {"y": 42})
    assert done.progress == 100
    assert (done.attempts, done.lease_owner, done.ended_at) == (1, None, ws.clock.now())
    assert seen == [{"x": 21}]


def test_run_once_handler_baryon_error_fails_with_its_code(
    ws: Workspace, queue: JobQueue, org_id: str
) -> None:
    def bad(ctx: JobContext) -> None:
        raise InvalidInput("learning_rate must be positive", code="invalid_param")

    queue.enqueue("train", {}, org_id=org_id)
    done = _worker(ws, {"train": bad}).run_once()
    assert done is not None
    assert (done.status, done.error_code) == ("failed", "invalid_param")
    assert done.error == "learning_rate must be positive"
    assert done.attempts == 1  # a handler error is not retried


def test_run_once_handler_crash_fails_with_internal_error(
    ws: Workspace, queue: JobQueue, org_id: str
) -> None:
    def crash(ctx: JobContext) -> None:
        raise ValueError("column\n  missing")

    queue.enqueue("crash", org_id=org_id)
    done = _worker(ws, {"crash": crash}).run_once()
    assert done is not None
    assert (done.status, done.error_code) == ("failed", "internal_error")
    assert done.error == "ValueError: column missing"


@pytest.mark.parametrize("result", [[1, 2], {"x": float("inf")}, "done"])
def test_run_once_handler_non_json_result_fails_with_internal_error(
    ws: Workspace, queue: JobQueue, org_id: str, result: object
) -> None:
    queue.enqueue("odd", org_id=org_id)
    done = _worker(ws, {"odd": lambda ctx: result}).run_once()
    assert done is not None
    assert (done.status, done.error_code, done.result) == ("failed", "internal_error", None)


def test_run_once_bad_progress_fails_with_invalid_progress(
    ws: Workspace, queue: JobQueue, org_id: str
) -> None:
    queue.enqueue("p", org_id=org_id)
    done = _worker(ws, {"p": lambda ctx: ctx.progress("fit", 101)}).run_once()
    assert done is not None
    assert done.error_code == "invalid_progress"


def test_worker_bad_kind_or_handler_raises_invalid_input(ws: Workspace) -> None:
    with pytest.raises(InvalidInput) as info:
        Worker(ws, {"Bad Kind": lambda ctx: None})
    assert info.value.code == "invalid_job_kind"
    with pytest.raises(InvalidInput):
        Worker(ws, {"ok": "not callable"})  # type: ignore[dict-item]
    with pytest.raises(InvalidInput):
        Worker(ws, {"ok": lambda ctx: None}, poll_interval=-1)


def test_builtin_sleep_bad_seconds_fails_with_invalid_job_payload(
    ws: Workspace, queue: JobQueue, org_id: str
) -> None:
    queue.enqueue("sleep", {"seconds": "long"}, org_id=org_id)
    done = _worker(ws, builtin_handlers()).run_once()
    assert done is not None
    assert (done.status, done.error_code) == ("failed", "invalid_job_payload")


def test_builtin_noop_succeeds(ws: Workspace, queue: JobQueue, org_id: str) -> None:
    queue.enqueue("noop", org_id=org_id)
    done = _worker(ws, builtin_handlers()).run_once()
    assert done is not None
    assert (done.status, done.result) == ("succeeded", {"ok": True})


def test_lease_lost_mid_job_drops_result_and_stops_handler(
    ws: Workspace, queue: JobQueue, org_id: str, clock: FixedClock
) -> None:
    seen: dict[str, bool] = {}

    def slow(ctx: JobContext) -> dict[str, Any]:
        clock.advance(31)  # this worker stalled past its lease ...
        queue.reap()  # ... and another worker's reaper took the job back
        time.sleep(0.06)  # cancelled() asks the database at most once per check interval
        seen["cancelled"] = ctx.cancelled()
        return {"late": True}

    job = queue.enqueue("slow", org_id=org_id)
    after = _worker(ws, {"slow": slow}).run_once()
    assert seen == {"cancelled": True}
    assert after is not None
    assert (after.id, after.status, after.result, after.attempts) == (job.id, "queued", None, 1)


# --------------------------------------------------------------- real time, threads
def _blocking(started: threading.Event, cooperative: bool = True, seconds: float = 10.0) -> Any:
    def handler(ctx: JobContext) -> dict[str, Any]:
        ctx.progress("wait", 25)
        started.set()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if cooperative:
                ctx.check_cancelled()
            time.sleep(0.01)
        return {"waited": seconds}

    return handler


def _run_in_thread(worker: Worker, stop: threading.Event) -> threading.Thread:
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    return thread


def test_running_job_shows_progress_then_cancel_stops_it(live_ws: Workspace) -> None:
    org_id = make_org(live_ws)
    queue = JobQueue(live_ws.db, live_ws.clock)
    started, stop = threading.Event(), threading.Event()
    job = queue.enqueue("block", org_id=org_id)
    thread = _run_in_thread(_worker(live_ws, {"block": _blocking(started)}), stop)
    assert started.wait(10)
    running = queue.get(job.id, org_id=org_id)
    assert (running.status, running.stage, running.progress) == ("running", "wait", 25)
    queue.cancel(job.id, org_id=org_id)
    wait_until(lambda: queue.get(job.id, org_id=org_id).status == "cancelled", what="cancel")
    stop.set()
    thread.join(10)
    assert not thread.is_alive()
    assert queue.get(job.id, org_id=org_id).error_code is None


def test_stopping_worker_releases_cooperative_job(live_ws: Workspace) -> None:
    org_id = make_org(live_ws)
    queue = JobQueue(live_ws.db, live_ws.clock)
    started, stop = threading.Event(), threading.Event()
    job = queue.enqueue("block", org_id=org_id)
    thread = _run_in_thread(_worker(live_ws, {"block": _blocking(started)}), stop)
    assert started.wait(10)
    stop.set()
    thread.join(10)
    assert not thread.is_alive()
    released = queue.get(job.id, org_id=org_id)
    assert (released.status, released.attempts, released.lease_owner) == ("queued", 0, None)


def test_stopping_worker_lets_uncooperative_job_finish(live_ws: Workspace) -> None:
    org_id = make_org(live_ws)
    queue = JobQueue(live_ws.db, live_ws.clock)
    started, stop = threading.Event(), threading.Event()
    job = queue.enqueue("block", org_id=org_id)
    handler = _blocking(started, cooperative=False, seconds=0.3)
    thread = _run_in_thread(_worker(live_ws, {"block": handler}), stop)
    assert started.wait(10)
    stop.set()
    thread.join(10)
    assert queue.get(job.id, org_id=org_id).status == "succeeded"


def test_heartbeat_keeps_lease_of_long_job(live_ws: Workspace) -> None:
    org_id = make_org(live_ws)
    queue = JobQueue(live_ws.db, live_ws.clock)
    started, stop = threading.Event(), threading.Event()
    job = queue.enqueue("block", org_id=org_id)
    handler = _blocking(started, cooperative=False, seconds=1.5)  # 5 leases long
    thread = _run_in_thread(_worker(live_ws, {"block": handler}, lease_seconds=0.3), stop)
    assert started.wait(10)
    reaped = 0
    while queue.get(job.id, org_id=org_id).status == "running":
        reaped += queue.reap().total
        time.sleep(0.05)
    stop.set()
    thread.join(10)
    done = queue.get(job.id, org_id=org_id)
    assert (reaped, done.status, done.attempts) == (0, "succeeded", 1)


def test_threaded_workers_never_run_one_job_twice(live_ws: Workspace) -> None:
    org_id = make_org(live_ws)
    queue = JobQueue(live_ws.db, live_ws.clock)
    runs: list[str] = []
    lock = threading.Lock()

    def record(ctx: JobContext) -> None:
        with lock:
            runs.append(ctx.job.id)
        time.sleep(0.002)

    jobs = [queue.enqueue("record", org_id=org_id).id for _ in range(40)]
    workers = [_worker(live_ws, {"record": record}, name=f"w{i}") for i in range(4)]
    threads = [threading.Thread(target=w.run, kwargs={"burst": True}) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert Counter(runs) == Counter(jobs)
    assert {j.status for j in queue.list(org_id=org_id, limit=100)} == {"succeeded"}


def test_worker_processes_on_sqlite_never_run_one_job_twice(tmp_path: Path) -> None:
    from baryon.core.config import Settings

    home, log = tmp_path / "home", tmp_path / "runs.log"
    with Workspace.open(Settings(home=home)) as ws:
        org_id = make_org(ws)
        queue = JobQueue(ws.db, ws.clock)
        jobs = [
            queue.enqueue("record", {"log": str(log), "seconds": 0.01}, org_id=org_id).id
            for _ in range(30)
        ]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("BARYON_")},
        "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), *sys.path]),
        "BARYON_JOB_POLL_INTERVAL": "0.05",
    }
    cmd = [sys.executable, "-m", "baryon", "--home", str(home), "worker", "--burst",
           "--handlers", "jobkit:record_handlers"]  # fmt: skip
    procs = [
        subprocess.Popen([*cmd, "--name", f"p{i}"], env=env, stderr=subprocess.PIPE)
        for i in range(3)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    lines = log.read_text().splitlines()
    assert Counter(line.split()[0] for line in lines) == Counter(jobs)
    with Workspace.open(Settings(home=home)) as ws:
        statuses = {j.status for j in JobQueue(ws.db).list(org_id=org_id, limit=100)}
    assert statuses == {"succeeded"}
