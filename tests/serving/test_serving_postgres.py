"""The serving layer on PostgreSQL: row locks instead of SQLite's single writer.

Each test module run gets its own throw-away database (``CREATE DATABASE``), so
other suites using ``BARYON_TEST_POSTGRES_URL`` are not disturbed.
"""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pgkit import pg_settings as settings_on
from servingkit import PortalTransport, make_resolver
from sqlalchemy import func, select

from baryon.commerce.limits import DatabaseRateLimiter
from baryon.commerce.metering import reserve_quota
from baryon.commerce.orgs import active_subscription, create_org
from baryon.commerce.plans import create_plan
from baryon.commerce.tables import IdempotencyRow, UsageRecordRow
from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.core.errors import QuotaExceeded
from baryon.core.scope import SYSTEM
from baryon.serving.app import create_app
from baryon.tenancy.keys import create_key
from baryon.workspace import Workspace

pytestmark = pytest.mark.postgres
ROW = {"a": 1, "b": 2}


@pytest.fixture
def pg_settings(pg_url: str, tmp_path: Path) -> Settings:
    return settings_on(pg_url, tmp_path / "home")


@pytest.fixture
def pg_ws(pg_settings: Settings, clock: FixedClock) -> Iterator[Workspace]:
    ws = Workspace.open(pg_settings, clock=clock)
    yield ws
    ws.close()


def _threads(n: int, target: object) -> None:
    threads = [threading.Thread(target=target) for _ in range(n)]  # type: ignore[arg-type]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_pg_reserve_quota_30_threads_admit_exactly_10(pg_ws: Workspace, clock: FixedClock) -> None:
    name = f"q{secrets.token_hex(3)}"
    with pg_ws.db.session(SYSTEM) as s:
        create_plan(s, name=name, quota=10, rate_per_minute=1000, clock=clock)
        org = create_org(s, name=name, plan=name, clock=clock)
        sub = active_subscription(s, org.id)
    assert sub is not None
    results: list[bool] = []
    barrier = threading.Barrier(30)

    def worker() -> None:
        barrier.wait()
        try:
            with pg_ws.db.session(SYSTEM) as s:
                reserve_quota(s, sub, units=1, now=clock.now())
            results.append(True)
        except QuotaExceeded:
            results.append(False)

    _threads(30, worker)
    assert sum(results) == 10


def test_pg_rate_limiter_concurrent_hits_admit_exactly_burst(pg_ws: Workspace) -> None:
    limiter = DatabaseRateLimiter(pg_ws.db)
    subject = f"key:{secrets.token_hex(4)}"
    allowed: list[bool] = []
    barrier = threading.Barrier(12)

    def worker() -> None:
        barrier.wait()
        for _ in range(3):
            allowed.append(limiter.hit(subject, rate_per_minute=10, now=1.8e9).allowed)

    _threads(12, worker)
    assert sum(allowed) == 10


def test_pg_app_quota_and_idempotency_across_three_workers(
    pg_settings: Settings, pg_ws: Workspace, clock: FixedClock
) -> None:
    apps = [pg_ws] + [Workspace.open(pg_settings, clock=clock) for _ in range(2)]
    transports = [
        PortalTransport(create_app(pg_settings, workspace=w, clock=clock, resolver=make_resolver()))
        for w in apps
    ]
    try:
        tag = secrets.token_hex(3)
        with pg_ws.db.session(SYSTEM) as s:
            create_plan(s, name=f"t{tag}", quota=10, rate_per_minute=10**6, clock=clock)
            org = create_org(s, name=f"o{tag}", plan=f"t{tag}", clock=clock)
            secret = create_key(s, org_id=org.id, role="developer", clock=clock).secret
        auth = {"Authorization": f"Bearer {secret}"}
        clients = [httpx.Client(base_url="http://t", transport=t, headers=auth) for t in transports]
        statuses: list[int] = []
        barrier = threading.Barrier(30)
        counter = iter(range(30))

        def predict() -> None:
            i = next(counter)
            barrier.wait()
            r = clients[i % 3].post("/v1/models/adder/predict", json={"inputs": [ROW]})
            statuses.append(r.status_code)

        _threads(30, predict)
        assert Counter(statuses) == {200: 10, 429: 20}
        with pg_ws.db.session(SYSTEM) as s:
            count = s.scalar(
                select(func.count())
                .select_from(UsageRecordRow)
                .where(UsageRecordRow.org_id == org.id)
            )
        assert count == 10
        # the same Idempotency-Key from three workers at once: one answer, stored once
        bodies: list[bytes] = []
        barrier2 = threading.Barrier(6)
        counter2 = iter(range(6))
        with pg_ws.db.session(SYSTEM) as s:
            create_plan(s, name=f"u{tag}", quota=100, rate_per_minute=10**6, clock=clock)
            org2 = create_org(s, name=f"p{tag}", plan=f"u{tag}", clock=clock)
            secret2 = create_key(s, org_id=org2.id, role="developer", clock=clock).secret
        auth2 = {"Authorization": f"Bearer {secret2}", "Idempotency-Key": "same"}
        clients2 = [
            httpx.Client(base_url="http://t", transport=t, headers=auth2) for t in transports
        ]

        def replay() -> None:
            i = next(counter2)
            barrier2.wait()
            r = clients2[i % 3].post("/v1/models/adder/predict", json={"inputs": [ROW]})
            assert r.status_code == 200, r.text
            bodies.append(r.content)

        _threads(6, replay)
        assert len(set(bodies)) == 1
        with pg_ws.db.session(SYSTEM) as s:
            used = s.scalar(
                select(func.count())
                .select_from(UsageRecordRow)
                .where(UsageRecordRow.org_id == org2.id)
            )
            stored = s.scalar(
                select(func.count())
                .select_from(IdempotencyRow)
                .where(IdempotencyRow.org_id == org2.id)
            )
        assert used == 1
        assert stored == 1
        for c in clients + clients2:
            c.close()
    finally:
        for t in transports:
            t.shutdown()
        for w in apps[1:]:
            w.close()
