"""Two tenants, every object type, every route: org B using org A's ids gets 404.

acme (org A) makes one of each object over the API — a dataset, a queued and a trained
run, a registered model, a prediction, a grant, a flywheel cycle, a schedule — and globex (org B,
owner key, so no permission stands in the way) calls every route of the app whose path
names an object with acme's ids, and every list route. Routes come from the app itself,
so a route added later is covered (and this file fails until it knows how to fill its
path).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi import FastAPI
from servingkit import ClientFactory, Tenants

from baryon.commerce.billing import close_billing
from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.flywheel.jobs import flywheel_handlers
from baryon.jobs import Job, JobQueue, Worker
from baryon.predictions.inference import RegistryModelResolver
from baryon.serving.app import create_app, route_permissions
from baryon.serving.auth import PUBLIC
from baryon.tenancy.permissions import PLATFORM_PERMISSIONS
from baryon.training.jobs import training_handlers
from baryon.workspace import Workspace

#: Path parameters that are not one organization's object (free-form or platform).
NOT_OWNED = {"{user_id}"}  # a recommender end user's id: any string, per organization
#: Routes that create something under a name in the *caller's* own namespace (names
#: are per organization, so globex may register its own "acmemodel"): not a lookup.
#: (``PUT /v1/endpoints/{name}`` is a lookup: the model must be one the caller may call.)
CREATES_BY_NAME = {("POST", "/v1/models/{name}/versions")}


@pytest.fixture
def app(settings: Settings, ws: Workspace, clock: FixedClock, tenants: Tenants) -> FastAPI:
    """The real registry resolver: acme's model is acme's."""
    resolver = RegistryModelResolver(ws, alias_ttl=0.0)
    return create_app(settings, workspace=ws, clock=clock, resolver=resolver)


@pytest.fixture
def acme(
    api: ClientFactory, tenants: Tenants, app: FastAPI, ws: Workspace, tmp_path: Path,
    clock: FixedClock,
):  # fmt: skip
    """acme's objects, made over the API: ``{path parameter: acme's value}``."""
    dev = api(tenants.keys["acme:developer"])
    admin = api(tenants.keys["acme:admin"])
    rng = np.random.default_rng(0)
    x1, x2 = rng.uniform(-1, 1, 120), rng.uniform(-1, 1, 120)
    frame = pd.DataFrame({"x1": x1, "x2": x2, "label": np.where(x1 + x2 > 0, "hi", "lo")})
    csv = tmp_path / "secret-acme-data.csv"
    frame.to_csv(csv, index=False)
    up = dev.post(
        "/v1/datasets",
        files={"file": (csv.name, csv.read_bytes(), "text/csv")},
        data={"name": "acmedata", "role": "label=label"},
    )
    assert up.status_code == 201, up.text
    split = dev.post("/v1/datasets/acmedata/split", json={"strategy": "stratified", "seed": 1})
    assert split.status_code == 201, split.text
    body = {"kind": "decision_tree", "dataset": "acmedata", "register": "acmemodel"}
    trained = dev.post("/v1/runs", json=body)
    assert trained.status_code == 202, trained.text
    queue: JobQueue = app.state.baryon.jobs
    job: Job | None = Worker(ws, training_handlers(), queue=queue).run_once()
    assert job is not None
    assert job.status == "succeeded", job
    run = dev.get(f"/v1/runs/{trained.json()['run_id']}").json()
    assert run["status"] == "succeeded", run
    predicted = dev.post("/v1/models/acmemodel/predict", json={"inputs": [{"x1": 1, "x2": 1}]})
    assert predicted.status_code == 200, predicted.text
    grant = admin.post(
        "/v1/grants",
        json={"object_type": "dataset", "name": "acmedata", "grantee": "ops", "permission": "read"},
    )
    assert grant.status_code == 201, grant.text
    lq = dev.post("/v1/labeling/queues", json={"name": "acmemodel", "model": "acmemodel"})
    assert lq.status_code == 201, lq.text
    other = {"hi": "lo", "lo": "hi"}[predicted.json()["outputs"][0]["label"]]
    disagree = {"prediction_id": predicted.json()["prediction_id"], "label": other}
    assert dev.post("/v1/feedback", json=disagree).status_code == 201  # queues a labeling task
    (task,) = dev.get("/v1/labeling/queues/acmemodel/tasks").json()
    goal = {"model": "acmemodel", "metric": "accuracy", "op": ">=", "target": 0.9}
    sprint = dev.post(
        "/v1/iterations",
        json={"name": "acmesprint", "ends_at": "2026-02-01T00:00:00Z", "goals": [goal]},
    )
    assert sprint.status_code == 201, sprint.text
    item = dev.post("/v1/iterations/acmesprint/items", json={"kind": "run", "ref": run["id"]})
    assert item.status_code == 201, item.text
    cycle = admin.post("/v1/flywheel/acmemodel/cycles", json={})
    assert cycle.status_code == 202, cycle.text
    ran = Worker(ws, flywheel_handlers(), queue=queue).run_once()
    assert ran is not None
    assert ran.status == "succeeded", ran
    nightly = {"kind": "flywheel", "payload": {"model": "acmemodel"}, "cron": "0 3 * * *"}
    schedule = admin.post("/v1/schedules", json=nightly)
    assert schedule.status_code == 201, schedule.text
    feed = {"name": "acmefeed", "kind": "feed", "url": "https://secret-acme-feed.example/rss"}
    source = dev.post("/v1/sources", json=feed)
    assert source.status_code == 201, source.text
    rule = dev.post(
        "/v1/sentiment/rules", json={"name": "acmerule", "kind": "index_crossing", "threshold": 0.5}
    )
    assert rule.status_code == 201, rule.text
    hook = {"name": "acmehook", "kind": "webhook", "target": "https://secret-acme-hook.example/h"}
    channel = dev.post("/v1/sentiment/channels", json=hook)
    assert channel.status_code == 201, channel.text
    channel_id = channel.json()["channel"]["id"]
    delivery = dev.post(f"/v1/sentiment/channels/{channel_id}/test")
    assert delivery.status_code == 202, delivery.text
    clock.advance(31 * 86400)  # January has ended: acme's first period is invoiced
    (invoice,) = close_billing(ws.db, period="2026-01", org="acme", clock=clock).created
    return {
        "{invoice_id}": (invoice.id,),
        "{model}": ("acmemodel",),
        "{cycle_id}": (cycle.json()["cycle_id"],),
        "{name}": ("acmedata", "acmemodel"),
        "{run_id}": (run["id"],),
        "{prediction_id}": (predicted.json()["prediction_id"],),
        "{grant_id}": (grant.json()["id"],),
        "{job_id}": (trained.json()["job_id"],),
        "{key_id}": (tenants.key_ids["acme:viewer"],),
        "{user_id}": (tenants.user_ids["acme"],),
        "{org_id}": (tenants.org_ids["acme"],),
        "{task_id}": (task["id"],),
        "{iteration}": ("acmesprint", sprint.json()["id"]),
        "{item_id}": (item.json()["id"],),
        "{schedule}": ("flywheel-acmemodel", schedule.json()["id"]),
        "{source}": ("acmefeed",),
        "{rule}": ("acmerule", rule.json()["id"]),
        "{channel}": ("acmehook", channel_id),
        "{delivery_id}": (delivery.json()["id"],),
        "secrets": (
            "acmedata", "acmemodel", run["id"], predicted.json()["prediction_id"],
            grant.json()["id"], "secret-acme-data", task["id"], "acmesprint",
            sprint.json()["id"], item.json()["id"], cycle.json()["cycle_id"],
            schedule.json()["id"], "flywheel-acmemodel", invoice.id, "acmefeed",
            "secret-acme-feed", source.json()["id"], "acmerule", rule.json()["id"],
            "acmehook", channel_id, "secret-acme-hook", delivery.json()["id"],
        ),
    }  # fmt: skip


def _routes(app: FastAPI) -> list[tuple[str, str, str]]:
    return sorted(
        (method, path, perm)
        for (method, path), perm in route_permissions(app).items()
        if perm != PUBLIC and perm not in PLATFORM_PERMISSIONS
    )


def _fill(path: str, values: dict[str, Any]) -> list[str]:
    """Every way to fill ``path`` with acme's objects (one per value of its parameter)."""
    params = re.findall(r"\{[a-z_]+\}", path)
    if not params:
        return []
    filled = [path]
    for param in params:
        if param not in values:
            raise AssertionError(f"no acme object for {param} in {path}: teach this test")
        filled = [p.replace(param, str(v)) for p in filled for v in values[param]]
    return filled


