"""Helpers of the console tests: tenants with a key per role, signing in, CSRF tokens.

``tests/console`` is put on ``sys.path`` by its ``conftest.py`` so that the test
modules import this as ``consolekit``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import httpx

from baryon.commerce.orgs import create_org
from baryon.commerce.plans import create_plan
from baryon.core.clock import Clock
from baryon.core.scope import SYSTEM
from baryon.tenancy.keys import create_key
from baryon.tenancy.permissions import ROLES
from baryon.workspace import Workspace

__all__ = ["Tenants", "csrf_of", "make_tenants", "seed_home", "sign_in"]

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Tenants:
    """``keys["acme:admin"]`` → secret; ``key_ids`` likewise; ``org_ids["acme"]``."""

    org_ids: dict[str, str]
    keys: dict[str, str]
    key_ids: dict[str, str]


def make_tenants(ws: Workspace, clock: Clock, *, quota: int = 1000) -> Tenants:
    """Plan ``test`` (with the ``traffic_split`` feature); organizations acme and globex,
    each with one key per role."""
    org_ids: dict[str, str] = {}
    keys: dict[str, str] = {}
    key_ids: dict[str, str] = {}
    with ws.db.session(SYSTEM) as s:
        create_plan(
            s, name="test", quota=quota, rate_per_minute=100_000, monthly_price="10.00",
            features=("traffic_split",), clock=clock,
        )  # fmt: skip
        for name in ("acme", "globex"):
            org = create_org(s, name=name, plan="test", clock=clock)
            org_ids[name] = org.id
            for role in ROLES:
                made = create_key(s, org_id=org.id, role=role, name=f"{role} key", clock=clock)
                keys[f"{name}:{role}"] = made.secret
                key_ids[f"{name}:{role}"] = made.key.id
    return Tenants(org_ids, keys, key_ids)


def csrf_of(html: str) -> str:
    """The first CSRF token in a page's forms."""
    found = _CSRF.search(html)
    assert found is not None, "no csrf_token field on the page"
    return found.group(1)


def sign_in(client: httpx.Client, secret: str) -> httpx.Response:
    """Sign in through the login form (its double-submit token included), as a fresh
    browser would: cookies of an earlier sign-in are dropped first."""
    client.cookies.clear()
    form = client.get("/console/login")
    return client.post(
        "/console/login",
        data={"api_key": secret, "csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )


def seed_home(home: Path) -> Tenants:
    """A workspace at ``home`` with acme and globex, and acme's model ``points``.

    acme gets dataset ``points`` (120 rows, label = x1 + x2 > 0, seeded random split),
    ``points`` v1 (a depth-1 decision tree: the champion) and v2 (an MLP,
    which beats it: the challenger), so the gate lets v2 through; and some metered use;
    plus what the other pages show (:func:`seed_solutions`).
    """
    import numpy as np
    import pandas as pd

    from baryon.commerce.metering import record_usage
    from baryon.core.clock import SystemClock
    from baryon.core.config import Settings
    from baryon.training.trainer import Trainer

    ws = Workspace.open(Settings(home=home))
    try:
        clock = SystemClock()
        tenants = make_tenants(ws, clock)
        rng = np.random.default_rng(7)
        x = rng.normal(size=(120, 2))
        frame = pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1], "label": (x.sum(axis=1) > 0)})
        frame["label"] = frame["label"].map({True: "up", False: "down"})
        path = home / "points.csv"
        frame.to_csv(path, index=False)
        acme = ws.for_org("acme")
        acme.datasets.ingest(path, name="points", roles={"label": "label"})
        acme.datasets.split("points", strategy="random", seed=3)
        trainer = Trainer(acme, actor=f"key:{tenants.key_ids['acme:admin']}")
        trainer.train("decision_tree", "points", params={"max_depth": 1}, register="points")
        trainer.train("mlp", "points", register="points")
        with ws.db.session(SYSTEM) as s:
            for units in (5, 3, 8):
                record_usage(
                    s, org_id=tenants.org_ids["acme"], key_id=tenants.key_ids["acme:admin"],
                    endpoint="/v1/models/{name}/predict", units=units, status=200,
                    latency_ms=2.0, period_start=clock.now(), clock=clock,
                )  # fmt: skip
        seed_solutions(ws, tenants, clock)
        return tenants
    finally:
        ws.close()


#: Texts of the labeling queue ``review`` (the keyboard test labels three of them).
REVIEW_TEXTS = ("prices go up", "prices go down", "markets rally", "stocks slide")


