"""Sources over HTTP (``/v1/sources``, ``/v1/sentiment/subscriptions``) and the SDK.

The workspace may fetch from 127.0.0.1 (``fetch_allow``) so that a run queued through
the API is pulled by the in-process worker from a loopback origin.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from originkit import Origin
from servingkit import ClientFactory, PortalTransport, StaticResolver, Tenants

from baryon.client import Client
from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.core.errors import Conflict, InvalidInput, NotFound
from baryon.serving.app import create_app
from baryon.workspace import Workspace

RSS = (
    '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
    "<item><guid>a</guid><title>one</title></item><item><guid>b</guid><title>two</title></item>"
    "</channel></rss>"
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", fetch_allow=["127.0.0.1/32"], job_poll_interval=0.05)


@pytest.fixture
def app(settings: Settings, ws: Workspace, clock: FixedClock, resolver: StaticResolver) -> FastAPI:
    return create_app(settings, workspace=ws, clock=clock, resolver=resolver)


@pytest.fixture
def origin() -> Iterator[Origin]:
    with Origin() as server:
        server.static("/rss", RSS.encode(), "application/rss+xml")
        yield server


@pytest.fixture
def sdk(app: FastAPI, tenants: Tenants) -> Iterator[Client]:
    """The SDK on the app, with its lifespan: the in-process worker runs queued jobs."""
    transport = PortalTransport(app)
    try:
        with (
            transport.lifespan(app),
            Client("http://testserver", tenants.keys["acme:admin"], transport=transport) as c,
        ):
            yield c
    finally:
        transport.shutdown()


def test_sdk_add_run_show_remove_a_feed_source(sdk: Client, origin: Origin) -> None:
    made = sdk.create_source("news", kind="feed", url=origin.url("/rss"))
    assert (made.kind, made.dataset) == ("feed", "news")
    assert [s.name for s in sdk.sources()] == ["news"]
    submitted = sdk.run_source("news")
    assert submitted.status == "queued"
    deadline = time.monotonic() + 30
    while not (runs := sdk.source("news").runs) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert runs is not None
    assert len(runs) == 1
    assert (runs[0].status, runs[0].new, runs[0].trigger) == ("succeeded", 2, "job")
    assert origin.hits("/rss") == 1
    with pytest.raises(Conflict) as exists:
        sdk.create_source("news", kind="feed", url=origin.url("/rss"))
    assert exists.value.code == "source_exists"
    sdk.delete_source("news")
    assert sdk.sources() == []


def test_api_bad_source_is_422_and_other_org_404(api: ClientFactory, tenants: Tenants) -> None:
    acme = api(tenants.keys["acme:developer"])
    bad = acme.post("/v1/sources", json={"name": "x", "kind": "feed", "url": "gopher://h/"})
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_url")
    secret = {"type": "bearer", "secret": "tok-123456"}
    made = acme.post(
        "/v1/sources",
        json={"name": "api", "kind": "http_api", "url": "https://example.com/x", "auth": secret},
    )
    assert made.status_code == 201
    assert "tok-123456" not in made.text
    assert "tok-123456" not in acme.get("/v1/sources/api").text
    globex = api(tenants.keys["globex:admin"])
    assert globex.get("/v1/sources").json() == []
    for method, path in [("GET", "/v1/sources/api"), ("POST", "/v1/sources/api/run"),
                         ("DELETE", "/v1/sources/api")]:  # fmt: skip
        answer = globex.request(method, path)
        assert (answer.status_code, answer.json()["code"]) == (404, "source_not_found")


def test_sdk_sentiment_subscribe_makes_source_and_schedule(sdk: Client, origin: Origin) -> None:
    made = sdk.sentiment_subscribe(origin.url("/rss"), every="5m", tickers=["AAPL"], name="wire")
    assert (made.source.name, made.source.config["sink"]) == ("wire", "sentiment")
    assert (made.schedule["name"], made.schedule["every"]) == ("source-wire", "5m")
    with pytest.raises(InvalidInput) as info:
        sdk.sentiment_subscribe(origin.url("/rss"), every="5s", name="other")
    assert info.value.code == "interval_too_short"
    assert [s.name for s in sdk.sources()] == ["wire"]
    with pytest.raises(NotFound):
        sdk.source("other")
