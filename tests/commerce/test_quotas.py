"""Quota counters: one conformance suite every back end passes (database, Redis), and
what only the Redis back end has (made from the usage records, given back, expiry)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from pgkit import fresh_database
from serverkit import free_port
from sqlalchemy import func, select, update
from threadkit import together

from baryon.commerce.metering import QuotaState, record_usage, recorded_units
from baryon.commerce.orgs import Subscription, active_subscription, create_org
from baryon.commerce.plans import create_plan
from baryon.commerce.quotas import (
    COUNTER_GRACE,
    DatabaseQuotaCounter,
    QuotaCounter,
    RedisQuotaCounter,
    open_quota_counter,
)
from baryon.commerce.tables import PlanRow, UsageRecordRow
from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.core.errors import InvalidInput, LimiterUnavailable, QuotaExceeded
from baryon.core.scope import SYSTEM
from baryon.workspace import Workspace


def _sub(ws: Workspace, clock: FixedClock, *, quota: int, overage: bool = False) -> Subscription:
    with ws.db.session(SYSTEM) as s:
        create_plan(
            s, name="q", quota=max(quota, 1), rate_per_minute=1000,
            overage_price="0.50" if overage else None,
            features=["overage"] if overage else [], clock=clock,
        )  # fmt: skip
        if quota == 0:  # refused at creation since 0013; a plan made before may hold it
            s.execute(update(PlanRow).where(PlanRow.name == "q").values(quota=0))
        org = create_org(s, name="acme", plan="q", clock=clock)
        sub = active_subscription(s, org.id)
    assert sub is not None
    return sub


def _metered(
    ws: Workspace, counter: QuotaCounter, sub: Subscription, clock: FixedClock, units: int = 1,
    *, fail: bool = False,
) -> int:  # fmt: skip
    """What a metered request does: reserve, write its usage record, commit; on a failed
    transaction give the units back. Returns ``used`` after the reservation."""
    state = None
    try:
        with ws.db.session(SYSTEM) as s:
            state = counter.reserve(s, sub, units=units, now=clock.now())
            record_usage(
                s, org_id=sub.org_id, key_id=None, endpoint="/x", units=units, status=200,
                latency_ms=0.0, period_start=state.period_start, clock=clock,
            )  # fmt: skip
            if fail:
                raise RuntimeError("the transaction fails after the reservation")
    except RuntimeError:
        assert state is not None
        counter.give_back(state, sub.org_id, units=units)
        raise
    return state.used


def _records(ws: Workspace) -> int:
    with ws.db.session(SYSTEM) as s:
        return int(s.scalar(select(func.count()).select_from(UsageRecordRow)) or 0)


@pytest.fixture(params=["database", pytest.param("redis", marks=pytest.mark.redis)])
def counter(request: pytest.FixtureRequest) -> Iterator[QuotaCounter]:
    if request.param == "redis":  # a key prefix of this test's own: runs do not collide
        backend = open_quota_counter(
            request.getfixturevalue("redis_url"), prefix=request.getfixturevalue("redis_prefix")
        )
    else:
        backend = open_quota_counter("database")
    yield backend
    backend.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(
    request: pytest.FixtureRequest, settings: Settings, clock: FixedClock
) -> Iterator[Workspace]:
    """The workspace the usage records go to: SQLite, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield request.getfixturevalue("workspace")
        return
    with fresh_database("baryon_quotas") as url:
        ws = Workspace.open(settings.model_copy(update={"database_url": url}), clock=clock)
        try:
            yield ws
        finally:
            ws.close()


class TestQuotaCounterConformance:
    """What every back end must do (run once per back end, on SQLite and PostgreSQL)."""

    def test_counts_up_then_refuses_with_details(
        self, counter: QuotaCounter, store: Workspace, clock: FixedClock
    ) -> None:
        sub = _sub(store, clock, quota=2)
        assert [_metered(store, counter, sub, clock) for _ in range(2)] == [1, 2]
        with pytest.raises(QuotaExceeded) as err:
            _metered(store, counter, sub, clock)
        assert err.value.code == "quota_exceeded"
        details = err.value.details
        assert (details["quota"], details["used"], details["units"]) == (2, 2, 1)
        assert details["period_end"] == "2026-02-01T00:00:00+00:00"
        assert details["retry_after"] == 31 * 86400
        assert _records(store) == 2

    def test_batch_over_what_is_left_refused_whole(
        self, counter: QuotaCounter, store: Workspace, clock: FixedClock
    ) -> None:
        sub = _sub(store, clock, quota=5)
        assert _metered(store, counter, sub, clock, units=3) == 3
        with pytest.raises(QuotaExceeded) as err:
            _metered(store, counter, sub, clock, units=3)
        assert "needs 3 units and 2" in err.value.message
        assert _metered(store, counter, sub, clock, units=2) == 5

    def test_zero_units_only_reads_and_negative_refused(
        self, counter: QuotaCounter, store: Workspace, clock: FixedClock
    ) -> None:
        sub = _sub(store, clock, quota=0)
        with store.db.session(SYSTEM) as s:
            state = counter.reserve(s, sub, units=0, now=clock.now())
            with pytest.raises(ValueError, match="units"):
                counter.reserve(s, sub, units=-1, now=clock.now())
        assert (state.quota, state.used) == (0, 0)
        with pytest.raises(QuotaExceeded):  # a quota of 0 admits nothing
            _metered(store, counter, sub, clock)

    def test_renews_next_period(
        self, counter: QuotaCounter, store: Workspace, clock: FixedClock
    ) -> None:
        sub = _sub(store, clock, quota=1)
        _metered(store, counter, sub, clock)
        clock.advance(31 * 86400)
        assert _metered(store, counter, sub, clock) == 1

    def test_overage_plan_is_never_refused(
        self, counter: QuotaCounter, store: Workspace, clock: FixedClock
    ) -> None:
        sub = _sub(store, clock, quota=1, overage=True)
        assert [_metered(store, counter, sub, clock) for _ in range(3)] == [1, 2, 3]

    def test_failed_transaction_gives_its_units_back(
        self, counter: QuotaCounter, store: Workspace, clock: FixedClock
    ) -> None:
        sub = _sub(store, clock, quota=2)
        _metered(store, counter, sub, clock)
        with pytest.raises(RuntimeError):
            _metered(store, counter, sub, clock, fail=True)
        assert _metered(store, counter, sub, clock) == 2  # units reserved == recorded
        assert _records(store) == 2

    def test_30_threads_against_quota_10_admit_exactly_10(
        self, counter: QuotaCounter, store: Workspace, clock: FixedClock
    ) -> None:
        sub = _sub(store, clock, quota=10)

        def request() -> bool:
            try:
                _metered(store, counter, sub, clock)
            except QuotaExceeded:
                return False
            return True

        admitted = together(30, request)
        assert len(admitted) == 30
        assert sum(admitted) == 10
        assert _records(store) == 10


