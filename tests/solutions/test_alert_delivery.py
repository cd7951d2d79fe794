"""Alert delivery on loopback: signed webhooks, retries, dead letters, redelivery, SMTP."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from baryon.commerce.orgs import create_org
from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.core.errors import Conflict, InvalidInput, NotFound
from baryon.core.scope import SYSTEM, Scope
from baryon.core.secrets import open_secret
from baryon.jobs import JobQueue, Worker
from baryon.solutions.sentiment.delivery import (
    alert_handlers,
    alert_sender,
    backoff_seconds,
    create_channel,
    get_channel,
    get_delivery,
    list_channels,
    list_deliveries,
    redeliver,
    remove_channel,
    send_test,
    set_channel_enabled,
)
from baryon.solutions.sentiment.service import Analysis, NewsItem, ingest_items
from baryon.solutions.sentiment.signing import WebhookSignatureError, verify_webhook
from baryon.solutions.sentiment.tables import AlertChannelRow
from baryon.workspace import Workspace

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


class Receiver:
    """A webhook receiver on 127.0.0.1 answering the statuses it is told, in turn."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = outer.statuses.pop(0) if outer.statuses else 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/baryon"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    settings = Settings(
        home=tmp_path / "home",
        alert_delivery_attempts=3,
        alert_retry_seconds=0.01,
        alert_send_timeout=5.0,
        fetch_allow=["127.0.0.1/32"],  # the loopback receiver
    )
    opened = Workspace.open(settings)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def orgs(ws: Workspace) -> tuple[str, str]:
    with ws.db.session(SYSTEM) as s:
        return create_org(s, name="acme").id, create_org(s, name="umbrella").id


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def _webhook(ws: Workspace, org: str, url: str, name: str = "hook") -> tuple[str, str]:
    with ws.db.session(Scope.own(org)) as s:
        channel, secret = create_channel(
            s, kind="webhook", target=url, name=name, org_id=org, actor="test",
            clock=FixedClock(T0), settings=ws.settings,
        )  # fmt: skip
    assert secret is not None
    return channel.id, secret


def _fire(ws: Workspace, org: str, queue: JobQueue) -> list[str]:
    """Ingest 10 bullish items: the default index-crossing rule fires once."""
    items = [NewsItem(f"n{k}", T0 - timedelta(minutes=k), "wire", "up", ()) for k in range(10)]
    analyses = {i.id: Analysis("Bullish", {"Bullish": 1.0}, None, None) for i in items}
    queued: list[str] = []

    sender = alert_sender(queue, org_id=org, clock=ws.clock)

    def on_alert(session: Any, alert_id: str, alert: Any) -> None:
        queued.extend(sender(session, alert_id, alert))

    with ws.db.session(Scope.own(org)) as s:
        result = ingest_items(
            s, org, items, analyses, sentiment_version=1, clock=FixedClock(T0), on_alert=on_alert
        )
    assert [a.kind for a in result.alerts] == ["index_crossing"]
    return queued


def _work(ws: Workspace, queue: JobQueue) -> Any:
    return Worker(ws, alert_handlers(), queue=queue).run_once()


def test_webhook_is_signed_and_verifies_at_the_receiver(
    ws: Workspace, orgs: tuple[str, str], receiver: Receiver
) -> None:
    acme, _ = orgs
    queue = JobQueue(ws.db, ws.clock)
    channel_id, secret = _webhook(ws, acme, receiver.url)
    [delivery_id] = _fire(ws, acme, queue)
    job = _work(ws, queue)
    assert (job.status, job.result["status"]) == ("succeeded", "delivered")
    [(headers, body)] = receiver.requests
    assert headers["baryon-event"] == "sentiment.alert"
    assert headers["baryon-delivery"] == delivery_id
    signed_at = verify_webhook(secret, body, headers["baryon-signature"])
    assert abs(signed_at - time.time()) < 60
    payload = json.loads(body)
    assert payload["type"] == "sentiment.alert"
    assert payload["delivery_id"] == delivery_id
    assert payload["alert"]["kind"] == "index_crossing"
    assert payload["alert"]["id"].startswith("alert_")
    checks = [
        (secret, body + b" ", headers["baryon-signature"], None, "signature_mismatch"),
        ("whsec_other", body, headers["baryon-signature"], None, "signature_mismatch"),
        (secret, body, headers["baryon-signature"], signed_at + 301, "signature_expired"),
        (secret, body, None, None, "signature_malformed"),
        (secret, body, "v1=abc", None, "signature_malformed"),
    ]
    for key, raw, header, now, code in checks:
        with pytest.raises(WebhookSignatureError) as info:
            verify_webhook(key, raw, header, now=now)
        assert info.value.code == code
    with ws.db.session(Scope.own(acme)) as s:
        shown = get_delivery(s, delivery_id)
        stored = s.get(AlertChannelRow, channel_id)
        assert stored is not None
        assert secret not in (stored.secret or "")
        sealed = stored.secret or ""
        assert open_secret(ws.settings, sealed, context=f"alert_channel:{channel_id}") == secret
        with pytest.raises(InvalidInput):  # bound to its channel: no other opens it
            open_secret(ws.settings, sealed, context="alert_channel:chn_other")
        assert "secret" not in get_channel(s, channel_id).to_dict()
    assert (shown.status, shown.attempts) == ("delivered", 1)


