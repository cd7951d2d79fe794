"""Alert rules and delivery over HTTP and the SDK: a rule fires on pushed items and the
in-process worker posts a signed webhook to a receiver on loopback."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi import FastAPI
from servingkit import ClientFactory, PortalTransport, StaticResolver, Tenants

from baryon.client import Client, verify_webhook
from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.core.errors import InvalidInput, NotFound
from baryon.predictions.inference import ServedModel
from baryon.serving.app import create_app
from baryon.workspace import Workspace


class UpDown:
    """Bearish (0) if 'down' is in the text, Bullish (1) if 'up', else Neutral (2)."""

    classes_ = np.array([0, 1, 2])

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        table = {"down": [0.8, 0.1, 0.1], "up": [0.1, 0.8, 0.1]}
        return np.array(
            [next((v for k, v in table.items() if k in t), [0.1, 0.1, 0.8]) for t in texts]
        )


class Receiver:
    """Records every POST; answers 204."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    try:
        yield r
    finally:
        r.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        home=tmp_path / "home", job_poll_interval=0.05, alert_delivery_attempts=2,
        alert_retry_seconds=0.01, fetch_allow=["127.0.0.1/32"],
    )  # fmt: skip


@pytest.fixture
def resolver() -> StaticResolver:
    r = StaticResolver()
    names = {"0": "Bearish", "1": "Bullish", "2": "Neutral"}
    r.add(
        ServedModel("sentiment", 1, "text_classification", UpDown(), extra={"label_names": names}),
        "champion",
    )
    return r


@pytest.fixture
def app(settings: Settings, ws: Workspace, clock: FixedClock, resolver: StaticResolver) -> FastAPI:
    return create_app(settings, workspace=ws, clock=clock, resolver=resolver)


@pytest.fixture
def live(app: FastAPI) -> Iterator[ClientFactory]:
    """Like ``api``, with the app's lifespan running (its in-process job worker)."""
    transport = PortalTransport(app)
    clients: list[httpx.Client] = []

    def make(secret: str | None = None) -> httpx.Client:
        headers = {} if secret is None else {"Authorization": f"Bearer {secret}"}
        client = httpx.Client(base_url="http://testserver", transport=transport, headers=headers)
        clients.append(client)
        return client

    try:
        with transport.lifespan(app):
            yield make
    finally:
        for client in clients:
            client.close()
        transport.shutdown()


def _items(clock: FixedClock, mood: str, n: int, start: int = 0) -> dict[str, Any]:
    return {
        "items": [
            {
                "id": f"{mood}{start + k}",
                "published_at": (clock.now() - timedelta(minutes=n - k)).isoformat(),
                "text": f"$AAPL {mood}",
            }
            for k in range(n)
        ]
    }


