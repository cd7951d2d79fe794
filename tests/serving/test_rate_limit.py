"""Per-key rate limits over HTTP: headers, 429 with Retry-After, recovery after waiting."""

from __future__ import annotations

import pytest
from servingkit import ClientFactory, Tenants, make_tenants
from sqlalchemy import func, select

from baryon.commerce.tables import UsageRecordRow
from baryon.core.clock import FixedClock
from baryon.core.scope import SYSTEM
from baryon.tenancy.tables import ApiKeyRow
from baryon.workspace import Workspace

ROW = {"a": 1, "b": 2}


@pytest.fixture
def slow_tenants(ws: Workspace, clock: FixedClock) -> Tenants:
    """Plan ``test`` with a rate of 5 requests per minute."""
    return make_tenants(ws, clock, rate=5)


def test_burst_over_rate_429_with_retry_after_then_passes_after_waiting(
    api: ClientFactory, slow_tenants: Tenants, clock: FixedClock, ws: Workspace
) -> None:
    client = api(slow_tenants.keys["acme:developer"])
    answers = [client.post("/v1/models/adder/predict", json={"inputs": [ROW]}) for _ in range(8)]
    assert [r.status_code for r in answers] == [200] * 5 + [429] * 3
    assert [r.headers["ratelimit-remaining"] for r in answers[:5]] == ["4", "3", "2", "1", "0"]
    refused = answers[5]
    assert refused.json()["code"] == "rate_limited"
    assert refused.headers["retry-after"] == "12"  # one request per 12 s at 5/min
    assert refused.headers["ratelimit-limit"] == "5"
    assert refused.headers["ratelimit-remaining"] == "0"
    assert refused.headers["content-type"].startswith("application/problem+json")
    with ws.db.session(SYSTEM) as s:  # refused requests are not metered
        assert s.scalar(select(func.count()).select_from(UsageRecordRow)) == 5
    clock.advance(11)
    assert client.get("/v1/me").status_code == 429
    clock.advance(1)
    again = client.post("/v1/models/adder/predict", json={"inputs": [ROW]})
    assert again.status_code == 200
    assert again.headers["ratelimit-remaining"] == "0"
    clock.advance(60)
    assert client.get("/v1/me").headers["ratelimit-remaining"] == "4"


def test_rate_limit_is_per_key(api: ClientFactory, slow_tenants: Tenants) -> None:
    first = api(slow_tenants.keys["acme:developer"])
    for _ in range(5):
        first.get("/v1/me")
    assert first.get("/v1/me").status_code == 429
    assert api(slow_tenants.keys["acme:admin"]).get("/v1/me").status_code == 200


def test_every_authenticated_response_has_ratelimit_headers(
    api: ClientFactory, slow_tenants: Tenants
) -> None:
    client = api(slow_tenants.keys["acme:viewer"])
    for r in (client.get("/v1/me"), client.get("/v1/keys"), client.get("/v1/nowhere")):
        if r.status_code == 404:
            continue  # unknown routes never reach the key check
        assert {"ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"} <= set(r.headers)


def test_plan_rate_zero_admits_nothing(
    api: ClientFactory, ws: Workspace, clock: FixedClock
) -> None:
    tenants = make_tenants(ws, clock, rate=0)
    r = api(tenants.keys["acme:owner"]).get("/v1/me")
    assert r.status_code == 429
    assert r.json()["code"] == "rate_limited"
    assert r.headers["retry-after"] == "60"


def test_quota_exhaustion_429_quota_exceeded(
    api: ClientFactory, ws: Workspace, clock: FixedClock
) -> None:
    tenants = make_tenants(ws, clock, quota=2)
    client = api(tenants.keys["acme:developer"])
    codes = [client.post("/v1/models/adder/predict", json={"inputs": [ROW]}) for _ in range(3)]
    assert [r.status_code for r in codes] == [200, 200, 429]
    assert codes[2].json()["code"] == "quota_exceeded"
    assert codes[2].json()["details"]["quota"] == 2
    assert codes[2].headers["retry-after"] == str(31 * 86400)  # until the period renews


def test_quota_zero_admits_nothing(api: ClientFactory, ws: Workspace, clock: FixedClock) -> None:
    tenants = make_tenants(ws, clock, quota=0)
    r = api(tenants.keys["acme:developer"]).post("/v1/models/adder/predict", json={"inputs": [ROW]})
    assert r.status_code == 429
    assert r.json()["code"] == "quota_exceeded"


def test_last_used_kept_to_the_minute(
    api: ClientFactory, tenants: Tenants, clock: FixedClock, ws: Workspace
) -> None:
    client = api(tenants.keys["acme:viewer"])
    key_id = tenants.key_ids["acme:viewer"]

    def last_used() -> object:
        with ws.db.session(SYSTEM) as s:
            row = s.get(ApiKeyRow, key_id)
            assert row is not None
            return row.last_used_at

    assert last_used() is None
    client.get("/v1/me")
    first = last_used()
    assert first == clock.now()
    clock.advance(30)
    client.get("/v1/me")
    assert last_used() == first
    clock.advance(31)
    client.get("/v1/me")
    assert last_used() == clock.now()
