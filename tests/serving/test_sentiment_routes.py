"""HTTP routes of the sentiment monitor: analyze, items, index, alerts."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi import FastAPI
from servingkit import StaticResolver, Tenants

from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.predictions.inference import ServedModel
from baryon.serving.app import create_app
from baryon.workspace import Workspace

NAMES = {"0": "Bearish", "1": "Bullish", "2": "Neutral"}


class WordModel:
    """Bearish (0) if 'down' is in the text, Bullish (1) if 'up', else Neutral (2)."""

    classes_ = np.array([0, 1, 2])

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        table = {"down": [0.8, 0.1, 0.1], "up": [0.1, 0.8, 0.1]}
        return np.array(
            [next((v for k, v in table.items() if k in t), [0.1, 0.1, 0.8]) for t in texts]
        )


class TopicModel:
    classes_ = np.array([5, 9])

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        return np.array([[0.7, 0.3] if "earnings" in t else [0.4, 0.6] for t in texts])


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", max_batch_size=4, max_text_chars=200)


@pytest.fixture
def resolver() -> StaticResolver:
    r = StaticResolver()
    r.add(
        ServedModel(
            "sentiment", 3, "text_classification", WordModel(), extra={"label_names": NAMES}
        ),
        "champion",
    )
    r.add(
        ServedModel("topic", 2, "text_classification", TopicModel(),
                    extra={"label_names": {"5": "Earnings", "9": "General News | Opinion"}}),
        "champion",
    )  # fmt: skip
    return r


@pytest.fixture
def app(settings: Settings, ws: Workspace, clock: FixedClock, resolver: StaticResolver) -> FastAPI:
    return create_app(settings, workspace=ws, clock=clock, resolver=resolver)


def _item(i: int, text: str, clock: FixedClock, minutes: float = 0, **extra: Any) -> dict[str, Any]:
    at = clock.now() - timedelta(minutes=minutes)
    return {"id": f"n{i}", "published_at": at.isoformat(), "source": "wire", "text": text, **extra}


# ------------------------------------------------------------------ analyze
def test_analyze_batch_returns_label_probabilities_topic_and_logs(
    api: Any, tenants: Tenants
) -> None:
    client = api(tenants.keys["acme:developer"])
    r = client.post("/v1/sentiment/analyze", json={"texts": ["$AAPL up on earnings", "flat"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [x["label"] for x in body["results"]] == ["Bullish", "Neutral"]
    assert body["results"][0]["probabilities"] == pytest.approx(
        {"Bearish": 0.1, "Bullish": 0.8, "Neutral": 0.1}
    )
    assert body["results"][0]["topic"] == "Earnings"
    assert (body["model_version"], body["topic_model_version"]) == (3, 2)
    assert body["usage"]["units"] == 2
    logged = client.get(f"/v1/predictions/{body['prediction_id']}")
    assert logged.status_code == 200
    assert logged.json()["model"] == "sentiment"
    topic_log = client.get(f"/v1/predictions/{body['topic_prediction_id']}").json()
    assert topic_log["model"] == "topic"


@pytest.mark.parametrize(
    ("texts", "status", "code"),
    [
        ([], 422, "empty_batch"),
        (["a", "b", "c", "d", "e"], 413, "batch_too_large"),
        (["x" * 201], 422, "text_too_long"),
        (["  "], 422, "empty_text"),
    ],
)
def test_analyze_bad_batch_is_refused(
    api: Any, tenants: Tenants, texts: list[str], status: int, code: str
) -> None:
    r = api(tenants.keys["acme:developer"]).post("/v1/sentiment/analyze", json={"texts": texts})
    assert r.status_code == status
    assert r.json()["code"] == code
    assert r.headers["content-type"].startswith("application/problem+json")


def test_analyze_needs_key_and_predict_permission(api: Any, tenants: Tenants) -> None:
    assert api().post("/v1/sentiment/analyze", json={"texts": ["up"]}).status_code == 401
    viewer = api(tenants.keys["acme:viewer"])
    assert viewer.post("/v1/sentiment/analyze", json={"texts": ["up"]}).status_code == 403


def test_analyze_without_sentiment_model_is_503(
    api: Any, tenants: Tenants, resolver: StaticResolver
) -> None:
    resolver.unloadable.add("sentiment")
    r = api(tenants.keys["acme:developer"]).post("/v1/sentiment/analyze", json={"texts": ["up"]})
    assert r.status_code == 503
    assert r.json()["code"] == "model_not_ready"


@pytest.mark.parametrize(
    ("path", "payload"),
    [("/v1/sentiment/analyze", {"texts": ["up"]}), ("/v1/sentiment/items", None)],
)
def test_scoring_malformed_idempotency_key_refused_before_the_model_runs(
    api: Any,
    tenants: Tenants,
    resolver: StaticResolver,
    clock: FixedClock,
    path: str,
    payload: dict[str, Any] | None,
) -> None:
    resolver.unloadable.add("sentiment")
    body = payload if payload is not None else {"items": [_item(1, "up", clock)]}
    client = api(tenants.keys["acme:developer"], **{"Idempotency-Key": "bad key"})
    r = client.post(path, json=body)
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_idempotency_key"
    usage = api(tenants.keys["acme:admin"]).get("/v1/usage").json()
    assert usage["total"]["requests"] == 0


def test_analyze_idempotency_key_replays_and_meters_once(api: Any, tenants: Tenants) -> None:
    client = api(tenants.keys["acme:developer"], **{"Idempotency-Key": "k-1"})
    first = client.post("/v1/sentiment/analyze", json={"texts": ["up"]})
    again = client.post("/v1/sentiment/analyze", json={"texts": ["up"]})
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["prediction_id"] == first.json()["prediction_id"]
    usage = api(tenants.keys["acme:admin"]).get("/v1/usage").json()
    assert usage["total"]["units"] == 1


# ------------------------------------------------------------------ items
def test_items_stores_once_and_reports_duplicates(
    api: Any, tenants: Tenants, clock: FixedClock
) -> None:
    client = api(tenants.keys["acme:developer"])
    batch = [_item(1, "$TSLA up", clock), _item(2, "$TSLA down", clock, minutes=5)]
    r = client.post("/v1/sentiment/items", json={"items": batch})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["accepted"], body["duplicates"]) == (2, [])
    assert body["items"][0]["tickers"] == ["TSLA"]
    again = client.post(
        "/v1/sentiment/items", json={"items": [batch[0], _item(3, "up", clock)]}
    ).json()
    assert (again["accepted"], again["duplicates"]) == (1, ["n1"])
    index = client.get("/v1/sentiment/index", params={"window": "1h"}).json()
    assert (index["n"], index["bullish"], index["bearish"]) == (3, 2, 1)
    assert index["index"] == pytest.approx(1 / 3)
    assert index["band"]["low"] < index["index"] < index["band"]["high"]
    assert "Agresti" in index["formula"]
    tsla = client.get("/v1/sentiment/index", params={"window": "1d", "ticker": "$tsla"}).json()
    assert (tsla["ticker"], tsla["n"]) == ("TSLA", 2)


def test_items_of_one_org_are_invisible_to_another(
    api: Any, tenants: Tenants, clock: FixedClock
) -> None:
    api(tenants.keys["acme:developer"]).post(
        "/v1/sentiment/items", json={"items": [_item(1, "up", clock)]}
    )
    other = api(tenants.keys["globex:developer"])
    assert other.get("/v1/sentiment/index").json()["n"] == 0
    # the same publisher id is new for globex
    r = other.post("/v1/sentiment/items", json={"items": [_item(1, "up", clock)]})
    assert r.json()["accepted"] == 1


@pytest.mark.parametrize(
    ("item", "status", "code"),
    [
        ({"published_at": "2026-01-01T00:00:00Z", "text": "up"}, 422, "invalid_input"),
        ({"id": "a", "published_at": "2026-01-01T00:00:00", "text": "up"}, 422, "invalid_time"),
        ({"id": "a", "published_at": 1767225600, "text": "up"}, 422, "invalid_time"),
        ({"id": "a", "published_at": "2026-01-01T00:00:00Z", "text": "up", "tickers": ["A B"]},
         422, "invalid_ticker"),
        ({"id": "a", "published_at": "2026-01-02T00:00:00Z", "text": "up"}, 422,
         "published_in_future"),
        ({"id": "a", "published_at": "2026-01-01T00:00:00Z", "text": "up", "extra": 1}, 422,
         "invalid_input"),
    ],
)  # fmt: skip
def test_items_malformed_item_is_refused_and_nothing_stored(
    api: Any, tenants: Tenants, item: dict[str, Any], status: int, code: str
) -> None:
    client = api(tenants.keys["acme:developer"])
    r = client.post("/v1/sentiment/items", json={"items": [item]})
    assert r.status_code == status
    assert r.json()["code"] == code
    assert client.get("/v1/sentiment/index", params={"window": "1d"}).json()["n"] == 0


def test_items_empty_and_oversized_batches_are_refused(
    api: Any, tenants: Tenants, clock: FixedClock
) -> None:
    client = api(tenants.keys["acme:developer"])
    assert client.post("/v1/sentiment/items", json={"items": []}).json()["code"] == "empty_batch"
    many = [_item(k, "up", clock) for k in range(5)]
    assert client.post("/v1/sentiment/items", json={"items": many}).status_code == 413


def test_items_crossing_fires_alert_listed_with_its_items(
    api: Any, tenants: Tenants, clock: FixedClock
) -> None:
    client = api(tenants.keys["acme:developer"])
    fired = []
    for start in (0, 4, 8):  # twelve bearish items in batches of four
        batch = [_item(k, "$XOM down", clock, minutes=20 - k) for k in range(start, start + 4)]
        fired += client.post("/v1/sentiment/items", json={"items": batch}).json()["alerts"]
    assert sorted((a["kind"], a["state"], a["ticker"] or "*") for a in fired) == [
        ("index_crossing", "below", "*"),
        ("index_crossing", "below", "XOM"),
    ]  # no volume spike: the organization's past six hours were never observed
    alerts = api(tenants.keys["acme:annotator"]).get(
        "/v1/sentiment/alerts", params={"ticker": "XOM", "items_per_alert": 3}
    )
    assert alerts.status_code == 200
    crossing = next(a for a in alerts.json() if a["kind"] == "index_crossing")
    assert crossing["item_count"] == 12  # fired when the third batch reached min_items
    assert [i["id"] for i in crossing["items"]] == ["n11", "n10", "n9"]
    assert crossing["items"][0]["label"] == "Bearish"
    assert api(tenants.keys["globex:developer"]).get("/v1/sentiment/alerts").json() == []
    # items carry their texts: a viewer key may not read them (predictions:read)
    assert api(tenants.keys["acme:viewer"]).get("/v1/sentiment/alerts").status_code == 403


# ------------------------------------------------------------------ index
@pytest.mark.parametrize("window", ["2h", "1w", ""])
def test_index_unknown_window_is_422(api: Any, tenants: Tenants, window: str) -> None:
    r = api(tenants.keys["acme:annotator"]).get("/v1/sentiment/index", params={"window": window})
    assert r.status_code == 422
    assert r.json()["code"] == "unknown_window"


def test_index_empty_window_has_null_index_and_full_band(api: Any, tenants: Tenants) -> None:
    body = api(tenants.keys["acme:annotator"]).get("/v1/sentiment/index").json()
    assert (body["n"], body["index"]) == (0, None)
    assert body["band"] == {"low": -1.0, "high": 1.0, "level": 0.95}
