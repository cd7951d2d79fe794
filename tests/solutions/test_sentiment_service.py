"""Sentiment service: item validation, scoring, storage, index, alerts and replay."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from baryon.commerce.orgs import create_org
from baryon.core.clock import FixedClock
from baryon.core.errors import InvalidFile, InvalidInput, ModelNotReady
from baryon.core.scope import SYSTEM
from baryon.solutions.sentiment.monitor import IndexCrossing, VolumeSpike
from baryon.solutions.sentiment.service import (
    NewsItem,
    ScoringModel,
    SentimentScorer,
    extract_tickers,
    index_of,
    ingest_items,
    list_alerts,
    parse_item,
    read_feed,
    replay,
)
from baryon.workspace import Workspace

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
NAMES = {"0": "Bearish", "1": "Bullish", "2": "Neutral"}


class WordModel:
    """Bearish (0) if 'down' is in the text, Bullish (1) if 'up', else Neutral (2)."""

    classes_ = np.array([0, 1, 2])

    def __init__(self) -> None:
        self.seen: list[str] = []

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        self.seen.extend(texts)
        rows = []
        for t in texts:
            if "down" in t:
                rows.append([0.8, 0.1, 0.1])
            elif "up" in t:
                rows.append([0.1, 0.8, 0.1])
            else:
                rows.append([0.1, 0.1, 0.8])
        return np.array(rows)


class TopicModel:
    classes_ = np.array([5, 9])

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        return np.array([[0.7, 0.3] if "earnings" in t else [0.4, 0.6] for t in texts])


def scorer() -> SentimentScorer:
    return SentimentScorer(
        ScoringModel("sentiment", 3, WordModel(), NAMES),
        ScoringModel("topic", 2, TopicModel(), {"5": "Earnings", "9": "General News | Opinion"}),
    )


def item(i: int, text: str, *, minutes: float = 0.0, tickers: tuple[str, ...] = ()) -> NewsItem:
    return NewsItem(f"n{i}", T0 - timedelta(minutes=minutes), "wire", text, tickers)


# ------------------------------------------------------------------ items
def test_extract_tickers_keeps_dollar_symbols_in_order_without_duplicates() -> None:
    text = "$AAPL up, $brk.b flat, $AAPL again, $5 off, US$ 3, a$TSLA"
    assert extract_tickers(text) == ["AAPL", "BRK.B"]


def test_parse_item_valid_item_normalises_time_and_tickers() -> None:
    parsed = parse_item(
        {
            "id": "x1",
            "published_at": "2026-03-02T13:00:00+01:00",
            "source": "wire",
            "text": "$nvda beats",
            "tickers": ["$nvda", "NVDA", "amd"],
        }
    )
    assert parsed.published_at == T0
    assert parsed.tickers == ("NVDA", "AMD")


def test_parse_item_without_tickers_takes_them_from_text() -> None:
    parsed = parse_item({"id": "x", "published_at": "2026-03-02T12:00:00Z", "text": "$SPY dips"})
    assert parsed.tickers == ("SPY",)
    assert parsed.source == ""


@pytest.mark.parametrize(
    ("obj", "code"),
    [
        ("not an object", "invalid_item"),
        ({"published_at": "2026-03-02T12:00:00Z", "text": "t"}, "invalid_item"),
        ({"id": "", "published_at": "2026-03-02T12:00:00Z", "text": "t"}, "invalid_item"),
        ({"id": "a", "published_at": "2026-03-02T12:00:00Z", "text": "  "}, "invalid_item"),
        ({"id": "a", "text": "t"}, "invalid_item"),
        ({"id": "a", "published_at": "2026-03-02T12:00:00", "text": "t"}, "invalid_item"),
        ({"id": "a", "published_at": "yesterday", "text": "t"}, "invalid_item"),
        ({"id": "a", "published_at": "2026-03-02T12:00:00Z", "text": "t", "tickers": "AAPL"},
         "invalid_item"),
        ({"id": "a", "published_at": "2026-03-02T12:00:00Z", "text": "t", "tickers": ["A B"]},
         "invalid_ticker"),
        ({"id": "a", "published_at": "2026-03-02T12:00:00Z", "text": "x" * 11}, "text_too_long"),
        ({"id": "a" * 201, "published_at": "2026-03-02T12:00:00Z", "text": "t"}, "invalid_item"),
    ],
)  # fmt: skip
def test_parse_item_malformed_item_raises_named_code(obj: Any, code: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_item(obj, max_text_chars=10)
    assert info.value.code == code


def test_read_feed_bad_json_line_names_the_line(tmp_path: Path) -> None:
    feed = tmp_path / "feed.jsonl"
    good = {"id": "a", "published_at": "2026-03-02T12:00:00Z", "text": "up"}
    feed.write_text(json.dumps(good) + "\n\n{not json\n", encoding="utf-8")
    with pytest.raises(InvalidFile) as info:
        read_feed(feed)
    assert info.value.code == "invalid_json"
    assert info.value.details == {"line": 3}


def test_read_feed_invalid_item_and_empty_file_raise(tmp_path: Path) -> None:
    feed = tmp_path / "feed.jsonl"
    feed.write_text('{"id": "a", "text": "up"}\n', encoding="utf-8")
    with pytest.raises(InvalidInput, match="line 1"):
        read_feed(feed)
    feed.write_text("\n", encoding="utf-8")
    with pytest.raises(InvalidFile) as info:
        read_feed(feed)
    assert info.value.code == "empty_file"
    with pytest.raises(InvalidFile):
        read_feed(tmp_path / "missing.jsonl")


# ------------------------------------------------------------------ scoring
def test_scorer_cleans_text_like_training_and_names_labels() -> None:
    s = scorer()
    (result,) = s.analyze(["Shares up &amp; away https://t.co/x  "])
    assert result.label == "Bullish"
    assert result.probabilities == pytest.approx({"Bearish": 0.1, "Bullish": 0.8, "Neutral": 0.1})
    assert result.topic == "General News | Opinion"
    assert result.topic_probability == pytest.approx(0.6)
    assert s.sentiment.estimator.seen == ["Shares up & away"]


def test_scorer_without_topic_model_answers_topic_none() -> None:
    s = SentimentScorer(ScoringModel("sentiment", 1, WordModel(), NAMES))
    assert s.analyze(["flat"])[0].topic is None
    assert s.analyze([]) == []


def test_scorer_model_with_other_labels_is_not_ready() -> None:
    with pytest.raises(ModelNotReady) as info:
        SentimentScorer(ScoringModel("sentiment", 1, WordModel(), {}))  # classes 0, 1, 2
    assert "answers 0, 1, 2" in info.value.message


def test_scorer_reads_positive_negative_as_bullish_bearish() -> None:
    class PosNeg:
        classes_ = np.array(["negative", "positive"])

        def predict_proba(self, texts: list[str]) -> np.ndarray:
            return np.array([[0.2, 0.8] for _ in texts])

    (result,) = SentimentScorer(ScoringModel("sentiment", 1, PosNeg())).analyze(["fine"])
    assert result.label == "Bullish"
    assert result.probabilities == {"Bearish": 0.2, "Bullish": 0.8}


# ------------------------------------------------------------------ storage
@pytest.fixture
def org(workspace: Workspace) -> str:
    with workspace.db.session(SYSTEM) as s:
        return create_org(s, name="acme").id


def _ingest(ws: Workspace, org_id: str, items: list[NewsItem], clock: FixedClock, **kw: Any) -> Any:
    analyses = dict(
        zip([i.id for i in items], scorer().analyze([i.text for i in items]), strict=True)
    )
    with ws.db.session(SYSTEM) as s:
        return ingest_items(
            s, org_id, items, analyses, sentiment_version=3, topic_version=2, clock=clock, **kw
        )


def test_ingest_items_duplicate_id_is_stored_and_counted_once(
    workspace: Workspace, org: str
) -> None:
    clock = FixedClock(T0)
    first = _ingest(workspace, org, [item(1, "up"), item(2, "down"), item(1, "up")], clock)
    assert first.accepted == ["n1", "n2"]
    assert first.duplicates == ["n1"]
    second = _ingest(workspace, org, [item(2, "down again"), item(3, "flat")], clock)
    assert second.accepted == ["n3"]
    assert second.duplicates == ["n2"]
    with workspace.db.session(SYSTEM) as s:
        idx = index_of(s, org, window="1h", end=T0)
    assert (idx.n, idx.bullish, idx.bearish, idx.neutral) == (3, 1, 1, 1)
    assert idx.index == 0.0


def test_index_of_ticker_and_window_select_items(workspace: Workspace, org: str) -> None:
    clock = FixedClock(T0)
    items = [
        item(1, "up", tickers=("AAPL",)),
        item(2, "up", minutes=30, tickers=("AAPL", "MSFT")),
        item(3, "down", minutes=90, tickers=("AAPL",)),
        item(4, "down"),
    ]
    _ingest(workspace, org, items, clock)
    with workspace.db.session(SYSTEM) as s:
        hour = index_of(s, org, window="1h", ticker="$aapl", end=T0)
        day = index_of(s, org, window="1d", ticker="AAPL", end=T0)
        msft = index_of(s, org, window="1h", ticker="MSFT", end=T0)
        other_org = index_of(s, "org_nobody", window="1d", end=T0)
    assert (hour.ticker, hour.n, hour.index) == ("AAPL", 2, 1.0)
    assert (day.n, day.index) == (3, pytest.approx(1 / 3))
    assert msft.n == 1
    assert other_org.n == 0


def test_index_of_unknown_window_or_bad_ticker_raise(workspace: Workspace, org: str) -> None:
    with workspace.db.session(SYSTEM) as s, pytest.raises(InvalidInput) as info:
        index_of(s, org, window="1w", end=T0)
    assert info.value.code == "unknown_window"
    with workspace.db.session(SYSTEM) as s, pytest.raises(InvalidInput) as info:
        index_of(s, org, window="1h", ticker="not a ticker", end=T0)
    assert info.value.code == "invalid_ticker"


def test_ingest_items_fires_alert_once_with_its_items(workspace: Workspace, org: str) -> None:
    clock = FixedClock(T0)
    rules = [IndexCrossing(threshold=0.5, window="1h", min_items=3)]
    first = _ingest(
        workspace, org, [item(k, "up", minutes=k) for k in range(3)], clock, rules=rules
    )
    assert [(a.kind, a.state) for a in first.alerts] == [("index_crossing", "above")]
    again = _ingest(workspace, org, [item(9, "up")], clock, rules=rules)
    assert again.alerts == []  # still above: the stored rule state keeps it quiet
    with workspace.db.session(SYSTEM) as s:
        alerts = list_alerts(s, org)
    assert len(alerts) == 1
    assert alerts[0]["item_count"] == 3
    assert [i["id"] for i in alerts[0]["items"]] == ["n0", "n1", "n2"]
    assert alerts[0]["items"][0]["label"] == "Bullish"
    assert alerts[0]["message"].startswith("all items 1h mood index above +0.5")


def test_list_alerts_filters_by_ticker_and_since(workspace: Workspace, org: str) -> None:
    clock = FixedClock(T0)
    rules = [IndexCrossing(threshold=0.5, window="1h", min_items=2)]
    _ingest(workspace, org, [item(k, "down", tickers=("XOM",)) for k in range(2)], clock,
            rules=rules)  # fmt: skip
    with workspace.db.session(SYSTEM) as s:
        assert {a["ticker"] for a in list_alerts(s, org)} == {None, "XOM"}
        assert [a["ticker"] for a in list_alerts(s, org, ticker="xom")] == ["XOM"]
        assert list_alerts(s, org, since=T0) == []
        assert list_alerts(s, "org_other") == []


def test_ingest_items_in_the_future_is_refused(workspace: Workspace, org: str) -> None:
    late = NewsItem("f", T0 + timedelta(hours=1), "wire", "up", ())
    with pytest.raises(InvalidInput) as info:
        _ingest(workspace, org, [late], FixedClock(T0))
    assert info.value.code == "published_in_future"


# ------------------------------------------------------------------ replay
def test_replay_waits_gap_over_speed_and_reports_alerts_in_order() -> None:
    waits: list[float] = []
    fired: list[str] = []
    feed = [item(k, "down", minutes=10 - k) for k in range(3)] + [item(1, "down")]
    summary = replay(
        feed,
        scorer(),
        rules=[IndexCrossing(threshold=0.5, min_items=2)],
        speed=60.0,
        sleep=waits.append,
        on_alert=lambda alert, items: fired.append(f"{alert.state}:{alert.item_ids[0]}"),
    )
    assert waits == pytest.approx([1.0, 1.0, 8.0])  # 60 s, 60 s, 480 s of feed time / 60
    assert fired == ["below:n1"]
    assert (summary.items, summary.duplicates) == (3, 1)
    assert summary.labels == {"Bearish": 3, "Bullish": 0, "Neutral": 0}
    assert summary.index is not None
    assert summary.index.end == T0


def test_replay_negative_speed_or_empty_feed_raise() -> None:
    with pytest.raises(InvalidInput):
        replay([item(1, "up")], scorer(), speed=-1)
    with pytest.raises(InvalidInput):
        replay([], scorer())


def test_ingest_items_volume_spike_fires_once_the_past_was_observed(
    workspace: Workspace, org: str
) -> None:
    clock = FixedClock(T0)
    rule = [VolumeSpike(factor=3.0, window="1h", baseline_windows=2, min_items=4)]
    _ingest(workspace, org, [item(0, "flat", minutes=200)], clock, rules=rule)  # starts watching
    quiet = _ingest(workspace, org, [item(k, "flat", minutes=70 + k) for k in (1, 2)], clock,
                    rules=rule)  # fmt: skip
    assert quiet.alerts == []
    burst = _ingest(workspace, org, [item(k, "flat", minutes=k) for k in range(3, 10)], clock,
                    rules=rule)  # fmt: skip
    assert [(a.kind, a.value) for a in burst.alerts] == [("volume_spike", 7.0)]  # 7 > 3 x 1
