"""Plan changes: currencies, trials, route prices, price versions, archiving."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from baryon.commerce.money import CURRENCIES, check_currency, minor_unit, round_money
from baryon.commerce.orgs import active_subscription, create_org, subscribe
from baryon.commerce.plans import create_plan, get_plan, list_plans
from baryon.commerce.prices import archive_plan, list_price_versions, price_in_force, update_plan
from baryon.core.audit import list_audit_events
from baryon.core.clock import FixedClock
from baryon.core.errors import Conflict, InvalidInput
from baryon.core.scope import SYSTEM
from baryon.workspace import Workspace


def _team(ws: Workspace, clock: FixedClock, **extra: object) -> None:
    with ws.db.session(SYSTEM) as s:
        create_plan(
            s, name="team", quota=100, rate_per_minute=60, monthly_price="20.00",
            overage_price="0.01", features=["overage"], clock=clock, **extra,  # type: ignore[arg-type]
        )  # fmt: skip


@pytest.mark.parametrize("code", ["XXX", "usd1", "", 840, None, "BTC"])
def test_create_plan_unknown_currency_refused(workspace: Workspace, code: object) -> None:
    with workspace.db.session(SYSTEM) as s, pytest.raises(InvalidInput) as err:
        create_plan(s, name="x", quota=1, rate_per_minute=1, currency=code)
    assert err.value.code == "unknown_currency"
    with workspace.db.session(SYSTEM) as s:
        assert "x" not in {p.name for p in list_plans(s)}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("monthly_price", "-0.01"),
        ("overage_price", "-1"),
        ("monthly_price", 9.99),
        ("route_prices", {"/v1/support/answer": "-0.5"}),
    ],
)
def test_create_plan_negative_or_float_price_refused(
    workspace: Workspace, field: str, value: object
) -> None:
    with workspace.db.session(SYSTEM) as s, pytest.raises(InvalidInput) as err:
        create_plan(s, name="x", quota=1, rate_per_minute=1, **{field: value})  # type: ignore[arg-type]
    assert err.value.code == "invalid_price"


def test_create_plan_base_price_finer_than_minor_unit_refused(workspace: Workspace) -> None:
    with workspace.db.session(SYSTEM) as s, pytest.raises(InvalidInput) as err:
        create_plan(s, name="yen", quota=1, rate_per_minute=1, monthly_price="4999.5",
                    currency="JPY")  # fmt: skip
    assert err.value.code == "invalid_price"
    with workspace.db.session(SYSTEM) as s:
        plan = create_plan(s, name="yen", quota=1, rate_per_minute=1, monthly_price="4999",
                           currency="jpy", overage_price="0.05")  # fmt: skip
    assert (plan.currency, plan.monthly_price) == ("JPY", Decimal("4999"))


@pytest.mark.parametrize("days", [-1, 367, 1.5, True, "7"])
def test_create_plan_bad_trial_refused(workspace: Workspace, days: object) -> None:
    with workspace.db.session(SYSTEM) as s, pytest.raises(InvalidInput) as err:
        create_plan(s, name="x", quota=1, rate_per_minute=1, trial_days=days)
    assert err.value.code == "invalid_trial"


def test_route_prices_unknown_route_refused(workspace: Workspace) -> None:
    with workspace.db.session(SYSTEM) as s, pytest.raises(InvalidInput) as err:
        create_plan(s, name="x", quota=1, rate_per_minute=1, route_prices={"/v1/nope": "1"})
    assert err.value.code == "unknown_metered_route"


def test_money_rounding_half_even_per_currency() -> None:
    assert round_money(Decimal("0.125"), "USD") == Decimal("0.12")
    assert round_money(Decimal("0.135"), "USD") == Decimal("0.14")
    assert round_money(Decimal("2.5"), "JPY") == Decimal("2")
    assert round_money(Decimal("0.0005"), "KWD") == Decimal("0.000")
    assert round_money(Decimal("0.0015"), "KWD") == Decimal("0.002")
    assert minor_unit("JPY") == Decimal(1)
    assert check_currency("eur") == "EUR"
    assert set(CURRENCIES) >= {"USD", "EUR", "GBP", "JPY"}
    with pytest.raises(TypeError):
        round_money(0.1, "USD")  # type: ignore[arg-type]


def test_update_plan_limits_apply_now_prices_make_a_version(
    workspace: Workspace, clock: FixedClock
) -> None:
    _team(workspace, clock)
    clock.advance(86400)
    with workspace.db.session(SYSTEM) as s:
        plan = update_plan(s, "team", quota=200, monthly_price="25.00", actor="cli:t", clock=clock)
        versions = list_price_versions(s, plan.id)
        events = list_audit_events(s, object_type="plan", object_id=plan.id)
    assert plan.quota == 200
    assert (plan.monthly_price, plan.price_version) == (Decimal("25.00"), 2)
    assert [(v.version, v.monthly_price) for v in versions] == [
        (1, Decimal("20.00")),
        (2, Decimal("25.00")),
    ]
    assert [e.action for e in events] == ["plan.create", "plan.update"]
    assert events[1].details["prices"]["monthly_price"] == ["20.00", "25.00"]


def test_update_plan_same_values_writes_nothing(workspace: Workspace, clock: FixedClock) -> None:
    _team(workspace, clock)
    with workspace.db.session(SYSTEM) as s:
        plan = update_plan(s, "team", quota=100, monthly_price="20.00", clock=clock)
        events = list_audit_events(s, object_type="plan", object_id=plan.id)
    assert plan.price_version == 1
    assert len(events) == 1


def test_update_plan_quota_zero_refused(workspace: Workspace, clock: FixedClock) -> None:
    with workspace.db.session(SYSTEM) as s:
        create_plan(s, name="hard", quota=5, rate_per_minute=5, clock=clock)
    with workspace.db.session(SYSTEM) as s, pytest.raises(InvalidInput) as err:
        update_plan(s, "hard", quota=0, clock=clock)
    assert err.value.code == "invalid_quota"


def test_price_in_force_is_the_version_at_period_start(
    workspace: Workspace, clock: FixedClock
) -> None:
    start = clock.now()
    _team(workspace, clock)
    clock.advance(10 * 86400)
    with workspace.db.session(SYSTEM) as s:
        plan = update_plan(s, "team", monthly_price="30.00", clock=clock)
        running = price_in_force(s, plan.id, start)  # the period running at the change
        before = price_in_force(s, plan.id, start - timedelta(days=5))  # moved mid-period
        nxt = price_in_force(s, plan.id, start + timedelta(days=31))
    assert running.monthly_price == Decimal("20.00")
    assert before.version == 1
    assert nxt.monthly_price == Decimal("30.00")


def test_archive_plan_hides_it_and_refuses_new_subscribers(
    workspace: Workspace, clock: FixedClock
) -> None:
    _team(workspace, clock)
    with workspace.db.session(SYSTEM) as s:
        org = create_org(s, name="early", plan="team", clock=clock)
        archive_plan(s, "team", clock=clock)
    with workspace.db.session(SYSTEM) as s:
        assert "team" not in {p.name for p in list_plans(s)}
        assert "team" in {p.name for p in list_plans(s, include_archived=True)}
        sub = active_subscription(s, org.id)
        assert sub is not None
        assert sub.plan.name == "team"
    for act in (
        lambda s: create_org(s, name="late", plan="team"),
        lambda s: subscribe(s, org.id, "free") and subscribe(s, org.id, "team"),
        lambda s: archive_plan(s, "team"),
        lambda s: update_plan(s, "team", quota=5),
    ):
        with workspace.db.session(SYSTEM) as s, pytest.raises(Conflict) as err:
            act(s)
        assert err.value.code == "plan_archived"


def test_subscribe_other_currency_refused(workspace: Workspace, clock: FixedClock) -> None:
    with workspace.db.session(SYSTEM) as s:
        create_plan(s, name="euro", quota=10, rate_per_minute=10, currency="EUR", clock=clock)
        org = create_org(s, name="acme", clock=clock)
    with workspace.db.session(SYSTEM) as s, pytest.raises(Conflict) as err:
        subscribe(s, org.id, "euro", clock=clock)
    assert err.value.code == "currency_mismatch"


def test_subscribe_trial_once_per_plan(workspace: Workspace, clock: FixedClock) -> None:
    _team(workspace, clock, trial_days=14)
    with workspace.db.session(SYSTEM) as s:
        org = create_org(s, name="acme", clock=clock)
        first = subscribe(s, org.id, "team", clock=clock)
    assert first.trial_ends_at == clock.now() + timedelta(days=14)
    clock.advance(86400)
    with workspace.db.session(SYSTEM) as s:
        subscribe(s, org.id, "free", clock=clock)
        again = subscribe(s, org.id, "team", clock=clock)
        assert get_plan(s, "team").trial_days == 14
    assert again.trial_ends_at is None