def test_failing_webhook_retries_then_is_dead_then_redelivered(
    ws: Workspace, orgs: tuple[str, str], receiver: Receiver
) -> None:
    acme, _ = orgs
    queue = JobQueue(ws.db, ws.clock)
    _webhook(ws, acme, receiver.url)
    [delivery_id] = _fire(ws, acme, queue)
    receiver.statuses = [500, 503, 410]
    job = _work(ws, queue)
    assert (job.status, job.error_code) == ("failed", "delivery_dead")
    assert [h["baryon-delivery"] for h, _ in receiver.requests] == [delivery_id] * 3
    with ws.db.session(Scope.own(acme)) as s:
        [dead] = list_deliveries(s, status="dead")
        assert (dead.id, dead.attempts, dead.last_error_code) == (
            delivery_id,
            3,
            "webhook_rejected",
        )
        assert dead.last_error == "the webhook answered HTTP 410"
        redeliver(s, queue, delivery_id, actor="test", clock=ws.clock)
    assert _work(ws, queue).status == "succeeded"
    with ws.db.session(Scope.own(acme)) as s:
        assert get_delivery(s, delivery_id).status == "delivered"
        assert list_deliveries(s, status="dead") == []
        with pytest.raises(Conflict) as info:
            redeliver(s, queue, delivery_id, actor="test", clock=ws.clock)
    assert info.value.code == "delivery_not_dead"
    assert len(receiver.requests) == 4


def test_unreachable_webhook_is_a_named_error(ws: Workspace, orgs: tuple[str, str]) -> None:
    acme, _ = orgs
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    queue = JobQueue(ws.db, ws.clock)
    _webhook(ws, acme, f"http://127.0.0.1:{port}/")
    _fire(ws, acme, queue)
    assert _work(ws, queue).error_code == "delivery_dead"
    with ws.db.session(Scope.own(acme)) as s:
        [dead] = list_deliveries(s, status="dead")
    assert dead.last_error_code == "webhook_unreachable"


@pytest.mark.parametrize(
    ("host", "code"),
    [
        ("127.0.0.1", "webhook_address_refused"),
        ("169.254.169.254", "webhook_address_refused"),
    ],
)
def test_webhook_to_a_private_address_is_refused_without_the_allow_list(
    tmp_path: Path, receiver: Receiver, host: str, code: str
) -> None:
    settings = Settings(home=tmp_path / "home", alert_delivery_attempts=1)
    with Workspace.open(settings) as ws:
        with ws.db.session(SYSTEM) as s:
            acme = create_org(s, name="acme").id
        port = receiver.server.server_port
        queue = JobQueue(ws.db, ws.clock)
        _webhook(ws, acme, f"http://{host}:{port}/hooks/baryon")
        _fire(ws, acme, queue)
        assert _work(ws, queue).error_code == "delivery_dead"
        with ws.db.session(Scope.own(acme)) as s:
            [dead] = list_deliveries(s, status="dead")
    assert dead.last_error_code == code
    assert receiver.requests == []  # refused before connecting


def test_webhook_redirect_is_not_followed(
    ws: Workspace, orgs: tuple[str, str], receiver: Receiver
) -> None:
    acme, _ = orgs
    receiver.statuses = [307, 307, 307]  # every attempt of the fixture's 3
    queue = JobQueue(ws.db, ws.clock)
    _webhook(ws, acme, receiver.url)
    _fire(ws, acme, queue)
    assert _work(ws, queue).error_code == "delivery_dead"
    with ws.db.session(Scope.own(acme)) as s:
        [dead] = list_deliveries(s, status="dead")
    assert dead.last_error_code == "webhook_redirected"
    assert len(receiver.requests) == 3  # each attempt once, never to the Location


def test_backoff_doubles_from_the_base_and_is_capped(ws: Workspace) -> None:
    settings = Settings(home=ws.settings.home, alert_retry_seconds=2.0)
    assert [backoff_seconds(n, settings) for n in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 16.0]
    assert backoff_seconds(20, settings) == 600.0


def test_send_test_and_disabled_channels(
    ws: Workspace, orgs: tuple[str, str], receiver: Receiver
) -> None:
    acme, _ = orgs
    queue = JobQueue(ws.db, ws.clock)
    channel_id, secret = _webhook(ws, acme, receiver.url)
    with ws.db.session(Scope.own(acme)) as s:
        set_channel_enabled(s, "hook", False, actor="test", clock=ws.clock)
    assert _fire(ws, acme, queue) == []  # a disabled channel receives no alert
    with ws.db.session(Scope.own(acme)) as s:
        delivery = send_test(s, queue, channel_id, actor="test", clock=ws.clock)
    assert _work(ws, queue).status == "succeeded"
    [(headers, body)] = receiver.requests
    verify_webhook(secret, body, headers["baryon-signature"])
    assert headers["baryon-event"] == "sentiment.test"
    assert json.loads(body)["test"] is True
    assert json.loads(body)["delivery_id"] == delivery.id