def _bodies() -> dict[str, Callable[[str], Any]]:
    return {
        "/predict": lambda _: {"inputs": [{"x1": 1, "x2": 1}]},
        "/promote": lambda _: {"version": 1},
        "/rollback": lambda _: {"reason": "test"},
        "/evaluate": lambda _: {"dataset": "acmedata"},
        "/clean": lambda _: {"steps": ["trim"]},
        "/split": lambda _: {"strategy": "random"},
        "/annotations": lambda _: {"label": "hi"},
        "/skip": lambda _: {"reason": "unsure"},
        "/review": lambda _: {"label": "hi"},
        "/items": lambda _: {"kind": "task", "title": "t"},
        "/sample": lambda _: {"dataset": "acmedata"},
        "/cycles": lambda _: {},
        "/endpoints/acmemodel": lambda _: {"challenger_weight": 0.0},
        "/endpoints/acmedata": lambda _: {"challenger_weight": 0.0},
    }


def test_other_org_gets_404_on_every_route_naming_an_object(
    app: FastAPI, api: ClientFactory, tenants: Tenants, acme: dict[str, Any]
) -> None:
    globex = api(tenants.keys["globex:owner"])
    checked = 0
    for method, path, _perm in _routes(app):
        if any(p in path for p in NOT_OWNED) or (method, path) in CREATES_BY_NAME:
            continue
        for url in _fill(path, acme):
            body = next((make(url) for end, make in _bodies().items() if url.endswith(end)), {})
            if method == "PATCH":  # an update must change something (else 422 before lookup)
                body = {"title": "t"} if "/items/" in url else {"instructions": "t"}
            answer = globex.request(method, url, json=body if method != "GET" else None)
            assert answer.status_code == 404, (method, url, answer.status_code, answer.text)
            for secret in acme["secrets"]:
                assert secret not in answer.text or secret in url, (method, url, secret)
            checked += 1
    assert checked >= 25  # datasets, runs, models, grants, predictions, keys, users, ...


def test_other_org_lists_show_none_of_acmes_objects(
    app: FastAPI, api: ClientFactory, tenants: Tenants, acme: dict[str, Any]
) -> None:
    globex = api(tenants.keys["globex:owner"])
    listed = 0
    for method, path, _perm in _routes(app):
        if method != "GET" or "{" in path:
            continue
        answer = globex.get(path)
        assert answer.status_code < 500, (path, answer.text)
        for secret in acme["secrets"]:
            assert secret not in answer.text, (path, secret)
        listed += 1
    assert listed >= 8


def test_grantee_sees_the_shared_dataset_and_revoking_hides_it_next_request(
    api: ClientFactory, tenants: Tenants, acme: dict[str, Any]
) -> None:
    ops = api(tenants.keys["ops:owner"])
    assert ops.get("/v1/datasets/acmedata?owner=acme").status_code == 200
    assert [d["name"] for d in ops.get("/v1/datasets").json()] == ["acmedata"]
    grant_id = acme["{grant_id}"][0]
    assert api(tenants.keys["acme:admin"]).delete(f"/v1/grants/{grant_id}").status_code == 200
    assert ops.get("/v1/datasets/acmedata?owner=acme").status_code == 404
    assert ops.get("/v1/datasets").json() == []
