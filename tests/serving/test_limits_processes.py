"""Exact quotas and one rate limit across two real ``baryon serve`` processes that share
one SQLite database and one Redis (``BARYON_LIMITS=redis``): the multi-process recipe of
docs/scaling.md, run for real."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from serverkit import free_port, start_server, stop_server, wait_ready
from sqlalchemy import func, select

from baryon.commerce.orgs import create_org
from baryon.commerce.plans import create_plan
from baryon.commerce.tables import UsageRecordRow
from baryon.core.config import Settings
from baryon.core.scope import OPERATOR_ORG_ID, SYSTEM
from baryon.tenancy.grants import EVERYONE, create_grant
from baryon.tenancy.keys import create_key
from baryon.training.trainer import Trainer
from baryon.workspace import Workspace

pytestmark = [pytest.mark.server, pytest.mark.redis]

QUOTA = 12
RATE = 6  # requests per minute
ROW = {"x1": 0.25, "x2": 0.5}


def _home(home: Path) -> tuple[dict[str, str], dict[str, str]]:
    """A workspace with model ``sum`` (shared with everyone), org ``small`` (quota 12) and
    org ``slow`` (6 requests a minute); returns their keys and org ids."""
    ws = Workspace.open(Settings(home=home))
    try:
        lines = ["x1,x2,y"] + [f"{i / 40:.3f},{(i % 7) / 7:.3f},{i / 40 + (i % 7) / 7:.3f}"
                               for i in range(40)]  # fmt: skip
        path = home / "sum.csv"
        path.write_text("\n".join(lines) + "\n")
        ws.datasets.ingest(path, name="sum", roles={"y": "label"})
        ws.datasets.split("sum", strategy="random", seed=1)
        run = Trainer(ws).train("linear_regression", dataset="sum", register="sum", seed=1)
        assert run.status == "succeeded", run
        keys, orgs = {}, {}
        with ws.db.session(ws.scope) as s:
            create_grant(
                s, owner_org_id=OPERATOR_ORG_ID, object_type="model", object_name="sum",
                grantee=EVERYONE, permission="predict", actor="test",
            )  # fmt: skip
        with ws.db.session(SYSTEM) as s:
            create_plan(s, name="small", quota=QUOTA, rate_per_minute=100_000)
            create_plan(s, name="slow", quota=1000, rate_per_minute=RATE)
            for name in ("small", "slow"):
                org = create_org(s, name=name, plan=name)
                orgs[name] = org.id
                keys[name] = create_key(s, org_id=org.id, role="developer", name="k").secret
        return keys, orgs
    finally:
        ws.close()


@pytest.fixture
def two_servers(tmp_path: Path, redis_url: str) -> Iterator[tuple[list[str], dict[str, str], Path]]:
    """Two ``baryon serve`` processes on one home (SQLite) and one Redis."""
    home = tmp_path / "home"
    keys, orgs = _home(home)
    env = {"BARYON_LIMITS": "redis", "BARYON_REDIS_URL": redis_url,
           "BARYON_INPROCESS_WORKER": "false"}  # fmt: skip
    procs, bases = [], []
    try:
        for _ in range(2):
            port = free_port()
            procs.append(start_server(home, port, env=env))
            bases.append(f"http://127.0.0.1:{port}")
        for base, proc in zip(bases, procs, strict=True):
            wait_ready(base, proc)
        yield bases, keys, home
    finally:
        for proc in procs:
            stop_server(proc)
        _forget(redis_url, orgs)


def _forget(redis_url: str, orgs: dict[str, str]) -> None:
    """Delete this test's counters from the shared test Redis (its org ids are its own)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        for org_id in orgs.values():
            keys = list(client.scan_iter(match=f"baryon:quota:{org_id}:*"))
            if keys:
                client.delete(*keys)
    finally:
        client.close()


def _fire(bases: list[str], secret: str, n: int) -> list[httpx.Response]:
    """``n`` concurrent predictions, alternating between the servers."""
    targets = list(itertools.islice(itertools.cycle(bases), n))

    def one(base: str) -> httpx.Response:
        return httpx.post(
            f"{base}/v1/models/sum/predict", json={"inputs": [ROW]},
            headers={"Authorization": f"Bearer {secret}"}, timeout=60.0,
        )  # fmt: skip

    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(one, targets))


def test_two_serve_processes_share_exact_quota_and_rate_limit_through_redis(
    two_servers: tuple[list[str], dict[str, str], Path],
) -> None:
    bases, keys, home = two_servers
    answers = _fire(bases, keys["small"], 40)
    outcomes = Counter((r.status_code, r.json().get("code")) for r in answers)
    assert outcomes == {(200, None): QUOTA, (429, "quota_exceeded"): 40 - QUOTA}
    used = sorted(r.json()["usage"]["used"] for r in answers if r.status_code == 200)
    assert used == list(range(1, QUOTA + 1))  # every unit counted once, across both
    ws = Workspace.open(Settings(home=home))
    try:
        with ws.db.session(SYSTEM) as s:
            records = s.execute(
                select(func.count(), func.sum(UsageRecordRow.units)).where(
                    UsageRecordRow.status == 200, UsageRecordRow.endpoint.like("%/predict")
                )
            ).one()
    finally:
        ws.close()
    assert tuple(records) == (QUOTA, QUOTA)  # usage records == 200 answers == quota

    limited = _fire(bases, keys["slow"], 14)
    outcomes = Counter((r.status_code, r.json().get("code")) for r in limited)
    assert outcomes == {(200, None): RATE, (429, "rate_limited"): 14 - RATE}
    assert all("retry-after" in r.headers for r in limited if r.status_code == 429)
