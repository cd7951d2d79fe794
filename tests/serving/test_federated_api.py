"""``POST /v1/federated/runs``: a federated run queued as a job, checked before writing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from servingkit import ClientFactory, PortalTransport, Tenants
from sqlalchemy import func, select

from baryon.client import Client
from baryon.core.errors import InvalidInput
from baryon.core.scope import SYSTEM
from baryon.jobs.tables import JobRow
from baryon.training.tables import RunRow
from baryon.workspace import Workspace


def _silo(ws: Workspace, org_id: str, home: Path, name: str) -> None:
    path = home / f"{name}-{org_id}.csv"
    rows = [f"my {w} problem number {i},{w}" for i in range(20) for w in ("card", "loan")]
    path.write_text("text,label\n" + "\n".join(rows) + "\n", encoding="utf-8")
    view = ws.for_org(org_id)
    view.datasets.ingest(path, name=name, roles={"text": "text", "label": "label"})
    view.datasets.split(name, strategy="random", seed=0)


@pytest.fixture
def silos(ws: Workspace, tenants: Tenants, tmp_path: Path) -> list[str]:
    for name in ("north", "south"):
        _silo(ws, tenants.org_ids["acme"], tmp_path, name)
    return ["north", "south"]


@pytest.fixture
def dev(api: ClientFactory, tenants: Tenants) -> httpx.Client:
    return api(tenants.keys["acme:developer"])


def _counts(ws: Workspace) -> tuple[int, int]:
    with ws.db.session(SYSTEM) as session:
        runs = session.scalar(select(func.count()).select_from(RunRow))
        jobs = session.scalar(select(func.count()).select_from(JobRow))
    return int(runs or 0), int(jobs or 0)


def _body(silos: list[str], **extra: Any) -> dict[str, Any]:
    return {"model": "intents", "kind": "hashed_text_classifier", "silos": silos, **extra}


def test_post_federated_run_answers_202_with_a_queued_run_and_job(
    dev: httpx.Client, ws: Workspace, silos: list[str], tenants: Tenants
) -> None:
    response = dev.post("/v1/federated/runs", json=_body(silos, rounds=2, strategy="fedmedian"))
    assert response.status_code == 202, response.text
    run_id = response.json()["run_id"]
    run = dev.get(f"/v1/runs/{run_id}").json()
    assert run["status"] == "queued"
    assert run["params"]["federated"] is True
    assert run["params"]["strategy"] == "fedmedian"
    assert run["params"]["silos"] == silos
    with ws.db.session(SYSTEM) as session:
        job = session.scalars(select(JobRow)).one()
    assert (job.kind, job.org_id) == ("federated", tenants.org_ids["acme"])
    assert job.payload["silos"] == silos


@pytest.mark.parametrize(
    ("extra", "status", "code"),
    [
        ({"kind": "decision_tree"}, 422, "kind_not_federated"),
        ({"strategy": "krum"}, 422, "invalid_input"),
        ({"rounds": 0}, 422, "invalid_rounds"),
        ({"dp_clip": 1.0}, 422, "invalid_dp"),
        ({"params": {"depth": 2}}, 422, "invalid_param"),
        ({"silos": ["north"]}, 422, "invalid_input"),
        ({"silos": ["north", "nowhere"]}, 404, "dataset_not_found"),
    ],
)
def test_post_federated_run_bad_input_writes_nothing(
    dev: httpx.Client, ws: Workspace, silos: list[str], extra: dict, status: int, code: str
) -> None:
    response = dev.post("/v1/federated/runs", json={**_body(silos), **extra})
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    assert _counts(ws) == (0, 0)


def test_post_federated_run_with_another_orgs_silo_is_404(
    api: ClientFactory, ws: Workspace, tenants: Tenants, silos: list[str]
) -> None:
    rival = api(tenants.keys["globex:developer"])
    response = rival.post("/v1/federated/runs", json=_body(silos))
    assert response.status_code == 404
    assert _counts(ws) == (0, 0)


def test_post_federated_run_needs_runs_write(
    api: ClientFactory, tenants: Tenants, silos: list[str]
) -> None:
    viewer = api(tenants.keys["acme:viewer"])
    assert viewer.post("/v1/federated/runs", json=_body(silos)).status_code == 403
    assert api().post("/v1/federated/runs", json=_body(silos)).status_code == 401


def test_sdk_federated_run_submits_and_raises_named_errors(
    app: FastAPI, tenants: Tenants, silos: list[str]
) -> None:
    transport = PortalTransport(app)
    client = Client("http://testserver", tenants.keys["acme:developer"], transport=transport)
    submitted = client.federated_run("intents", "hashed_text_classifier", silos, rounds=1)
    assert submitted.status == "queued"
    with pytest.raises(InvalidInput) as caught:
        client.federated_run("intents", "mlp", silos)
    assert caught.value.code == "kind_not_federated"
