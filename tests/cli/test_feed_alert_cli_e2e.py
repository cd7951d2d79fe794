"""Issue 17 end to end on the command line: ``sentiment channels add``, ``rules add``,
``subscribe``, ``sources run`` and ``worker --burst`` deliver a signed webhook.

The feed and the webhook receiver are loopback origins (``BARYON_FETCH_ALLOW`` admits
127.0.0.1); the sentiment champion is a word model (no training).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from clikit import run
from originkit import Origin

from baryon.client import verify_webhook
from baryon.solutions.sentiment.service import ScoringModel, SentimentScorer

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
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BARYON_FETCH_ALLOW", '["127.0.0.1/32"]')
    monkeypatch.setenv("BARYON_ALERT_RETRY_SECONDS", "0.01")
    monkeypatch.setenv("BARYON_ALERT_DELIVERY_ATTEMPTS", "2")
    model = ScoringModel(
        "sentiment", 1, WordModel(), {"0": "Bearish", "1": "Bullish", "2": "Neutral"}
    )
    monkeypatch.setattr(SentimentScorer, "from_workspace", classmethod(lambda cls, ws: cls(model)))
    return tmp_path / "home"


@pytest.fixture
def receiver() -> Iterator[Origin]:
    with Origin() as server:
        server.route("/hook", lambda _r: (204, {}, b""))
        yield server


def _feed(*items: tuple[str, str]) -> bytes:
    when = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    return RSS.format("".join(ITEM.format(i, t, when) for i, t in items)).encode()


def test_cli_feed_run_fires_a_rule_and_the_worker_delivers_a_signed_webhook(
    home: Path, receiver: Origin, capsys: pytest.CaptureFixture[str]
) -> None:
    h = ["--home", str(home)]
    code, out, err = run(
        [*h, "sentiment", "channels", "add", "webhook", receiver.url("/hook"), "--json"], capsys
    )
    assert code == 0, err
    secret = json.loads(out)["secret"]
    code, out, err = run(
        [*h, "sentiment", "rules", "add", "index_crossing", "0.5", "--ticker", "AAPL",
         "--min-items", "3", "--json"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    rule_id = json.loads(out)["id"]
    with Origin() as feed:
        feed.static("/rss", _feed(("a", "markets flat"), ("b", "rates steady"), ("c", "stocks up")))
        code, out, err = run(
            [*h, "sentiment", "subscribe", feed.url("/rss"), "--every", "5m",
             "--tickers", "AAPL", "--name", "wire", "--json"],
            capsys,
        )  # fmt: skip
        assert code == 0, err
        first = json.loads(out)["run"]
        assert (first["status"], first["new"]) == ("succeeded", 3)  # index +0.33: quiet
        feed.static("/rss", _feed(("d", "bonds up"), ("e", "oil up"), ("f", "gold up")))
        code, out, err = run([*h, "sources", "run", "wire", "--json"], capsys)
        assert code == 0, err
        assert json.loads(out)["new"] == 3  # index +0.67: above +0.5
    assert receiver.requests == []  # queued, not sent: sending is the worker's
    code, out, err = run([*h, "worker", "--burst", "--kind", "alert.deliver"], capsys)
    assert code == 0, err
    [request] = receiver.requests
    verify_webhook(secret, request.body, request.headers["baryon-signature"])
    assert request.headers["user-agent"] == "Baryon-Alerts/1"
    alert = json.loads(request.body)["alert"]
    assert (alert["rule"], alert["ticker"], alert["state"]) == (rule_id, "AAPL", "above")
    code, out, err = run([*h, "sentiment", "deliveries", "list", "--json"], capsys)
    assert code == 0, err
    [delivery] = json.loads(out)
    assert (delivery["status"], delivery["alert_id"]) == ("delivered", alert["id"])
