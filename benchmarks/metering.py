"""Metering: durable usage records per second, and what metering costs a request.

Rows:

1. **Usage records per second**, 16 concurrent writers on SQLite (WAL): Baryon's metering
   transaction (the quota reservation ``UPDATE ... RETURNING`` plus the usage-record
   ``INSERT``, committed) from 16 threads, against the floor a hand-written meter would
   pay: a plain ``sqlite3`` ``BEGIN IMMEDIATE; INSERT; COMMIT`` of the same row from 16
   threads, same pragmas (WAL, ``synchronous=NORMAL``, busy timeout).
2. **Cost of metering on the HTTP path**: two routes added to the real app through
   ``create_app(routers=...)``, identical (API key authentication, rate limiter, one
   write transaction) except that one meters (quota + usage record) and the other does
   not. Throughput ratio metered ÷ unmetered at concurrency 1 and 16, load generator in
   its own process (the serving benchmark's).
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks._harness import Comparison, alternate, peak_rss_mb, threaded_rate

_APP = """
from fastapi import APIRouter, Depends
from baryon.core.config import Settings
from baryon.serving.app import create_app
from baryon.serving.auth import require
from baryon.serving.deps import AppState, get_state
from baryon.commerce.metering import record_usage, reserve_quota

router = APIRouter()


@router.post("/bench/metered")
def metered(principal=require("models:predict"), state: AppState = Depends(get_state)):
    with state.transaction() as session:
        now = state.clock.now()
        quota = reserve_quota(session, principal.subscription, units=1, now=now)
        record_usage(session, org_id=principal.org_id, key_id=principal.key_id,
                     endpoint="POST /bench/metered", units=1, status=200, latency_ms=0.0,
                     period_start=quota.period_start, clock=state.clock)
    return {"ok": True}


@router.post("/bench/unmetered")
def unmetered(principal=require("models:predict"), state: AppState = Depends(get_state)):
    with state.transaction() as session:
        session.get_bind()
    return {"ok": True}


def make_app():
    return create_app(Settings(), routers=[router])
"""


def _prepare(home: Path) -> tuple[str, Any]:
    from baryon.commerce.orgs import active_subscription, create_org
    from baryon.commerce.plans import create_plan
    from baryon.core.config import Settings
    from baryon.tenancy.keys import create_key
    from baryon.workspace import Workspace

    ws = Workspace.open(Settings(home=home))
    with ws.db.session() as s:
        create_plan(s, name="bench", quota=10**12, rate_per_minute=10**9)
        org = create_org(s, name="bench", plan="bench")
        secret = create_key(s, org_id=org.id, role="developer", name="bench").secret
        sub = active_subscription(s, org.id)
    return secret, (ws, org, sub)


def _records_row(quick: bool, tmp: Path) -> Comparison:
    from baryon.commerce.metering import record_usage, reserve_quota
    from baryon.core.ids import new_id

    _, (ws, org, sub) = _prepare(tmp / "home")
    per_thread = 40 if quick else 150
    repeats = 3 if quick else 5

    def baryon_meter() -> None:
        with ws.db.session() as session:
            now = ws.clock.now()
            quota = reserve_quota(session, sub, units=1, now=now)
            record_usage(
                session, org_id=org.id, key_id=None, endpoint="bench", units=1,
                status=200, latency_ms=0.0, period_start=quota.period_start, clock=ws.clock,
            )  # fmt: skip

    plain_db = tmp / "plain.db"
    con = sqlite3.connect(plain_db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute(
        "CREATE TABLE usage (id TEXT PRIMARY KEY, org_id TEXT, key_id TEXT, endpoint TEXT, "
        "units INT, status INT, latency_ms REAL, at TEXT, period_start TEXT)"
    )
    con.close()
    local = threading.local()

    def plain_insert() -> None:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(plain_db, timeout=30, isolation_level=None)
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            local.conn = conn
        now = datetime.now(UTC).isoformat()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO usage VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (new_id("use"), org.id, None, "bench", 1, 200, 0.0, now, now),
        )
        conn.execute("COMMIT")

    row = Comparison(
        benchmark="metering",
        measure="durable usage records per second, 16 concurrent writers, SQLite WAL",
        unit="records/s",
        higher_is_better=True,
        baryon="quota reservation + usage record, one transaction",
        baseline="plain sqlite3 INSERT, one transaction",
    )
    row.baryon_samples, row.baseline_samples = alternate(
        lambda: threaded_rate(16, per_thread, baryon_meter),
        lambda: threaded_rate(16, per_thread, plain_insert),
        repeats,
    )
    row.baryon_peak_rss_mb = peak_rss_mb()
    row.note = "Baryon's side also enforces the quota; RSS is the shared process"
    ws.close()
    return row


def _http_rows(quick: bool, tmp: Path) -> list[Comparison]:
    from benchmarks.serving import _load, _server

    home = tmp / "http-home"
    secret, (ws, _, _) = _prepare(home)
    ws.close()
    (tmp / "metering_app.py").write_text(_APP)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("BARYON_")},
        "BARYON_HOME": str(home),
        "PYTHONPATH": os.pathsep.join([str(tmp), os.environ.get("PYTHONPATH", "")]),
    }
    seconds, warmup, repeats = (3.0, 1.0, 2) if quick else (8.0, 2.0, 3)
    rows = []
    with _server("metering_app:make_app", env, str(tmp)) as base:
        for concurrency in (1, 16):
            row = Comparison(
                benchmark="metering",
                measure=f"HTTP throughput, concurrency {concurrency}",
                unit="requests/s",
                higher_is_better=True,
                baryon="metered route (auth + limits + quota + usage record)",
                baseline="same route unmetered (auth + limits)",
            )
            row.baryon_samples, row.baseline_samples = alternate(
                lambda c=concurrency: float(  # type: ignore[misc]
                    _load(f"{base}/bench/metered", secret, c, seconds, warmup)["rps"]
                ),
                lambda c=concurrency: float(  # type: ignore[misc]
                    _load(f"{base}/bench/unmetered", secret, c, seconds, warmup)["rps"]
                ),
                repeats,
            )
            row.note = "ratio = cost of metering; server and load generator share 2 cores"
            rows.append(row)
    return rows


def run(quick: bool) -> list[Comparison]:
    """Measure the metering rows described in the module docstring."""
    with tempfile.TemporaryDirectory() as tmp:
        rows = [_records_row(quick, Path(tmp))]
        rows.extend(_http_rows(quick, Path(tmp)))
    return rows