def _until(check: Callable[[], Any], seconds: float = 20.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("the condition did not hold in time")


def test_rule_fires_and_a_signed_webhook_is_delivered(
    live: ClientFactory, tenants: Tenants, clock: FixedClock, receiver: Receiver
) -> None:
    dev = live(tenants.keys["acme:developer"])
    made = dev.post("/v1/sentiment/channels", json={"kind": "webhook", "target": receiver.url})
    assert made.status_code == 201, made.text
    secret = made.json()["secret"]
    channel_id = made.json()["channel"]["id"]
    assert secret.startswith("whsec_")
    assert secret not in dev.get(f"/v1/sentiment/channels/{channel_id}").text
    rule = dev.post(
        "/v1/sentiment/rules",
        json={"kind": "index_crossing", "threshold": 0.5, "ticker": "AAPL", "min_items": 3},
    )
    assert rule.status_code == 201, rule.text
    rule_id = rule.json()["id"]

    posted = dev.post("/v1/sentiment/items", json=_items(clock, "up", 3))

    assert posted.status_code == 200, posted.text
    assert [(a["rule"], a["ticker"]) for a in posted.json()["alerts"]] == [(rule_id, "AAPL")]
    _until(lambda: receiver.requests)
    [(headers, body)] = receiver.requests
    verify_webhook(secret, body, headers["baryon-signature"])
    assert json.loads(body)["alert"]["rule"] == rule_id
    delivered = _until(
        lambda: [
            d for d in dev.get("/v1/sentiment/deliveries").json() if d["status"] == "delivered"
        ]
    )
    assert delivered[0]["id"] == headers["baryon-delivery"]
    busy = dev.post(f"/v1/sentiment/deliveries/{delivered[0]['id']}/redeliver")
    assert (busy.status_code, busy.json()["code"]) == (409, "delivery_not_dead")
    tested = dev.post(f"/v1/sentiment/rules/{rule_id}/test", json={})
    assert tested.status_code == 200, tested.text
    assert [f["state"] for f in tested.json()["fired"]] == ["above"]


def test_dead_letter_listed_and_redelivered_over_http(
    live: ClientFactory, tenants: Tenants, clock: FixedClock
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dev = live(tenants.keys["acme:developer"])
    made = dev.post(
        "/v1/sentiment/channels",
        json={"kind": "webhook", "target": f"http://127.0.0.1:{port}/", "name": "down"},
    )
    assert made.status_code == 201, made.text
    test = dev.post("/v1/sentiment/channels/down/test")
    assert test.status_code == 202, test.text
    dead = _until(lambda: dev.get("/v1/sentiment/deliveries", params={"status": "dead"}).json())
    assert (dead[0]["id"], dead[0]["attempts"]) == (test.json()["id"], 2)
    assert dead[0]["last_error_code"] == "webhook_unreachable"
    again = dev.post(f"/v1/sentiment/deliveries/{dead[0]['id']}/redeliver")
    assert (again.status_code, again.json()["status"], again.json()["attempts"]) == (
        202, "pending", 0,
    )  # fmt: skip
    again_dead = _until(
        lambda: [d for d in dev.get("/v1/sentiment/deliveries").json() if d["status"] == "dead"]
    )
    assert (again_dead[0]["id"], again_dead[0]["attempts"]) == (dead[0]["id"], 2)


def test_other_organization_gets_404_and_empty_lists(api: ClientFactory, tenants: Tenants) -> None:
    dev = api(tenants.keys["acme:developer"])
    rule = dev.post("/v1/sentiment/rules", json={"kind": "volume_spike", "threshold": 3})
    channel = dev.post(
        "/v1/sentiment/channels", json={"kind": "webhook", "target": "https://example.org/h"}
    )
    test = dev.post(f"/v1/sentiment/channels/{channel.json()['channel']['id']}/test")
    assert {rule.status_code, channel.status_code, test.status_code} == {201, 202}
    other = api(tenants.keys["globex:owner"])
    for method, path, code in (
        ("GET", f"/v1/sentiment/rules/{rule.json()['id']}", "rule_not_found"),
        ("POST", f"/v1/sentiment/rules/{rule.json()['name']}/disable", "rule_not_found"),
        ("DELETE", f"/v1/sentiment/rules/{rule.json()['id']}", "rule_not_found"),
        ("GET", f"/v1/sentiment/channels/{channel.json()['channel']['id']}", "channel_not_found"),
        (
            "POST",
            f"/v1/sentiment/channels/{channel.json()['channel']['name']}/test",
            "channel_not_found",
        ),
        ("GET", f"/v1/sentiment/deliveries/{test.json()['id']}", "delivery_not_found"),
        ("POST", f"/v1/sentiment/deliveries/{test.json()['id']}/redeliver", "delivery_not_found"),
    ):
        answer = other.request(method, path)
        assert (answer.status_code, answer.json()["code"]) == (404, code), path
    for path in ("/v1/sentiment/rules", "/v1/sentiment/channels", "/v1/sentiment/deliveries"):
        assert other.get(path).json() == []


@pytest.mark.parametrize(
    ("path", "body", "code"),
    [
        ("/v1/sentiment/rules", {"kind": "moon", "threshold": 0.3}, "unknown_rule_kind"),
        ("/v1/sentiment/rules", {"kind": "index_crossing", "threshold": 1.5}, "invalid_rule"),
        ("/v1/sentiment/rules", {"kind": "index_crossing", "threshold": 0}, "invalid_rule"),
        ("/v1/sentiment/rules", {"kind": "volume_spike", "threshold": -2}, "invalid_rule"),
        ("/v1/sentiment/rules", {"kind": "index_change", "threshold": 0.3, "window": "5m"},
         "unknown_window"),
        ("/v1/sentiment/channels", {"kind": "webhook", "target": "file:///etc/passwd"},
         "invalid_webhook_url"),
        ("/v1/sentiment/channels", {"kind": "email", "target": "ops@example.org"},
         "smtp_not_configured"),
    ],
)  # fmt: skip
def test_bad_input_is_a_named_422_and_writes_nothing(
    api: ClientFactory, tenants: Tenants, path: str, body: dict[str, Any], code: str
) -> None:
    dev = api(tenants.keys["acme:developer"])
    answer = dev.post(path, json=body)
    assert (answer.status_code, answer.json()["code"]) == (422, code)
    assert dev.get(path).json() == []


def test_viewer_reads_but_cannot_write(api: ClientFactory, tenants: Tenants) -> None:
    viewer = api(tenants.keys["acme:viewer"])
    assert viewer.get("/v1/sentiment/rules").status_code == 200
    made = viewer.post("/v1/sentiment/rules", json={"kind": "volume_spike", "threshold": 3})
    assert (made.status_code, made.json()["code"]) == (403, "forbidden")


def test_sdk_rules_channels_and_deliveries(app: FastAPI, tenants: Tenants) -> None:
    transport = PortalTransport(app)
    try:
        with Client("http://testserver", tenants.keys["acme:developer"], transport=transport) as c:
            rule = c.create_alert_rule("index_change", 0.4, direction="down", name="drop")
            assert (rule.kind, rule.direction, rule.enabled) == ("index_change", "down", True)
            assert c.enable_alert_rule("drop", enabled=False).enabled is False
            assert [r.name for r in c.alert_rules()] == ["drop"]
            assert c.test_alert_rule("drop").fired == []
            made = c.create_alert_channel("webhook", "https://example.org/hook", name="h")
            assert made.secret is not None
            assert made.channel.has_secret is True
            delivery = c.send_test_alert("h")
            assert c.alert_delivery(delivery.id).event == "sentiment.test"
            assert c.delete_alert_rule("drop").name == "drop"
            with pytest.raises(NotFound) as missing:
                c.alert_rule("drop")
            assert missing.value.code == "rule_not_found"
            with pytest.raises(InvalidInput) as bad:
                c.alert_deliveries(status="lost")
            assert bad.value.code == "invalid_delivery_status"
    finally:
        transport.shutdown()
