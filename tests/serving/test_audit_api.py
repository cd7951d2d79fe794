"""``GET /v1/audit``: filters, org scope, roles, bad input; the SDK's ``Client.audit``."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import FastAPI
from servingkit import ClientFactory, PortalTransport, Tenants

from baryon.client import Client
from baryon.core.clock import FixedClock


def _changes(api: ClientFactory, tenants: Tenants, clock: FixedClock) -> None:
    clock.advance(3600)  # after the fixture's events (2026-01-01T00:00Z)
    api(tenants.keys["acme:owner"]).post("/v1/keys", json={"role": "viewer"})
    api(tenants.keys["globex:owner"]).post("/v1/keys", json={"role": "viewer"})
    clock.advance(3600)
    api(tenants.keys["acme:admin"]).patch("/v1/org", json={"prediction_inputs": "none"})


def test_audit_filters_by_action_actor_object_and_time(
    api: ClientFactory, tenants: Tenants, clock: FixedClock
) -> None:
    _changes(api, tenants, clock)
    admin = api(tenants.keys["acme:admin"])
    every = admin.get("/v1/audit", params={"limit": 1000}).json()
    assert [e["seq"] for e in every] == sorted((e["seq"] for e in every), reverse=True)
    assert every[0]["action"] == "org.update"
    assert every[0]["details"] == {"prediction_inputs": ["masked", "none"]}

    def seqs(**params: str) -> list[int]:
        r = admin.get("/v1/audit", params=params)
        assert r.status_code == 200, r.text
        return [e["seq"] for e in r.json()]

    keys = seqs(action="key.create")
    assert keys
    assert seqs(action="key.*") == keys
    owner = f"key:{tenants.key_ids['acme:owner']}"
    assert seqs(actor=owner) == [keys[0]]
    assert seqs(object_type="organization", object_id=tenants.org_ids["acme"])[0] == every[0]["seq"]
    assert seqs(since="2026-01-01T01:30:00Z") == [every[0]["seq"]]
    assert seqs(since="2026-01-01T00:30:00Z", until="2026-01-01T01:30:00Z") == [keys[0]]
    assert len(seqs(limit="2")) == 2


def test_audit_never_shows_another_orgs_events(
    api: ClientFactory, tenants: Tenants, clock: FixedClock
) -> None:
    _changes(api, tenants, clock)
    acme = api(tenants.keys["acme:admin"]).get("/v1/audit", params={"limit": 1000}).json()
    globex = api(tenants.keys["globex:owner"]).get("/v1/audit", params={"limit": 1000}).json()
    assert acme
    assert globex
    assert not {e["id"] for e in acme} & {e["id"] for e in globex}
    globex_things = {
        tenants.org_ids["globex"],
        *(v for k, v in tenants.key_ids.items() if "globex" in k),
    }
    assert not {e["object_id"] for e in acme} & globex_things
    # a filter naming the other org's object finds nothing
    other = api(tenants.keys["acme:admin"]).get(
        "/v1/audit", params={"object_id": tenants.org_ids["globex"]}
    )
    assert other.json() == []


def test_audit_needs_admin_role(api: ClientFactory, tenants: Tenants) -> None:
    r = api(tenants.keys["acme:developer"]).get("/v1/audit")
    assert r.status_code == 403
    assert r.json()["code"] == "forbidden"
    assert api().get("/v1/audit").status_code == 401


def test_audit_bad_query_422(api: ClientFactory, tenants: Tenants) -> None:
    admin = api(tenants.keys["acme:admin"])
    for params in ({"since": "yesterday"}, {"limit": "0"}, {"action": "x" * 101}):
        r = admin.get("/v1/audit", params=params)
        assert r.status_code == 422, params
        assert r.headers["content-type"].startswith("application/problem+json")


def test_client_audit_filters(
    app: FastAPI, api: ClientFactory, tenants: Tenants, clock: FixedClock
) -> None:
    _changes(api, tenants, clock)
    transport = PortalTransport(app)
    try:
        with Client("http://testserver", tenants.keys["acme:owner"], transport=transport) as c:
            events = c.audit(action="org.*", since=datetime(2026, 1, 1, 1, 30, tzinfo=UTC))
            assert [(e.action, e.object_id) for e in events] == [
                ("org.update", tenants.org_ids["acme"])
            ]
            assert events[0].seq > 0
            assert c.audit(actor="key:nobody") == []
    finally:
        transport.shutdown()
