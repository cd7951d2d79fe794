"""The live monitor: a feed source whose runs score and index items; jobs and schedules."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from originkit import Origin

from baryon.connectors.fetch import FetchPolicy, OutboundClient
from baryon.connectors.jobs import SOURCE_RUN, source_handlers, source_schedule_kinds
from baryon.connectors.sources import get_source, list_sources, run_source
from baryon.connectors.tables import SourceRunRow
from baryon.core.errors import Conflict, InvalidInput
from baryon.jobs import JobQueue, Worker
from baryon.jobs.schedules import list_schedules
from baryon.solutions.sentiment import subscriptions
from baryon.solutions.sentiment.service import ScoringModel, SentimentScorer, index_of
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
def scored(monkeypatch: pytest.MonkeyPatch) -> None:
    """The workspace's sentiment champion is a word model (no training in these tests)."""
    model = ScoringModel(
        "sentiment", 4, WordModel(), {"0": "Bearish", "1": "Bullish", "2": "Neutral"}
    )
    monkeypatch.setattr(SentimentScorer, "from_workspace", classmethod(lambda cls, ws: cls(model)))


def _feed(ws: Workspace, *items: tuple[str, str]) -> bytes:
    when = (ws.clock.now() - timedelta(minutes=1)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    return RSS.format("".join(ITEM.format(i, t, when) for i, t in items)).encode()


def _client(ws: Workspace) -> OutboundClient:
    return OutboundClient(FetchPolicy.from_settings(ws.settings), sleep=lambda s: None)


def test_subscribe_then_runs_move_the_mood_index(
    ws: Workspace, origin: Origin, scored: None
) -> None:
    origin.static("/rss", _feed(ws, ("a", "stocks up"), ("b", "stocks up again"), ("c", "down")))
    made = subscriptions.subscribe(ws, origin.url("/rss"), every="5m", tickers=["aapl"], actor="t")
    assert made["schedule"]["kind"] == SOURCE_RUN
    assert made["schedule"]["every"] == "5m"
    assert made["source"]["config"] == {"max_items": 1000, "sink": "sentiment", "tickers": ["AAPL"]}
    name = made["source"]["name"]
    sinks = subscriptions.sentiment_sinks()
    first = run_source(ws, name, actor="t", client=_client(ws), sinks=sinks)
    assert (first["status"], first["new"], first["report"]["sink"]["accepted"]) == (
        "succeeded",
        3,
        3,
    )
    org = ws.scope.org_id or ""
    with ws.db.session(ws.scope) as session:
        before = index_of(session, org, window="1h", ticker="AAPL", end=ws.clock.now())
    assert (before.n, before.bullish, before.bearish) == (3, 2, 1)

    origin.static("/rss", _feed(ws, ("c", "down"), ("d", "markets down"), ("e", "down down")))
    second = run_source(ws, name, actor="t", client=_client(ws), sinks=sinks)
    assert (second["new"], second["duplicate"], second["report"]["sink"]["accepted"]) == (2, 1, 2)
    with ws.db.session(ws.scope) as session:
        after = index_of(session, org, window="1h", ticker="AAPL", end=ws.clock.now())
    assert after.n == 5
    assert after.index is not None
    assert before.index is not None
    assert after.index < before.index


def test_subscribe_bad_interval_writes_nothing(ws: Workspace, origin: Origin) -> None:
    with pytest.raises(InvalidInput) as info:
        subscriptions.subscribe(ws, origin.url("/rss"), every="10s", actor="t")
    assert info.value.code == "interval_too_short"
    with pytest.raises(InvalidInput) as bad_url:
        subscriptions.subscribe(ws, "http://0x7f000001/rss", every="5m", actor="t")
    assert bad_url.value.code == "ambiguous_host"
    assert list_sources(ws) == []
    with ws.db.session(ws.scope) as session:
        assert list_schedules(session) == []
    subscriptions.subscribe(ws, origin.url("/rss"), every="5m", actor="t")
    with pytest.raises(Conflict):
        subscriptions.subscribe(ws, origin.url("/rss"), every="5m", actor="t")


def test_sentiment_source_without_model_fails_run_and_keeps_nothing(
    ws: Workspace, origin: Origin
) -> None:
    origin.static("/rss", _feed(ws, ("a", "up")))
    name = subscriptions.subscribe(ws, origin.url("/rss"), every="5m", actor="t")["source"]["name"]
    run = run_source(ws, name, actor="t", client=_client(ws), sinks=subscriptions.sentiment_sinks())
    assert run["status"] == "failed"
    assert run["error_code"] in {"model_not_found", "model_not_ready"}
    assert run["version_id"] is None
    no_sink = run_source(ws, name, actor="t", client=_client(ws))
    assert (no_sink["status"], no_sink["error_code"]) == ("failed", "sink_unavailable")


def test_source_run_job_records_a_failed_run_without_failing_the_worker(
    ws: Workspace, origin: Origin
) -> None:
    origin.static("/rss", b"{not a feed", "application/rss+xml")
    from baryon.connectors.sources import add_source

    add_source(ws, name="news", kind="feed", url=origin.url("/rss"), actor="t")
    queue = JobQueue(ws.db, ws.clock)
    job = queue.enqueue(SOURCE_RUN, {"source": "news"}, org_id=ws.scope.org_id or "")
    Worker(ws, source_handlers(), queue=queue).run_once()
    done = queue.get(job.id, org_id=ws.scope.org_id)
    assert done.status == "succeeded"
    assert done.result is not None
    assert done.result["error_code"] == "malformed_feed"
    runs = get_source(ws, "news")["runs"]
    assert [(r["trigger"], r["status"]) for r in runs] == [("job", "failed")]
    with ws.db.session(ws.scope) as session:
        assert session.query(SourceRunRow).count() == 1


def test_source_schedule_kind_checks_payload_and_source() -> None:
    kind = source_schedule_kinds()[SOURCE_RUN]
    assert kind.check({"source": "news"}) == {"source": "news"}
    assert kind.default_name({"source": "news"}) == "source-news"
    with pytest.raises(InvalidInput) as info:
        kind.check({"source": "news", "extra": 1})
    assert info.value.code == "invalid_job_payload"
