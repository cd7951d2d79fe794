"""The Python client: typed methods over the real app, errors by code, safe retries."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from serving.servingkit import (  # tests/serving, as a namespace package
    PortalTransport,
    Tenants,
    fresh_home,
    make_resolver,
    make_tenants,
)
from sqlalchemy import func, select

from baryon.client import Client, ConnectionFailed, error_from_response
from baryon.commerce.tables import UsageRecordRow
from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.core.errors import (
    BaryonError,
    Forbidden,
    InvalidInput,
    ModelNotReady,
    NotFound,
    QuotaExceeded,
    RateLimited,
    Unauthorized,
)
from baryon.core.scope import SYSTEM
from baryon.serving.app import create_app
from baryon.tenancy.tables import ApiKeyRow
from baryon.workspace import Workspace

ROW = {"a": 1, "b": 2}


class Flaky(httpx.BaseTransport):
    """Forwards to ``inner`` but loses the first ``fail`` responses (the server did the work)."""

    def __init__(self, inner: httpx.BaseTransport, fail: int = 1) -> None:
        self.inner = inner
        self.fail = fail
        self.calls = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        response = self.inner.handle_request(request)
        response.read()
        if self.fail > 0:
            self.fail -= 1
            raise httpx.ReadError("connection reset", request=request)
        return response


class Scripted(httpx.BaseTransport):
    """Answers with prepared responses, in order."""

    def __init__(self, *responses: httpx.Response) -> None:
        self.responses = list(responses)
        self.calls = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        return self.responses.pop(0)


@pytest.fixture
def world(
    settings: Settings, clock: FixedClock, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Workspace, PortalTransport, Tenants]]:
    template = tmp_path_factory.getbasetemp() / "client-template" / "baryon.db"
    if not template.exists():
        Workspace.open(Settings(home=template.parent)).close()
    fresh_home(template, settings.home)
    ws = Workspace.open(settings, clock=clock)
    tenants = make_tenants(ws, clock, quota=5, rate=1000)
    transport = PortalTransport(
        create_app(settings, workspace=ws, clock=clock, resolver=make_resolver())
    )
    yield ws, transport, tenants
    transport.shutdown()
    ws.close()


def _usage_count(ws: Workspace) -> int:
    with ws.db.session(SYSTEM) as s:
        return int(s.scalar(select(func.count()).select_from(UsageRecordRow)) or 0)


def test_client_typed_methods_cover_the_flow(
    world: tuple[Workspace, PortalTransport, Tenants],
) -> None:
    _ws, transport, tenants = world
    with Client("http://testserver", tenants.keys["acme:owner"], transport=transport) as c:
        assert c.health() == {"status": "ok"}
        assert c.ready()["status"] == "ready"
        assert c.me().org_name == "acme"
        assert c.org().subscription is not None
        assert "free" in {p.name for p in c.plans()}
        key = c.create_key("developer", name="sdk", expires_in="30d")
        assert key.secret.startswith("bry_")
        assert key.id in {k.id for k in c.keys()}  # noqa: SIM118 - Client.keys() is an API call
        user = c.create_user("sam@acme.test", "viewer")
        assert user.id in {u.id for u in c.users()}
        assert c.disable_user(user.id).disabled_at is not None
        assert c.update_org(prediction_inputs="hashed").organization.prediction_inputs == "hashed"
        assert c.set_endpoint("adder", challenger_weight=0.0).challenger_weight == 0.0
        assert [e.model for e in c.endpoints()] == ["adder"]
    with Client("http://testserver", key.secret, transport=transport) as dev:
        answer = dev.predict("adder", [ROW], request_id="r1")
        assert answer.model_version == 1
        assert answer.outputs == [{"value": 3.0}]
        pinned = dev.predict("adder", [ROW], version=2)
        assert pinned.variant == "pinned"
        feedback = dev.feedback(answer.prediction_id, label="ok")
        assert feedback.prediction_id == answer.prediction_id
        assert dev.prediction(answer.prediction_id).input_mode == "hashed"
        assert len(dev.predictions(model="adder")) == 2
        usage = dev.usage(group_by="day")
        assert usage.total.units == 2
    with Client("http://testserver", tenants.keys["acme:owner"], transport=transport) as c:
        assert c.revoke_key(key.id).status == "revoked"
        assert c.audit(limit=5)
    with Client("http://testserver", tenants.keys["ops:admin"], transport=transport) as ops:
        plan = ops.create_plan(
            "team", quota=10, rate_per_minute=10, monthly_price="9.50",
            unit_weights={"/v1/sentiment/analyze": 2},
        )  # fmt: skip
        assert str(plan.monthly_price) == "9.50"
        assert plan.unit_weights == {"/v1/sentiment/analyze": 2}
        org = ops.create_org("initech", plan="team")
        assert ops.subscribe(org.organization.id, "pro").subscription is not None
        assert "initech" in {o.name for o in ops.orgs()}
        assert "baryon_http_requests_total" in ops.metrics()


@pytest.mark.parametrize(
    ("key", "call", "cls", "code"),
    [
        ("bad", lambda c: c.me(), Unauthorized, "invalid_key"),
        ("acme:viewer", lambda c: c.predict("adder", [ROW]), Forbidden, "forbidden"),
        ("acme:developer", lambda c: c.prediction("pred_x"), NotFound, "prediction_not_found"),
        (
            "acme:developer",
            lambda c: c.predict("adder", [{"a": 1}]),
            InvalidInput,
            "missing_feature",
        ),
        ("acme:developer", lambda c: c.predict("draft", [ROW]), ModelNotReady, "model_not_ready"),
        ("acme:owner", lambda c: c.create_key("root"), InvalidInput, "invalid_input"),
    ],
)
def test_client_problems_raised_as_baryon_errors_by_code(
    world: tuple[Workspace, PortalTransport, Tenants],
    key: str,
    call,
    cls,
    code,  # type: ignore[no-untyped-def]
) -> None:
    _, transport, tenants = world
    secret = tenants.keys.get(key, "bry_" + "A" * 43)
    client = Client("http://testserver", secret, transport=transport, max_retries=0)
    with client, pytest.raises(cls) as err:
        call(client)
    assert err.value.code == code
    assert err.value.details["status"] >= 400


def test_client_quota_exceeded_not_retried(
    world: tuple[Workspace, PortalTransport, Tenants],
) -> None:
    ws, transport, tenants = world
    counting = Flaky(transport, fail=0)
    with Client("http://testserver", tenants.keys["acme:developer"], transport=counting) as c:
        for _ in range(5):
            c.predict("adder", [ROW])
        with pytest.raises(QuotaExceeded):
            c.predict("adder", [ROW])
    assert counting.calls == 6
    assert _usage_count(ws) == 5


def test_client_retry_after_lost_response_meters_once(
    world: tuple[Workspace, PortalTransport, Tenants],
) -> None:
    ws, transport, tenants = world
    flaky = Flaky(transport, fail=2)
    waits: list[float] = []
    with Client(
        "http://testserver", tenants.keys["acme:developer"], transport=flaky, sleep=waits.append
    ) as c:
        answer = c.predict("adder", [ROW])
    assert flaky.calls == 3
    assert waits == [0.5, 1.0]
    assert answer.outputs == [{"value": 3.0}]
    assert _usage_count(ws) == 1


def test_client_key_creation_not_retried_after_lost_response(
    world: tuple[Workspace, PortalTransport, Tenants],
) -> None:
    ws, transport, tenants = world
    flaky = Flaky(transport, fail=1)
    client = Client("http://testserver", tenants.keys["acme:owner"], transport=flaky)
    with client, pytest.raises(ConnectionFailed):
        client.create_key("viewer")
    assert flaky.calls == 1
    with ws.db.session(SYSTEM) as s:  # the server made it once; the client did not make a second
        assert s.scalar(select(func.count()).select_from(ApiKeyRow)) == 16


def test_client_rate_limited_waits_retry_after_then_passes(
    settings: Settings, clock: FixedClock, tmp_path_factory: pytest.TempPathFactory
) -> None:
    template = tmp_path_factory.getbasetemp() / "client-template-2" / "baryon.db"
    Workspace.open(Settings(home=template.parent)).close()
    fresh_home(template, settings.home)
    ws = Workspace.open(settings, clock=clock)
    tenants = make_tenants(ws, clock, rate=1)
    transport = PortalTransport(create_app(settings, workspace=ws, clock=clock))
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds)

    try:
        with Client("http://t", tenants.keys["acme:viewer"], transport=transport, sleep=sleep) as c:
            c.me()
            assert c.me().role == "viewer"
        assert waits == [60.0]
        with Client(
            "http://t", tenants.keys["acme:admin"], transport=transport, max_retries=0
        ) as c:
            c.me()
            with pytest.raises(RateLimited) as err:
                c.me()
        assert err.value.details["retry_after"] == 60.0
        impatient = Client("http://t", tenants.keys["acme:owner"], transport=transport,
                           sleep=sleep, max_wait=10)  # fmt: skip
        with impatient:
            impatient.me()
            with pytest.raises(RateLimited):
                impatient.me()  # asked to wait 60 s > 10 s: raised, not slept
        assert waits == [60.0]
    finally:
        transport.shutdown()
        ws.close()


def test_client_retries_gateway_errors_on_get_only() -> None:
    def gateway() -> httpx.Response:
        return httpx.Response(503, text="<html>busy</html>")

    ok = httpx.Response(200, json={"status": "ok"})
    scripted = Scripted(gateway(), ok)
    with Client("http://t", None, transport=scripted, sleep=lambda s: None) as c:
        assert c.health() == {"status": "ok"}
    assert scripted.calls == 2
    scripted = Scripted(gateway(), gateway())
    client = Client("http://t", "k", transport=scripted, sleep=lambda s: None, max_retries=0)
    with client, pytest.raises(BaryonError) as err:
        client.create_key("viewer")
    assert err.value.code == "http_error"
    assert scripted.calls == 1


def test_client_unreachable_server_connection_failed() -> None:
    class Down(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("refused", request=request)

    client = Client("http://t", None, transport=Down(), sleep=lambda s: None)
    with client, pytest.raises(ConnectionFailed) as err:
        client.health()
    assert err.value.code == "connection_failed"


def test_error_from_response_without_problem_body() -> None:
    request = httpx.Request("GET", "http://t/v1/me")
    error = error_from_response(httpx.Response(502, text="bad gateway", request=request))
    assert type(error) is BaryonError
    assert error.code == "http_error"
    assert error.details == {"status": 502}
