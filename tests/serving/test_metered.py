"""The one metering commit path: the same behaviour matrix on every metered route.

Each rule runs against every route of :data:`ROUTES` (predict, support answer,
sentiment analyze and items, recommendations): quota refusals write nothing, a model
failure is a 0-unit usage record with its status, a replay (also a racing one) meters
once, usage is keyed by the route template, a batch of N costs N units, plan weights
multiply them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from fastapi import FastAPI
from servingkit import ClientFactory, StaticResolver, SumRegressor, Tenants, make_tenants
from sqlalchemy import select

from baryon.commerce.plans import METERED_ROUTES
from baryon.commerce.tables import UsageRecordRow
from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.core.scope import SYSTEM
from baryon.ml.recommend import ItemKNNCosineRecommender
from baryon.predictions.inference import ServedModel
from baryon.predictions.tables import PredictionRow
from baryon.serving.app import create_app, route_permissions
from baryon.solutions.recommender.service import WineCatalogue
from baryon.workspace import Workspace

ROW = {"a": 1, "b": 2}
BATCH = 3


class Unsure:
    """A support-intent model that is never sure: every turn is handed off (and queued)."""

    classes_ = np.array(["card_arrival", "lost_or_stolen_card"])

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        return np.array([[0.5, 0.5] for _ in texts])


class Moody:
    """Bullish (1) for every text."""

    classes_ = np.array([0, 1, 2])

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        return np.array([[0.1, 0.8, 0.1] for _ in texts])


@dataclass(frozen=True)
class Route:
    """A metered route, how to call it with ``n`` inputs, and what that costs."""

    template: str
    model: str
    batch: bool
    call: Callable[[httpx.Client, int, dict[str, str], FixedClock], httpx.Response]

    @property
    def post(self) -> bool:
        return not self.template.startswith("/v1/recommendations")

    def units(self, n: int) -> int:
        """Units of a request of ``n`` inputs at weight 1."""
        return n if self.batch else 1

    def __str__(self) -> str:
        return self.template


def _items(n: int, clock: FixedClock) -> list[dict[str, Any]]:
    at = (clock.now() - timedelta(minutes=5)).isoformat()
    return [{"id": f"n{i}", "published_at": at, "text": f"$AAPL up {i}"} for i in range(n)]


ROUTES = [
    Route(
        "/v1/models/{name}/predict", "adder", True,
        lambda c, n, h, _: c.post("/v1/models/adder/predict", json={"inputs": [ROW] * n},
                                  headers=h),
    ),
    Route(
        "/v1/support/answer", "support-intent", False,
        lambda c, n, h, _: c.post("/v1/support/answer", json={"text": "maybe my card"},
                                  headers=h),
    ),
    Route(
        "/v1/sentiment/analyze", "sentiment", True,
        lambda c, n, h, _: c.post("/v1/sentiment/analyze", json={"texts": ["up"] * n},
                                  headers=h),
    ),
    Route(
        "/v1/sentiment/items", "sentiment", True,
        lambda c, n, h, clock: c.post("/v1/sentiment/items", json={"items": _items(n, clock)},
                                      headers=h),
    ),
    Route(
        "/v1/recommendations/{user_id}", "recommender", False,
        lambda c, n, h, _: c.get("/v1/recommendations/someone", headers=h),
    ),
]  # fmt: skip
POST_ROUTES = [r for r in ROUTES if r.post]


@pytest.fixture
def resolver() -> StaticResolver:
    """A model for every metered route."""
    wines = WineCatalogue.bundled().ids[:4]
    ratings = pd.DataFrame(
        {"user": [1, 1, 2, 2], "item": [wines[0], wines[1], wines[0], wines[2]], "rating": 4.0}
    )
    r = StaticResolver()
    r.add(ServedModel("adder", 1, "regression", SumRegressor(), feature_columns=("a", "b")),
          "champion")  # fmt: skip
    r.add(
        ServedModel("support-intent", 2, "text_classification", Unsure(),
                    extra={"handoff_threshold": 0.6, "out_of_scope_threshold": 0.45}),
        "champion",
    )  # fmt: skip
    r.add(
        ServedModel("sentiment", 3, "text_classification", Moody(),
                    extra={"label_names": {"0": "Bearish", "1": "Bullish", "2": "Neutral"}}),
        "champion",
    )  # fmt: skip
    r.add(
        ServedModel("recommender", 4, "recommendation", ItemKNNCosineRecommender().fit(ratings)),
        "champion",
    )
    return r


@pytest.fixture
def app(settings: Settings, ws: Workspace, clock: FixedClock, resolver: StaticResolver) -> FastAPI:
    return create_app(settings, workspace=ws, clock=clock, resolver=resolver)


def _usage(ws: Workspace) -> list[UsageRecordRow]:
    with ws.db.session(SYSTEM) as s:
        return list(s.scalars(select(UsageRecordRow).order_by(UsageRecordRow.at)))


def _tenant(ws: Workspace, clock: FixedClock, **plan: Any) -> Tenants:
    return make_tenants(ws, clock, **plan)


# ------------------------------------------------------------------ the routes
def test_metered_routes_are_every_scoring_route_and_no_other(app: FastAPI) -> None:
    scoring = {
        path for (_, path), perm in route_permissions(app).items() if perm == "models:predict"
    }
    assert scoring == set(METERED_ROUTES)
    assert {r.template for r in ROUTES} == set(METERED_ROUTES)


def test_events_are_feedback_and_not_metered(
    api: ClientFactory, tenants: Tenants, ws: Workspace
) -> None:
    wine = WineCatalogue.bundled().ids[0]
    r = api(tenants.keys["acme:developer"]).post(
        "/v1/events", json={"user_id": "u1", "item_id": int(wine), "type": "click"}
    )
    assert r.status_code == 201, r.text
    assert _usage(ws) == []


# ------------------------------------------------------------------ the matrix
@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_metered_batch_of_n_costs_n_units_keyed_by_template(
    route: Route, api: ClientFactory, tenants: Tenants, ws: Workspace, clock: FixedClock
) -> None:
    r = route.call(api(tenants.keys["acme:developer"]), BATCH, {}, clock)
    assert r.status_code == 200, r.text
    units = route.units(BATCH)
    assert r.json()["usage"] == {"units": units, "quota": 1000, "used": units,
                                 "remaining": 1000 - units}  # fmt: skip
    [record] = _usage(ws)
    assert (record.endpoint, record.units, record.status) == (route.template, units, 200)
    report = api(tenants.keys["acme:viewer"]).get("/v1/usage").json()
    assert report["groups"] == [
        {"group": route.template, "requests": 1, "units": units, "errors": 0}
    ]
    assert report["period"]["used"] == units


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_metered_plan_weight_multiplies_units(
    route: Route, api: ClientFactory, ws: Workspace, clock: FixedClock
) -> None:
    tenants = _tenant(ws, clock, unit_weights={route.template: 4})
    r = route.call(api(tenants.keys["acme:developer"]), BATCH, {}, clock)
    assert r.status_code == 200, r.text
    assert r.json()["usage"]["units"] == 4 * route.units(BATCH)
    assert [u.units for u in _usage(ws)] == [4 * route.units(BATCH)]


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_metered_weight_of_another_route_does_not_apply(
    route: Route, api: ClientFactory, ws: Workspace, clock: FixedClock
) -> None:
    other = next(t for t in METERED_ROUTES if t != route.template)
    tenants = _tenant(ws, clock, unit_weights={other: 7})
    r = route.call(api(tenants.keys["acme:developer"]), BATCH, {}, clock)
    assert r.json()["usage"]["units"] == route.units(BATCH)


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_metered_request_over_quota_is_refused_whole_and_writes_nothing(
    route: Route, api: ClientFactory, ws: Workspace, clock: FixedClock
) -> None:
    need = route.units(BATCH)
    tenants = _tenant(ws, clock, quota=need - 1)  # one unit short (0 for single routes)
    client = api(tenants.keys["acme:developer"])
    assert client.get("/v1/me").status_code == 200  # the key's rate bucket exists now
    before = ws.db.table_counts()
    r = route.call(client, BATCH, {"Idempotency-Key": "k1"} if route.post else {}, clock)
    assert r.status_code == 429
    assert r.json()["code"] == "quota_exceeded"
    assert r.json()["details"]["units"] == need
    assert ws.db.table_counts() == before
    if route.batch:  # what is left is enough for a smaller batch
        r = route.call(client, BATCH - 1, {}, clock)
        assert r.status_code == 200, r.text
        assert r.json()["usage"]["remaining"] == 0


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_metered_model_failure_is_zero_units_with_status_and_no_quota(
    route: Route, api: ClientFactory, tenants: Tenants, ws: Workspace, clock: FixedClock,
    resolver: StaticResolver,
) -> None:  # fmt: skip
    resolver.aliases[route.model].pop("champion")
    r = route.call(api(tenants.keys["acme:developer"]), BATCH, {}, clock)
    assert r.status_code == 503
    assert r.json()["code"] == "model_not_ready"
    [record] = _usage(ws)
    assert (record.endpoint, record.units, record.status) == (route.template, 0, 503)
    period = api(tenants.keys["acme:viewer"]).get("/v1/usage").json()["period"]
    assert period["used"] == 0


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_metered_latency_is_one_measure_in_usage_and_log(
    route: Route, api: ClientFactory, tenants: Tenants, ws: Workspace, clock: FixedClock
) -> None:
    r = route.call(api(tenants.keys["acme:developer"]), BATCH, {}, clock)
    [record] = _usage(ws)
    with ws.db.session(SYSTEM) as s:
        logged = s.get(PredictionRow, r.json()["prediction_id"])
    assert logged is not None
    assert record.latency_ms > 0
    assert logged.latency_ms == record.latency_ms
    assert record.prediction_id == logged.id


@pytest.mark.parametrize("route", POST_ROUTES, ids=str)
def test_metered_replay_returns_first_answer_and_meters_once(
    route: Route, api: ClientFactory, tenants: Tenants, ws: Workspace, clock: FixedClock
) -> None:
    client = api(tenants.keys["acme:developer"])
    first = route.call(client, BATCH, {"Idempotency-Key": "order-1"}, clock)
    again = route.call(client, BATCH, {"Idempotency-Key": "order-1"}, clock)
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert [u.units for u in _usage(ws)] == [route.units(BATCH)]


@pytest.mark.parametrize("route", POST_ROUTES, ids=str)
def test_metered_replay_still_answers_when_the_model_later_fails(
    route: Route, api: ClientFactory, tenants: Tenants, ws: Workspace, clock: FixedClock,
    resolver: StaticResolver,
) -> None:  # fmt: skip
    client = api(tenants.keys["acme:developer"])
    first = route.call(client, BATCH, {"Idempotency-Key": "order-2"}, clock)
    resolver.aliases[route.model].pop("champion")
    again = route.call(client, BATCH, {"Idempotency-Key": "order-2"}, clock)
    assert again.status_code == 200
    assert again.content == first.content
    assert [(u.units, u.status) for u in _usage(ws)] == [(route.units(BATCH), 200)]


@pytest.mark.parametrize("route", POST_ROUTES, ids=str)
def test_metered_racing_duplicates_meter_once(
    route: Route, api: ClientFactory, tenants: Tenants, ws: Workspace, clock: FixedClock
) -> None:
    clients = [api(tenants.keys["acme:developer"]) for _ in range(6)]
    barrier = threading.Barrier(len(clients))
    answers: list[httpx.Response] = []
    lock = threading.Lock()

    def send(client: httpx.Client) -> None:
        barrier.wait()
        r = route.call(client, BATCH, {"Idempotency-Key": "race"}, clock)
        with lock:
            answers.append(r)

    threads = [threading.Thread(target=send, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in answers] == [200] * len(clients)
    assert len({r.content for r in answers}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in answers) == 5
    assert [u.units for u in _usage(ws)] == [route.units(BATCH)]


# ------------------------------------------------------------ route specifics
def test_predict_flags_are_logged(
    api: ClientFactory, tenants: Tenants, ws: Workspace, resolver: StaticResolver
) -> None:
    class Infinite:
        def predict(self, X: Any) -> np.ndarray:
            return np.full(len(X), np.inf)

    resolver.add(ServedModel("inf", 1, "regression", Infinite(), feature_columns=("a", "b")),
                 "champion")  # fmt: skip
    r = api(tenants.keys["acme:developer"]).post("/v1/models/inf/predict", json={"inputs": [ROW]})
    assert r.json()["flags"] == ["non_finite_output"]
    with ws.db.session(SYSTEM) as s:
        [logged] = s.scalars(select(PredictionRow)).all()
    assert logged.flags == ["non_finite_output"]


def test_items_sent_again_are_free(
    api: ClientFactory, tenants: Tenants, ws: Workspace, clock: FixedClock
) -> None:
    client = api(tenants.keys["acme:developer"])
    first = client.post("/v1/sentiment/items", json={"items": _items(2, clock)})
    again = client.post("/v1/sentiment/items", json={"items": _items(3, clock)})
    assert first.json()["usage"]["units"] == 2
    assert again.json()["duplicates"] == ["n0", "n1"]
    assert again.json()["usage"]["units"] == 1
    assert [u.units for u in _usage(ws)] == [2, 1]
