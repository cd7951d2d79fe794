"""The console's sentiment monitor, recommender explorer, iterations board and users page
(no browser)."""

from __future__ import annotations

import re
from datetime import timedelta

import pandas as pd
import pytest
from consolekit import Tenants, csrf_of, sign_in
from fastapi import FastAPI
from fastapi.testclient import TestClient

from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.core.errors import NotFound
from baryon.core.ids import new_id
from baryon.core.scope import SYSTEM, Scope
from baryon.flywheel.iterations import create_iteration
from baryon.ml.recommend import ItemKNNCosineRecommender
from baryon.predictions.inference import ModelResolver, ServedModel
from baryon.serving.app import create_app
from baryon.solutions.recommender.service import WineCatalogue
from baryon.solutions.sentiment.tables import (
    SentimentAlertRow,
    SentimentItemRow,
    SentimentItemTickerRow,
)
from baryon.solutions.support.tables import SupportHandoffRow
from baryon.workspace import Workspace


class _Models(ModelResolver):
    """acme's champions by name (globex has none)."""

    def __init__(self, models: list[ServedModel], org_id: str) -> None:
        self.models, self.org_id = {m.name: m for m in models}, org_id

    def resolve(
        self, name: str, *, scope: Scope, version: int | None = None, alias: str = "champion"
    ) -> ServedModel:
        if name not in self.models or scope.org_id != self.org_id:
            raise NotFound(f"no model {name!r}", code="model_not_found")
        return self.models[name]

    def readiness(self) -> dict[str, bool]:
        return dict.fromkeys(self.models, True)


@pytest.fixture
def wine_ids() -> list[int]:
    return WineCatalogue.bundled().ids[:6]


@pytest.fixture
def app(
    settings: Settings, ws: Workspace, clock: FixedClock, tenants: Tenants, wine_ids: list[int]
) -> FastAPI:
    """The app with an item-kNN recommender for acme: users 1 and 2 rated wines 0 and 1
    alike, user 3 rated wines 2 and 3."""
    ids = wine_ids
    ratings = pd.DataFrame(
        {
            "user": ["u1", "u1", "u2", "u2", "u3", "u3", "u4"],
            "item": [ids[0], ids[1], ids[0], ids[1], ids[2], ids[3], ids[0]],
            "rating": [5.0, 4.0, 5.0, 4.5, 4.0, 4.0, 3.0],
        }
    )
    model = ServedModel("recommender", 4, "recommendation", ItemKNNCosineRecommender().fit(ratings))
    support = ServedModel(
        "support-intent", 1, "classification", None, classes=("card_arrival", "refund")
    )
    resolver = _Models([model, support], tenants.org_ids["acme"])
    return create_app(settings, workspace=ws, clock=clock, resolver=resolver)


# ------------------------------------------------------------------ sentiment
def _items(ws: Workspace, org_id: str, clock: FixedClock, labels: list[str]) -> None:
    """One $ACME item per label, a minute apart, ending now; and one alert."""
    now = clock.now()
    with ws.db.session(SYSTEM) as s:
        for i, label in enumerate(labels):
            pk = new_id("item")
            s.add(
                SentimentItemRow(
                    id=pk,
                    org_id=org_id,
                    item_id=f"n{i}",
                    received_at=now,
                    published_at=now - timedelta(minutes=len(labels) - i),
                    source="wire",
                    text=f"<script>alert({i})</script> $ACME news",
                    tickers=["ACME"],
                    label=label,
                    probabilities={label: 0.9},
                    sentiment_version=1,
                )
            )
            s.flush()
            s.add(SentimentItemTickerRow(item_pk=pk, ticker="ACME"))
        s.add(
            SentimentAlertRow(
                id=new_id("alert"),
                org_id=org_id,
                rule="acme-swing",
                kind="index_change",
                ticker="ACME",
                window="1h",
                state="fired",
                value=0.5,
                threshold=0.3,
                fired_at=now,
                item_ids=["n0"],
                item_count=1,
            )
        )


def test_sentiment_monitor_shows_index_band_and_alerts(
    client: TestClient, tenants: Tenants, ws: Workspace, clock: FixedClock
) -> None:
    _items(ws, tenants.org_ids["acme"], clock, ["Bullish", "Bullish", "Bearish", "Neutral"])
    sign_in(client, tenants.keys["acme:developer"])
    page = client.get("/console/sentiment?ticker=ACME&window=1h")
    assert page.status_code == 200
    assert '<option value="ACME" selected>ACME (4 items)</option>' in page.text
    # (2 bullish - 1 bearish) / 4 items
    assert "<strong>0.25</strong> from 4 items" in page.text
    assert 'data-chart="mood-chart"' in page.text
    assert 'hx-trigger="every 10s"' in page.text
    assert "acme-swing" in page.text
    assert "&lt;script&gt;alert(0)&lt;/script&gt;" in page.text
    assert "<script>alert(" not in page.text
    fragment = client.get("/console/sentiment/alerts?ticker=ACME")
    assert fragment.status_code == 200
    assert "acme-swing" in fragment.text
    assert "<html" not in fragment.text
    assert "No alerts for OTHER" in client.get("/console/sentiment/alerts?ticker=OTHER").text
    bad = client.get("/console/sentiment?window=2w")
    assert bad.status_code == 422


