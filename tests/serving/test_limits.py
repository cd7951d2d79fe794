"""Rate limits: the GCRA arithmetic, and one conformance suite every back end passes."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest
from serverkit import free_port
from threadkit import together

from baryon.commerce.limits import (
    DatabaseRateLimiter,
    MemoryRateLimiter,
    RateLimitDecision,
    RateLimiter,
    RedisRateLimiter,
    gcra,
    open_rate_limiter,
)
from baryon.core.errors import InvalidInput, LimiterUnavailable, MissingDependency
from baryon.workspace import Workspace

T0 = 1_800_000_000.0  # an epoch second


def test_gcra_first_request_allowed_with_full_allowance_less_one() -> None:
    decision, tat = gcra(None, T0, 60)
    assert decision.allowed
    assert decision.remaining == 59
    assert tat == pytest.approx(T0 + 1.0)
    assert decision.reset_after == pytest.approx(1.0)


def test_gcra_burst_of_rate_then_refused_with_retry_after_one_interval() -> None:
    tat = None
    for i in range(60):
        decision, tat = gcra(tat, T0, 60)
        assert decision.allowed, i
    assert decision.remaining == 0
    refused, unchanged = gcra(tat, T0, 60)
    assert not refused.allowed
    assert unchanged is None
    assert refused.retry_after == pytest.approx(1.0)
    assert refused.headers()["Retry-After"] == "1"


def test_gcra_refills_one_request_per_interval() -> None:
    tat = None
    for _ in range(6):
        _, tat = gcra(tat, T0, 6)  # 6/min: one every 10 s
    assert not gcra(tat, T0 + 9.9, 6)[0].allowed
    decision, _ = gcra(tat, T0 + 10.0, 6)
    assert decision.allowed
    assert decision.remaining == 0


def test_gcra_rate_zero_admits_nothing() -> None:
    decision, tat = gcra(None, T0, 0)
    assert not decision.allowed
    assert tat is None
    assert decision.headers()["Retry-After"] == "60"


def test_decision_headers_round_seconds_up() -> None:
    d = RateLimitDecision(True, 10, 3, 12.2, 0.0)
    assert d.headers() == {
        "RateLimit-Limit": "10",
        "RateLimit-Remaining": "3",
        "RateLimit-Reset": "13",
    }


def test_open_rate_limiter_names(ws: Workspace) -> None:
    assert isinstance(open_rate_limiter("database", ws.db), DatabaseRateLimiter)
    assert isinstance(open_rate_limiter("memory", ws.db), MemoryRateLimiter)
    pytest.importorskip("redis", reason="the redis client is not installed")
    for name, server in [("redis://127.0.0.1:1/0", None), ("redis", "redis://127.0.0.1:1/0"),
                         ("rediss://127.0.0.1:1/0", None)]:  # fmt: skip
        limiter = open_rate_limiter(name, ws.db, redis_url=server)  # connects on first use
        assert isinstance(limiter, RedisRateLimiter)
        limiter.close()


@pytest.mark.parametrize(
    ("name", "server"),
    [
        ("redis", None),
        ("redis", ""),
        ("memcached://localhost", None),
        ("Database", None),
        ("", None),
    ],
)
def test_open_rate_limiter_unknown_or_redis_without_url_refused(
    ws: Workspace, name: str, server: str | None
) -> None:
    with pytest.raises(InvalidInput) as err:
        open_rate_limiter(name, ws.db, redis_url=server)
    assert err.value.code == "unsupported_rate_limiter"


def test_redis_limiter_unreachable_fails_closed_with_limiter_unavailable(ws: Workspace) -> None:
    pytest.importorskip("redis", reason="the redis client is not installed")
    limiter = RedisRateLimiter(f"redis://127.0.0.1:{free_port()}/0", timeout=0.5)
    try:
        with pytest.raises(LimiterUnavailable) as err:
            limiter.hit("key:a", rate_per_minute=5, now=T0)
    finally:
        limiter.close()
    assert err.value.code == "limiter_unavailable"
    assert err.value.http_status == 503


def test_redis_limiter_without_client_raises_missing_dependency(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(MissingDependency) as err:
        open_rate_limiter("redis://127.0.0.1:1/0", ws.db)
    assert "baryon[redis]" in err.value.message


# ------------------------------------------------------------ conformance suite
@pytest.fixture(params=["memory", "database", pytest.param("redis", marks=pytest.mark.redis)])
def limiter(request: pytest.FixtureRequest, ws: Workspace) -> Iterator[RateLimiter]:
    if request.param == "redis":  # a key prefix of this test's own: runs do not collide
        url = request.getfixturevalue("redis_url")
        backend = open_rate_limiter(url, ws.db, prefix=request.getfixturevalue("redis_prefix"))
    else:
        backend = open_rate_limiter(request.param, ws.db)
    yield backend
    backend.close()


class TestRateLimiterConformance:
    """What every back end must do (run once per back end)."""

    def test_burst_then_refusal_then_recovery(self, limiter: RateLimiter) -> None:
        results = [limiter.hit("key:a", rate_per_minute=5, now=T0).allowed for _ in range(7)]
        assert results == [True] * 5 + [False] * 2
        assert not limiter.hit("key:a", rate_per_minute=5, now=T0 + 11.9).allowed
        assert limiter.hit("key:a", rate_per_minute=5, now=T0 + 12.0).allowed

    def test_subjects_are_independent(self, limiter: RateLimiter) -> None:
        for _ in range(3):
            limiter.hit("key:a", rate_per_minute=3, now=T0)
        assert not limiter.hit("key:a", rate_per_minute=3, now=T0).allowed
        assert limiter.hit("key:b", rate_per_minute=3, now=T0).allowed

    def test_refusals_do_not_push_the_wait_out(self, limiter: RateLimiter) -> None:
        for _ in range(2):
            limiter.hit("key:a", rate_per_minute=2, now=T0)
        for _ in range(50):
            assert not limiter.hit("key:a", rate_per_minute=2, now=T0).allowed
        assert limiter.hit("key:a", rate_per_minute=2, now=T0 + 30.0).allowed

    def test_lower_rate_applies_at_once(self, limiter: RateLimiter) -> None:
        limiter.hit("key:a", rate_per_minute=100, now=T0)
        decision = limiter.hit("key:a", rate_per_minute=1, now=T0)
        assert not decision.allowed

    def test_concurrent_hits_admit_exactly_the_burst(self, limiter: RateLimiter) -> None:
        def burst() -> list[bool]:
            return [limiter.hit("key:c", rate_per_minute=20, now=T0).allowed for _ in range(4)]

        allowed = [ok for oks in together(16, burst) for ok in oks]
        assert len(allowed) == 64
        assert sum(allowed) == 20


def test_database_limiter_shared_between_two_workspaces(ws: Workspace) -> None:
    other = Workspace.open(ws.settings)  # a second "worker": its own engine, same file
    try:
        a, b = DatabaseRateLimiter(ws.db), DatabaseRateLimiter(other.db)
        assert a.hit("key:a", rate_per_minute=2, now=T0).allowed
        assert b.hit("key:a", rate_per_minute=2, now=T0).allowed
        assert not a.hit("key:a", rate_per_minute=2, now=T0).allowed
        assert not b.hit("key:a", rate_per_minute=2, now=T0).allowed
    finally:
        other.close()


@pytest.mark.redis
def test_redis_limiter_shared_between_two_clients_and_buckets_expire(
    redis_url: str, redis_prefix: str
) -> None:
    a = RedisRateLimiter(redis_url, prefix=redis_prefix)
    b = RedisRateLimiter(redis_url, prefix=redis_prefix)
    try:
        assert a.hit("key:a", rate_per_minute=2, now=T0).allowed
        assert b.hit("key:a", rate_per_minute=2, now=T0).allowed
        assert not a.hit("key:a", rate_per_minute=2, now=T0).allowed
        assert not b.hit("key:a", rate_per_minute=2, now=T0).allowed
        ttl_ms = a._client.pttl(f"{redis_prefix}rl:key:a")
    finally:
        a.close()
        b.close()
    # tat is T0 + 60 after two hits at 2/min: the bucket is whole again in 60 s, gone in 61
    assert 60_000 < ttl_ms <= 61_000
