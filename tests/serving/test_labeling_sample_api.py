"""``POST /v1/labeling/queues/{name}/sample`` over HTTP and through the SDK."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from fastapi import FastAPI
from servingkit import ClientFactory, PortalTransport, Tenants
from sqlalchemy import func, select

from baryon.client import Client
from baryon.core.errors import InvalidInput, NotFound
from baryon.core.scope import SYSTEM
from baryon.labeling.queue import ensure_queue
from baryon.labeling.tables import LabelingTaskRow
from baryon.training.trainer import Trainer
from baryon.workspace import Workspace

URL = "/v1/labeling/queues/intent/sample"
AMBIGUOUS = ["refund for the late parcel", "parcel refund"]


def _setup(ws: Workspace, org_id: str, tmp: Path) -> None:
    """In ``org_id``: champion ``intent`` (refund vs delivery), queue ``intent``, dataset
    ``inbox`` of 4 unlabeled texts, two of them ambiguous."""
    view = ws.for_org(org_id)
    words = ["refund my card", "want a refund", "refund please", "where is my parcel",
             "parcel is late", "track my parcel"]  # fmt: skip
    texts = [f"{w} {i}" for i in range(5) for w in words]
    labels = ["refund" if "refund" in t else "delivery" for t in texts]
    pd.DataFrame({"body": texts, "intent": labels}).to_csv(tmp / "t.csv", index=False)
    view.datasets.ingest(tmp / "t.csv", name="tickets", roles={"body": "text", "intent": "label"})
    view.datasets.split("tickets", strategy="stratified", seed=0)
    Trainer(view).train(
        "text_classifier",
        dataset="tickets",
        register="intent",
        params={"model": "logistic", "calibration": None},
    ).raise_for_status()
    with view.db.session(view.scope) as s:
        ensure_queue(
            s, org_id=org_id, model_name="intent", classes=["delivery", "refund"], clock=ws.clock
        )
    inbox = ["my refund", "parcel where", *AMBIGUOUS]
    pd.DataFrame({"message": inbox}).to_csv(tmp / "inbox.csv", index=False)
    view.datasets.ingest(tmp / "inbox.csv", name="inbox", roles={"message": "text"})


@pytest.fixture
def acme(ws: Workspace, tenants: Tenants, tmp_path: Path) -> str:
    _setup(ws, tenants.org_ids["acme"], tmp_path)
    return tenants.org_ids["acme"]


def _task_count(ws: Workspace) -> int:
    with ws.db.session(SYSTEM) as s:
        return int(s.scalar(select(func.count()).select_from(LabelingTaskRow)) or 0)


def _problem(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"].startswith("application/problem+json")
    return dict(response.json())


def test_sample_queues_most_uncertain_and_replays_idempotently(
    api: ClientFactory, tenants: Tenants, acme: str, ws: Workspace
) -> None:
    dev = api(tenants.keys["acme:developer"])
    body = {"dataset": "inbox", "strategy": "margin", "n": 2, "diversity": False, "seed": 0}
    first = dev.post(URL, json=body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == 200, first.text
    out = first.json()
    assert {t["input"]["text"] for t in out["tasks"]} == set(AMBIGUOUS)
    assert (out["queue"], out["model"], out["model_version"]) == ("intent", "intent", 1)
    assert (out["dataset"], out["requested"], out["enqueued"]) == ("inbox:1", 2, 2)
    assert (out["rows_available"], out["rows_scored"], out["already_queued"]) == (4, 4, 0)
    assert all(t["suggested_label"] in ("delivery", "refund") for t in out["tasks"])
    replay = dev.post(URL, json=body, headers={"Idempotency-Key": "k-1"})
    assert replay.json() == out
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert _task_count(ws) == 2
    again = dev.post(URL, json={**body, "n": 10}).json()
    assert again["already_queued"] == 2
    assert again["enqueued"] == 2
    assert _task_count(ws) == 4


@pytest.mark.parametrize(
    ("patch", "code"),
    [
        ({"strategy": "bald"}, "invalid_strategy"),
        ({"n": 0}, "invalid_sample_size"),
        ({"n": 5000}, "invalid_sample_size"),
        ({"max_rows": 0}, "invalid_max_rows"),
        ({"n": "many"}, "invalid_input"),
        ({"colour": "red"}, "invalid_input"),
        ({"dataset": "bad ref!"}, "invalid_ref"),
    ],
)
def test_sample_bad_body_named_422_nothing_queued(
    api: ClientFactory, tenants: Tenants, ws: Workspace, patch: dict[str, Any], code: str
) -> None:
    with ws.db.session(SYSTEM) as s:  # a queue, no model: the checks come first
        ensure_queue(
            s, org_id=tenants.org_ids["acme"], model_name="intent", classes=["a"], clock=ws.clock
        )
    response = api(tenants.keys["acme:developer"]).post(URL, json={"dataset": "inbox", **patch})
    assert response.status_code == 422, response.text
    assert _problem(response)["code"] == code
    assert _task_count(ws) == 0


def test_sample_permissions_and_other_org_404(
    api: ClientFactory, tenants: Tenants, acme: str, ws: Workspace
) -> None:
    body = {"dataset": "inbox", "n": 2}
    for role in ("annotator", "viewer"):
        denied = api(tenants.keys[f"acme:{role}"]).post(URL, json=body)
        assert denied.status_code == 403, role
    globex = api(tenants.keys["globex:developer"])
    missing = globex.post(URL, json=body)
    assert missing.status_code == 404
    assert _problem(missing)["code"] == "queue_not_found"
    view = ws.for_org(tenants.org_ids["globex"])
    with view.db.session(view.scope) as s:  # globex's own queue named the same
        ensure_queue(
            s, org_id=tenants.org_ids["globex"], model_name="intent", classes=["a"], clock=ws.clock
        )
    other = globex.post(URL, json=body)  # acme's dataset is not globex's
    assert other.status_code == 404
    assert _problem(other)["code"] == "dataset_not_found"
    assert _task_count(ws) == 0


def test_sdk_sample_for_labeling(app: FastAPI, tenants: Tenants, acme: str) -> None:
    transport = PortalTransport(app)
    try:
        with Client(
            "http://testserver", tenants.keys["acme:developer"], transport=transport
        ) as sdk:
            out = sdk.sample_for_labeling("intent", "inbox", strategy="entropy", n=1, seed=3)
            assert out.enqueued == 1
            assert out.tasks[0].input["text"] in AMBIGUOUS
            assert out.strategy == "entropy"
            with pytest.raises(InvalidInput) as err:
                sdk.sample_for_labeling("intent", "inbox", strategy="nope")
            assert err.value.code == "invalid_strategy"
            with pytest.raises(NotFound) as missing:
                sdk.sample_for_labeling("ghost", "inbox")
            assert missing.value.code == "queue_not_found"
    finally:
        transport.shutdown()