def test_sentiment_is_per_organization_and_not_for_viewers(
    client: TestClient, tenants: Tenants, ws: Workspace, clock: FixedClock
) -> None:
    _items(ws, tenants.org_ids["acme"], clock, ["Bullish"])
    sign_in(client, tenants.keys["globex:admin"])
    page = client.get("/console/sentiment")
    assert "acme-swing" not in page.text
    assert "ACME" not in page.text
    sign_in(client, tenants.keys["acme:viewer"])
    assert client.get("/console/sentiment").status_code == 403


# ---------------------------------------------------------------- recommender
def test_recommender_explains_with_similar_rated_wines(
    client: TestClient, tenants: Tenants, wine_ids: list[int]
) -> None:
    wines = WineCatalogue.bundled()
    sign_in(client, tenants.keys["acme:developer"])
    page = client.get("/console/recommender")
    assert page.status_code == 200
    assert 'href="?user_id=u1"' in page.text
    # u4 rated wine 0 only; u1 and u2 rated wines 0 and 1 alike: wine 1 comes first, and
    # why is wine 0 (cosine of their columns (5*4 + 5*4.5) / (|col0| |col1|) > 0)
    shown = client.get("/console/recommender?user_id=u4")
    assert shown.status_code == 200
    first, second = wines.get(wine_ids[1]), wines.get(wine_ids[0])
    assert first is not None
    assert second is not None
    rows = re.findall(r"<tr>\s*<td>1</td>(.*?)</tr>", shown.text, re.S)
    assert first.name in rows[0]
    assert f"{second.name} <small>(similarity" in rows[0]
    assert "What the user rated" in shown.text
    cold = client.get("/console/recommender?user_id=nobody")
    assert "does not know this user" in cold.text


def test_recommender_needs_predict_and_a_model(client: TestClient, tenants: Tenants) -> None:
    sign_in(client, tenants.keys["acme:viewer"])
    assert client.get("/console/recommender").status_code == 403
    sign_in(client, tenants.keys["globex:developer"])
    page = client.get("/console/recommender?user_id=u1")
    assert page.status_code == 200
    assert "error[model_not_ready]" in page.text
    assert "u1</code>" not in page.text


# ----------------------------------------------------------------- iterations
def test_iterations_board_adds_and_moves_items(
    client: TestClient, tenants: Tenants, ws: Workspace, clock: FixedClock
) -> None:
    org_id = tenants.org_ids["acme"]
    with ws.db.session(Scope.own(org_id, "acme")) as s:
        create_iteration(
            s, org_id=org_id, name="sprint-1", ends_at=clock.now() + timedelta(days=14),
            actor="test", clock=clock,
        )  # fmt: skip
    sign_in(client, tenants.keys["acme:developer"])
    listed = client.get("/console/iterations")
    assert 'href="/console/iterations/sprint-1"' in listed.text
    board = client.get("/console/iterations/sprint-1")
    token = csrf_of(board.text)
    added = client.post(
        "/console/iterations/sprint-1/items",
        data={"title": "<b>relabel</b> refunds", "csrf_token": token},
    )
    assert added.status_code == 200
    assert "Item added." in added.text
    assert "&lt;b&gt;relabel&lt;/b&gt; refunds" in added.text
    item = re.search(r'id="item-(iti_[0-9a-z]+)"', added.text)
    assert item is not None
    moved = client.post(
        f"/console/iterations/sprint-1/items/{item.group(1)}",
        data={"state": "doing", "csrf_token": token},
    )
    assert "Item moved." in moved.text
    doing = moved.text.split('id="col-doing"')[1].split('id="col-done"')[0]
    assert "relabel" in doing
    bad = client.post(
        f"/console/iterations/sprint-1/items/{item.group(1)}",
        data={"state": "sideways", "csrf_token": token},
    )
    assert bad.status_code == 422
    assert "error[invalid_item_state]" in bad.text
    sign_in(client, tenants.keys["acme:viewer"])
    seen = client.get("/console/iterations/sprint-1")
    assert "relabel" in seen.text
    assert 'id="add-item-form"' not in seen.text
    forged = client.post(
        "/console/iterations/sprint-1/items", data={"title": "x", "csrf_token": csrf_of(seen.text)}
    )
    assert forged.status_code == 403
    sign_in(client, tenants.keys["globex:admin"])
    assert client.get("/console/iterations/sprint-1").status_code == 404
    assert "sprint-1" not in client.get("/console/iterations").text


