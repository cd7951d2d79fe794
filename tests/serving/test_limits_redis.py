"""Rate limits and quotas on Redis through the HTTP API: settings pick the back end, a
failed transaction gives its units back, and a Redis that goes away fails requests
closed (503 ``limiter_unavailable``, nothing admitted unmetered) until it returns."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from serverkit import free_port, start_redis, stop_server
from servingkit import PortalTransport, StaticResolver, Tenants, make_tenants
from sqlalchemy import func, select

from baryon.commerce.limits import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from baryon.commerce.quotas import QuotaCounter, RedisQuotaCounter
from baryon.commerce.tables import UsageRecordRow
from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.core.errors import DatabaseError, InvalidInput
from baryon.core.scope import SYSTEM
from baryon.predictions.tables import PredictionRow
from baryon.serving.app import create_app
from baryon.workspace import Workspace

ROW = {"a": 1, "b": 2}
PREDICT = "/v1/models/adder/predict"
Serve = Callable[[RateLimiter, QuotaCounter, str], httpx.Client]


def _counts(ws: Workspace) -> tuple[int, int]:
    """(usage records with status 200, prediction log rows)."""
    with ws.db.session(SYSTEM) as s:
        ok = s.scalar(
            select(func.count()).select_from(UsageRecordRow).where(UsageRecordRow.status == 200)
        )
        logged = s.scalar(select(func.count()).select_from(PredictionRow))
    return int(ok or 0), int(logged or 0)


@pytest.fixture
def quota_tenants(ws: Workspace, clock: FixedClock) -> Tenants:
    """Plan ``test`` with a quota of 5 units."""
    return make_tenants(ws, clock, quota=5)


@pytest.fixture
def serve(
    settings: Settings, ws: Workspace, clock: FixedClock, resolver: StaticResolver
) -> Iterator[Serve]:
    """``serve(limiter, counter, secret)`` → an httpx client of an app on those back ends."""
    transport: list[PortalTransport] = []
    opened: list[RateLimiter | QuotaCounter] = []

    def make(limiter: RateLimiter, counter: QuotaCounter, secret: str) -> httpx.Client:
        opened.extend([limiter, counter])
        app: FastAPI = create_app(
            settings, workspace=ws, clock=clock, resolver=resolver, rate_limiter=limiter,
            quota_counter=counter,
        )  # fmt: skip
        transport.append(PortalTransport(app))
        return httpx.Client(
            base_url="http://testserver", transport=transport[-1],
            headers={"Authorization": f"Bearer {secret}"},
        )  # fmt: skip

    try:
        yield make
    finally:
        for t in transport:
            t.shutdown()
        for backend in opened:
            backend.close()


@pytest.mark.redis
def test_failed_transaction_gives_its_quota_units_back_in_redis(
    serve: Serve, ws: Workspace, quota_tenants: Tenants, redis_url: str, redis_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    import baryon.serving.routers._metered as metered

    counter = RedisQuotaCounter(redis_url, prefix=redis_prefix)
    client = serve(MemoryRateLimiter(), counter, quota_tenants.keys["acme:developer"])
    assert client.post(PREDICT, json={"inputs": [ROW]}).status_code == 200

    def failing(*args: object, **kwargs: object) -> str:
        raise DatabaseError("the disk is full")

    with monkeypatch.context() as patch:  # the usage record cannot be written: rollback
        patch.setattr(metered, "record_usage", failing)
        batch = client.post(PREDICT, json={"inputs": [ROW, ROW, ROW]})
    assert batch.status_code == 503
    assert batch.json()["code"] == "database_error"
    # its 3 units came back (units reserved == units recorded): 4 more fit in 5
    answers = [client.post(PREDICT, json={"inputs": [ROW]}) for _ in range(5)]
    assert [r.status_code for r in answers] == [200] * 4 + [429]
    assert answers[-1].json()["code"] == "quota_exceeded"
    assert answers[3].json()["usage"]["used"] == 5
    assert _counts(ws) == (5, 5)


@pytest.mark.redis
def test_redis_going_away_fails_closed_503_then_recovers_without_resetting_quota(
    serve: Serve, ws: Workspace, quota_tenants: Tenants, tmp_path: Path, redis_url: str
) -> None:  # redis_url: run where the test Redis (and so redis-server) is set up
    """Redis stops mid-traffic: every request is refused 503 ``limiter_unavailable`` and
    nothing is admitted or metered; a new, empty Redis on the same port is used at once,
    its quota counter made again from the usage records (not from zero)."""
    port = free_port()
    server = start_redis(port, tmp_path)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = serve(
            RedisRateLimiter(url, timeout=1.0), RedisQuotaCounter(url, timeout=1.0),
            quota_tenants.keys["acme:developer"],
        )  # fmt: skip
        assert [client.post(PREDICT, json={"inputs": [ROW]}).status_code for _ in range(3)] == [
            200
        ] * 3
        stop_server(server)
        down = [client.post(PREDICT, json={"inputs": [ROW]}) for _ in range(3)]
        assert [r.status_code for r in down] == [503] * 3
        problem = down[0].json()
        assert problem["code"] == "limiter_unavailable"
        assert problem["type"] == "urn:baryon:problem:limiter_unavailable"
        assert down[0].headers["content-type"].startswith("application/problem+json")
        assert "Traceback" not in down[0].text
        assert client.get("/v1/me").status_code == 503  # every authenticated route
        assert _counts(ws) == (3, 3)  # never admitted unmetered
        server = start_redis(port, tmp_path)  # back, empty (no persistence)
        again = [client.post(PREDICT, json={"inputs": [ROW]}) for _ in range(3)]
        assert [r.status_code for r in again] == [200, 200, 429]
        assert again[1].json()["usage"]["used"] == 5  # 3 recorded before + 2
        assert again[2].json()["code"] == "quota_exceeded"
        assert _counts(ws) == (5, 5)
    finally:
        stop_server(server)


def test_quota_counter_unreachable_refuses_metered_request_and_writes_nothing(
    serve: Serve, ws: Workspace, quota_tenants: Tenants
) -> None:
    """With the rate limiter elsewhere, the quota reservation itself fails closed."""
    pytest.importorskip("redis", reason="the redis client is not installed")
    dead = f"redis://127.0.0.1:{free_port()}/0"
    client = serve(
        MemoryRateLimiter(), RedisQuotaCounter(dead, timeout=0.5),
        quota_tenants.keys["acme:developer"],
    )  # fmt: skip
    answer = client.post(PREDICT, json={"inputs": [ROW]})
    assert answer.status_code == 503
    assert answer.json()["code"] == "limiter_unavailable"
    assert client.get("/v1/me").status_code == 200  # unmetered routes still answer
    assert _counts(ws) == (0, 0)


@pytest.mark.parametrize("limits", ["redis", "redis://127.0.0.1:1/0", "rediss://127.0.0.1:1/0"])
def test_limits_setting_puts_rate_limits_and_quotas_on_redis(
    settings: Settings, ws: Workspace, limits: str
) -> None:
    pytest.importorskip("redis", reason="the redis client is not installed")
    configured = settings.model_copy(
        update={"limits": limits, "redis_url": "redis://127.0.0.1:1/0"}
    )
    state = create_app(configured, workspace=ws).state.baryon
    try:
        assert isinstance(state.limiter, RedisRateLimiter)
        assert isinstance(state.quota, RedisQuotaCounter)
    finally:
        state.limiter.close()
        state.quota.close()


@pytest.mark.parametrize(("limits", "kind"), [("database", "Database"), ("memory", "Memory")])
def test_limits_setting_database_or_memory_keeps_quotas_in_the_database(
    settings: Settings, ws: Workspace, limits: str, kind: str
) -> None:
    state = create_app(settings.model_copy(update={"limits": limits}), workspace=ws).state.baryon
    assert type(state.limiter).__name__ == f"{kind}RateLimiter"
    assert type(state.quota).__name__ == "DatabaseQuotaCounter"


def test_limits_setting_redis_without_redis_url_refused_at_start(
    settings: Settings, ws: Workspace
) -> None:
    with pytest.raises(InvalidInput) as err:
        create_app(settings.model_copy(update={"limits": "redis"}), workspace=ws)
    assert err.value.code == "unsupported_rate_limiter"
    assert "BARYON_REDIS_URL" in err.value.message