def seed_solutions(ws: Workspace, tenants: Tenants, clock: Clock) -> None:
    """acme's labeling queues ``review`` (4 tasks) and ``triage`` (2 tasks) for model
    ``points``; two support hand-offs (``pred_…0`` and ``pred_…1``); $ACME news items
    over the last hours and one alert; iteration ``sprint-1`` with two items; a user;
    and a ``recommender`` (item-kNN over bundled wines) that knows users ``u1``–``u4``."""
    from datetime import timedelta

    import pandas as pd

    from baryon.core.ids import new_id
    from baryon.core.scope import Scope
    from baryon.flywheel.iterations import add_item, create_iteration
    from baryon.labeling.queue import enqueue, get_queue
    from baryon.labeling.service import create_queue
    from baryon.solutions.recommender.service import WineCatalogue
    from baryon.solutions.sentiment.tables import (
        SentimentAlertRow,
        SentimentItemRow,
        SentimentItemTickerRow,
    )
    from baryon.solutions.support.tables import SupportHandoffRow
    from baryon.tenancy.users import create_user
    from baryon.training.trainer import Trainer

    org_id = tenants.org_ids["acme"]
    now = clock.now()
    with ws.db.session(Scope.own(org_id, "acme")) as s:
        for name, texts in (("review", REVIEW_TEXTS), ("triage", ("a", "b"))):
            create_queue(
                s, org_id=org_id, name=name, model_name="points", classes=["down", "up"],
                instructions="Is the text about prices going up or down?", actor="seed",
                clock=clock,
            )  # fmt: skip
            queue = get_queue(s, name)
            for i, text in enumerate(texts):
                enqueue(
                    s, queue, input={"text": text}, source="seed", reason="seed", clock=clock,
                    priority=float(len(texts) - i), suggested_label="up", confidence=0.5,
                )  # fmt: skip
        create_iteration(
            s, org_id=org_id, name="sprint-1", ends_at=now + timedelta(days=14), actor="seed",
            clock=clock,
        )  # fmt: skip
        add_item(s, "sprint-1", kind="task", title="Label the review queue", actor="seed",
                 clock=clock)  # fmt: skip
        add_item(s, "sprint-1", kind="task", title="Retrain points", state="doing",
                 actor="seed", clock=clock)  # fmt: skip
    with ws.db.session(SYSTEM) as s:
        create_user(s, org_id=org_id, email="ann@example.com", role="annotator", clock=clock)
        for i, text in enumerate(("my card has not arrived", "can I pay in bitcoin?")):
            s.add(
                SupportHandoffRow(
                    prediction_id=f"pred_{i:026d}",
                    org_id=org_id,
                    conversation_id=f"c{i}",
                    model_name="points",
                    model_version=1,
                    intent="up",
                    confidence=0.4,
                    reason="low_confidence",
                    text=text,
                    text_hash=None,
                    status="open",
                    created_at=now - timedelta(minutes=10 - i),
                )
            )
        labels = ["Bullish", "Bullish", "Bearish", "Neutral", "Bullish", "Bearish"] * 4
        for i, label in enumerate(labels):
            pk = new_id("item")
            s.add(
                SentimentItemRow(
                    id=pk,
                    org_id=org_id,
                    item_id=f"n{i}",
                    received_at=now,
                    published_at=now - timedelta(minutes=15 * (len(labels) - i)),
                    source="wire",
                    text=f"$ACME story {i}",
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
                fired_at=now - timedelta(minutes=5),
                item_ids=["n20", "n21"],
                item_count=2,
            )
        )
    wines = WineCatalogue.bundled().ids[:12]
    rows = [  # users u1-u6 rate 7 of 12 wines each; odd users like the first half more
        (f"u{u}", wines[(u + k) % 12], float(5 - (k % 3) if u % 2 else 2 + (k % 4)))
        for u in range(1, 7)
        for k in range(7)
    ]
    ratings = pd.DataFrame(rows, columns=["user", "item", "rating"])
    path = ws.settings.home / "ratings.csv"
    ratings.to_csv(path, index=False)
    acme = ws.for_org("acme")
    acme.datasets.ingest(
        path, name="ratings", roles={"user": "user", "item": "item", "rating": "rating"}
    )
    acme.datasets.split("ratings", strategy="per_user", seed=3)
    Trainer(acme).train("itemknn_cosine", "ratings", register="recommender")
