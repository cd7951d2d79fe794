"""Exactly-once metering under real concurrency, and idempotent replays.

The quota test runs three app instances, each with its own workspace (own engine,
own in-process lock) on the same SQLite file, like three uvicorn workers: only the
database can keep the count right.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from servingkit import ClientFactory, PortalTransport, Tenants, make_resolver
from sqlalchemy import func, select

from baryon.commerce.orgs import create_org
from baryon.commerce.plans import create_plan
from baryon.commerce.tables import IdempotencyRow, UsageRecordRow
from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.core.scope import SYSTEM
from baryon.predictions.tables import PredictionRow
from baryon.serving.app import create_app
from baryon.tenancy.keys import create_key
from baryon.workspace import Workspace

ROW = {"a": 1, "b": 2}
WORKERS = 3


@dataclass
class Cluster:
    workspaces: list[Workspace]
    transports: list[PortalTransport]


@pytest.fixture
def cluster(settings: Settings, ws: Workspace, clock: FixedClock) -> Iterator[Cluster]:
    """Three apps on one database file, as ``baryon serve --workers 3`` would run."""
    workspaces = [ws] + [Workspace.open(settings, clock=clock) for _ in range(WORKERS - 1)]
    transports = [
        PortalTransport(create_app(settings, workspace=w, clock=clock, resolver=make_resolver()))
        for w in workspaces
    ]
    yield Cluster(workspaces, transports)
    for t in transports:
        t.shutdown()
    for w in workspaces[1:]:
        w.close()


def _burst(clients: list[httpx.Client], n: int) -> list[tuple[int, str]]:
    """Send ``n`` predictions at once (threads released together), round-robin on clients."""
    statuses: list[tuple[int, str]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(n)

    def call(i: int) -> None:
        barrier.wait()
        r = clients[i % len(clients)].post("/v1/models/adder/predict", json={"inputs": [ROW]})
        code = r.json().get("code", "") if r.status_code != 200 else ""
        with lock:
            statuses.append((r.status_code, code))

    threads = [threading.Thread(target=call, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses


def _count(ws: Workspace, table: type, org_id: str) -> int:
    with ws.db.session(SYSTEM) as s:
        return int(
            s.scalar(select(func.count()).select_from(table).where(table.org_id == org_id)) or 0
        )


def test_quota_10_against_30_concurrent_requests_repeated_20_times(
    cluster: Cluster, ws: Workspace, clock: FixedClock
) -> None:
    with ws.db.session(SYSTEM) as s:
        create_plan(s, name="ten", quota=10, rate_per_minute=100_000, clock=clock)
    for rep in range(20):
        with ws.db.session(SYSTEM) as s:
            org = create_org(s, name=f"rep{rep}", plan="ten", clock=clock)
            secret = create_key(s, org_id=org.id, role="developer", clock=clock).secret
        clients = [
            httpx.Client(
                base_url="http://testserver",
                transport=t,
                headers={"Authorization": f"Bearer {secret}"},
            )
            for t in cluster.transports
        ]
        statuses = _burst(clients, 30)
        for c in clients:
            c.close()
        counts = Counter(statuses)
        assert counts == {(200, ""): 10, (429, "quota_exceeded"): 20}, (rep, counts)
        assert _count(ws, UsageRecordRow, org.id) == 10, rep
        assert _count(ws, PredictionRow, org.id) == 10, rep


def _idem(client: httpx.Client, key: str, body: dict[str, object]) -> httpx.Response:
    return client.post("/v1/models/adder/predict", json=body, headers={"Idempotency-Key": key})


def test_idempotent_replay_three_times_meters_once_identical_bodies(
    api: ClientFactory, tenants: Tenants, ws: Workspace
) -> None:
    client = api(tenants.keys["acme:developer"])
    responses = [_idem(client, "order-42", {"inputs": [ROW]}) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert responses[0].content == responses[1].content == responses[2].content
    assert "idempotent-replayed" not in responses[0].headers
    assert responses[1].headers["idempotent-replayed"] == "true"
    org = tenants.org_ids["acme"]
    assert _count(ws, UsageRecordRow, org) == 1
    assert _count(ws, PredictionRow, org) == 1
    fresh = _idem(client, "order-43", {"inputs": [ROW]})
    assert fresh.json()["prediction_id"] != responses[0].json()["prediction_id"]
    assert _count(ws, UsageRecordRow, org) == 2


def test_idempotency_key_reused_with_other_body_422(
    api: ClientFactory, tenants: Tenants, ws: Workspace
) -> None:
    client = api(tenants.keys["acme:developer"])
    assert _idem(client, "k1", {"inputs": [ROW]}).status_code == 200
    other = _idem(client, "k1", {"inputs": [{"a": 5, "b": 5}]})
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert _count(ws, UsageRecordRow, tenants.org_ids["acme"]) == 1


def test_idempotency_keys_are_per_api_key(api: ClientFactory, tenants: Tenants) -> None:
    a = _idem(api(tenants.keys["acme:developer"]), "same", {"inputs": [ROW]})
    b = _idem(api(tenants.keys["acme:admin"]), "same", {"inputs": [ROW]})
    assert a.json()["prediction_id"] != b.json()["prediction_id"]


def test_idempotent_concurrent_retries_meter_once(
    api: ClientFactory, tenants: Tenants, ws: Workspace
) -> None:
    client = api(tenants.keys["acme:developer"])
    bodies: list[bytes] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def call() -> None:
        barrier.wait()
        r = _idem(client, "burst", {"inputs": [ROW]})
        assert r.status_code == 200
        with lock:
            bodies.append(r.content)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(bodies)) == 1
    assert _count(ws, UsageRecordRow, tenants.org_ids["acme"]) == 1
    with ws.db.session(SYSTEM) as s:
        assert s.scalar(select(func.count()).select_from(IdempotencyRow)) == 1


def test_idempotent_feedback_replay_not_conflict(api: ClientFactory, tenants: Tenants) -> None:
    client = api(tenants.keys["acme:developer"])
    pid = client.post("/v1/models/adder/predict", json={"inputs": [ROW]}).json()["prediction_id"]
    body = {"prediction_id": pid, "label": 3.0}
    first = client.post("/v1/feedback", json=body, headers={"Idempotency-Key": "fb-1"})
    again = client.post("/v1/feedback", json=body, headers={"Idempotency-Key": "fb-1"})
    assert first.status_code == again.status_code == 201
    assert first.content == again.content


def test_idempotency_key_on_key_creation_refused(api: ClientFactory, tenants: Tenants) -> None:
    r = api(tenants.keys["acme:owner"]).post(
        "/v1/keys", json={"role": "viewer"}, headers={"Idempotency-Key": "k"}
    )
    assert r.status_code == 422
    assert r.json()["code"] == "idempotency_not_supported"


def test_idempotency_key_malformed_refused(api: ClientFactory, tenants: Tenants) -> None:
    r = _idem(api(tenants.keys["acme:developer"]), "bad key with spaces", {"inputs": [ROW]})
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_idempotency_key"
