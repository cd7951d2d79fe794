"""Admin actions over the API: users, keys, plans, organizations, audit, usage."""

from __future__ import annotations

from datetime import datetime

import pytest
from servingkit import ClientFactory, Tenants

from baryon.commerce.invoices import preview_invoice
from baryon.core.audit import list_audit_events
from baryon.core.clock import FixedClock
from baryon.core.scope import SYSTEM
from baryon.workspace import Workspace

ROW = {"a": 1, "b": 2}


def test_key_lifecycle_shown_once_works_revoked(
    api: ClientFactory, tenants: Tenants, ws: Workspace
) -> None:
    owner = api(tenants.keys["acme:owner"])
    r = owner.post("/v1/keys", json={"role": "developer", "name": "ci"})
    assert r.status_code == 201
    created = r.json()
    secret = created["secret"]
    assert secret.startswith("bry_")
    assert created["prefix"] == secret[:12]
    listed = owner.get("/v1/keys").json()
    assert secret not in str(listed)
    assert created["id"] in {k["id"] for k in listed}
    assert owner.get(f"/v1/keys/{created['id']}").json()["status"] == "active"
    new = api(secret)
    assert new.post("/v1/models/adder/predict", json={"inputs": [ROW]}).status_code == 200
    revoked = owner.delete(f"/v1/keys/{created['id']}")
    assert revoked.json()["status"] == "revoked"
    after = new.get("/v1/me")
    assert after.status_code == 401
    assert after.json()["code"] == "key_revoked"
    with ws.db.session(SYSTEM) as s:
        events = list_audit_events(s, object_id=created["id"])
    actor = f"key:{tenants.key_ids['acme:owner']}"
    # the frozen clock gives both events the same time: compare as a set
    assert {(e.action, e.actor) for e in events} == {("key.create", actor), ("key.revoke", actor)}


def test_key_with_expiry_stops_working(
    api: ClientFactory, tenants: Tenants, clock: FixedClock
) -> None:
    owner = api(tenants.keys["acme:owner"])
    secret = owner.post("/v1/keys", json={"role": "viewer", "expires_in": "1h"}).json()["secret"]
    assert api(secret).get("/v1/me").status_code == 200
    clock.advance(3601)
    r = api(secret).get("/v1/me")
    assert r.status_code == 401
    assert r.json()["code"] == "key_expired"
    assert owner.get("/v1/keys").json()[-1]["status"] == "expired"


def test_key_bad_expiry_422(api: ClientFactory, tenants: Tenants) -> None:
    r = api(tenants.keys["acme:owner"]).post(
        "/v1/keys", json={"role": "viewer", "expires_in": "soon"}
    )
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_duration"


def test_admin_cannot_mint_or_revoke_owner_keys(api: ClientFactory, tenants: Tenants) -> None:
    admin = api(tenants.keys["acme:admin"])
    r = admin.post("/v1/keys", json={"role": "owner"})
    assert r.status_code == 403
    assert r.json()["code"] == "role_too_high"
    r = admin.delete(f"/v1/keys/{tenants.key_ids['acme:owner']}")
    assert r.status_code == 403
    assert admin.post("/v1/keys", json={"role": "admin"}).status_code == 201


def test_users_create_list_get_disable(api: ClientFactory, tenants: Tenants) -> None:
    admin = api(tenants.keys["acme:admin"])
    r = admin.post("/v1/users", json={"email": "Ann@Acme.test", "role": "annotator"})
    assert r.status_code == 201
    user = r.json()
    assert user["email"] == "ann@acme.test"
    assert (
        admin.post("/v1/users", json={"email": "ann@acme.test", "role": "viewer"}).status_code
        == 409
    )
    assert admin.post("/v1/users", json={"email": "x@y.z", "role": "owner"}).status_code == 403
    assert admin.post("/v1/users", json={"email": "nope", "role": "viewer"}).status_code == 422
    assert user["id"] in {u["id"] for u in admin.get("/v1/users").json()}
    key = admin.post("/v1/keys", json={"role": "annotator", "user_id": user["id"]}).json()
    assert user["status"] == "active"
    disabled = admin.delete(f"/v1/users/{user['id']}").json()
    assert disabled["disabled_at"] is not None
    assert api(key["secret"]).get("/v1/me").json()["code"] == "key_revoked"


