"""The registry over HTTP: catalogue, detail, promote, rollback, evaluate, and models
brought from elsewhere — between two organizations, with grants and every role.

acme owns model ``points``; globex owns ``gpoints``. Without a grant globex gets 404 on
every route that names acme's model; with ``read`` it sees it but cannot promote it
(404), run it (403 ``predict_not_granted``) or evaluate it (403); with ``predict`` it
can call it; a revoked grant is gone on the next request.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from fastapi import FastAPI
from servingkit import ClientFactory, PortalTransport, Tenants
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from baryon.client import Client
from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.core.errors import BaryonError, Conflict, Forbidden, NotFound
from baryon.predictions.inference import RegistryModelResolver
from baryon.serving.app import create_app
from baryon.training.external import register_external_model
from baryon.workspace import Workspace

ROWS = [{"x1": 0.95, "x2": 0.9}, {"x1": 0.05, "x2": 0.1}]


def _points(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.random((160, 2)), columns=["x1", "x2"]).round(4)
    frame["label"] = np.where(frame["x1"] + frame["x2"] > 1, "hi", "lo")
    return frame


def _dataset(ws: Workspace, org: str, name: str, seed: int) -> Workspace:
    view = ws.for_org(org)
    path = ws.settings.home / f"{org}-{name}.csv"
    _points(seed).to_csv(path, index=False)
    view.datasets.ingest(path, name=name, roles={"label": "label"})
    view.datasets.split(name, strategy="random", seed=1)
    return view


def _train(view: Workspace, dataset: str) -> tuple[pd.DataFrame, pd.Series]:
    train = view.datasets.get(dataset).to_pandas(split="train")
    return train[["x1", "x2"]], train["label"]


def _weak(view: Workspace, dataset: str = "points") -> bytes:
    return sio.dumps(DummyClassifier(strategy="prior").fit(*_train(view, dataset)))


def _strong(view: Workspace, dataset: str = "points") -> bytes:
    est = GradientBoostingClassifier(n_estimators=30, max_depth=2, random_state=0)
    return sio.dumps(est.fit(*_train(view, dataset)))


def _linear(view: Workspace, dataset: str = "points") -> bytes:
    return sio.dumps(LogisticRegression(C=10.0).fit(*_train(view, dataset)))


@pytest.fixture
def world(ws: Workspace, tenants: Tenants) -> dict[str, Workspace]:
    """acme: dataset + model ``points`` (v1 logistic regression, champion); globex:
    dataset ``gdata`` and model ``gpoints``."""
    acme = _dataset(ws, "acme", "points", seed=0)
    register_external_model(acme, "points", _linear(acme), dataset="points", target="label")
    globex = _dataset(ws, "globex", "gdata", seed=5)
    register_external_model(
        globex, "gpoints", _linear(globex, "gdata"), dataset="gdata", target="label"
    )
    return {"acme": acme, "globex": globex}


@pytest.fixture
def app(settings: Settings, ws: Workspace, clock: FixedClock) -> FastAPI:
    """The app on the real registry, alias moves visible at once."""
    resolver = RegistryModelResolver(ws, alias_ttl=0.0)
    return create_app(settings, workspace=ws, clock=clock, resolver=resolver)


def _upload(client: httpx.Client, name: str, payload: bytes, **fields: str) -> httpx.Response:
    data = {"dataset": "points", "target": "label", **fields}
    files = {"file": ("model.skops", payload, "application/octet-stream")}
    return client.post(f"/v1/models/{name}/versions", data=data, files=files)


def _grant(api: ClientFactory, tenants: Tenants, permission: str) -> str:
    body = {"object_type": "model", "name": "points", "grantee": "globex"}
    r = api(tenants.keys["acme:owner"]).post("/v1/grants", json={**body, "permission": permission})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


# ----------------------------------------------------------------- catalogue
def test_list_shows_own_models_only_with_champion_metrics(
    api: ClientFactory, tenants: Tenants, world: dict[str, Workspace]
) -> None:
    acme = api(tenants.keys["acme:viewer"]).get("/v1/models")
    assert acme.status_code == 200, acme.text
    [model] = acme.json()
    assert (model["name"], model["owner"], model["ref"], model["access"]) == (
        "points", "acme", "points", "own",
    )  # fmt: skip
    assert model["actions"] == ["read", "evaluate"]  # a viewer's key
    assert model["champion"]["version"] == 1
    assert model["champion"]["kind"] == "external_sklearn"
    assert model["champion"]["metrics"]["accuracy"] > 0.9
    assert model["aliases"] == {"champion": 1}
    owner = api(tenants.keys["acme:owner"]).get("/v1/models").json()[0]
    assert owner["actions"] == ["read", "evaluate", "predict", "register", "promote", "rollback"]
    assert [m["name"] for m in api(tenants.keys["globex:owner"]).get("/v1/models").json()] == [
        "gpoints"
    ]


def test_other_org_gets_404_on_every_route_naming_the_model(
    api: ClientFactory, tenants: Tenants, world: dict[str, Workspace]
) -> None:
    globex = api(tenants.keys["globex:owner"])
    calls = [
        globex.get("/v1/models/points"),
        globex.get("/v1/models/points?owner=acme"),
        globex.post("/v1/models/points/promote", json={"version": 1}),
        globex.post("/v1/models/points/rollback", json={}),
        globex.post("/v1/models/points/evaluate", json={"dataset": "gdata"}),
        globex.post("/v1/models/points/evaluate?owner=acme", json={"dataset": "gdata"}),
        globex.post("/v1/models/points/predict", json={"inputs": ROWS}),
    ]
    assert [c.status_code for c in calls] == [404] * len(calls), [c.text for c in calls]
    assert {c.json()["code"] for c in calls} == {"model_not_found"}
    for call in calls:
        assert "acme" not in call.text or "owner=acme" in str(call.request.url)
    # registering under acme's name makes globex's own model; acme's is untouched
    made = _upload(globex, "points", _linear(world["globex"], "gdata"), dataset="gdata")
    assert made.status_code == 201, made.text
    assert world["acme"].registry.get_version("points").version == 1
    assert len(world["acme"].registry.list_versions("points")) == 1
    assert world["globex"].registry.get_version("points").org_id == tenants.org_ids["globex"]


def test_read_grant_shows_model_but_no_promote_predict_or_evaluate(
    api: ClientFactory, tenants: Tenants, world: dict[str, Workspace]
) -> None:
    _grant(api, tenants, "read")
    globex = api(tenants.keys["globex:owner"])
    listed = {m["ref"]: m for m in globex.get("/v1/models").json()}
    assert set(listed) == {"gpoints", "acme/points"}
    shared = listed["acme/points"]
    assert (shared["owner"], shared["access"], shared["actions"]) == ("acme", "read", ["read"])
    detail = globex.get("/v1/models/points?owner=acme")
    assert detail.status_code == 200, detail.text
    body = detail.json()
    assert [v["version"] for v in body["versions"]] == [1]
    assert body["versions"][0]["created_by"] == "acme"  # not acme's key id
    assert {h["actor"] for h in body["history"]} == {"acme"}
    assert globex.get("/v1/models/points").json()["owner"] == "acme"  # bare name: the shared one
    assert globex.post("/v1/models/points/promote", json={"version": 1}).status_code == 404
    assert globex.post("/v1/models/points/rollback").status_code == 404
    predicted = globex.post("/v1/models/points/predict", json={"inputs": ROWS})
    assert (predicted.status_code, predicted.json()["code"]) == (403, "predict_not_granted")
    evaluated = globex.post("/v1/models/points/evaluate?owner=acme", json={"dataset": "gdata"})
    assert (evaluated.status_code, evaluated.json()["code"]) == (403, "predict_not_granted")


def test_predict_grant_allows_calls_and_revoke_takes_effect_next_request(
    api: ClientFactory, tenants: Tenants, world: dict[str, Workspace]
) -> None:
    grant_id = _grant(api, tenants, "predict")
    globex = api(tenants.keys["globex:developer"])
    predicted = globex.post("/v1/models/points/predict", json={"inputs": ROWS})
    assert predicted.status_code == 200, predicted.text
    assert [o["label"] for o in predicted.json()["outputs"]] == ["hi", "lo"]
    evaluated = globex.post("/v1/models/points/evaluate", json={"dataset": "gdata"})
    assert evaluated.status_code == 200, evaluated.text
    assert evaluated.json()["dataset"].startswith("gdata:")
    shared = next(m for m in globex.get("/v1/models").json() if m["owner"] == "acme")
    assert (shared["access"], shared["actions"]) == ("predict", ["read", "evaluate", "predict"])
    revoked = api(tenants.keys["acme:owner"]).delete(f"/v1/grants/{grant_id}")
    assert revoked.status_code == 200, revoked.text
    assert globex.post("/v1/models/points/predict", json={"inputs": ROWS}).status_code == 404
    assert globex.get("/v1/models/points?owner=acme").status_code == 404
    assert [m["name"] for m in globex.get("/v1/models").json()] == ["gpoints"]


# ---------------------------------------------------------------------- roles
@pytest.mark.parametrize(
    ("role", "method", "path", "status"),
    [
        ("developer", "post", "/v1/models/points/promote", 403),
        ("developer", "post", "/v1/models/points/rollback", 403),
        ("viewer", "post", "/v1/models/points/versions", 403),
        ("annotator", "post", "/v1/models/points/versions", 403),
        ("viewer", "get", "/v1/models/points", 200),
        ("annotator", "get", "/v1/models", 200),
        ("viewer", "post", "/v1/models/points/evaluate", 200),
    ],
)
def test_role_matrix(
    api: ClientFactory,
    tenants: Tenants,
    world: dict[str, Workspace],
    role: str,
    method: str,
    path: str,
    status: int,
) -> None:
    client = api(tenants.keys[f"acme:{role}"])
    if path.endswith("/versions"):
        r = _upload(client, "points", _strong(world["acme"]))
    elif path.endswith("/evaluate"):
        r = client.post(path, json={"dataset": "points"})
    elif path.endswith("/promote"):
        r = client.post(path, json={"version": 1})
    else:
        r = client.request(method, path)
    assert r.status_code == status, r.text
    if status == 403:
        assert r.json()["code"] == "forbidden"


# --------------------------------------------------------------- lifecycle
def test_byo_round_trip_register_challenger_promote_predict_rollback(
    api: ClientFactory, tenants: Tenants, ws: Workspace
) -> None:
    acme = _dataset(ws, "acme", "points", seed=0)
    dev, admin = api(tenants.keys["acme:developer"]), api(tenants.keys["acme:admin"])
    first = _upload(dev, "points", _weak(acme))
    assert first.status_code == 201, first.text
    assert first.json()["version"]["aliases"] == ["champion"]  # a new name: nothing to gate
    strong = _strong(acme)
    second = _upload(dev, "points", strong)
    assert second.status_code == 201, second.text
    made = second.json()
    assert (made["created"], made["version"]["version"], made["version"]["aliases"]) == (
        True, 2, ["challenger"],
    )  # fmt: skip
    assert made["version"]["kind"] == "external_sklearn"
    assert made["version"]["metrics"]["accuracy"] > first.json()["version"]["metrics"]["accuracy"]
    again = _upload(dev, "points", strong)
    assert (again.status_code, again.json()["created"], again.json()["run_id"]) == (
        200, False, made["run_id"],
    )  # fmt: skip
    assert dev.post("/v1/models/points/predict", json={"inputs": ROWS}).json()["model_version"] == 1
    promoted = admin.post(
        "/v1/models/points/promote", json={"version": 2, "min_delta": 0.1, "reason": "byo gbm"}
    )
    assert promoted.status_code == 200, promoted.text
    move = promoted.json()
    assert (move["from_version"], move["to_version"], move["gate"]["passed"]) == (1, 2, True)
    answer = dev.post("/v1/models/points/predict", json={"inputs": ROWS}).json()
    assert answer["model_version"] == 2
    assert [o["label"] for o in answer["outputs"]] == ["hi", "lo"]
    rolled = admin.post("/v1/models/points/rollback", json={"reason": "back"})
    assert (rolled.status_code, rolled.json()["to_version"]) == (200, 1)
    detail = admin.get("/v1/models/points").json()
    assert [(h["alias"], h["action"]) for h in detail["history"]] == [
        ("champion", "register"),
        ("challenger", "register"),
        ("champion", "promote"),
        ("challenger", "promote"),
        ("champion", "rollback"),
    ]
    assert detail["history"][2]["gate"]["passed"] is True
    assert [v["run_id"] for v in detail["versions"]][1] == made["run_id"]
    assert detail["versions"][1]["dataset_version_id"] == acme.datasets.get("points").id


def test_promote_gate_refused_409_with_both_numbers(
    api: ClientFactory, tenants: Tenants, world: dict[str, Workspace]
) -> None:
    assert (
        _upload(api(tenants.keys["acme:developer"]), "points", _weak(world["acme"])).status_code
        == 201
    )
    r = api(tenants.keys["acme:owner"]).post("/v1/models/points/promote", json={"version": 2})
    assert (r.status_code, r.json()["code"]) == (409, "gate_refused")
    details = r.json()["details"]
    assert details["challenger_value"] < details["champion_value"]
    assert world["acme"].registry.get_version("points").version == 1
    forced = api(tenants.keys["acme:owner"]).post(
        "/v1/models/points/promote", json={"version": 2, "force": True, "reason": "test"}
    )
    assert (forced.status_code, forced.json()["forced"]) == (200, True)


def test_rollback_without_previous_champion_409(
    api: ClientFactory, tenants: Tenants, world: dict[str, Workspace]
) -> None:
    r = api(tenants.keys["acme:admin"]).post("/v1/models/points/rollback")
    assert (r.status_code, r.json()["code"]) == (409, "no_previous_champion")


def test_rollback_with_idempotency_key_moves_once(
    api: ClientFactory, tenants: Tenants, world: dict[str, Workspace]
) -> None:
    acme = world["acme"]
    dev, admin = api(tenants.keys["acme:developer"]), api(tenants.keys["acme:admin"])
    for payload in (_strong(acme), _weak(acme)):
        assert _upload(dev, "points", payload).status_code == 201
    for version in (2, 3):
        r = admin.post("/v1/models/points/promote", json={"version": version, "force": True})
        assert r.status_code == 200, r.text
    headers = {"Idempotency-Key": "rollback-1"}
    first = admin.post("/v1/models/points/rollback", json={}, headers=headers)
    again = admin.post("/v1/models/points/rollback", json={}, headers=headers)
    assert first.json()["to_version"] == again.json()["to_version"] == 2
    assert again.headers["idempotent-replayed"] == "true"
    assert acme.registry.get_version("points").version == 2


def test_promote_unknown_version_404_and_bad_body_422(
    api: ClientFactory, tenants: Tenants, world: dict[str, Workspace]
) -> None:
    admin = api(tenants.keys["acme:admin"])
    r = admin.post("/v1/models/points/promote", json={"version": 9})
    assert (r.status_code, r.json()["code"]) == (404, "version_not_found")
    for body in ({"version": "2"}, {"version": 2, "min_delta": -1}, {"version": 2, "extra": 1}):
        assert admin.post("/v1/models/points/promote", json=body).status_code == 422


# ---------------------------------------------------------------- evaluate
def test_evaluate_champion_on_test_split_matches_stored_metrics(
    api: ClientFactory, tenants: Tenants, world: dict[str, Workspace]
) -> None:
    dev = api(tenants.keys["acme:developer"])
    r = dev.post("/v1/models/points/evaluate", json={"dataset": "points"})
    assert r.status_code == 200, r.text
    body = r.json()
    stored = world["acme"].registry.get_version("points").metrics
    assert (body["version"], body["split"], body["task"]) == (1, "test", "classification")
    assert body["metrics"]["accuracy"] == pytest.approx(stored["accuracy"])
    validation = dev.post(
        "/v1/models/points/evaluate",
        json={"dataset": "points", "version": 1, "split": "validation"},
    ).json()
    assert validation["split"] == "validation"
    assert validation["report"]["n_rows"] != body["report"]["n_rows"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"dataset": "nope"}, 404, "dataset_not_found"),
        ({"dataset": "points", "version": 7}, 404, "version_not_found"),
        ({"dataset": "points", "split": "holdout"}, 422, "invalid_input"),
        ({}, 422, "invalid_input"),
    ],
)
def test_evaluate_bad_request(
    api: ClientFactory,
    tenants: Tenants,
    world: dict[str, Workspace],
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    r = api(tenants.keys["acme:developer"]).post("/v1/models/points/evaluate", json=body)
    assert (r.status_code, r.json()["code"]) == (status, code), r.text


# ---------------------------------------------------------------- refusals
def _double(x: Any) -> Any:
    return x * 2


def test_upload_untrusted_type_or_pickle_refused_and_nothing_kept(
    api: ClientFactory, tenants: Tenants, ws: Workspace
) -> None:
    acme = _dataset(ws, "acme", "points", seed=0)
    X, y = _train(acme, "points")
    dev = api(tenants.keys["acme:developer"])
    before = set(ws.artifacts.digests())
    untrusted = sio.dumps(
        make_pipeline(FunctionTransformer(_double), LogisticRegression()).fit(X, y)
    )
    cases = [
        (untrusted, "untrusted_model"),
        (pickle.dumps(LogisticRegression().fit(X, y)), "invalid_model_file"),
        (b"\x00garbage" * 10, "invalid_model_file"),
        (b"x" * 1_500_000, "invalid_model_file"),  # over BARYON_MAX_BODY_BYTES, under the model cap
    ]
    for payload, code in cases:
        r = _upload(dev, "points", payload)
        assert (r.status_code, r.json()["code"]) == (422, code), r.text
        assert "Traceback" not in r.text
    assert acme.runs.list() == []
    assert acme.registry.list_models() == []
    assert set(ws.artifacts.digests()) == before


def test_upload_over_model_cap_413(
    tenants: Tenants, ws: Workspace, settings: Settings, clock: FixedClock
) -> None:
    small = settings.model_copy(update={"max_model_bytes": 2000})
    view = Workspace(small, ws.db, ws.artifacts, clock, scope=ws.scope)
    app = create_app(small, workspace=view, clock=clock)
    transport = PortalTransport(app)
    try:
        headers = {"Authorization": f"Bearer {tenants.keys['acme:developer']}"}
        with httpx.Client(base_url="http://t", transport=transport, headers=headers) as client:
            domain = _upload(client, "m", b"x" * 3000)
            assert (domain.status_code, domain.json()["code"]) == (413, "model_file_too_large")
            body = _upload(client, "m", b"x" * 2_000_000)
            assert (body.status_code, body.json()["code"]) == (413, "payload_too_large")
    finally:
        transport.shutdown()


def test_upload_missing_form_fields_422(
    api: ClientFactory, tenants: Tenants, world: dict[str, Workspace]
) -> None:
    dev = api(tenants.keys["acme:developer"])
    r = dev.post("/v1/models/points/versions", files={"file": ("m.skops", b"x")})
    assert (r.status_code, r.json()["code"]) == (422, "invalid_input")
    assert {e["loc"][-1] for e in r.json()["errors"]} == {"dataset", "target"}
    bad_name = _upload(dev, "bad name", _linear(world["acme"]))
    assert bad_name.status_code == 422


# --------------------------------------------------------------------- SDK
def test_sdk_models_round_trip(
    app: FastAPI, tenants: Tenants, world: dict[str, Workspace], tmp_path: Path
) -> None:
    transport = PortalTransport(app)
    path = tmp_path / "gbm.skops"
    path.write_bytes(_strong(world["acme"]))
    try:
        dev = Client("http://t", api_key=tenants.keys["acme:developer"], transport=transport)
        admin = Client("http://t", api_key=tenants.keys["acme:admin"], transport=transport)
        made = dev.register_model("points", path, dataset="points", target="label")
        assert (made.created, made.version.version, made.version.aliases) == (
            True, 2, ["challenger"],
        )  # fmt: skip
        [model] = dev.models()
        assert (model.name, model.latest_version, model.champion.version) == ("points", 2, 1)  # type: ignore[union-attr]
        assert [v.version for v in dev.model("points").versions] == [1, 2]
        evaluation = dev.evaluate("points", "points", version=2)
        assert evaluation.metrics["accuracy"] == pytest.approx(made.version.metrics["accuracy"])
        with pytest.raises(Forbidden) as forbidden:
            dev.promote("points", 2)
        assert forbidden.value.code == "forbidden"
        with pytest.raises(Conflict) as refused:  # v1 (logistic regression) is perfect
            admin.promote("points", 2)
        assert refused.value.code == "gate_refused"
        move = admin.promote("points", 2, force=True, reason="sdk")
        assert (move.from_version, move.to_version, move.changed) == (1, 2, True)
        assert admin.promote("points", 2).changed is False
        assert admin.rollback("points").to_version == 1
        with pytest.raises(Conflict) as conflict:
            admin.rollback("points")
        assert conflict.value.code == "no_previous_champion"
        globex = Client("http://t", api_key=tenants.keys["globex:owner"], transport=transport)
        with pytest.raises(NotFound):
            globex.model("points", owner="acme")
    finally:
        transport.shutdown()


def test_sdk_register_model_is_a_multipart_upload(tmp_path: Path) -> None:
    seen: dict[str, Any] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["type"] = request.headers["content-type"]
        seen["body"] = request.read()
        return httpx.Response(500, json={"code": "x", "detail": "stop"})

    path = tmp_path / "m.skops"
    path.write_bytes(b"PK-model-bytes")
    client = Client("http://t", api_key="bry_x", transport=httpx.MockTransport(handler))
    with pytest.raises(BaryonError, match="stop"):
        client.register_model("m", path, dataset="d", target="t", task="regression")
    assert seen["type"].startswith("multipart/form-data")
    assert b"PK-model-bytes" in seen["body"]
    assert b'name="task"' in seen["body"]
