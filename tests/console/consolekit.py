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
    which beats it: the challenger), so the gate lets v2 through; and some metered use.
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
        return tenants
    finally:
        ws.close()
