"""Plans over HTTP: create with currency and trial, change, archive, price versions."""

from __future__ import annotations

from servingkit import ClientFactory, Tenants

from baryon.core.clock import FixedClock


def test_plan_lifecycle_over_http(api: ClientFactory, tenants: Tenants, clock: FixedClock) -> None:
    ops = api(tenants.keys["ops:admin"])
    made = ops.post(
        "/v1/plans",
        json={
            "name": "team", "quota": 100, "rate_per_minute": 60, "monthly_price": "20.00",
            "currency": "eur", "trial_days": 14,
            "route_prices": {"/v1/support/answer": "0.002"},
        },
    )  # fmt: skip
    assert made.status_code == 201, made.text
    assert made.json()["currency"] == "EUR"
    assert made.json()["route_prices"] == {"/v1/support/answer": "0.002"}
    clock.advance(60)
    changed = ops.patch("/v1/plans/team", json={"monthly_price": "25.00", "overage_price": None})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["monthly_price"], changed.json()["price_version"]) == ("25.00", 2)
    prices = ops.get("/v1/plans/team/prices").json()
    assert [p["monthly_price"] for p in prices] == ["20.00", "25.00"]
    assert ops.post("/v1/plans/team/archive").status_code == 200
    assert "team" not in {p["name"] for p in ops.get("/v1/plans").json()}
    listed = ops.get("/v1/plans", params={"include_archived": "true"}).json()
    assert "team" in {p["name"] for p in listed}
    again = ops.post("/v1/plans/team/archive")
    assert (again.status_code, again.json()["code"]) == (409, "plan_archived")


def test_plan_bad_inputs_are_named_422s(api: ClientFactory, tenants: Tenants) -> None:
    ops = api(tenants.keys["ops:admin"])
    base = {"name": "bad", "quota": 10, "rate_per_minute": 1}
    for extra, code in (
        ({"currency": "XYZ"}, "unknown_currency"),
        ({"monthly_price": "-5"}, "invalid_price"),
        ({"monthly_price": "1e3"}, "invalid_price"),  # plain decimal notation only
        ({"features": ["bogus"]}, "unknown_feature"),  # a typo never stores a silent flag
        ({"name": "Bad Name"}, "invalid_name"),
        ({"overage_price": "0.00001"}, "invalid_price"),
        ({"route_prices": {"/v1/support/answer": "1_000"}}, "invalid_price"),
        ({"quota": 0}, "invalid_quota"),
    ):
        r = ops.post("/v1/plans", json={**base, **extra})
        assert (r.status_code, r.json()["code"]) == (422, code), r.text
    assert "bad" not in {p["name"] for p in ops.get("/v1/plans").json()}


def test_plan_change_needs_an_operator(api: ClientFactory, tenants: Tenants) -> None:
    r = api(tenants.keys["acme:owner"]).patch("/v1/plans/test", json={"quota": 5})
    assert r.status_code == 403
