"""Sharing over the API: grants give another organization read or predict, revocably."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi import FastAPI
from servingkit import ClientFactory, Tenants

from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.predictions.inference import RegistryModelResolver
from baryon.serving.app import create_app
from baryon.training.trainer import Trainer
from baryon.workspace import Workspace

ROWS = [{"x1": 0.9, "x2": 0.8}]


@pytest.fixture
def app(settings: Settings, ws: Workspace, clock: FixedClock, tenants: Tenants) -> FastAPI:
    """acme owns model ``toy`` (and dataset ``toy``); the app serves the real registry."""
    rng = np.random.default_rng(0)
    lines = ["x1,x2,label"] + [
        f"{a:.3f},{b:.3f},{'hi' if a + b > 1 else 'lo'}" for a, b in rng.random((80, 2))
    ]
    path = settings.home / "toy.csv"
    path.write_text("\n".join(lines) + "\n")
    acme = ws.for_org("acme")
    acme.datasets.ingest(path, name="toy", roles={"label": "label"})
    acme.datasets.split("toy", strategy="random", seed=1)
    run = Trainer(acme).train("decision_tree", dataset="toy", register="toy")
    assert run.status == "succeeded", run
    resolver = RegistryModelResolver(ws, alias_ttl=0.0)
    return create_app(settings, workspace=ws, clock=clock, resolver=resolver)


def _grant(api: ClientFactory, tenants: Tenants, permission: str, grantee: str = "globex"):
    admin = api(tenants.keys["acme:admin"])
    body = {"object_type": "model", "name": "toy", "grantee": grantee, "permission": permission}
    return admin.post("/v1/grants", json=body)


def test_other_orgs_model_is_404_until_shared(api: ClientFactory, tenants: Tenants) -> None:
    globex = api(tenants.keys["globex:developer"])
    assert (
        api(tenants.keys["acme:developer"])
        .post("/v1/models/toy/predict", json={"inputs": ROWS})
        .status_code
        == 200
    )
    denied = globex.post("/v1/models/toy/predict", json={"inputs": ROWS})
    assert (denied.status_code, denied.json()["code"]) == (404, "model_not_found")


def test_predict_grant_then_revoke_takes_effect_next_request(
    api: ClientFactory, tenants: Tenants
) -> None:
    created = _grant(api, tenants, "predict")
    assert created.status_code == 201, created.text
    grant = created.json()
    assert (grant["owner"], grant["grantee"], grant["permission"]) == ("acme", "globex", "predict")
    globex = api(tenants.keys["globex:developer"])
    ok = globex.post("/v1/models/toy/predict", json={"inputs": ROWS})
    assert ok.status_code == 200, ok.text
    assert ok.json()["model"] == "toy"
    listed = api(tenants.keys["globex:viewer"]).get("/v1/grants").json()
    assert [g["id"] for g in listed["received"]] == [grant["id"]]
    assert listed["given"] == []
    revoked = api(tenants.keys["acme:admin"]).delete(f"/v1/grants/{grant['id']}")
    assert revoked.status_code == 200
    gone = globex.post("/v1/models/toy/predict", json={"inputs": ROWS})
    assert gone.status_code == 404


def test_read_grant_is_not_a_predict_grant(api: ClientFactory, tenants: Tenants) -> None:
    assert _grant(api, tenants, "read").status_code == 201
    refused = api(tenants.keys["globex:developer"]).post(
        "/v1/models/toy/predict", json={"inputs": ROWS}
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "predict_not_granted")


def test_grant_to_everyone_reaches_every_organization(api: ClientFactory, tenants: Tenants) -> None:
    created = _grant(api, tenants, "predict", grantee="*")
    assert (created.status_code, created.json()["grantee"]) == (201, "*")
    for org in ("globex", "ops"):
        answer = api(tenants.keys[f"{org}:developer"]).post(
            "/v1/models/toy/predict", json={"inputs": ROWS}
        )
        assert answer.status_code == 200, (org, answer.text)


def test_granting_twice_returns_the_same_grant(api: ClientFactory, tenants: Tenants) -> None:
    first, again = _grant(api, tenants, "predict"), _grant(api, tenants, "predict")
    assert first.json()["id"] == again.json()["id"]


@pytest.mark.parametrize(
    ("key", "body", "status", "code"),
    [
        ("acme:admin", {"grantee": "nobody"}, 404, "org_not_found"),
        ("acme:admin", {"grantee": "acme"}, 422, "self_grant"),
        ("acme:admin", {"name": "missing"}, 404, "model_not_found"),
        ("acme:admin", {"object_type": "dataset", "permission": "predict"}, 422,
         "invalid_permission"),
        ("globex:admin", {"grantee": "ops"}, 404, "model_not_found"),  # not globex's to share
        ("acme:developer", {}, 403, "forbidden"),
    ],
)  # fmt: skip
def test_bad_grants_are_refused_with_a_code(
    api: ClientFactory, tenants: Tenants, key: str, body: dict, status: int, code: str
) -> None:
    full = {"object_type": "model", "name": "toy", "grantee": "globex", "permission": "read"}
    answer = api(tenants.keys[key]).post("/v1/grants", json={**full, **body})
    assert (answer.status_code, answer.json()["code"]) == (status, code), answer.text


def test_shared_model_cannot_be_reshared_by_the_grantee(
    api: ClientFactory, tenants: Tenants
) -> None:
    assert _grant(api, tenants, "predict").status_code == 201
    body = {"object_type": "model", "name": "toy", "grantee": "ops", "permission": "predict"}
    answer = api(tenants.keys["globex:admin"]).post("/v1/grants", json=body)
    assert (answer.status_code, answer.json()["code"]) == (404, "model_not_found")


def test_revoking_another_orgs_grant_is_404(api: ClientFactory, tenants: Tenants) -> None:
    grant = _grant(api, tenants, "predict").json()
    answer = api(tenants.keys["globex:admin"]).delete(f"/v1/grants/{grant['id']}")
    assert (answer.status_code, answer.json()["code"]) == (404, "grant_not_found")


def test_owner_picks_the_shared_model_over_your_own_of_the_same_name_for_reads_only(
    api: ClientFactory, tenants: Tenants, ws: Workspace, settings: Settings
) -> None:
    """globex owns a ``toy`` too: ``?owner=acme`` calls acme's; writes never reach it."""
    globex = ws.for_org("globex")
    globex.datasets.ingest(settings.home / "toy.csv", name="toy", roles={"label": "label"})
    globex.datasets.split("toy", strategy="random", seed=2)
    assert Trainer(globex).train("mlp", dataset="toy", register="toy").status == "succeeded"
    assert _grant(api, tenants, "predict").status_code == 201
    dev, admin = api(tenants.keys["globex:developer"]), api(tenants.keys["globex:admin"])
    own = dev.post("/v1/models/toy/predict", json={"inputs": ROWS}).json()
    shared = dev.post("/v1/models/toy/predict?owner=acme", json={"inputs": ROWS}).json()
    assert own["model"] == shared["model"] == "toy"
    acme_kind = ws.for_org("acme").registry.get_version("toy").kind
    assert (acme_kind, globex.registry.get_version("toy").kind) == ("decision_tree", "mlp")
    for url in ("/v1/models/toy/rollback?owner=acme", "/v1/models/toy/promote?owner=acme"):
        answer = admin.post(url, json={"version": 1} if "promote" in url else {})
        assert (answer.status_code, answer.json()["code"]) == (404, "model_not_found"), url


def test_numbers_past_64_bits_are_a_named_422_not_a_500(
    api: ClientFactory, tenants: Tenants
) -> None:
    dev = api(tenants.keys["acme:developer"])
    huge = 1180591620717411303424
    for answer in (
        dev.get(f"/v1/datasets/toy?version={huge}"),
        dev.post("/v1/runs", json={"kind": "decision_tree", "dataset": "toy", "seed": huge}),
        dev.post(f"/v1/models/toy/predict?version={huge}", json={"inputs": ROWS}),
    ):
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] in ("number_too_large", "invalid_input", "invalid_seed"), (
            answer.text
        )


def test_evaluate_on_a_dataset_without_split_is_no_split_not_all_rows(
    api: ClientFactory, tenants: Tenants, ws: Workspace, settings: Settings
) -> None:
    ws.for_org("acme").datasets.ingest(
        settings.home / "toy.csv", name="raw", roles={"label": "label"}
    )
    answer = api(tenants.keys["acme:developer"]).post(
        "/v1/models/toy/evaluate", json={"dataset": "raw", "split": "test"}
    )
    assert (answer.status_code, answer.json()["code"]) == (422, "no_split"), answer.text
