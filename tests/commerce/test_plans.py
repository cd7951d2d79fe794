"""Plans: validation, built-ins, billing periods, charges."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from baryon.commerce.plans import (
    BUILTIN_PLANS,
    MAX_UNIT_WEIGHT,
    METERED_ROUTES,
    add_months,
    billing_period,
    check_unit_weights,
    create_plan,
    get_plan,
    list_plans,
    parse_money,
)
from baryon.core.audit import list_audit_events
from baryon.core.clock import FixedClock
from baryon.core.errors import Conflict, InvalidInput, NotFound
from baryon.core.scope import SYSTEM
from baryon.workspace import Workspace


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_builtin_plans_seeded_by_migration_match_the_code(workspace: Workspace) -> None:
    with workspace.db.session(SYSTEM) as s:
        plans = {p.name: p for p in list_plans(s)}
    assert set(plans) == {"free", "pro", "enterprise"}
    for spec in BUILTIN_PLANS:
        plan = plans[spec["name"]]
        assert plan.builtin
        assert plan.id == spec["id"]
        assert plan.quota == spec["quota"]
        assert plan.rate_per_minute == spec["rate_per_minute"]
        assert plan.monthly_price == spec["monthly_price"]
        assert plan.overage_price == spec["overage_price"]
        assert list(plan.features) == spec["features"]
        assert plan.unit_weights == {}  # migration 0009's default for existing plans


def test_list_plans_cheapest_first(workspace: Workspace) -> None:
    with workspace.db.session(SYSTEM) as s:
        assert [p.name for p in list_plans(s)] == ["free", "pro", "enterprise"]


def test_create_plan_valid_round_trips_exact_money_and_audits(
    workspace: Workspace, clock: FixedClock
) -> None:
    with workspace.db.session(SYSTEM) as s:
        plan = create_plan(
            s, name="team", quota=5000, rate_per_minute=120, monthly_price="19.99",
            overage_price="0.0025", features=["overage", "traffic_split"], actor="cli:t",
            clock=clock,
        )  # fmt: skip
    with workspace.db.session(SYSTEM) as s:
        again = get_plan(s, "team")
        events = list_audit_events(s, object_type="plan", object_id=plan.id)
    assert again.monthly_price == Decimal("19.99")
    assert again.overage_price == Decimal("0.0025")
    assert again.allows_overage
    assert again.to_dict()["monthly_price"] == "19.99"
    assert [e.action for e in events] == ["plan.create"]
    assert events[0].actor == "cli:t"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("quota", -1),
        ("quota", 1.5),
        ("quota", 10.0),
        ("quota", True),
        ("quota", "10"),
        ("rate_per_minute", -5),
        ("rate_per_minute", 2.5),
        ("rate_per_minute", None),
        ("quota", 10**23),  # overflowed SQLite INTEGER (internal_error)
        ("rate_per_minute", 2**63),
    ],
)
def test_create_plan_negative_or_non_integer_limit_refused(
    workspace: Workspace, field: str, value: object
) -> None:
    kwargs: dict[str, object] = {"name": "bad", "quota": 10, "rate_per_minute": 10, field: value}
    with workspace.db.session(SYSTEM) as s, pytest.raises(InvalidInput) as err:
        create_plan(s, **kwargs)  # type: ignore[arg-type]
    assert err.value.code == "invalid_limit"
    assert err.value.details["field"] == field


def test_create_plan_unit_weights_round_trip_and_audit(
    workspace: Workspace, clock: FixedClock
) -> None:
    weights = {"/v1/sentiment/analyze": 3, "/v1/models/{name}/predict": 2}
    with workspace.db.session(SYSTEM) as s:
        made = create_plan(s, name="heavy", quota=10, rate_per_minute=10,
                           unit_weights=weights, clock=clock)  # fmt: skip
    with workspace.db.session(SYSTEM) as s:
        plan = get_plan(s, "heavy")
        [event] = list_audit_events(s, object_type="plan", object_id=made.id)
    assert made.unit_weights == plan.unit_weights == weights
    assert plan.to_dict()["unit_weights"] == weights
    assert event.details["unit_weights"] == weights


def test_plan_units_for_is_inputs_times_route_weight(workspace: Workspace) -> None:
    with workspace.db.session(SYSTEM) as s:
        plan = create_plan(s, name="w", quota=10, rate_per_minute=10,
                           unit_weights={"/v1/sentiment/analyze": 3})  # fmt: skip
    assert plan.units_for("/v1/sentiment/analyze", 256) == 768
    assert plan.units_for("/v1/models/{name}/predict", 256) == 256
    assert plan.units_for("/v1/sentiment/analyze", 0) == 0


@pytest.mark.parametrize("weight", [0, -1, 1.5, True, "2", None, MAX_UNIT_WEIGHT + 1])
def test_check_unit_weights_bad_weight_refused(weight: object) -> None:
    with pytest.raises(InvalidInput) as err:
        check_unit_weights({"/v1/sentiment/analyze": weight})
    assert err.value.code == "invalid_unit_weight"
    assert err.value.details["route"] == "/v1/sentiment/analyze"


@pytest.mark.parametrize(
    # a raw path, an unmetered route, a route template with a typo
    "route",
    ["/v1/models/adder/predict", "/v1/events", "/v1/usage", "/v1/support/answers"],
)
def test_check_unit_weights_unknown_route_refused(workspace: Workspace, route: str) -> None:
    with workspace.db.session(SYSTEM) as s, pytest.raises(InvalidInput) as err:
        create_plan(s, name="bad", quota=1, rate_per_minute=1, unit_weights={route: 2})
    assert err.value.code == "unknown_metered_route"
    assert err.value.details["metered_routes"] == list(METERED_ROUTES)
    with workspace.db.session(SYSTEM) as s:
        assert "bad" not in {p.name for p in list_plans(s)}


def test_check_unit_weights_every_metered_route_at_the_bounds() -> None:
    weights = dict.fromkeys(METERED_ROUTES, MAX_UNIT_WEIGHT)
    assert check_unit_weights(weights) == dict(sorted(weights.items()))
    assert check_unit_weights({"/v1/support/answer": 1}) == {"/v1/support/answer": 1}
    assert check_unit_weights(None) == {}


def test_create_plan_quota_zero_refused_unless_pay_as_you_go(workspace: Workspace) -> None:
    with workspace.db.session(SYSTEM) as s, pytest.raises(InvalidInput) as err:
        create_plan(s, name="closed", quota=0, rate_per_minute=0)
    assert err.value.code == "invalid_quota"
    with workspace.db.session(SYSTEM) as s:
        assert "closed" not in {p.name for p in list_plans(s)}
        payg = create_plan(
            s, name="payg", quota=0, rate_per_minute=60, overage_price="0.002",
            features=["overage"],
        )  # fmt: skip
    assert (payg.quota, payg.allows_overage) == (0, True)


@pytest.mark.parametrize(
    "price",
    [
        "-1",
        "abc",
        "NaN",
        "Infinity",
        "0.00001",
        0.1,
        True,
        [1],
        "1e3",
        "1E+2",
        "+5",
        "1_000",
        "1 000",
        "1,50",
        "\u0663",
        "1000000000000",
        10**12,
        Decimal("1E-5"),
        "",
    ],
)
def test_parse_money_bad_amount_refused(price: object) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_money(price)
    assert err.value.code == "invalid_price"


@pytest.mark.parametrize(
    ("price", "expected"),
    [("49", "49"), (49, "49"), ("0.0010", "0.0010"), (" 5 ", "5"),
     ("999999999999.9999", "999999999999.9999"), (Decimal("1E+2"), "100")],
)  # fmt: skip
def test_parse_money_exact(price: object, expected: str) -> None:
    assert parse_money(price) == Decimal(expected)
    assert str(parse_money(price)) == expected


@pytest.mark.parametrize("name", ["", "Team", "1team", "a" * 41, "te am", "tëam"])
def test_create_plan_bad_name_refused(workspace: Workspace, name: str) -> None:
    with workspace.db.session(SYSTEM) as s, pytest.raises(InvalidInput) as err:
        create_plan(s, name=name, quota=1, rate_per_minute=1)
    assert err.value.code == "invalid_name"


def test_create_plan_duplicate_name_conflicts(workspace: Workspace) -> None:
    with workspace.db.session(SYSTEM) as s, pytest.raises(Conflict) as err:
        create_plan(s, name="pro", quota=1, rate_per_minute=1)
    assert err.value.code == "plan_exists"


def test_create_plan_overage_feature_without_price_refused(workspace: Workspace) -> None:
    with workspace.db.session(SYSTEM) as s, pytest.raises(InvalidInput) as err:
        create_plan(s, name="soft", quota=1, rate_per_minute=1, features=["overage"])
    assert err.value.code == "invalid_feature"


@pytest.mark.parametrize(
    ("flag", "code"), [("overgae", "unknown_feature"), ("Bad!", "invalid_feature")]
)
def test_create_plan_unknown_or_malformed_feature_refused(
    workspace: Workspace, flag: str, code: str
) -> None:
    with workspace.db.session(SYSTEM) as s, pytest.raises(InvalidInput) as err:
        create_plan(s, name="typo", quota=1, rate_per_minute=1, features=[flag])
    assert err.value.code == code
    with workspace.db.session(SYSTEM) as s:
        assert "typo" not in {p.name for p in list_plans(s)}


def test_get_plan_unknown_not_found(workspace: Workspace) -> None:
    with workspace.db.session(SYSTEM) as s, pytest.raises(NotFound) as err:
        get_plan(s, "platinum")
    assert err.value.code == "plan_not_found"


@pytest.mark.parametrize(
    ("anchor", "months", "expected"),
    [
        (_utc(2026, 1, 31), 1, _utc(2026, 2, 28)),
        (_utc(2028, 1, 31), 1, _utc(2028, 2, 29)),
        (_utc(2026, 1, 31), 2, _utc(2026, 3, 31)),
        (_utc(2026, 11, 15), 3, _utc(2027, 2, 15)),
        (_utc(2026, 3, 31), -1, _utc(2026, 2, 28)),
    ],
)
def test_add_months_clamps_day(anchor: datetime, months: int, expected: datetime) -> None:
    assert add_months(anchor, months) == expected


@pytest.mark.parametrize(
    ("at", "start", "end"),
    [
        (_utc(2026, 1, 31, 10), _utc(2026, 1, 31, 10), _utc(2026, 2, 28, 10)),
        (_utc(2026, 2, 28, 9, 59), _utc(2026, 1, 31, 10), _utc(2026, 2, 28, 10)),
        (_utc(2026, 2, 28, 10), _utc(2026, 2, 28, 10), _utc(2026, 3, 31, 10)),
        (_utc(2026, 3, 15), _utc(2026, 2, 28, 10), _utc(2026, 3, 31, 10)),
        (_utc(2026, 4, 30, 12), _utc(2026, 4, 30, 10), _utc(2026, 5, 31, 10)),
        (_utc(2025, 12, 31, 12), _utc(2025, 12, 31, 10), _utc(2026, 1, 31, 10)),
    ],
)
def test_billing_period_anchored_on_31st(at: datetime, start: datetime, end: datetime) -> None:
    assert billing_period(_utc(2026, 1, 31, 10), at) == (start, end)
