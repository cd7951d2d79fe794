"""``POST /v1/services/{service}/{path}``: a user's class behind keys, limits and metering."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from servingkit import ClientFactory, PortalTransport, Tenants, make_tenants

from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.serving.app import create_app
from baryon.workspace import Workspace

SAMPLES = Path(__file__).resolve().parents[1] / "services" / "samples.py"
SCORE = "/v1/services/mood/score"


@pytest.fixture
def tenants(ws: Workspace, clock: FixedClock) -> Tenants:
    """acme, globex, ops on plan ``test``: quota 10 units, 1000 requests a minute."""
    return make_tenants(ws, clock, quota=10, rate=1000)


def _serve(
    settings: Settings, ws: Workspace, clock: FixedClock, owner: str | None = None
) -> Iterator[ClientFactory]:
    served = settings.model_copy(update={"services": [str(SAMPLES)], "services_org": owner})
    app: FastAPI = create_app(served, workspace=ws, clock=clock)
    transport = PortalTransport(app)

    def make(secret: str | None = None, **headers: str) -> httpx.Client:
        if secret is not None:
            headers["Authorization"] = f"Bearer {secret}"
        return httpx.Client(base_url="http://testserver", transport=transport, headers=headers)

    try:
        with transport.lifespan(app):
            yield make
    finally:
        transport.shutdown()


@pytest.fixture
def services(settings: Settings, ws: Workspace, clock: FixedClock) -> Iterator[ClientFactory]:
    """The sample services, offered to every organization (no owner)."""
    yield from _serve(settings, ws, clock)


def _usage(client: httpx.Client) -> dict[str, Any]:
    groups = client.get("/v1/usage").json()["groups"]
    return {g["group"]: g for g in groups}


def test_service_call_answers_result_and_meters_units_per_item(
    services: ClientFactory, tenants: Tenants
) -> None:
    client = services(tenants.keys["acme:developer"])
    r = client.post(SCORE, json={"texts": ["a good day", "rain"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["result"] == [{"label": "pos", "score": 1.0}, {"label": "neg", "score": 0.5}]
    assert body["service"] == "mood"
    assert body["service_version"] == 2
    assert body["usage"] == {"units": 2, "quota": 10, "used": 2, "remaining": 8}
    assert r.headers["ratelimit-limit"] == "1000"
    logged = client.get(f"/v1/predictions/{body['prediction_id']}").json()
    assert logged["model"] == "service:mood/score"
    assert logged["model_version"] == 2
    admin = services(tenants.keys["acme:admin"])
    group = _usage(admin)[SCORE]
    assert (group["requests"], group["units"]) == (1, 2)
    metrics = services(tenants.keys["ops:admin"]).get("/metrics").text
    assert f'endpoint="{SCORE}"' in metrics


def test_service_quota_refuses_a_call_whose_units_do_not_fit(
    services: ClientFactory, tenants: Tenants
) -> None:
    client = services(tenants.keys["acme:developer"])
    assert client.post(SCORE, json={"texts": ["x"] * 9}).status_code == 200
    r = client.post(SCORE, json={"texts": ["x", "y"]})
    assert r.status_code == 429
    assert r.json()["code"] == "quota_exceeded"
    assert client.post(SCORE, json={"texts": ["x"]}).json()["usage"]["remaining"] == 0


def test_service_idempotency_key_replays_and_meters_once(
    services: ClientFactory, tenants: Tenants
) -> None:
    client = services(tenants.keys["acme:developer"], **{"Idempotency-Key": "k1"})
    first = client.post(SCORE, json={"texts": ["good"]})
    again = client.post(SCORE, json={"texts": ["good"]})
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert _usage(services(tenants.keys["acme:admin"]))[SCORE]["units"] == 1


def test_service_body_off_schema_is_422_problem(services: ClientFactory, tenants: Tenants) -> None:
    client = services(tenants.keys["acme:developer"])
    for bad in ({"texts": "not a list"}, {}, {"texts": ["a"], "extra": 1}):
        r = client.post(SCORE, json=bad)
        assert r.status_code == 422, bad
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "invalid_input"


def test_service_output_its_hints_forbid_is_named_500_with_the_field(
    services: ClientFactory, tenants: Tenants
) -> None:
    client = services(tenants.keys["acme:developer"])
    r = client.post("/v1/services/mood/lie", json={"text": "x"})
    assert r.status_code == 500
    problem = r.json()
    assert problem["code"] == "invalid_service_output"
    assert problem["details"]["field"] == "result.1.score"
    assert "result" not in problem
    assert "usage" not in problem
    group = _usage(services(tenants.keys["acme:admin"]))["/v1/services/mood/lie"]
    assert (group["units"], group["errors"]) == (0, 1)


def test_service_method_raising_is_500_without_its_message(
    services: ClientFactory, tenants: Tenants
) -> None:
    r = services(tenants.keys["acme:developer"]).post("/v1/services/mood/crash", json={"text": "x"})
    assert r.status_code == 500
    assert r.json()["code"] == "service_error"
    assert "passwd" not in r.text


def test_service_raising_a_baryon_error_answers_it_by_name(
    services: ClientFactory, tenants: Tenants
) -> None:
    client = services(tenants.keys["acme:developer"])
    r = client.post("/v1/services/mood/check", json={"text": "  "})
    assert (r.status_code, r.json()["code"]) == (422, "empty_text")
    assert client.post("/v1/services/mood/check", json={"text": "ok"}).json()["result"] == "ok"


def test_service_setup_failure_is_named_503_and_others_keep_serving(
    services: ClientFactory, tenants: Tenants, caplog: pytest.LogCaptureFixture
) -> None:
    (record,) = [r for r in caplog.get_records("setup") if r.name == "baryon.services"]
    assert record.exc_info is not None  # the traceback, logged at start-up
    assert "the weights file is missing" in str(record.exc_info[1])
    client = services(tenants.keys["acme:developer"])
    for _ in range(2):
        r = client.post("/v1/services/broken/go", json={"x": 1})
        assert r.status_code == 503
        assert r.json()["code"] == "service_setup_failed"
        assert "weights" not in r.text
    assert client.post(SCORE, json={"texts": ["good"]}).status_code == 200


def test_service_viewer_key_is_403(services: ClientFactory, tenants: Tenants) -> None:
    r = services(tenants.keys["acme:viewer"]).post(SCORE, json={"texts": ["good"]})
    assert r.status_code == 403
    assert r.json()["code"] == "forbidden"


def test_owned_service_is_404_for_another_organization(
    settings: Settings, ws: Workspace, clock: FixedClock, tenants: Tenants
) -> None:
    for make in _serve(settings, ws, clock, owner=tenants.org_ids["acme"]):
        other = make(tenants.keys["globex:developer"])
        r = other.post(SCORE, json={"texts": ["good"]})
        missing = other.post("/v1/services/nothing/here", json={"texts": ["good"]})
        assert r.status_code == 404
        assert r.json() == missing.json()  # the answer of a service that does not exist
        bad_body = other.post(SCORE, json={"wrong": 1})
        assert (bad_body.status_code, bad_body.json()) == (404, missing.json())  # no schema told
        assert other.get("/v1/services").json() == []
        assert SCORE not in other.get("/openapi.json").json()["paths"]
        own = make(tenants.keys["acme:developer"])
        assert own.post(SCORE, json={"texts": ["good"]}).status_code == 200
        assert [s["name"] for s in own.get("/v1/services").json()] == ["mood", "broken"]


def test_service_feedback_goes_to_its_logged_prediction(
    services: ClientFactory, tenants: Tenants
) -> None:
    client = services(tenants.keys["acme:developer"])
    pid = client.post(SCORE, json={"texts": ["good"]}).json()["prediction_id"]
    r = client.post("/v1/feedback", json={"prediction_id": pid, "label": "neg"})
    assert r.status_code == 201, r.text


def test_service_endpoints_are_in_the_openapi_document(services: ClientFactory) -> None:
    doc = services().get("/openapi.json").json()
    operation = doc["paths"][SCORE]["post"]
    assert operation["summary"] == "Label each text."
    schema_ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    request = doc["components"]["schemas"][schema_ref.rsplit("/", 1)[1]]
    assert request["required"] == ["texts"]
    assert "service_setup_failed" in operation["responses"]["503"]["x-codes"]


def test_service_outputs_are_logged_with_personal_data_masked_as_inputs_are(
    services: ClientFactory, tenants: Tenants
) -> None:
    client = services(tenants.keys["acme:developer"])
    r = client.post("/v1/services/mood/check", json={"text": "write to alice@example.com"})
    assert r.json()["result"] == "write to alice@example.com"  # the caller gets it as is
    logged = client.get(f"/v1/predictions/{r.json()['prediction_id']}").json()
    assert logged["input_mode"] == "masked"
    assert "alice@example.com" not in str(logged)  # neither the input nor the echo is kept
    assert logged["outputs"] == ["write to [EMAIL]"]