def test_other_organization_sees_no_channel_or_delivery(
    ws: Workspace, orgs: tuple[str, str], receiver: Receiver
) -> None:
    acme, umbrella = orgs
    queue = JobQueue(ws.db, ws.clock)
    channel_id, _ = _webhook(ws, acme, receiver.url)
    [delivery_id] = _fire(ws, acme, queue)
    with ws.db.session(Scope.own(umbrella)) as s:
        assert list_channels(s) == []
        assert list_deliveries(s) == []
        for call, code in (
            (lambda: get_channel(s, channel_id), "channel_not_found"),
            (lambda: get_channel(s, "hook"), "channel_not_found"),
            (
                lambda: send_test(s, queue, channel_id, actor="t", clock=ws.clock),
                "channel_not_found",
            ),
            (lambda: remove_channel(s, channel_id, actor="t", clock=ws.clock), "channel_not_found"),
            (lambda: get_delivery(s, delivery_id), "delivery_not_found"),
            (
                lambda: redeliver(s, queue, delivery_id, actor="t", clock=ws.clock),
                "delivery_not_found",
            ),
        ):
            with pytest.raises(NotFound) as info:
                call()
            assert info.value.code == code
    _webhook(ws, umbrella, receiver.url)  # the same name in another organization is fine
    with ws.db.session(Scope.own(acme)) as s:
        assert remove_channel(s, "hook", actor="t", clock=ws.clock).id == channel_id
    with ws.db.session(Scope.own(acme)) as s:
        assert list_deliveries(s) == []
        assert list_channels(s) == []
    with ws.db.session(Scope.own(umbrella)) as s:
        assert [c.name for c in list_channels(s)] == ["hook"]


@pytest.mark.parametrize(
    ("kind", "target", "name", "code"),
    [
        ("sms", "+44", None, "unknown_channel_kind"),
        ("webhook", "ftp://example.org/x", None, "invalid_webhook_url"),
        ("webhook", "http:///nohost", None, "invalid_webhook_url"),
        ("webhook", "https://user:pw@example.org/", None, "invalid_webhook_url"),
        ("webhook", "https://example.org/a b", None, "invalid_webhook_url"),
        ("webhook", 42, None, "invalid_webhook_url"),
        ("webhook", "http://0x7f000001/hook", None, "invalid_webhook_url"),
        ("email", "not an address", None, "invalid_email"),
        ("email", "ops@example.org", None, "smtp_not_configured"),
        ("webhook", "https://example.org/", "bad name", "invalid_channel_name"),
    ],
)
def test_create_channel_bad_input_writes_nothing(
    ws: Workspace, orgs: tuple[str, str], kind: Any, target: Any, name: Any, code: str
) -> None:
    acme, _ = orgs
    with ws.db.session(Scope.own(acme)) as s, pytest.raises(InvalidInput) as info:
        create_channel(
            s, kind=kind, target=target, name=name, org_id=acme, actor="t", clock=ws.clock,
            settings=ws.settings,
        )  # fmt: skip
    assert info.value.code == code
    with ws.db.session(Scope.own(acme)) as s:
        assert list_channels(s) == []


def test_duplicate_channel_name_conflicts(ws: Workspace, orgs: tuple[str, str]) -> None:
    acme, _ = orgs
    _webhook(ws, acme, "https://example.org/a")
    with pytest.raises(Conflict) as info:
        _webhook(ws, acme, "https://example.org/b")
    assert info.value.code == "channel_exists"


# ---------------------------------------------------------------------- SMTP
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_email_channel_delivers_through_smtp(tmp_path: Path) -> None:
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    received: list[Any] = []

    class Keep(Message):
        def handle_message(self, message: Any) -> None:
            received.append(message)

    port = _free_port()
    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    settings = Settings(
        home=tmp_path / "home", smtp_host="127.0.0.1", smtp_port=port, smtp_security="none",
        smtp_from="alerts@baryon.test", alert_retry_seconds=0.01,
    )  # fmt: skip
    ws = Workspace.open(settings)
    try:
        with ws.db.session(SYSTEM) as s:
            org = create_org(s, name="acme").id
        queue = JobQueue(ws.db, ws.clock)
        with ws.db.session(Scope.own(org)) as s:
            channel, secret = create_channel(
                s, kind="email", target="ops@example.org", org_id=org, actor="t",
                clock=ws.clock, settings=settings,
            )  # fmt: skip
        assert secret is None
        assert channel.name == "email-ops-example.org"
        [delivery_id] = _fire(ws, org, queue)
        assert _work(ws, queue).status == "succeeded"
    finally:
        ws.close()
        controller.stop()
    [message] = received
    assert message["To"] == "ops@example.org"
    assert message["From"] == "alerts@baryon.test"
    assert message["Subject"].startswith("[Baryon] all items 1h mood index above +0.3")
    assert message["Baryon-Delivery"] == delivery_id
    assert "index_crossing" in message.get_payload()
