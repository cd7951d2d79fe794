"""``POST /v1/erasures``: an admin erases a subject from its own organization only."""

from __future__ import annotations

from servingkit import ClientFactory, Tenants

CSV = b"id,email,label\n1,ann@example.com,a\n2,bob@example.org,b\n3,cy@example.net,a\n"


def _upload(api: ClientFactory, secret: str, **fields: str) -> dict:
    made = api(secret).post(
        "/v1/datasets",
        files={"file": ("people.csv", CSV, "text/csv")},
        data={"name": "people", **fields},
    )
    assert made.status_code == 201, made.text
    return made.json()


def test_erasure_route_erases_own_org_only(api: ClientFactory, tenants: Tenants) -> None:
    _upload(api, tenants.keys["acme:developer"], sensitive="true")
    _upload(api, tenants.keys["globex:developer"])
    admin = api(tenants.keys["acme:admin"])
    done = admin.post(
        "/v1/erasures", json={"match": [{"column": "email", "value": "ann@example.com"}]}
    )
    assert done.status_code == 201, done.text
    [dataset] = done.json()["datasets"]
    assert (dataset["rows_removed"], dataset["new_version"]) == (1, 2)
    old = admin.get("/v1/datasets/people/export", params={"version": 1})
    assert old.status_code == 410
    assert old.json()["code"] == "version_erased"
    new = admin.get("/v1/datasets/people/export", params={"version": 2})
    assert new.status_code == 200
    assert b"ann@example.com" not in new.content
    assert b"bob@example.org" in new.content  # the encrypted dataset reads back
    tombstone = admin.get("/v1/datasets/people", params={"version": 1})
    assert tombstone.status_code == 200, tombstone.text
    assert "ann@example.com" not in tombstone.text
    history = admin.get("/v1/datasets/people/versions")
    assert [v["version"] for v in history.json()] == [1, 2]
    theirs = api(tenants.keys["globex:admin"]).get("/v1/datasets/people")
    assert theirs.json()["version"] == 1


def test_erasure_route_bad_inputs(api: ClientFactory, tenants: Tenants) -> None:
    admin = api(tenants.keys["acme:admin"])
    _upload(api, tenants.keys["globex:developer"])
    other = admin.post(
        "/v1/erasures",
        json={"match": [{"column": "email", "value": "x"}], "datasets": ["people"]},
    )
    assert other.status_code == 404
    assert other.json()["code"] == "dataset_not_found"
    empty = admin.post("/v1/erasures", json={"match": []})
    assert empty.status_code == 422
    dev = api(tenants.keys["acme:developer"]).post(
        "/v1/erasures", json={"match": [{"column": "email", "value": "x"}]}
    )
    assert dev.status_code == 403


def test_upload_sensitive_flag_is_strict(api: ClientFactory, tenants: Tenants) -> None:
    bad = api(tenants.keys["acme:developer"]).post(
        "/v1/datasets",
        files={"file": ("people.csv", CSV, "text/csv")},
        data={"name": "people", "sensitive": "yes"},
    )
    assert bad.status_code == 422
    assert bad.json()["code"] == "invalid_flag"
