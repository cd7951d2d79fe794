"""The Python client: typed methods over the real app, errors by code, safe retries."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from serving.servingkit import (  # tests/serving, as a namespace package
    PortalTransport,
    StaticResolver,
    Tenants,
    fresh_home,
    make_resolver,
    make_tenants,
)
from sqlalchemy import func, select

import baryon.client
from baryon.client import Client, ConnectionFailed, error_from_response
from baryon.commerce.tables import UsageRecordRow
from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.core.errors import (
    BaryonError,
    Conflict,
    Forbidden,
    InvalidInput,
    ModelNotReady,
    NotFound,
    PayloadTooLarge,
    QuotaExceeded,
    RateLimited,
    Unauthorized,
)
from baryon.core.scope import SYSTEM
from baryon.ml.recommend import ItemKNNCosineRecommender
from baryon.predictions.inference import ServedModel
from baryon.serving.app import create_app
from baryon.serving.solution_schemas import NewsItemIn, SupportAnswerResponse
from baryon.solutions.recommender.service import WineCatalogue
from baryon.solutions.recommender.tables import RecommenderEventRow
from baryon.tenancy.tables import ApiKeyRow
from baryon.workspace import Workspace

ROW = {"a": 1, "b": 2}
DOCS = Path(__file__).resolve().parents[1] / "docs"


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
        feedback = dev.feedback(answer.prediction_id, label=3.0)  # a regression: a number
        assert feedback.prediction_id == answer.prediction_id
        assert dev.prediction(answer.prediction_id).input_mode == "hashed"
        assert len(dev.predictions(model="adder")) == 2
        usage = dev.usage(group_by="day")
        assert usage.total.units == 2
        naive = dev.usage(start=datetime(2026, 1, 1), end=datetime(2026, 2, 1))  # naive: UTC
        assert (naive.start, naive.total.units) == (datetime(2026, 1, 1, tzinfo=UTC), 2)
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
            "invalid_features",
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


# ----------------------------------------------------------------- solutions
SENTIMENT_NAMES = {"0": "Bearish", "1": "Bullish", "2": "Neutral"}
SUPPORT_EXTRA = {"handoff_threshold": 0.6, "out_of_scope_threshold": 0.45}


class _SupportIntents:
    """card_arrival (0.9) for texts with 'card', else an even split (handed off)."""

    classes_ = np.array(["card_arrival", "lost_or_stolen_card"])

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        return np.array([[0.9, 0.1] if "card" in t else [0.5, 0.5] for t in texts])


class _Mood:
    """Bearish (0) for 'down', Bullish (1) for 'up', else Neutral (2)."""

    classes_ = np.array([0, 1, 2])

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        table = {"down": [0.8, 0.1, 0.1], "up": [0.1, 0.8, 0.1]}
        return np.array(
            [next((v for k, v in table.items() if k in t), [0.1, 0.1, 0.8]) for t in texts]
        )


@pytest.fixture
def solutions(
    tmp_path: Path, clock: FixedClock, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Workspace, PortalTransport, Tenants, WineCatalogue]]:
    """The app with a support-intent, sentiment and recommender champion (tiny models)."""
    settings = Settings(home=tmp_path / "home", max_batch_size=16, max_text_chars=200)
    template = tmp_path_factory.getbasetemp() / "client-template" / "baryon.db"
    if not template.exists():
        Workspace.open(Settings(home=template.parent)).close()
    fresh_home(template, settings.home)
    wines = WineCatalogue.bundled()
    ids = wines.ids[:4]
    ratings = pd.DataFrame(
        {"user": [1, 1, 2, 2, 3], "item": [ids[0], ids[1], ids[0], ids[1], ids[2]],
         "rating": [5.0, 4.0, 5.0, 4.5, 4.0]}
    )  # fmt: skip
    resolver = StaticResolver()
    resolver.add(
        ServedModel("support-intent", 2, "text_classification", _SupportIntents(),
                    extra=SUPPORT_EXTRA),
        "champion",
    )  # fmt: skip
    resolver.add(
        ServedModel("sentiment", 3, "text_classification", _Mood(),
                    extra={"label_names": SENTIMENT_NAMES}),
        "champion",
    )  # fmt: skip
    resolver.add(
        ServedModel("recommender", 4, "recommendation", ItemKNNCosineRecommender().fit(ratings)),
        "champion",
    )
    ws = Workspace.open(settings, clock=clock)
    tenants = make_tenants(ws, clock, quota=100, rate=1000)
    transport = PortalTransport(create_app(settings, workspace=ws, clock=clock, resolver=resolver))
    yield ws, transport, tenants, wines
    transport.shutdown()
    ws.close()


def test_client_solution_methods_return_typed_answers(
    solutions: tuple[Workspace, PortalTransport, Tenants, WineCatalogue], clock: FixedClock
) -> None:
    _ws, transport, tenants, wines = solutions
    with Client("http://testserver", tenants.keys["acme:developer"], transport=transport) as c:
        answered = c.support_answer("where is my card", conversation_id="c-1", request_id="r1")
        assert isinstance(answered, SupportAnswerResponse)
        assert (answered.intent, answered.handoff, answered.model_version) == (
            "card_arrival", False, 2,
        )  # fmt: skip
        assert answered.answer
        handed = c.support_answer("hello there")
        assert (handed.handoff, handed.handoff_reason) == (True, "low_confidence")

        analyzed = c.sentiment_analyze(["$AAPL up", "$XOM down", "flat"], request_id="r2")
        assert [r.label for r in analyzed.results] == ["Bullish", "Bearish", "Neutral"]
        assert (analyzed.model_version, analyzed.usage["units"]) == (3, 3)

        now = clock.now()
        items: list[Any] = [
            {"id": f"n{k}", "published_at": now - timedelta(minutes=20 - k), "text": "$XOM down"}
            for k in range(11)
        ]
        items.append(NewsItemIn(id="n11", published_at=now, source="wire", text="$XOM down"))
        stored = c.sentiment_items(items)
        assert (stored.accepted, stored.duplicates, stored.usage["units"]) == (12, [], 12)
        assert stored.items[0].tickers == ["XOM"]
        assert {(a["kind"], a["ticker"]) for a in stored.alerts} == {
            ("index_crossing", None), ("index_crossing", "XOM"),
        }  # fmt: skip
        again = c.sentiment_items(items[:2])
        assert (again.accepted, again.duplicates, again.usage["units"]) == (0, ["n0", "n1"], 0)

        index = c.sentiment_index(ticker="XOM", window="1h")
        assert (index.n, index.bearish, index.index) == (12, 12, -1.0)
        assert index.band.low <= -0.5
        assert c.sentiment_index(window="1h", at=now - timedelta(hours=2)).n == 0
        alerts = c.sentiment_alerts(ticker="XOM", items_per_alert=3)
        assert [(a.kind, a.item_count, len(a.items)) for a in alerts] == [("index_crossing", 12, 3)]
        assert c.sentiment_alerts(since=now + timedelta(minutes=1)) == []

        known = c.recommendations(3, n=2)
        assert (known.user_id, known.cold_start, known.strategy) == ("3", False, "model")
        assert 1 <= len(known.items) <= 2
        cold = c.recommendations("new user?1", n=3, type="Red", country=["France", "Italy"])
        assert (cold.user_id, cold.cold_start, cold.strategy) == ("new user?1", True, "content")
        assert {i.type for i in cold.items} == {"Red"}
        assert {i.country for i in cold.items} <= {"France", "Italy"}

        wine = wines.ids[3]
        rated = c.event("new user?1", wine, "rate", 5)
        assert (rated.user_id, rated.item_id, rated.type, rated.value) == (
            "new user?1", str(wine), "rate", 5.0,
        )  # fmt: skip
        assert c.event(7, wine, "view").value is None

        units = c.usage().total.units
    assert units == 2 + 3 + 12 + 2  # two answers, three texts, twelve items, two users


@pytest.mark.parametrize(
    ("key", "call", "cls", "code"),
    [
        ("acme:developer", lambda c: c.support_answer("   "), InvalidInput, "empty_text"),
        ("acme:developer", lambda c: c.support_answer("x" * 201), InvalidInput, "text_too_long"),
        ("acme:viewer", lambda c: c.support_answer("my card"), Forbidden, "forbidden"),
        ("acme:developer", lambda c: c.sentiment_analyze([]), InvalidInput, "empty_batch"),
        ("acme:developer", lambda c: c.sentiment_analyze(["up", ""]), InvalidInput, "empty_text"),
        (
            "acme:developer",
            lambda c: c.sentiment_analyze(["up"] * 17),
            PayloadTooLarge,
            "batch_too_large",
        ),
        (
            "acme:developer",
            lambda c: c.sentiment_items([{"id": "n1", "text": "up"}]),
            InvalidInput,
            "invalid_input",
        ),
        (
            "acme:developer",
            lambda c: c.sentiment_items(
                [{"id": "n1", "text": "up", "published_at": "2031-01-01T00:00:00Z"}]
            ),
            InvalidInput,
            "published_in_future",
        ),
        (
            "acme:developer",
            lambda c: c.sentiment_index(window="5m"),
            InvalidInput,
            "unknown_window",
        ),
        ("acme:viewer", lambda c: c.sentiment_alerts(), Forbidden, "forbidden"),
        ("acme:developer", lambda c: c.recommendations("u", n=0), InvalidInput, "invalid_input"),
        ("acme:developer", lambda c: c.event("u", 100002, "rate"), InvalidInput, "missing_value"),
        (
            "acme:developer",
            lambda c: c.event("u", 100002, "view", 3),
            InvalidInput,
            "value_not_allowed",
        ),
        ("acme:developer", lambda c: c.event("u", -1, "click"), InvalidInput, "unknown_item"),
    ],
)
def test_client_solution_problems_raised_as_baryon_errors_by_code(
    solutions: tuple[Workspace, PortalTransport, Tenants, WineCatalogue],
    key: str,
    call,
    cls,
    code,  # type: ignore[no-untyped-def]
) -> None:
    _ws, transport, tenants, _wines = solutions
    client = Client("http://testserver", tenants.keys[key], transport=transport, max_retries=0)
    with client, pytest.raises(cls) as err:
        call(client)
    assert err.value.code == code
    assert err.value.details["status"] in (403, 413, 422)


def test_client_support_answer_without_model_is_model_not_ready(
    world: tuple[Workspace, PortalTransport, Tenants],
) -> None:
    _ws, transport, tenants = world  # make_resolver() has no support-intent model
    client = Client(
        "http://testserver", tenants.keys["acme:developer"], transport=transport, max_retries=0
    )
    with client, pytest.raises(ModelNotReady) as err:
        client.support_answer("where is my card")
    assert (err.value.code, err.value.details["status"]) == ("model_not_ready", 503)


def test_client_solution_posts_retried_after_lost_response_meter_once(
    solutions: tuple[Workspace, PortalTransport, Tenants, WineCatalogue],
) -> None:
    ws, transport, tenants, wines = solutions
    flaky = Flaky(transport, fail=0)
    with Client("http://t", tenants.keys["acme:developer"], transport=flaky,
                sleep=lambda s: None) as c:  # fmt: skip
        for lose_next in (
            lambda: c.support_answer("where is my card"),
            lambda: c.sentiment_analyze(["up", "down"]),
            lambda: c.event("u", wines.ids[0], "click"),
        ):
            flaky.fail = 1
            assert lose_next() is not None
        units = c.usage().total.units
    assert flaky.calls == 3 * 2 + 1
    assert units == 1 + 2  # each metered call counted once
    assert _usage_count(ws) == 2
    with ws.db.session(SYSTEM) as s:
        assert s.scalar(select(func.count()).select_from(RecommenderEventRow)) == 1


def test_client_recommendations_not_retried_after_lost_response(
    solutions: tuple[Workspace, PortalTransport, Tenants, WineCatalogue],
) -> None:
    ws, transport, tenants, _wines = solutions
    flaky = Flaky(transport, fail=1)
    client = Client("http://t", tenants.keys["acme:developer"], transport=flaky)
    with client, pytest.raises(ConnectionFailed):
        client.recommendations(3)  # metered and no Idempotency-Key: a retry could charge twice
    assert flaky.calls == 1
    assert _usage_count(ws) == 1  # the server did the work once; the client did not ask again


@pytest.mark.parametrize(
    ("page", "printed"),
    [
        ("support", ["card_arrival False 99", "True low_confidence", "empty_text"]),
        ("sentiment", ["Neutral None", "1 [] 0", "1 0.0"]),
        ("recommender", ["True content", "content"]),
    ],
)
def test_client_docs_solution_sdk_examples_run(
    solutions: tuple[Workspace, PortalTransport, Tenants, WineCatalogue],
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    page: str,
    printed: list[str],
) -> None:
    _ws, transport, tenants, _wines = solutions
    text = (DOCS / "solutions" / f"{page}.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "Client(" in b]
    assert len(blocks) == 1, f"{page}.md: one SDK example expected"
    # the examples send items published at the real now: bring the frozen clock past it
    clock.advance(max(0.0, (datetime.now(UTC) - clock.now()).total_seconds() + 1))
    monkeypatch.setenv("KEY", tenants.keys["acme:developer"])
    monkeypatch.setattr(baryon.client, "Client", functools.partial(Client, transport=transport))
    exec(compile(blocks[0], f"docs/solutions/{page}.md", "exec"), {})
    out = capsys.readouterr().out
    for expected in printed:
        assert expected in out, out


def test_client_revoke_last_admin_key_raises_conflict_last_admin(
    world: tuple[Workspace, PortalTransport, Tenants],
) -> None:
    _ws, transport, tenants = world
    with Client("http://testserver", tenants.keys["acme:owner"], transport=transport) as c:
        c.revoke_key(tenants.key_ids["acme:admin"])
        with pytest.raises(Conflict) as info:
            c.revoke_key(tenants.key_ids["acme:owner"])
        assert info.value.code == "last_admin"
        assert info.value.details["status"] == 409
        assert c.me().org_name == "acme"  # the key still works
