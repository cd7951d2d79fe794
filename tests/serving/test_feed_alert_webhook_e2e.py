"""Issue 17 end to end over HTTP: a subscribed feed moves the mood index, a rule fires,
and the worker posts a signed webhook through the safe outbound client.

A fresh workspace (the serving fixtures) whose app runs its in-process worker; the feed
and the webhook receiver are served on loopback (``originkit``), and ``fetch_allow``
admits 127.0.0.1 for both. The sentiment champion is a word model (no training).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi import FastAPI
from originkit import Origin
from servingkit import PortalTransport, StaticResolver, Tenants

from baryon.client import verify_webhook
from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.serving.app import create_app
from baryon.solutions.sentiment.service import ScoringModel, SentimentScorer
from baryon.workspace import Workspace

RSS = '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{}</channel></rss>'
ITEM = "<item><guid>{0}</guid><title>{1}</title><pubDate>{2}</pubDate></item>"


class WordModel:
    """Bearish (0) if 'down' is in the text, Bullish (1) if 'up', else Neutral (2)."""

    classes_ = np.array([0, 1, 2])

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        return np.array(
            [[0.8, 0.1, 0.1] if "down" in t else [0.1, 0.8, 0.1] if "up" in t else
             [0.1, 0.1, 0.8] for t in texts]
        )  # fmt: skip


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        home=tmp_path / "home", job_poll_interval=0.05, alert_delivery_attempts=2,
        alert_retry_seconds=0.01, fetch_allow=["127.0.0.1/32"],
    )  # fmt: skip


@pytest.fixture
def app(
    settings: Settings,
    ws: Workspace,
    clock: FixedClock,
    resolver: StaticResolver,
    monkeypatch: pytest.MonkeyPatch,
) -> FastAPI:
    model = ScoringModel(
        "sentiment", 1, WordModel(), {"0": "Bearish", "1": "Bullish", "2": "Neutral"}
    )
    monkeypatch.setattr(SentimentScorer, "from_workspace", classmethod(lambda cls, ws: cls(model)))
    return create_app(settings, workspace=ws, clock=clock, resolver=resolver)


@pytest.fixture
def receiver() -> Iterator[Origin]:
    """The webhook receiver on 127.0.0.1: records every POST, answers 204."""
    with Origin() as server:
        server.route("/hook", lambda _r: (204, {}, b""))
        yield server


@pytest.fixture
def admin(app: FastAPI, tenants: Tenants) -> Iterator[httpx.Client]:
    """acme's admin on the app with its lifespan running (the in-process worker)."""
    transport = PortalTransport(app)
    headers = {"Authorization": f"Bearer {tenants.keys['acme:admin']}"}
    try:
        with (
            transport.lifespan(app),
            httpx.Client(base_url="http://testserver", transport=transport, headers=headers) as c,
        ):
            yield c
    finally:
        transport.shutdown()


def _until(check: Callable[[], Any], seconds: float = 30.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("the condition did not hold in time")


def _feed(clock: FixedClock, *items: tuple[str, str]) -> bytes:
    when = (clock.now() - timedelta(minutes=1)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    return RSS.format("".join(ITEM.format(i, t, when) for i, t in items)).encode()


def _run(admin: httpx.Client, name: str, runs: int) -> dict[str, Any]:
    """Queue a run of source ``name``; wait until the worker has finished run ``runs``."""
    queued = admin.post(f"/v1/sources/{name}/run")
    assert queued.status_code == 202, queued.text
    done = _until(
        lambda: [
            r for r in admin.get(f"/v1/sources/{name}").json()["runs"]
            if r["status"] in ("succeeded", "failed")
        ][:runs][runs - 1:]
    )  # fmt: skip
    return dict(done[0])


def _index(admin: httpx.Client) -> dict[str, Any]:
    got = admin.get("/v1/sentiment/index", params={"ticker": "AAPL", "window": "1h"})
    assert got.status_code == 200, got.text
    return dict(got.json())


def test_feed_items_move_the_index_and_the_fired_alert_arrives_signed(
    admin: httpx.Client, clock: FixedClock, receiver: Origin
) -> None:
    with Origin() as origin:
        origin.static(
            "/rss", _feed(clock, ("a", "markets flat"), ("b", "rates steady"), ("c", "stocks up"))
        )
        made = admin.post(
            "/v1/sentiment/subscriptions",
            json={"url": origin.url("/rss"), "every": "5m", "tickers": ["AAPL"], "name": "wire"},
        )
        assert made.status_code == 201, made.text
        channel = admin.post(
            "/v1/sentiment/channels", json={"kind": "webhook", "target": receiver.url("/hook")}
        )
        assert channel.status_code == 201, channel.text
        secret = channel.json()["secret"]
        rule = admin.post(
            "/v1/sentiment/rules",
            json={"kind": "index_crossing", "threshold": 0.5, "ticker": "AAPL", "min_items": 3},
        )
        assert rule.status_code == 201, rule.text
        rule_id = rule.json()["id"]

        first = _run(admin, "wire", 1)
        assert (first["status"], first["new"]) == ("succeeded", 3)
        before = _index(admin)
        assert (before["n"], before["bullish"]) == (3, 1)  # +0.33: below the rule's +0.5
        assert admin.get("/v1/sentiment/alerts").json() == []

        origin.static("/rss", _feed(clock, ("d", "bonds up"), ("e", "oil up"), ("f", "gold up")))
        second = _run(admin, "wire", 2)
        assert (second["status"], second["new"]) == ("succeeded", 3)
        after = _index(admin)
        assert (after["n"], after["bullish"]) == (6, 4)
        assert after["index"] > 0.5 > before["index"]

    [alert] = admin.get("/v1/sentiment/alerts").json()
    assert (alert["rule"], alert["ticker"], alert["state"]) == (rule_id, "AAPL", "above")
    _until(lambda: receiver.requests)
    [request] = receiver.requests
    headers, body = request.headers, request.body
    verify_webhook(secret, body, headers["baryon-signature"])
    payload = json.loads(body)
    assert headers["baryon-event"] == "sentiment.alert"
    assert payload["alert"]["id"] == alert["id"]
    assert (payload["alert"]["rule"], payload["alert"]["value"]) == (rule_id, alert["value"])
    delivered = _until(
        lambda: [
            d for d in admin.get("/v1/sentiment/deliveries").json() if d["status"] == "delivered"
        ]
    )
    assert [d["id"] for d in delivered] == [headers["baryon-delivery"]]