# -------------------------------------------------------------------- support
def _handoffs(ws: Workspace, org_id: str, clock: FixedClock, n: int) -> list[str]:
    ids = [f"pred_{i:026d}" for i in range(n)]
    with ws.db.session(SYSTEM) as s:
        for i, pid in enumerate(ids):
            s.add(
                SupportHandoffRow(
                    prediction_id=pid,
                    org_id=org_id,
                    conversation_id=f"conv-{i}",
                    model_name="support-intent",
                    model_version=1,
                    intent="card_arrival",
                    confidence=0.31,
                    reason="low_confidence",
                    text=f"<script>alert({i})</script> where is card {i}?",
                    text_hash=None,
                    status="open",
                    created_at=clock.now() + timedelta(minutes=i),
                )
            )
    return ids


def test_support_inbox_pages_answers_closes_and_labels(
    client: TestClient, tenants: Tenants, ws: Workspace, clock: FixedClock
) -> None:
    ids = _handoffs(ws, tenants.org_ids["acme"], clock, 30)
    sign_in(client, tenants.keys["acme:developer"])
    inbox = client.get("/console/support")
    assert inbox.status_code == 200
    assert "Page 1 of 2 (30 in all)" in inbox.text
    assert f'href="/console/support/{ids[-1]}"' in inbox.text  # newest first
    assert f'href="/console/support/{ids[0]}"' not in inbox.text
    assert f'href="/console/support/{ids[0]}"' in client.get("/console/support?page=2").text
    one = client.get(f"/console/support/{ids[0]}")
    assert "&lt;script&gt;alert(0)&lt;/script&gt; where is card 0?" in one.text
    token = csrf_of(one.text)
    answered = client.post(
        f"/console/support/{ids[0]}/answer", data={"text": "It ships today.", "csrf_token": token}
    )
    assert "Answer saved." in answered.text
    assert "It ships today." in answered.text
    labeled = client.post(f"/console/support/{ids[0]}/label", data={"csrf_token": token})
    assert "Sent to labeling." in labeled.text
    assert "In labeling as <code>task_" in labeled.text
    queue = client.get("/console/labeling/support-intent?status=open")
    assert "where is card 0?" in queue.text
    closed = client.post(
        f"/console/support/{ids[0]}/answer", data={"text": "", "close": "true", "csrf_token": token}
    )
    assert "Hand-off closed." in closed.text
    assert 'id="answer-form"' not in closed.text
    again = client.post(
        f"/console/support/{ids[0]}/answer", data={"text": "more", "csrf_token": token}
    )
    assert again.status_code == 409
    assert "error[handoff_closed]" in again.text
    empty = client.post(
        f"/console/support/{ids[1]}/answer", data={"text": " ", "csrf_token": token}
    )
    assert empty.status_code == 422
    assert "error[empty_answer]" in empty.text
    assert "29 in all" in client.get("/console/support?status=open").text


def test_support_inbox_roles_and_tenancy(
    client: TestClient, tenants: Tenants, ws: Workspace, clock: FixedClock
) -> None:
    (pid,) = _handoffs(ws, tenants.org_ids["acme"], clock, 1)
    sign_in(client, tenants.keys["acme:annotator"])
    page = client.get(f"/console/support/{pid}")
    assert 'id="answer-form"' in page.text
    assert 'id="send-to-labeling"' not in page.text
    forged = client.post(f"/console/support/{pid}/label", data={"csrf_token": csrf_of(page.text)})
    assert forged.status_code == 403
    sign_in(client, tenants.keys["acme:viewer"])
    assert client.get("/console/support").status_code == 403
    sign_in(client, tenants.keys["globex:admin"])
    assert pid not in client.get("/console/support?status=all").text
    assert client.get(f"/console/support/{pid}").status_code == 404
    globex = csrf_of(client.get("/console/support").text)
    other = client.post(f"/console/support/{pid}/answer", data={"text": "hi", "csrf_token": globex})
    assert other.status_code == 404


# ---------------------------------------------------------------------- users
def test_users_page_adds_and_disables(client: TestClient, tenants: Tenants) -> None:
    sign_in(client, tenants.keys["acme:admin"])
    page = client.get("/console/users")
    token = csrf_of(page.text)
    made = client.post(
        "/console/users",
        data={"email": "Ann@Example.com", "role": "annotator", "csrf_token": token},
    )
    assert made.status_code == 200
    assert "User added." in made.text
    assert "ann@example.com" in made.text
    too_high = client.post(
        "/console/users", data={"email": "x@example.com", "role": "nope", "csrf_token": token}
    )
    assert too_high.status_code == 422
    assert "error[invalid_role]" in too_high.text
    user_id = re.search(r'action="/console/users/(usr_[0-9a-z]+)/disable"', made.text)
    assert user_id is not None
    disabled = client.post(f"/console/users/{user_id.group(1)}/disable", data={"csrf_token": token})
    assert "User disabled" in disabled.text
    assert "disabled 2026" in disabled.text
    sign_in(client, tenants.keys["globex:admin"])
    assert "ann@example.com" not in client.get("/console/users").text
    globex_token = csrf_of(client.get("/console/users").text)
    other = client.post(
        f"/console/users/{user_id.group(1)}/disable", data={"csrf_token": globex_token}
    )
    assert other.status_code == 404
    sign_in(client, tenants.keys["acme:developer"])
    assert client.get("/console/users").status_code == 403
