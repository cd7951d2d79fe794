"""Background jobs: enqueue-to-start latency (p50, p99) against bare handoffs.

Rows (each side measured alternately in the same process, one worker thread, a job
enqueued every few milliseconds at a random phase, seeded):

1. **Woken worker** (``baryon serve``'s in-process worker): ``JobQueue.enqueue`` (one
   committed row) with a :class:`~baryon.jobs.LocalWakeup`, a :class:`~baryon.jobs.Worker`
   that claims the row under a lease and calls the handler, against the floor of any
   in-process handoff: ``queue.Queue.put`` to a thread blocked in ``get``.
2. **Polling worker** (a dedicated ``baryon worker`` without Redis), poll interval
   50 ms: the same queue without a wake-up, against a hand-written SQLite queue (``INSERT``
   a row; a thread polls ``BEGIN IMMEDIATE; SELECT ... LIMIT 1; UPDATE; COMMIT`` at the
   same interval), same pragmas (WAL, ``synchronous=NORMAL``).
3. **A training job over HTTP**: ``POST /v1/runs`` through the whole app (key check,
   rate limit, request checks, dataset lookup, the run and its job in one transaction),
   the app's in-process worker, the real ``train`` handler until the run is ``running``
   and reports its first stage — against row 1's bare job (enqueue → handler). The
   handler stops there (the run ends ``cancelled``): fitting is not what is measured.

Latency is from just before the enqueue call (the ``POST``) to the first line of the
handler (the run's first stage).
"""

from __future__ import annotations

import queue as stdlib_queue
import random
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks._harness import Comparison, peak_rss_mb

_POLL = 0.05


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def _measure(
    start: Callable[[], tuple[Callable[[], Any], Callable[[], None]]],
    n: int,
    gap: float,
    seed: int,
) -> list[float]:
    """Run ``n`` jobs through a system built by ``start``; return latencies in ms.

    ``start()`` returns ``(submit, stop)``: ``submit()`` enqueues one job and returns
    the ``perf_counter`` at which its handler started (blocking until it did).
    """
    rng = random.Random(seed)
    submit, stop = start()
    try:
        submit()  # warm-up: connections, first claim
        out = []
        for _ in range(n):
            time.sleep(rng.uniform(0, gap))
            t0 = time.perf_counter()
            started = submit()
            out.append((started - t0) * 1000)
        return out
    finally:
        stop()


def _baryon(ws: Any, org_id: str, *, wake: bool) -> Callable[[], Any]:
    from baryon.jobs import JobContext, JobQueue, LocalWakeup, Worker

    def start() -> tuple[Callable[[], float], Callable[[], None]]:
        started: dict[str, float] = {}
        ran = threading.Event()

        def handler(ctx: JobContext) -> None:
            started[ctx.job.id] = time.perf_counter()
            ran.set()

        jobs = JobQueue(ws.db, ws.clock, wakeup=LocalWakeup() if wake else None)
        worker = Worker(ws, {"bench": handler}, queue=jobs, poll_interval=10.0 if wake else _POLL)
        stop_event = threading.Event()
        thread = threading.Thread(target=worker.run, args=(stop_event,), daemon=True)
        thread.start()

        def submit() -> float:
            ran.clear()
            job = jobs.enqueue("bench", org_id=org_id)
            if not ran.wait(30):
                raise RuntimeError("the worker did not start the job")
            return started[job.id]

        def stop() -> None:
            stop_event.set()
            if jobs.wakeup is not None:
                jobs.wakeup.notify()
            thread.join(30)

        return submit, stop

    return start


