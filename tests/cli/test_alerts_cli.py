"""``baryon sentiment rules|channels|deliveries``: rules, history test, a signed test alert
to a loopback receiver, dead letters and redelivery, other organizations, bad input."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from clikit import run

from baryon.commerce.orgs import create_org
from baryon.core.config import Settings
from baryon.core.scope import OPERATOR_ORG_ID, SYSTEM, Scope
from baryon.solutions.sentiment.service import Analysis, NewsItem, ingest_items
from baryon.solutions.sentiment.signing import verify_webhook
from baryon.workspace import Workspace

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home whose operator organization stored 3 bullish then 3 bearish items."""
    monkeypatch.setenv("BARYON_ALERT_RETRY_SECONDS", "0.01")
    monkeypatch.setenv("BARYON_ALERT_DELIVERY_ATTEMPTS", "2")
    monkeypatch.setenv("BARYON_FETCH_ALLOW", '["127.0.0.1/32"]')  # the loopback receiver
    home = tmp_path / "home"
    with Workspace.open(Settings(home=home)) as ws:
        with ws.db.session(SYSTEM) as s:
            create_org(s, name="umbrella")
        items = [
            NewsItem(f"u{k}", T0 - timedelta(hours=3, minutes=k), "wire", "up", ("AAPL",))
            for k in range(3)
        ] + [
            NewsItem(f"d{k}", T0 - timedelta(minutes=k), "wire", "down", ("AAPL",))
            for k in range(3)
        ]
        label = {"up": "Bullish", "down": "Bearish"}
        analyses = {i.id: Analysis(label[i.text], {label[i.text]: 1.0}, None, None) for i in items}
        with ws.db.session(Scope.own(OPERATOR_ORG_ID)) as s:
            ingest_items(s, OPERATOR_ORG_ID, items, analyses, sentiment_version=1)
    return home


class Receiver:
    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    try:
        yield r
    finally:
        r.server.shutdown()
        r.server.server_close()


def test_rules_add_list_test_disable_remove(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    h = ["--home", str(home)]
    code, out, err = run(
        [*h, "sentiment", "rules", "add", "index_crossing", "0.5", "--ticker", "aapl",
         "--min-items", "3", "--name", "aapl-mood", "--json"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    made = json.loads(out)
    assert (made["ticker"], made["threshold"], made["enabled"]) == ("AAPL", 0.5, True)
    since, until = (T0 - timedelta(days=1)).isoformat(), T0.isoformat()
    code, out, err = run(
        [*h, "sentiment", "rules", "test", "aapl-mood", "--since", since, "--until", until], capsys
    )
    assert code == 0, err
    assert out.splitlines() == [
        f"would have fired at {(T0 - timedelta(hours=3)).isoformat()}  "
        "$AAPL 1h mood index above +0.5: +1.00",
        f"would have fired at {T0.isoformat()}  $AAPL 1h mood index below -0.5: -1.00",
    ]
    code, out, err = run([*h, "sentiment", "rules", "disable", "aapl-mood", "--json"], capsys)
    assert (code, json.loads(out)["enabled"]) == (0, False)
    code, out, err = run([*h, "sentiment", "rules", "list"], capsys)
    assert "aapl-mood  index_crossing 0.5  1h  $AAPL  min 3  disabled" in out
    code, out, err = run(
        [*h, "--org", "umbrella", "sentiment", "rules", "remove", "aapl-mood"], capsys
    )
    assert code != 0
    assert err.strip().startswith("error[rule_not_found]:")
    code, out, err = run([*h, "sentiment", "rules", "remove", "aapl-mood"], capsys)
    assert (code, out.startswith("removed ")) == (0, True)
    code, out, err = run([*h, "sentiment", "rules", "list"], capsys)
    assert out.strip() == "no rules: the default rules apply"


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["rules", "add", "moon", "0.5"], "unknown_rule_kind"),
        (["rules", "add", "index_crossing", "0.5", "--direction", "sideways"], "invalid_rule"),
        (["rules", "add", "volume_spike", "0.5"], "invalid_rule"),
        (["channels", "add", "webhook", "gopher://example.org"], "invalid_webhook_url"),
        (["channels", "add", "email", "ops@example.org"], "smtp_not_configured"),
        (["deliveries", "list", "--status", "lost"], "invalid_delivery_status"),
        (["deliveries", "redeliver", "dlv_00000000000000000000000000"], "delivery_not_found"),
    ],
)
def test_bad_input_prints_one_error_line(
    home: Path, capsys: pytest.CaptureFixture[str], args: list[str], code: str
) -> None:
    status, _out, err = run(["--home", str(home), "sentiment", *args], capsys)
    assert status != 0
    assert err.strip().startswith(f"error[{code}]:")
    assert len(err.strip().splitlines()) == 1


def test_channel_test_alert_is_signed_then_dead_letter_redelivered(
    home: Path, capsys: pytest.CaptureFixture[str], receiver: Receiver
) -> None:
    h = ["--home", str(home)]
    code, out, err = run(
        [*h, "sentiment", "channels", "add", "webhook", receiver.url, "--json"], capsys
    )
    assert code == 0, err
    made = json.loads(out)
    secret = made["secret"]
    code, out, err = run([*h, "sentiment", "channels", "list"], capsys)
    assert secret not in out
    assert made["channel"]["name"] in out
    code, out, err = run([*h, "sentiment", "channels", "test", made["channel"]["name"]], capsys)
    assert code == 0, err
    assert "sentiment.test  delivered, 1 attempts" in out
    [(headers, body)] = receiver.requests
    verify_webhook(secret, body, headers["baryon-signature"])

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code, out, err = run(
        [
            *h,
            "sentiment",
            "channels",
            "add",
            "webhook",
            f"http://127.0.0.1:{port}/",
            "--name",
            "gone",
        ],
        capsys,
    )
    assert code == 0, err
    code, out, err = run([*h, "sentiment", "channels", "test", "gone"], capsys)
    assert code == 1
    assert "dead, 2 attempts  error[webhook_unreachable]" in out
    code, out, err = run(
        [*h, "sentiment", "deliveries", "list", "--status", "dead", "--json"], capsys
    )
    [dead] = json.loads(out)
    assert dead["attempts"] == 2
    code, out, err = run(
        [*h, "--org", "umbrella", "sentiment", "deliveries", "redeliver", dead["id"]], capsys
    )
    assert err.strip().startswith("error[delivery_not_found]:")
    code, out, err = run([*h, "sentiment", "deliveries", "redeliver", dead["id"], "--json"], capsys)
    assert code == 1
    assert (json.loads(out)["id"], json.loads(out)["status"]) == (dead["id"], "dead")
