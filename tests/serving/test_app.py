"""The app as a whole: operations routes, OpenAPI, error documents, caps, metrics."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi import APIRouter
from servingkit import ClientFactory, PortalTransport, StaticResolver, Tenants

from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.serving.app import create_app
from baryon.serving.auth import Principal, require
from baryon.workspace import Workspace

ROW = {"a": 1, "b": 2}


def test_healthz_needs_no_key(api: ClientFactory) -> None:
    r = api().get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_readyz_checks_database_and_champions(api: ClientFactory) -> None:
    r = api().get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"status": "ready", "database": "ok", "models_checked": 5}


def test_readyz_unloadable_champion_503_without_names(
    api: ClientFactory, resolver: StaticResolver
) -> None:
    resolver.unloadable.add("sentiment")
    r = api().get("/readyz")
    assert r.status_code == 503
    assert r.json()["code"] == "not_ready"
    assert "sentiment" not in r.text


def test_readyz_database_down_503(
    api: ClientFactory, ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> None:
        raise OSError("disk gone /var/lib/secret")

    monkeypatch.setattr(ws.db, "connect", broken)
    r = api().get("/readyz")
    assert r.status_code == 503
    assert "secret" not in r.text


def test_openapi_documents_every_route_with_bearer_security(api: ClientFactory) -> None:
    doc = api().get("/openapi.json").json()
    assert "/v1/models/{name}/predict" in doc["paths"]
    assert "/v1/usage" in doc["paths"]
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    predict = doc["paths"]["/v1/models/{name}/predict"]["post"]
    assert predict["security"] == [{"HTTPBearer": []}]
    assert "429" in predict["responses"]
    assert "security" not in doc["paths"]["/healthz"]["get"]
    docs = api().get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()


def test_unknown_route_and_method_are_problems(api: ClientFactory) -> None:
    missing = api().get("/v1/nowhere")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert missing.json()["code"] == "not_found"
    wrong = api().delete("/healthz")
    assert wrong.status_code == 405
    assert wrong.json()["code"] == "method_not_allowed"
    assert wrong.headers["allow"] == "GET"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        # Paths served by several routes (one per method): Starlette's own 405 named
        # only the first route's method (`Allow: GET` on /v1/keys).
        ("PUT", "/v1/keys", "GET, POST"),
        ("OPTIONS", "/v1/keys", "GET, POST"),
        ("PATCH", "/v1/keys/key_x", "DELETE, GET"),
        ("PUT", "/v1/org", "GET, PATCH"),
        ("DELETE", "/v1/runs", "GET, POST"),
        ("PUT", "/v1/labeling/queues/q", "GET, PATCH"),
    ],
)
def test_405_allow_lists_every_method_of_the_path(
    api: ClientFactory, tenants: Tenants, method: str, path: str, allow: str
) -> None:
    r = api(tenants.keys["acme:admin"]).request(method, path)
    assert r.status_code == 405
    assert r.headers["allow"] == allow
    assert r.json()["code"] == "method_not_allowed"


def test_405_allow_matches_the_openapi_methods_of_every_path(
    api: ClientFactory, tenants: Tenants
) -> None:
    doc = api().get("/openapi.json").json()
    client = api(tenants.keys["acme:admin"])
    for template, operations in doc["paths"].items():
        path = template.replace("{", "x").replace("}", "")
        r = client.request("TRACE", path)
        assert r.status_code == 405, template
        assert r.headers["allow"] == ", ".join(sorted(m.upper() for m in operations)), template


def test_body_over_cap_413_before_anything_else(
    api: ClientFactory, tenants: Tenants, settings: Settings
) -> None:
    big = b'{"inputs": ["' + b"x" * settings.max_body_bytes + b'"]}'
    client = api(tenants.keys["acme:developer"])
    r = client.post(
        "/v1/models/sentiment/predict", content=big, headers={"content-type": "application/json"}
    )
    assert r.status_code == 413
    assert r.json()["code"] == "payload_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"inputs": ["'
        for _ in range(settings.max_body_bytes // 65536 + 2):
            yield b"x" * 65536
        yield b'"]}'

    streamed = client.post(
        "/v1/models/sentiment/predict",
        content=chunks(),
        headers={"content-type": "application/json"},
    )
    assert streamed.status_code == 413


_DEEP = b"[" * 10_000 + b"]" * 10_000


@pytest.mark.parametrize(
    ("method", "path", "body", "content_type"),
    [
        ("POST", "/v1/models/adder/predict", b'{"inputs": [' + _DEEP + b"]}", "application/json"),
        ("POST", "/v1/models/adder/predict", b'{"inputs": [' + _DEEP + b"]}", None),
        ("PUT", "/v1/endpoints/adder", b'{"challenger_weight":' + _DEEP + b"}", "Application/JSON"),
        ("POST", "/v1/runs", b'{"params": {"a": ' + _DEEP + b"}}", "application/merge-patch+json"),
        # with a surrogate escape the middleware itself parsed the body (500 internal_error)
        ("POST", "/v1/models/adder/predict", b'{"inputs": ["\\ud800", ' + _DEEP + b"]}",
         "application/json"),
    ],
)  # fmt: skip
def test_body_nested_ten_thousand_deep_422_too_deep(
    api: ClientFactory,
    tenants: Tenants,
    method: str,
    path: str,
    body: bytes,
    content_type: str | None,
) -> None:
    # Broke as 400 "There was an error parsing the body" (RecursionError in json.loads).
    headers = {} if content_type is None else {"content-type": content_type}
    r = api(tenants.keys["acme:owner"]).request(method, path, content=body, headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "too_deep"
    assert r.headers["content-type"].startswith("application/problem+json")


def test_body_at_max_depth_reaches_the_route(api: ClientFactory, tenants: Tenants) -> None:
    from baryon.core.jsonvalues import MAX_DEPTH

    nested = b"[" * (MAX_DEPTH - 2) + b"1" + b"]" * (MAX_DEPTH - 2)  # in {"inputs": [...]}
    r = api(tenants.keys["acme:developer"]).post(
        "/v1/models/adder/predict",
        content=b'{"inputs": [' + nested + b"]}",
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 422
    assert r.json()["code"] != "too_deep"


@pytest.mark.parametrize("media_type", ["text/plain", "text/json"])
def test_body_fastapi_does_not_read_as_json_is_not_scanned(
    api: ClientFactory, tenants: Tenants, media_type: str
) -> None:
    # FastAPI reads only application/json and application/*+json bodies as JSON.
    r = api(tenants.keys["acme:developer"]).post(
        "/v1/models/adder/predict", content=_DEEP, headers={"content-type": media_type}
    )
    assert r.json()["code"] != "too_deep"


@pytest.fixture
def faulty_app_client(
    settings: Settings, ws: Workspace, clock: FixedClock, resolver: StaticResolver
) -> Iterator[httpx.Client]:
    router = APIRouter()

    @router.get("/v1/explode")
    def explode(principal: Principal = require("org:read")) -> dict[str, str]:
        raise RuntimeError("password=hunter2 at /srv/secret.py line 3")

    app = create_app(settings, workspace=ws, clock=clock, resolver=resolver, routers=[router])
    transport = PortalTransport(app)
    yield httpx.Client(base_url="http://testserver", transport=transport)
    transport.shutdown()


def test_unexpected_exception_500_problem_without_trace(
    faulty_app_client: httpx.Client, tenants: Tenants
) -> None:
    r = faulty_app_client.get(
        "/v1/explode", headers={"Authorization": f"Bearer {tenants.keys['acme:viewer']}"}
    )
    assert r.status_code == 500
    assert r.json()["code"] == "internal_error"
    assert "hunter2" not in r.text
    assert "Traceback" not in r.text
    assert "secret" not in r.text


def test_metrics_for_operator_admins_only(api: ClientFactory, tenants: Tenants) -> None:
    api(tenants.keys["acme:developer"]).post("/v1/models/adder/predict", json={"inputs": [ROW]})
    assert api(tenants.keys["acme:owner"]).get("/metrics").status_code == 403
    assert api(tenants.keys["ops:developer"]).get("/metrics").status_code == 403
    r = api(tenants.keys["ops:admin"]).get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    predict = 'method="POST",route="/v1/models/{name}/predict"'
    assert f'baryon_http_requests_total{{{predict},status="200"}} 1.0' in text
    assert f"baryon_http_request_duration_seconds_count{{{predict}}} 1.0" in text
    assert 'baryon_usage_units_total{endpoint="/v1/models/{name}/predict"} 1.0' in text
    assert 'baryon_predictions_total{model="adder",variant="champion"} 1.0' in text


def test_metrics_registry_is_per_app(
    settings: Settings, ws: Workspace, clock: FixedClock, tenants: Tenants
) -> None:
    apps = [create_app(settings, workspace=ws, clock=clock) for _ in range(2)]
    transports = [PortalTransport(a) for a in apps]
    try:
        auth = {"Authorization": f"Bearer {tenants.keys['ops:admin']}"}
        with httpx.Client(base_url="http://t", transport=transports[0], headers=auth) as first:
            for _ in range(3):
                first.get("/v1/me")
        with httpx.Client(base_url="http://t", transport=transports[1], headers=auth) as second:
            text = second.get("/metrics").text
        assert 'route="/v1/me"' not in text
    finally:
        for t in transports:
            t.shutdown()