def _training_api(ws: Any, secret: str) -> Callable[[], Any]:
    """``POST /v1/runs`` → the app's in-process worker → ``train`` handler, run ``running``."""
    from fastapi.testclient import TestClient

    from baryon.jobs import JobCancelled, JobContext
    from baryon.serving.app import create_app
    from baryon.training.jobs import train_job

    def start() -> tuple[Callable[[], float], Callable[[], None]]:
        started: dict[str, float] = {}
        ran = threading.Event()

        def handler(ctx: JobContext) -> Any:
            def first_stage(stage: str, percent: float) -> None:
                started[ctx.payload["run_id"]] = time.perf_counter()
                ran.set()
                raise JobCancelled("measured: stop before fitting")

            ctx.progress = first_stage  # type: ignore[method-assign]
            return train_job(ctx)

        app = create_app(ws.settings, workspace=ws, job_handlers={"train": handler})
        client = TestClient(app)
        client.__enter__()  # lifespan: starts the in-process worker
        headers = {"Authorization": f"Bearer {secret}"}
        body = {"kind": "decision_tree", "dataset": "bench", "params": {"max_depth": 2}}

        def submit() -> float:
            ran.clear()
            response = client.post("/v1/runs", json=body, headers=headers)
            if response.status_code != 202:
                raise RuntimeError(f"POST /v1/runs: {response.status_code} {response.text}")
            if not ran.wait(30):
                raise RuntimeError("the worker did not start the training job")
            return started[response.json()["run_id"]]

        def stop() -> None:
            client.__exit__(None, None, None)

        return submit, stop

    return start


def _training_setup(ws: Any, tmp: Path) -> tuple[str, str]:
    """An organization with a developer key and a split dataset ``bench``; its id and key."""
    from baryon.commerce.orgs import create_org
    from baryon.commerce.plans import create_plan
    from baryon.core.scope import SYSTEM
    from baryon.tenancy.keys import create_key

    with ws.db.session(SYSTEM) as session:
        create_plan(session, name="bench", quota=10**9, rate_per_minute=10**6, clock=ws.clock)
        org_id = create_org(session, name="bench-api", plan="bench", clock=ws.clock).id
        secret = create_key(session, org_id=org_id, role="developer", clock=ws.clock).secret
    rng = random.Random(0)
    rows = ["x1,x2,label"] + [
        f"{a:.3f},{b:.3f},{'in' if a > 0 and b > 0 else 'out'}"
        for a, b in ((rng.uniform(-1, 1), rng.uniform(-1, 1)) for _ in range(200))
    ]
    path = tmp / "bench.csv"
    path.write_text("\n".join(rows) + "\n")
    view = ws.for_org(org_id)
    view.datasets.ingest(path, name="bench", roles={"label": "label"})
    view.datasets.split("bench", strategy="stratified", seed=0)
    return org_id, secret


def _handoff() -> tuple[Callable[[], float], Callable[[], None]]:
    inbox: stdlib_queue.Queue[int | None] = stdlib_queue.Queue()
    started: list[float] = []
    ran = threading.Event()

    def consume() -> None:
        while inbox.get() is not None:
            started.append(time.perf_counter())
            ran.set()

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()

    def submit() -> float:
        ran.clear()
        inbox.put(1)
        ran.wait(30)
        return started[-1]

    def stop() -> None:
        inbox.put(None)
        thread.join(30)

    return submit, stop


def _raw_sqlite(path: Path) -> Callable[[], Any]:
    def start() -> tuple[Callable[[], float], Callable[[], None]]:
        def connect() -> sqlite3.Connection:
            conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            return conn

        setup = connect()
        setup.execute("CREATE TABLE IF NOT EXISTS q (id INTEGER PRIMARY KEY, status TEXT)")
        setup.close()
        started: dict[int, float] = {}
        ran = threading.Event()
        stop_event = threading.Event()

        def consume() -> None:
            conn = connect()
            while not stop_event.is_set():
                conn.execute("BEGIN IMMEDIATE")
                row = conn.execute(
                    "SELECT id FROM q WHERE status = 'queued' ORDER BY id LIMIT 1"
                ).fetchone()
                if row is not None:
                    conn.execute("UPDATE q SET status = 'running' WHERE id = ?", row)
                conn.execute("COMMIT")
                if row is None:
                    stop_event.wait(_POLL)
                    continue
                started[row[0]] = time.perf_counter()
                ran.set()
            conn.close()

        thread = threading.Thread(target=consume, daemon=True)
        thread.start()
        producer = connect()

        def submit() -> float:
            ran.clear()
            producer.execute("BEGIN IMMEDIATE")
            job_id = producer.execute("INSERT INTO q (status) VALUES ('queued')").lastrowid
            producer.execute("COMMIT")
            ran.wait(30)
            assert job_id is not None
            return started[job_id]

        def stop() -> None:
            stop_event.set()
            thread.join(30)
            producer.close()

        return submit, stop

    return start