def test_delete_user_is_a_soft_delete_that_get_and_list_show(
    api: ClientFactory, tenants: Tenants
) -> None:
    admin = api(tenants.keys["acme:admin"])
    user = admin.post("/v1/users", json={"email": "gone@acme.test", "role": "viewer"}).json()
    key = admin.post("/v1/keys", json={"role": "viewer", "user_id": user["id"]}).json()
    deleted = admin.delete(f"/v1/users/{user['id']}")
    assert deleted.status_code == 200
    assert deleted.json()["status"] == "disabled"
    shown = admin.get(f"/v1/users/{user['id']}")
    assert shown.status_code == 200
    assert shown.json()["status"] == "disabled"
    assert datetime.fromisoformat(shown.json()["disabled_at"]) == datetime.fromisoformat(
        deleted.json()["disabled_at"]
    )
    listed = {u["id"]: u["status"] for u in admin.get("/v1/users").json()}
    assert listed[user["id"]] == "disabled"
    assert admin.get(f"/v1/keys/{key['id']}").json()["status"] == "revoked"
    again = admin.delete(f"/v1/users/{user['id']}")
    assert again.json() == deleted.json()  # idempotent
    assert (
        admin.post("/v1/users", json={"email": "gone@acme.test", "role": "viewer"}).json()["code"]
        == "user_exists"
    )
    other = api(tenants.keys["globex:admin"])
    assert other.get(f"/v1/users/{user['id']}").status_code == 404
    assert other.delete(f"/v1/users/{user['id']}").status_code == 404


def test_delete_user_documents_the_soft_delete(api: ClientFactory) -> None:
    operation = api().get("/openapi.json").json()["paths"]["/v1/users/{user_id}"]["delete"]
    assert operation["x-soft-delete"] is True
    assert "Soft delete" in operation["description"]
    assert operation["summary"] == "Disable a user (soft delete)"


def test_org_read_and_settings(api: ClientFactory, tenants: Tenants) -> None:
    viewer = api(tenants.keys["acme:viewer"])
    org = viewer.get("/v1/org").json()
    assert org["organization"]["name"] == "acme"
    assert org["subscription"]["plan"]["name"] == "test"
    assert org["subscription"]["plan"]["monthly_price"] == "10.00"
    assert org["period"]["quota"] == 1000
    admin = api(tenants.keys["acme:admin"])
    assert admin.patch("/v1/org", json={"prediction_inputs": "sometimes"}).status_code == 422
    assert admin.patch("/v1/org", json={"prediction_inputs": "none"}).status_code == 200
    me = viewer.get("/v1/me").json()
    assert me["role"] == "viewer"
    assert "usage:read" in me["permissions"]
    assert "keys:write" not in me["permissions"]


def test_operator_creates_plan_org_and_subscribes(api: ClientFactory, tenants: Tenants) -> None:
    ops = api(tenants.keys["ops:admin"])
    plan = ops.post(
        "/v1/plans",
        json={"name": "team", "quota": 50, "rate_per_minute": 30, "monthly_price": "19.90",
              "overage_price": "0.01", "features": ["overage"]},
    )  # fmt: skip
    assert plan.status_code == 201, plan.text
    assert plan.json()["monthly_price"] == "19.90"
    assert "team" in {p["name"] for p in api(tenants.keys["acme:viewer"]).get("/v1/plans").json()}
    org = ops.post("/v1/orgs", json={"name": "initech", "plan": "team"})
    assert org.status_code == 201
    org_id = org.json()["organization"]["id"]
    moved = ops.post(f"/v1/orgs/{org_id}/subscription", json={"plan": "pro"})
    assert moved.json()["subscription"]["plan"]["name"] == "pro"
    assert ops.get(f"/v1/orgs/{org_id}").json()["organization"]["name"] == "initech"
    assert "initech" in {o["name"] for o in ops.get("/v1/orgs").json()}
    assert ops.get("/v1/orgs/org_nope").status_code == 404


@pytest.mark.parametrize(
    "changes",
    [
        {"quota": -1},
        {"quota": 1.5},
        {"quota": True},
        {"quota": "10"},
        {"rate_per_minute": -3},
        {"monthly_price": "-1"},
        {"monthly_price": "1.23456"},
        {"name": "Bad Name"},
    ],
)
def test_operator_plan_with_bad_limits_422(
    api: ClientFactory, tenants: Tenants, changes: dict[str, object]
) -> None:
    body = {"name": "team", "quota": 5, "rate_per_minute": 5, **changes}
    r = api(tenants.keys["ops:owner"]).post("/v1/plans", json=body)
    assert r.status_code == 422, r.text


def test_operator_plan_whole_float_quota_is_that_integer(
    api: ClientFactory, tenants: Tenants
) -> None:
    # JSON Schema's integer (the document's) admits 10.0: it is the integer 10
    body = {"name": "whole", "quota": 10.0, "rate_per_minute": 5.0}
    r = api(tenants.keys["ops:owner"]).post("/v1/plans", json=body)
    assert r.status_code == 201, r.text
    assert (r.json()["quota"], r.json()["rate_per_minute"]) == (10, 5)


