"""Recommender service: catalogue join, cold start fallbacks, event validation, feedback."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from baryon.commerce.orgs import create_org
from baryon.core.clock import FixedClock
from baryon.core.errors import InvalidInput
from baryon.core.scope import SYSTEM
from baryon.ml.recommend import ItemKNNCosineRecommender
from baryon.solutions.recommender.service import (
    Event,
    Preferences,
    Recommender,
    Wine,
    WineCatalogue,
    feedback_ratings,
    record_event,
    user_events,
)
from baryon.workspace import Workspace

WINES = [
    Wine(1, "Rioja Reserva", "Red", "Spain", ("Tempranillo",)),
    Wine(2, "Chablis", "White", "France", ("Chardonnay",)),
    Wine(3, "Barolo", "Red", "Italy", ("Nebbiolo",)),
    Wine(4, "Cava Brut", "Sparkling", "Spain", ("Macabeo", "Parellada")),
    Wine(5, "Meursault", "White", "France", ("Chardonnay",)),
]


def catalogue() -> WineCatalogue:
    return WineCatalogue(WINES)


def fitted() -> ItemKNNCosineRecommender:
    # Users 10 and 11 like 1 and 3 together; 12 likes 2 and 5; wine 1 is the most rated.
    ratings = pd.DataFrame(
        {
            "user": [10, 10, 11, 11, 12, 12, 13, 14],
            "item": [1, 3, 1, 3, 2, 5, 1, 1],
            "rating": [5.0, 4.0, 5.0, 5.0, 4.0, 5.0, 3.0, 4.0],
        }
    )
    return ItemKNNCosineRecommender().fit(ratings)


def event(item: str, type: str = "click", value: float | None = None) -> Event:
    return Event("evt_x", "u", item, type, value, None)


# ------------------------------------------------------------------ catalogue
def test_catalogue_from_frame_parses_grapes_lists_and_ids() -> None:
    frame = pd.DataFrame(
        {
            "WineID": [100001],
            "WineName": ["Espumante Moscatel"],
            "Type": ["Sparkling"],
            "Grapes": ["['Muscat/Moscato', 'Malvasia']"],
            "Country": ["Brazil"],
        }
    )
    cat = WineCatalogue.from_frame(frame)
    wine = cat.get("100001")
    assert wine is not None
    assert wine.grapes == ("Muscat/Moscato", "Malvasia")
    assert cat.key(100001.0) == 100001
    assert "999" not in cat
    assert cat.get("not a number") is None


def test_content_scores_follow_the_formula() -> None:
    scores = catalogue().content_scores(Preferences(types=("white",), grapes=("Chardonnay",)))
    # weights: type 1 + grapes 2 = 3; wine 2: (1 + 2*1)/3; wine 4: (0 + 0)/3
    assert scores[2] == pytest.approx(1.0)
    assert scores[4] == pytest.approx(0.0)
    cava = catalogue().content_scores(Preferences(grapes=("Macabeo",)))[4]
    assert cava == pytest.approx(0.5)  # Jaccard {Macabeo} vs {Macabeo, Parellada}


# ------------------------------------------------------------------ recommend
def test_recommend_known_user_uses_model_and_joins_names() -> None:
    rec = Recommender(fitted(), catalogue()).recommend("12", 2)
    assert (rec.cold_start, rec.strategy) == (False, "model")
    assert rec.items
    assert {i["item_id"] for i in rec.items}.isdisjoint({2, 5})  # seen wines filtered
    first = rec.items[0]
    assert first["wine_name"] == next(w.name for w in WINES if w.id == first["item_id"])
    assert set(first) >= {"score", "wine_name", "type", "country"}


def test_recommend_known_user_leaves_out_wines_rated_since_training() -> None:
    rec = Recommender(fitted(), catalogue()).recommend("13", 5, events=[event("3", "rate", 4.0)])
    assert 3 not in [i["item_id"] for i in rec.items]


def test_recommend_unknown_user_without_history_gets_popularity() -> None:
    rec = Recommender(fitted(), catalogue()).recommend("stranger", 2)
    assert (rec.cold_start, rec.strategy) == (True, "popularity")
    assert rec.items[0]["item_id"] == 1  # rated by four users
    assert rec.items[0]["score"] == 4.0


def test_recommend_unknown_user_with_preferences_gets_content_based() -> None:
    prefs = Preferences(types=("White",), countries=("France",))
    rec = Recommender(fitted(), catalogue()).recommend("stranger", 2, preferences=prefs)
    assert (rec.cold_start, rec.strategy) == (True, "content")
    assert {i["item_id"] for i in rec.items} == {2, 5}


def test_recommend_unknown_user_with_events_gets_similar_unseen_wines() -> None:
    rec = Recommender(fitted(), catalogue()).recommend("stranger", 1, events=[event("2")])
    assert rec.strategy == "content"
    assert [i["item_id"] for i in rec.items] == [5]  # white, French, Chardonnay; 2 was seen


@pytest.mark.parametrize("n", [0, 101, True, 2.5])
def test_recommend_bad_n_raises(n: Any) -> None:
    with pytest.raises(InvalidInput) as info:
        Recommender(fitted(), catalogue()).recommend("10", n)
    assert info.value.code == "invalid_n"


# ------------------------------------------------------------------ events
@pytest.fixture
def org(workspace: Workspace) -> str:
    with workspace.db.session(SYSTEM) as s:
        return create_org(s, name="acme").id


def test_record_event_stores_and_lists_newest_first(workspace: Workspace, org: str) -> None:
    clock = FixedClock()
    with workspace.db.session(SYSTEM) as s:
        record_event(s, org_id=org, user_id="42", item_id=2, type="view", clock=clock)
        clock.advance(1)
        record_event(s, org_id=org, user_id=42, item_id="5", type="rate", value=4.5, clock=clock,
                     catalogue=catalogue())  # fmt: skip
    with workspace.db.session(SYSTEM) as s:
        events = user_events(s, org_id=org, user_id="42")
        other = user_events(s, org_id="org_other", user_id="42")
    assert [(e.type, e.item_id, e.value) for e in events] == [
        ("rate", "5", 4.5),
        ("view", "2", None),
    ]
    assert other == []


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"type": "buy"}, "invalid_event_type"),
        ({"type": "rate"}, "missing_value"),
        ({"type": "rate", "value": 0.5}, "value_out_of_range"),
        ({"type": "rate", "value": 5.5}, "value_out_of_range"),
        ({"type": "rate", "value": float("nan")}, "value_out_of_range"),
        ({"type": "click", "value": 1.0}, "value_not_allowed"),
        ({"type": "view", "item_id": "999"}, "unknown_item"),
        ({"type": "view", "user_id": ""}, "invalid_event"),
        ({"type": "view", "user_id": "u" * 201}, "invalid_event"),
    ],
)
def test_record_event_bad_event_raises_named_code(
    workspace: Workspace, org: str, kwargs: dict[str, Any], code: str
) -> None:
    args: dict[str, Any] = {"user_id": "u1", "item_id": "1", "catalogue": catalogue(), **kwargs}
    with workspace.db.session(SYSTEM) as s, pytest.raises(InvalidInput) as info:
        record_event(s, org_id=org, **args)
    assert info.value.code == code


def test_feedback_ratings_keeps_last_rating_of_integer_ids(workspace: Workspace, org: str) -> None:
    clock = FixedClock()
    with workspace.db.session(SYSTEM) as s:
        for user, item, value in (
            ("7", "1", 2.0),
            ("7", "1", 4.0),
            ("alice", "1", 5.0),
            ("8", "3", 3.5),
        ):
            record_event(s, org_id=org, user_id=user, item_id=item, type="rate", value=value,
                         clock=clock)  # fmt: skip
            clock.advance(60)
        record_event(s, org_id=org, user_id="7", item_id="2", type="click", clock=clock)
    with workspace.db.session(SYSTEM) as s:
        frame = feedback_ratings(s)
    assert list(frame.columns) == ["UserID", "WineID", "Rating", "Date"]
    assert frame[["UserID", "WineID", "Rating"]].values.tolist() == [[7, 1, 4.0], [8, 3, 3.5]]
    assert frame["Date"].iloc[0] == "2026-01-01 00:01:00"


def test_feedback_ratings_non_canonical_integer_ids_are_not_those_users(
    workspace: Workspace, org: str
) -> None:
    # "07", "+7" and "٧" were read as user 7 and trained into user 7's history (issue 12)
    with workspace.db.session(SYSTEM) as s:
        for user in ("07", "+7", "7_0", "\u0667", "7"):
            record_event(s, org_id=org, user_id=user, item_id="1", type="rate", value=4.0)
        record_event(s, org_id=org, user_id="8", item_id="03", type="rate", value=4.0)
    with workspace.db.session(SYSTEM) as s:
        frame = feedback_ratings(s)
    assert frame[["UserID", "WineID"]].values.tolist() == [[7, 1]]


def test_record_event_keeps_ids_exactly_as_given(workspace: Workspace, org: str) -> None:
    with workspace.db.session(SYSTEM) as s:
        stored = record_event(s, org_id=org, user_id=" 7 ", item_id=1, type="click")
        assert stored.user_id == " 7 "
        assert user_events(s, org_id=org, user_id="7") == []
        assert [e.user_id for e in user_events(s, org_id=org, user_id=" 7 ")] == [" 7 "]


@pytest.mark.parametrize("spelling", [" 1", "01", "+1", "1.0", "\u0661"])
def test_catalogue_key_non_canonical_spelling_names_no_wine(spelling: str) -> None:
    assert catalogue().key("1") == 1
    assert catalogue().key(spelling) is None
