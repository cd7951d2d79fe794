"""Metering: usage records, idempotency records, reports, and what only the database quota
counter does (the quota counters' shared behaviour is the conformance suite of
``tests/commerce/test_quotas.py``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from baryon.commerce.metering import (
    IDEMPOTENCY_TTL,
    StoredResponse,
    check_idempotency_key,
    find_replay,
    period_report,
    record_usage,
    release_quota,
    request_fingerprint,
    reserve_quota,
    store_replay,
    usage_report,
)
from baryon.commerce.orgs import Subscription, active_subscription, create_org
from baryon.commerce.plans import create_plan
from baryon.commerce.tables import PlanRow
from baryon.core.clock import FixedClock
from baryon.core.errors import InvalidInput
from baryon.core.scope import SYSTEM
from baryon.workspace import Workspace


def _org(ws: Workspace, clock: FixedClock, *, quota: int, features: list[str] | None = None,
         overage: str | None = None) -> Subscription:  # fmt: skip
    with ws.db.session(SYSTEM) as s:
        plan = create_plan(
            s, name="q", quota=max(quota, 1), rate_per_minute=1000, overage_price=overage,
            features=features or [], clock=clock,
        )  # fmt: skip
        if quota == 0:  # refused at creation since 0013; a plan made before may hold it
            s.execute(update(PlanRow).where(PlanRow.id == plan.id).values(quota=0))
        org = create_org(s, name="acme", plan="q", clock=clock)
        sub = active_subscription(s, org.id)
    assert sub is not None
    return sub


def test_reserve_quota_zero_units_reads_without_writing(ws: Workspace, clock: FixedClock) -> None:
    sub = _org(ws, clock, quota=0)
    with ws.db.session(SYSTEM) as s:
        state = reserve_quota(s, sub, units=0, now=clock.now())
    assert (state.quota, state.used) == (0, 0)
    assert ws.db.table_counts()["quota_counters"] == 0
    with ws.db.session(SYSTEM) as s, pytest.raises(ValueError, match="units"):
        reserve_quota(s, sub, units=-1, now=clock.now())


def test_reserve_quota_overage_plan_admits_beyond_quota(ws: Workspace, clock: FixedClock) -> None:
    sub = _org(ws, clock, quota=1, features=["overage"], overage="0.50")
    with ws.db.session(SYSTEM) as s:
        for _ in range(3):  # as a metered request: the counter and a usage record
            state = reserve_quota(s, sub, units=1, now=clock.now())
            record_usage(
                s, org_id=sub.org_id, key_id=None, endpoint="/v1/models/{name}/predict",
                units=1, status=200, latency_ms=1.0, period_start=state.period_start, clock=clock,
            )  # fmt: skip
        report = period_report(s, sub, clock.now())
    assert state.used == 3
    assert report["charge"]["overage_units"] == 2
    assert report["charge"]["total"] == "1.00"
    assert report["remaining"] == 0


def test_period_charge_is_the_invoice_computation(ws: Workspace, clock: FixedClock) -> None:
    """/v1/usage's charge so far is the period's invoice (tax, discount, credit included),
    not an estimate of its own: closing the period gives the same total."""
    from baryon.commerce.accounts import grant_credit, set_billing_account
    from baryon.commerce.billing import close_billing

    sub = _org(ws, clock, quota=2, features=["overage"], overage="0.125")
    with ws.db.session(SYSTEM) as s:
        set_billing_account(s, sub.org_id, tax_rate="20", discount_percent="10", clock=clock)
        grant_credit(s, sub.org_id, "0.05", reason="goodwill", clock=clock)
        for units in (1, 2, 3):
            record_usage(
                s, org_id=sub.org_id, key_id=None, endpoint="/v1/support/answer", units=units,
                status=200, latency_ms=1.0, period_start=clock.now(), clock=clock,
            )  # fmt: skip
        charge = period_report(s, sub, clock.now())["charge"]
    # 6 units, 4 over the quota x 0.125 = 0.50; subtotal 0.50 (price 0); discount 10 %
    # 0.05; tax 20 % of 0.45 = 0.09; 0.54 due, less 0.05 credit = 0.49
    assert charge == {
        "monthly": "0.00", "overage_units": 4, "overage": "0.50", "routes": "0.00",
        "subtotal": "0.50", "discount": "0.05", "tax": "0.09", "credit_applied": "0.05",
        "total": "0.49", "currency": "USD",
    }  # fmt: skip
    clock.advance(32 * 86400)
    report = close_billing(ws.db, clock=clock)
    assert [str(inv.total) for inv in report.created] == [charge["total"]]


def test_release_quota_gives_units_back(ws: Workspace, clock: FixedClock) -> None:
    sub = _org(ws, clock, quota=1)
    with ws.db.session(SYSTEM) as s:
        state = reserve_quota(s, sub, units=1, now=clock.now())
        release_quota(s, state, sub.org_id, units=1)
        assert reserve_quota(s, sub, units=1, now=clock.now()).used == 1


@pytest.mark.parametrize("key", ["", " ", "a" * 256, "tab\tkey", "é"])
def test_check_idempotency_key_bad_refused(key: str) -> None:
    with pytest.raises(InvalidInput):
        check_idempotency_key(key)


def test_request_fingerprint_depends_on_every_part() -> None:
    base = request_fingerprint("POST", "/v1/x", "a=1", b"{}")
    assert base != request_fingerprint("POST", "/v1/y", "a=1", b"{}")
    assert base != request_fingerprint("POST", "/v1/x", "a=2", b"{}")
    assert base != request_fingerprint("POST", "/v1/x", "a=1", b"{ }")
    assert base != request_fingerprint("PUT", "/v1/x", "a=1", b"{}")
    assert base == request_fingerprint("post", "/v1/x", "a=1", b"{}")


def test_idempotency_replay_mismatch_and_expiry(ws: Workspace, clock: FixedClock) -> None:
    sub = _org(ws, clock, quota=1)
    stored = StoredResponse(200, '{"ok":true}')
    with ws.db.session(SYSTEM) as s:
        assert (
            find_replay(s, key_id="k", idempotency_key="i", fingerprint="f", now=clock.now())
            is None
        )
        store_replay(
            s, key_id="k", org_id=sub.org_id, idempotency_key="i", fingerprint="f",
            response=stored, now=clock.now(),
        )  # fmt: skip
    with ws.db.session(SYSTEM) as s:
        assert (
            find_replay(s, key_id="k", idempotency_key="i", fingerprint="f", now=clock.now())
            == stored
        )
        assert (
            find_replay(s, key_id="other", idempotency_key="i", fingerprint="f", now=clock.now())
            is None
        )
        with pytest.raises(InvalidInput) as err:
            find_replay(s, key_id="k", idempotency_key="i", fingerprint="g", now=clock.now())
        assert err.value.code == "idempotency_key_reused"
    later = clock.now() + IDEMPOTENCY_TTL + timedelta(seconds=1)
    with ws.db.session(SYSTEM) as s:
        assert find_replay(s, key_id="k", idempotency_key="i", fingerprint="g", now=later) is None


def test_usage_report_groups_and_counts_errors(ws: Workspace, clock: FixedClock) -> None:
    sub = _org(ws, clock, quota=100)
    start = clock.now()
    with ws.db.session(SYSTEM) as s:
        for endpoint, key, status, units in [
            ("/a", "k1", 200, 1), ("/a", "k2", 200, 1), ("/b", "k1", 422, 0),
        ]:  # fmt: skip
            record_usage(
                s, org_id=sub.org_id, key_id=key, endpoint=endpoint, units=units, status=status,
                latency_ms=1.0, period_start=start, clock=clock,
            )  # fmt: skip
        clock.advance(86400)
        record_usage(
            s, org_id=sub.org_id, key_id="k1", endpoint="/a", units=1, status=200,
            latency_ms=1.0, period_start=start, clock=clock,
        )  # fmt: skip
    end = clock.now() + timedelta(seconds=1)
    with ws.db.session(SYSTEM) as s:
        by_endpoint = usage_report(s, sub.org_id, start=start, end=end, group_by="endpoint")
        by_key = usage_report(s, sub.org_id, start=start, end=end, group_by="key")
        by_day = usage_report(s, sub.org_id, start=start, end=end, group_by="day")
        first_day = usage_report(
            s, sub.org_id, start=start, end=start + timedelta(days=1), group_by="endpoint"
        )
    assert by_endpoint == [
        {"group": "/a", "requests": 3, "units": 3, "errors": 0},
        {"group": "/b", "requests": 1, "units": 0, "errors": 1},
    ]
    assert [(g["group"], g["requests"]) for g in by_key] == [("k1", 3), ("k2", 1)]
    assert [(g["group"], g["units"]) for g in by_day] == [("2026-01-01", 2), ("2026-01-02", 1)]
    assert sum(g["requests"] for g in first_day) == 3


def test_usage_report_bad_arguments_refused(ws: Workspace, clock: FixedClock) -> None:
    sub = _org(ws, clock, quota=1)
    with ws.db.session(SYSTEM) as s:
        with pytest.raises(InvalidInput):
            usage_report(s, sub.org_id, start=clock.now(), end=clock.now(), group_by="day")
        with pytest.raises(InvalidInput):
            usage_report(
                s, sub.org_id, start=clock.now(), end=clock.now() + timedelta(1), group_by="model"
            )
