"""``kill -9`` of a ``baryon worker`` mid-training: the run is trained again by the next
worker, or fails ``worker_lost`` on its last attempt; it never stays ``running``.

Real worker processes on a temp home (lease 1 s, the jobs tests' helpers) train an MLP
long enough to be caught in its ``fit`` stage.
"""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from jobs.jobkit import kill9, start_worker, wait_until  # tests/jobs, a namespace package

from baryon.core.config import Settings
from baryon.jobs import JobQueue
from baryon.training.jobs import Submission, submit_training
from baryon.training.trainer import Trainer
from baryon.workspace import Workspace

#: About 5 s of fitting on 2,000 rows: long enough to be killed in the middle.
SLOW = {
    "hidden_layer_sizes": [128, 128],
    "max_iter": 60,
    "early_stopping": False,
    "n_iter_no_change": 1000,
}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A home with dataset ``big`` (2,000 quadrant points, split)."""
    home = tmp_path / "home"
    rng = np.random.default_rng(0)
    x1, x2 = rng.uniform(-1, 1, 2000), rng.uniform(-1, 1, 2000)
    path = tmp_path / "big.csv"
    label = np.where((x1 > 0) & (x2 > 0), "in", "out")
    pd.DataFrame({"x1": x1, "x2": x2, "label": label}).to_csv(path, index=False)
    with Workspace.open(Settings(home=home)) as ws:
        ws.datasets.ingest(path, name="big", roles={"label": "label"})
        ws.datasets.split("big", strategy="stratified", seed=0)
    return home


@pytest.fixture
def ws(home: Path) -> Iterator[Workspace]:
    with Workspace.open(Settings(home=home)) as workspace:
        yield workspace


@pytest.fixture
def spawn(home: Path) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    """Start ``baryon worker`` processes on ``home``; any still alive are killed at teardown."""
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        procs.append(start_worker(home))
        return procs[-1]

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if proc.stderr is not None:
            proc.stderr.close()


def _submit(ws: Workspace, max_attempts: int) -> Submission:
    trainer = Trainer(ws, actor="test")
    spec = trainer.resolve("mlp", "big", params=SLOW)
    return submit_training(trainer, JobQueue(ws.db, ws.clock), spec, max_attempts=max_attempts)


def _in_fit(ws: Workspace, submitted: Submission, proc: Any, attempt: int) -> None:
    queue = JobQueue(ws.db, ws.clock)

    def fitting() -> bool:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        job = queue.get(submitted.job.id, org_id=None)
        return job.attempts == attempt and job.stage == "fit"

    wait_until(fitting, timeout=120, what=f"attempt {attempt} to reach fit")
    assert ws.runs.get(submitted.run.id).status == "running"


def _intact(home: Path) -> None:
    con = sqlite3.connect(home / "baryon.db")
    try:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        con.close()


def test_worker_killed_mid_training_next_worker_trains_the_run_again(
    ws: Workspace, home: Path, spawn: Callable[[], subprocess.Popen[bytes]]
) -> None:
    submitted = _submit(ws, max_attempts=2)
    first = spawn()
    _in_fit(ws, submitted, first, attempt=1)
    kill9(first)
    assert ws.runs.get(submitted.run.id).status == "running"  # nobody could end it
    second = spawn()  # its reaper re-queues the job once the lease expired
    wait_until(
        lambda: ws.runs.get(submitted.run.id).finished,
        timeout=300,
        what="the second worker to train the run",
    )
    run = ws.runs.get(submitted.run.id)
    assert (run.status, run.extra["attempt"]) == ("succeeded", 2), run.error
    assert "model" in run.artifacts
    queue = JobQueue(ws.db, ws.clock)
    wait_until(lambda: queue.get(submitted.job.id, org_id=None).finished, what="the job to end")
    job = queue.get(submitted.job.id, org_id=None)
    assert (job.status, job.attempts) == ("succeeded", 2)
    second.terminate()
    assert second.wait(30) == 0
    _intact(home)


def test_worker_killed_on_last_attempt_fails_the_run_worker_lost(
    ws: Workspace, home: Path, spawn: Callable[[], subprocess.Popen[bytes]]
) -> None:
    submitted = _submit(ws, max_attempts=1)
    worker = spawn()
    _in_fit(ws, submitted, worker, attempt=1)
    kill9(worker)
    queue = JobQueue(ws.db, ws.clock)
    wait_until(lambda: queue.reap().total > 0, timeout=10, what="the lease to expire")
    assert ws.runs.list(status="running") == []
    run = ws.runs.get(submitted.run.id)
    assert (run.status, run.error_code) == ("failed", "worker_lost")
    assert run.error is not None
    assert "attempt 1 of 1" in run.error
    _intact(home)
