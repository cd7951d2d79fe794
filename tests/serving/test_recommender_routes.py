"""HTTP routes of the recommender: recommendations with wine names, cold start, events."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pandas as pd
import pytest
from fastapi import FastAPI
from servingkit import StaticResolver, Tenants

from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.ml.recommend import ItemKNNCosineRecommender
from baryon.predictions.inference import ServedModel
from baryon.serving.app import create_app
from baryon.solutions.recommender.service import WineCatalogue
from baryon.workspace import Workspace

# Real X-Wines ids from the bundled wines file (names asserted below).
RED, WHITE, SPARKLING = 100002, 100012, 100001


@pytest.fixture(scope="module")
def wines() -> WineCatalogue:
    return WineCatalogue.bundled()


@pytest.fixture
def resolver(wines: WineCatalogue) -> StaticResolver:
    ids = wines.ids[:6]
    ratings = pd.DataFrame(
        {
            "user": [1, 1, 2, 2, 3, 3, 4],
            "item": [ids[0], ids[1], ids[0], ids[1], ids[2], ids[3], ids[0]],
            "rating": [5.0, 4.0, 5.0, 4.5, 4.0, 4.0, 3.0],
        }
    )
    r = StaticResolver()
    r.add(
        ServedModel("recommender", 4, "recommendation", ItemKNNCosineRecommender().fit(ratings)),
        "champion",
    )
    return r


@pytest.fixture
def app(settings: Settings, ws: Workspace, clock: FixedClock, resolver: StaticResolver) -> FastAPI:
    return create_app(settings, workspace=ws, clock=clock, resolver=resolver)


def test_catalogue_ids_used_here_are_the_bundled_wines(wines: WineCatalogue) -> None:
    found = [wines.get(i) for i in (RED, WHITE, SPARKLING)]
    assert [(w.name, w.type) if w else None for w in found] == [
        ("Ancellotta", "Red"),
        ("Vinho Verde Branco", "White"),
        ("Espumante Moscatel", "Sparkling"),
    ]


def test_recommendations_known_user_have_names_types_countries(
    api: Any, tenants: Tenants, wines: WineCatalogue
) -> None:
    client = api(tenants.keys["acme:developer"])
    r = client.get("/v1/recommendations/3", params={"n": 3})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["cold_start"], body["strategy"], body["model_version"]) == (False, "model", 4)
    assert body["items"]
    first = body["items"][0]
    wine = wines.get(first["item_id"])
    assert wine is not None
    assert (first["wine_name"], first["type"], first["country"]) == (
        wine.name,
        wine.type,
        wine.country,
    )
    logged = client.get(f"/v1/predictions/{body['prediction_id']}").json()
    assert (logged["model"], logged["inputs"]) == ("recommender", ["3"])


@pytest.mark.parametrize("spelling", ["03", "+3", "0_3", " 3", "3 ", "\u0663", "\uff13"])
def test_recommendations_non_canonical_spelling_of_a_user_is_not_that_user(
    api: Any, tenants: Tenants, spelling: str
) -> None:
    # int() read "03", "+3", "0_3", " 3" and "٣" as user 3: their personal list (issue 12)
    client = api(tenants.keys["acme:developer"])
    known = client.get("/v1/recommendations/3").json()
    assert (known["cold_start"], known["strategy"]) == (False, "model")
    r = client.get(f"/v1/recommendations/{quote(spelling)}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user_id"] == spelling
    assert (body["cold_start"], body["strategy"]) == (True, "popularity")


def test_recommendations_unknown_user_is_cold_start_popularity(
    api: Any, tenants: Tenants, wines: WineCatalogue
) -> None:
    body = api(tenants.keys["acme:developer"]).get("/v1/recommendations/nobody").json()
    assert (body["cold_start"], body["strategy"]) == (True, "popularity")
    assert body["items"][0]["item_id"] == wines.ids[0]  # rated by three users


def test_recommendations_unknown_user_with_tastes_is_content_based(
    api: Any, tenants: Tenants
) -> None:
    r = api(tenants.keys["acme:developer"]).get(
        "/v1/recommendations/nobody", params={"type": "Sparkling", "country": "Brazil", "n": 5}
    )
    body = r.json()
    assert (body["cold_start"], body["strategy"]) == (True, "content")
    assert all(i["type"] == "Sparkling" and i["country"] == "Brazil" for i in body["items"][:2])


def test_events_then_cold_user_gets_wines_like_the_one_clicked(api: Any, tenants: Tenants) -> None:
    client = api(tenants.keys["acme:developer"])
    r = client.post("/v1/events", json={"user_id": "newbie", "item_id": SPARKLING, "type": "click"})
    assert r.status_code == 201, r.text
    assert r.json()["item_id"] == str(SPARKLING)
    body = client.get("/v1/recommendations/newbie", params={"n": 3}).json()
    assert body["strategy"] == "content"
    assert SPARKLING not in [i["item_id"] for i in body["items"]]
    assert body["items"][0]["type"] == "Sparkling"
    # another organization's events are not this user's history
    other = api(tenants.keys["globex:developer"]).get("/v1/recommendations/newbie").json()
    assert other["strategy"] == "popularity"


@pytest.mark.parametrize(
    ("event", "code"),
    [
        ({"user_id": "u", "item_id": RED, "type": "rate"}, "missing_value"),
        ({"user_id": "u", "item_id": RED, "type": "rate", "value": 7}, "value_out_of_range"),
        ({"user_id": "u", "item_id": RED, "type": "view", "value": 1}, "value_not_allowed"),
        ({"user_id": "u", "item_id": RED, "type": "buy"}, "invalid_input"),
        ({"user_id": "u", "item_id": 42, "type": "view"}, "unknown_item"),
        ({"user_id": "u", "type": "view"}, "invalid_input"),
        ({"user_id": "u", "item_id": RED, "type": "view", "extra": 1}, "invalid_input"),
    ],
)
def test_events_bad_event_is_422(
    api: Any, tenants: Tenants, event: dict[str, Any], code: str
) -> None:
    r = api(tenants.keys["acme:developer"]).post("/v1/events", json=event)
    assert r.status_code == 422
    assert r.json()["code"] == code


def test_events_rate_in_range_is_stored(api: Any, tenants: Tenants) -> None:
    r = api(tenants.keys["acme:annotator"]).post(
        "/v1/events", json={"user_id": 7, "item_id": str(RED), "type": "rate", "value": 4.5}
    )
    assert r.status_code == 201
    assert (r.json()["type"], r.json()["value"]) == ("rate", 4.5)


def test_recommender_routes_check_permissions(api: Any, tenants: Tenants) -> None:
    viewer = api(tenants.keys["acme:viewer"])
    assert viewer.get("/v1/recommendations/1").status_code == 403
    event = {"user_id": "u", "item_id": RED, "type": "view"}
    assert viewer.post("/v1/events", json=event).status_code == 403
    assert api().get("/v1/recommendations/1").status_code == 401


@pytest.mark.parametrize("n", [0, 101, "ten"])
def test_recommendations_bad_n_is_422(api: Any, tenants: Tenants, n: Any) -> None:
    r = api(tenants.keys["acme:developer"]).get("/v1/recommendations/1", params={"n": n})
    assert r.status_code == 422


def test_recommendations_without_model_is_503(
    api: Any, tenants: Tenants, resolver: StaticResolver
) -> None:
    resolver.unloadable.add("recommender")
    r = api(tenants.keys["acme:developer"]).get("/v1/recommendations/1")
    assert r.status_code == 503
    assert r.json()["code"] == "model_not_ready"


def test_recommendations_model_that_fails_is_500_without_details(
    api: Any, tenants: Tenants, resolver: StaticResolver
) -> None:
    class Broken:
        def is_cold(self, users: list[Any]) -> Any:
            raise RuntimeError("secret internal detail")

    resolver.add(ServedModel("recommender", 5, "recommendation", Broken()), "champion")
    r = api(tenants.keys["acme:developer"]).get("/v1/recommendations/1")
    assert r.status_code == 500
    assert r.json()["code"] == "prediction_failed"
    assert "secret" not in r.text


def test_usage_groups_recommendations_by_route_not_by_user(api: Any, tenants: Tenants) -> None:
    # Each user id used to become its own "endpoint" in the usage report.
    client = api(tenants.keys["acme:admin"])
    for user in ("3", "nobody", "someone-else"):
        assert client.get(f"/v1/recommendations/{user}").status_code == 200
    groups = client.get("/v1/usage", params={"group_by": "endpoint"}).json()["groups"]
    rec = [g for g in groups if g["group"].startswith("/v1/recommendations")]
    assert rec == [
        {"group": "/v1/recommendations/{user_id}", "requests": 3, "units": 3, "errors": 0}
    ]