def test_operator_plan_with_unit_weights(api: ClientFactory, tenants: Tenants) -> None:
    weights = {"/v1/recommendations/{user_id}": 5}
    r = api(tenants.keys["ops:owner"]).post(
        "/v1/plans",
        json={"name": "recs", "quota": 5, "rate_per_minute": 5, "unit_weights": weights},
    )
    assert r.status_code == 201, r.text
    assert r.json()["unit_weights"] == weights
    listed = {p["name"]: p for p in api(tenants.keys["acme:viewer"]).get("/v1/plans").json()}
    assert listed["recs"]["unit_weights"] == weights
    assert listed["test"]["unit_weights"] == {}


@pytest.mark.parametrize(
    ("weights", "code"),
    [
        ({"/v1/sentiment/analyze": 0}, "invalid_unit_weight"),
        ({"/v1/sentiment/analyze": -2}, "invalid_unit_weight"),
        ({"/v1/sentiment/analyze": 10**7}, "invalid_unit_weight"),
        ({"/v1/sentiment/analyze": 1.5}, "invalid_input"),
        ({"/v1/sentiment/analyze": "2"}, "invalid_input"),
        ({"/v1/sentiment/analyze": True}, "invalid_input"),
        ({"/v1/models/adder/predict": 2}, "unknown_metered_route"),
        ({"/v1/feedback": 2}, "unknown_metered_route"),
        ([["/v1/sentiment/analyze", 2]], "invalid_input"),
    ],
)
def test_operator_plan_with_bad_unit_weights_422(
    api: ClientFactory, tenants: Tenants, weights: object, code: str
) -> None:
    ops = api(tenants.keys["ops:owner"])
    body = {"name": "team", "quota": 5, "rate_per_minute": 5, "unit_weights": weights}
    r = ops.post("/v1/plans", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == code
    assert "team" not in {p["name"] for p in ops.get("/v1/plans").json()}


def test_operator_plan_duplicate_409(api: ClientFactory, tenants: Tenants) -> None:
    r = api(tenants.keys["ops:owner"]).post(
        "/v1/plans", json={"name": "free", "quota": 1, "rate_per_minute": 1}
    )
    assert r.status_code == 409
    assert r.json()["code"] == "plan_exists"


def test_audit_shows_own_org_events_only(
    api: ClientFactory, tenants: Tenants, clock: FixedClock
) -> None:
    clock.advance(1)  # after the fixture's events
    api(tenants.keys["acme:owner"]).post("/v1/keys", json={"role": "viewer"})
    api(tenants.keys["globex:owner"]).post("/v1/keys", json={"role": "viewer"})
    events = api(tenants.keys["acme:admin"]).get("/v1/audit").json()
    assert events[0]["action"] == "key.create"
    assert events[0]["actor"] == f"key:{tenants.key_ids['acme:owner']}"
    assert {e["object_id"] for e in events} & {tenants.org_ids["globex"]} == set()
    globex_keys = {v for k, v in tenants.key_ids.items() if k.startswith("globex")}
    assert not {e["object_id"] for e in events} & globex_keys


def test_usage_groups_and_period(
    api: ClientFactory, tenants: Tenants, clock: FixedClock, ws: Workspace
) -> None:
    dev = api(tenants.keys["acme:developer"])
    dev.post("/v1/models/adder/predict", json={"inputs": [ROW]})
    dev.post("/v1/models/sentiment/predict", json={"inputs": ["good"]})
    clock.advance(86400)
    api(tenants.keys["acme:admin"]).post("/v1/models/adder/predict", json={"inputs": [ROW]})
    dev.post("/v1/models/nope/predict", json={"inputs": [ROW]})
    viewer = api(tenants.keys["acme:viewer"])
    by_endpoint = viewer.get("/v1/usage").json()
    assert by_endpoint["groups"] == [
        {"group": "/v1/models/{name}/predict", "requests": 4, "units": 3, "errors": 1},
    ]
    assert by_endpoint["total"]["units"] == 3
    assert by_endpoint["period"]["used"] == 3
    assert by_endpoint["period"]["remaining"] == 997
    with ws.db.session(SYSTEM) as s:  # the charge so far is the period's invoice preview
        preview = preview_invoice(s, tenants.org_ids["acme"], clock.now())
    assert by_endpoint["period"]["charge"]["total"] == str(preview.total)
    assert by_endpoint["period"]["charge"]["subtotal"] == str(preview.subtotal)
    by_day = viewer.get("/v1/usage", params={"group_by": "day"}).json()
    assert [(g["group"], g["requests"]) for g in by_day["groups"]] == [
        ("2026-01-01", 2),
        ("2026-01-02", 2),
    ]
    by_key = viewer.get("/v1/usage", params={"group_by": "key"}).json()
    assert {g["group"] for g in by_key["groups"]} == {
        tenants.key_ids["acme:developer"],
        tenants.key_ids["acme:admin"],
    }
    window = viewer.get(
        "/v1/usage", params={"start": "2026-01-02T00:00:00Z", "end": "2026-01-03T00:00:00Z"}
    ).json()
    assert window["total"]["requests"] == 2
    globex = api(tenants.keys["globex:viewer"]).get("/v1/usage").json()
    assert globex["total"]["requests"] == 0


@pytest.mark.parametrize(
    "params",
    [
        {"group_by": "model"},
        {"start": "2026-01-03T00:00:00Z", "end": "2026-01-02T00:00:00Z"},
        {"start": "yesterday"},
    ],
)
def test_usage_bad_query_422(api: ClientFactory, tenants: Tenants, params: dict[str, str]) -> None:
    assert api(tenants.keys["acme:viewer"]).get("/v1/usage", params=params).status_code == 422


def test_last_admin_key_cannot_revoke_itself_409(api: ClientFactory, tenants: Tenants) -> None:
    # the API let an organization's last owner/admin key revoke itself (issue 12, kind 3)
    owner = api(tenants.keys["acme:owner"])
    assert owner.delete(f"/v1/keys/{tenants.key_ids['acme:admin']}").status_code == 200
    r = owner.delete(f"/v1/keys/{tenants.key_ids['acme:owner']}")
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "last_admin"
    assert owner.get("/v1/me").status_code == 200  # nothing was revoked
    assert owner.get(f"/v1/keys/{tenants.key_ids['acme:owner']}").json()["status"] == "active"
    # with another owner key made first, the old one goes
    successor = owner.post("/v1/keys", json={"role": "owner"}).json()
    assert owner.delete(f"/v1/keys/{tenants.key_ids['acme:owner']}").status_code == 200
    assert api(successor["secret"]).get("/v1/me").status_code == 200


def test_last_admin_expired_admin_key_does_not_count(
    api: ClientFactory, tenants: Tenants, clock: FixedClock
) -> None:
    owner = api(tenants.keys["acme:owner"])
    assert owner.post("/v1/keys", json={"role": "admin", "expires_in": "1h"}).status_code == 201
    assert owner.delete(f"/v1/keys/{tenants.key_ids['acme:admin']}").status_code == 200
    clock.advance(7200)
    r = owner.delete(f"/v1/keys/{tenants.key_ids['acme:owner']}")
    assert (r.status_code, r.json()["code"]) == (409, "last_admin")


def test_last_admin_revoking_other_roles_and_other_orgs_is_unchanged(
    api: ClientFactory, tenants: Tenants
) -> None:
    owner = api(tenants.keys["acme:owner"])
    assert owner.delete(f"/v1/keys/{tenants.key_ids['acme:admin']}").status_code == 200
    assert owner.delete(f"/v1/keys/{tenants.key_ids['acme:developer']}").status_code == 200
    # another organization's last owner key is still a 404 here, never a 409
    assert owner.delete(f"/v1/keys/{tenants.key_ids['globex:owner']}").status_code == 404
    # and an already revoked admin key stays idempotent
    assert owner.delete(f"/v1/keys/{tenants.key_ids['acme:admin']}").status_code == 200


def test_last_admin_user_holding_it_cannot_be_disabled_409(
    api: ClientFactory, tenants: Tenants
) -> None:
    owner = api(tenants.keys["acme:owner"])
    boss = owner.post("/v1/users", json={"email": "boss@acme.test", "role": "admin"}).json()
    held = owner.post("/v1/keys", json={"role": "admin", "user_id": boss["id"]}).json()
    assert owner.delete(f"/v1/keys/{tenants.key_ids['acme:admin']}").status_code == 200
    assert owner.delete(f"/v1/keys/{tenants.key_ids['acme:owner']}").status_code == 200
    admin = api(held["secret"])
    r = admin.delete(f"/v1/users/{boss['id']}")
    assert (r.status_code, r.json()["code"]) == (409, "last_admin")
    assert admin.get(f"/v1/users/{boss['id']}").json()["disabled_at"] is None
    assert admin.get("/v1/me").status_code == 200
    # a user without such a key is disabled as before
    assert admin.delete(f"/v1/users/{tenants.user_ids['acme']}").status_code == 200
