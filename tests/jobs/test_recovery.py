"""Recovery: ``kill -9`` of a ``baryon worker`` mid-job, and a graceful SIGTERM.

A real worker process on a temp home runs the built-in ``sleep`` job. Killed with
SIGKILL it cannot release anything: the job stays ``running`` until its lease
expires, then the next worker's reaper re-queues it (attempts left) or fails it with
``worker_lost``. Nothing stays running, and the SQLite file is intact.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from jobkit import kill9, make_org, start_worker, wait_until

from baryon.core.config import Settings
from baryon.jobs import Job, JobQueue
from baryon.workspace import Workspace

LEASE = 1.0


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[[Path], subprocess.Popen[bytes]]]:
    """Start ``baryon worker`` processes; any still alive are killed at teardown."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(home: Path) -> subprocess.Popen[bytes]:
        procs.append(start_worker(home, lease=LEASE))
        return procs[-1]

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if proc.stderr is not None:
            proc.stderr.close()


def _running_on(
    queue: JobQueue, job_id: str, proc: subprocess.Popen[bytes], attempt: int = 1
) -> Job:
    def running() -> bool:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        job = queue.get(job_id, org_id=None)
        return job.status == "running" and job.attempts == attempt and job.progress > 0

    wait_until(running, timeout=60, what="the worker to start the job")
    return queue.get(job_id, org_id=None)


def test_worker_killed_mid_job_is_retried_then_fails_worker_lost(
    tmp_path: Path, spawn: Callable[[Path], subprocess.Popen[bytes]]
) -> None:
    home = tmp_path / "home"
    ws = Workspace.open(Settings(home=home))
    queue = JobQueue(ws.db, ws.clock)
    org_id = make_org(ws)
    job = queue.enqueue("sleep", {"seconds": 600}, org_id=org_id, max_attempts=2)

    first = spawn(home)
    held = _running_on(queue, job.id, first)
    assert held.attempts == 1
    kill9(first)
    assert queue.get(job.id, org_id=None).status == "running"  # nobody released it

    second = spawn(home)  # its reaper re-queues the job once the lease expired
    retried = _running_on(queue, job.id, second, attempt=2)
    assert retried.attempts == 2
    assert retried.lease_owner != held.lease_owner
    kill9(second)

    wait_until(lambda: queue.reap().total > 0, timeout=LEASE * 10, what="the lease to expire")
    lost = queue.get(job.id, org_id=None)
    assert (lost.status, lost.error_code, lost.attempts) == ("failed", "worker_lost", 2)
    assert lost.error is not None
    assert "attempt 2 of 2" in lost.error
    assert queue.list(org_id=None, status="running") == []
    ws.close()
    con = sqlite3.connect(home / "baryon.db")
    try:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        con.close()


def test_worker_sigterm_releases_job_and_exits_zero(
    tmp_path: Path, spawn: Callable[[Path], subprocess.Popen[bytes]]
) -> None:
    home = tmp_path / "home"
    with Workspace.open(Settings(home=home)) as ws:
        queue = JobQueue(ws.db, ws.clock)
        job = queue.enqueue("sleep", {"seconds": 600}, org_id=make_org(ws))
        proc = spawn(home)
        _running_on(queue, job.id, proc)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err.decode()
        assert "stopping after the current job" in err.decode()
        released = queue.get(job.id, org_id=None)
        assert (released.status, released.attempts, released.lease_owner) == ("queued", 0, None)