def test_open_quota_counter_names() -> None:
    assert isinstance(open_quota_counter("database"), DatabaseQuotaCounter)
    assert isinstance(open_quota_counter("memory"), DatabaseQuotaCounter)  # quotas stay shared
    pytest.importorskip("redis", reason="the redis client is not installed")
    counter = open_quota_counter("redis", redis_url="redis://127.0.0.1:1/0")
    assert isinstance(counter, RedisQuotaCounter)
    counter.close()
    with pytest.raises(InvalidInput) as err:
        open_quota_counter("redis")
    assert err.value.code == "unsupported_rate_limiter"


def test_redis_counter_unreachable_fails_closed(workspace: Workspace, clock: FixedClock) -> None:
    pytest.importorskip("redis", reason="the redis client is not installed")
    sub = _sub(workspace, clock, quota=5)
    counter = RedisQuotaCounter(f"redis://127.0.0.1:{free_port()}/0", timeout=0.5)
    try:
        with pytest.raises(LimiterUnavailable) as err:
            _metered(workspace, counter, sub, clock)
        # a give-back that cannot reach Redis is logged, never raised
        counter.give_back(_state_of(sub, clock, "g"), sub.org_id, units=1)
    finally:
        counter.close()
    assert err.value.http_status == 503
    assert _records(workspace) == 0  # nothing admitted unmetered


def _state_of(sub: Subscription, clock: FixedClock, generation: str) -> QuotaState:
    start, end = sub.period(clock.now())
    return QuotaState(sub.plan.quota, 1, start, end, generation)


@pytest.fixture
def redis_counter(redis_url: str, redis_prefix: str) -> Iterator[RedisQuotaCounter]:
    counter = RedisQuotaCounter(redis_url, prefix=redis_prefix)
    yield counter
    counter.close()


@pytest.mark.redis
def test_redis_counter_lost_is_made_again_from_the_usage_records(
    redis_counter: RedisQuotaCounter, workspace: Workspace, clock: FixedClock
) -> None:
    """A Redis restart or flush resets nobody's quota: the records are the record."""
    sub = _sub(workspace, clock, quota=10)
    for units in (3, 4):
        _metered(workspace, redis_counter, sub, clock, units=units)
    key = redis_counter.key(sub.org_id, sub.period(clock.now())[0])
    redis_counter._client.delete(key)  # what FLUSHALL or a restart without persistence does
    with workspace.db.session(SYSTEM) as s:
        assert recorded_units(s, sub.org_id, *sub.period(clock.now())) == 7
        assert redis_counter.reserve(s, sub, units=0, now=clock.now()).used == 7
    assert not redis_counter._client.exists(key)  # reading made nothing
    assert _metered(workspace, redis_counter, sub, clock, units=3) == 10
    with pytest.raises(QuotaExceeded):
        _metered(workspace, redis_counter, sub, clock)


@pytest.mark.redis
def test_redis_counter_give_back_to_a_remade_counter_is_dropped(
    redis_counter: RedisQuotaCounter, workspace: Workspace, clock: FixedClock
) -> None:
    """A reservation of a lost counter is not given back to its successor, which was made
    from the committed records and never counted it."""
    sub = _sub(workspace, clock, quota=10)
    with workspace.db.session(SYSTEM) as s:
        state = redis_counter.reserve(s, sub, units=2, now=clock.now())  # never recorded
    key = redis_counter.key(sub.org_id, state.period_start)
    redis_counter._client.delete(key)
    assert _metered(workspace, redis_counter, sub, clock) == 1
    redis_counter.give_back(state, sub.org_id, units=2)
    assert int(redis_counter._client.hget(key, "used")) == 1


@pytest.mark.redis
def test_redis_counter_expires_a_day_after_its_period(
    redis_counter: RedisQuotaCounter, workspace: Workspace, clock: FixedClock
) -> None:
    sub = _sub(workspace, clock, quota=10)
    _metered(workspace, redis_counter, sub, clock)
    start, end = sub.period(clock.now())
    assert start == datetime(2026, 1, 1, tzinfo=UTC)
    key = redis_counter.key(sub.org_id, start)
    assert key == f"{redis_counter._prefix}quota:{sub.org_id}:2026-01-01T00:00:00+00:00"
    ttl = redis_counter._client.ttl(key)  # seconds, from the caller's clock (2026-01-01)
    assert (end + COUNTER_GRACE - clock.now()).total_seconds() - 5 < ttl <= 32 * 86400