def _rows(
    scenario: str,
    baryon_name: str,
    baseline_name: str,
    samples: tuple[list[list[float]], list[list[float]]],
    note: str,
) -> list[Comparison]:
    rows = []
    for q in (50, 99):
        row = Comparison(
            benchmark="jobs",
            measure=f"enqueue-to-start latency p{q}, {scenario}",
            unit="ms",
            higher_is_better=False,
            baryon=baryon_name,
            baseline=baseline_name,
        )
        row.baryon_samples = [_percentile(s, q) for s in samples[0]]
        row.baseline_samples = [_percentile(s, q) for s in samples[1]]
        row.baryon_peak_rss_mb = peak_rss_mb()
        row.note = f"{note}; each sample is one run's percentile"
        rows.append(row)
    return rows


def _alternate_runs(
    baryon: Callable[[int], list[float]], baseline: Callable[[int], list[float]], repeats: int
) -> tuple[list[list[float]], list[list[float]]]:
    """Run each side ``repeats`` times, alternating who goes first; each run gets a seed."""
    a: list[list[float]] = []
    b: list[list[float]] = []
    for i in range(repeats):
        if i % 2 == 0:
            a.append(baryon(2 * i))
            b.append(baseline(2 * i + 1))
        else:
            b.append(baseline(2 * i))
            a.append(baryon(2 * i + 1))
    return a, b


def run(quick: bool) -> list[Comparison]:
    """Measure the job rows described in the module docstring."""
    from baryon.commerce.orgs import create_org
    from baryon.core.config import Settings
    from baryon.workspace import Workspace

    n_wake, n_poll, n_train, repeats = (40, 20, 20, 3) if quick else (200, 60, 60, 5)
    rows: list[Comparison] = []
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.open(Settings(home=Path(tmp) / "home"))
        try:
            with ws.db.session() as session:
                org_id = create_org(session, name="bench").id
            woken = _alternate_runs(
                lambda seed: _measure(_baryon(ws, org_id, wake=True), n_wake, 0.01, seed),
                lambda seed: _measure(_handoff, n_wake, 0.01, seed),
                repeats,
            )
            rows += _rows(
                "woken worker (serve's in-process worker)",
                "JobQueue.enqueue + LocalWakeup → Worker claim (lease) → handler",
                "queue.Queue.put → thread blocked in get()",
                woken,
                f"{n_wake} jobs per run; the baseline has no durability and no lease",
            )
            raw = _raw_sqlite(Path(tmp) / "raw.db")
            polled = _alternate_runs(
                lambda seed: _measure(_baryon(ws, org_id, wake=False), n_poll, _POLL, seed),
                lambda seed: _measure(raw, n_poll, _POLL, seed),
                repeats,
            )
            rows += _rows(
                f"polling worker, poll every {_POLL * 1000:.0f} ms (dedicated worker)",
                "JobQueue.enqueue → Worker polls, claims (lease) → handler",
                "raw sqlite3 INSERT; a thread polls SELECT + UPDATE at the same interval",
                polled,
                f"{n_poll} jobs per run; ≈ poll/2 expected on both sides",
            )
            api_org, secret = _training_setup(ws, Path(tmp))
            training = _alternate_runs(
                lambda seed: _measure(_training_api(ws, secret), n_train, 0.01, seed),
                lambda seed: _measure(_baryon(ws, api_org, wake=True), n_train, 0.01, seed),
                repeats,
            )
            rows += _rows(
                "training job over HTTP (serve's in-process worker)",
                "POST /v1/runs → in-process worker → train handler, run running",
                "row 1's bare job: JobQueue.enqueue + LocalWakeup → handler",
                training,
                f"{n_train} jobs per run; the difference is the HTTP request and the "
                "run's bookkeeping",
            )
        finally:
            ws.close()
    return rows
