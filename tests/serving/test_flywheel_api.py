"""The flywheel over HTTP: ``/v1/flywheel`` (run a cycle as a job, list, show) and the SDK.

acme owns the tiny ``intent`` model of ``tests/flywheel/cyclekit.py``; a worker in the
test runs the ``flywheel`` jobs (``run_once``), and one test runs the app's lifespan,
whose in-process worker runs what the SDK submits, as ``baryon serve`` does.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from flywheel.cyclekit import MODEL, counts, label, make_intent_model, new_word_texts
from servingkit import ClientFactory, PortalTransport, Tenants

from baryon.client import Client
from baryon.core.clock import FixedClock
from baryon.core.errors import Conflict, NotFound
from baryon.flywheel.jobs import flywheel_handlers
from baryon.jobs import JobQueue, Worker
from baryon.workspace import Workspace


@pytest.fixture
def acme(ws: Workspace, tenants: Tenants, tmp_path: Path) -> Workspace:
    """acme's view, with the champion ``intent`` v1."""
    view = ws.for_org(tenants.org_ids["acme"])
    make_intent_model(view, tmp_path)
    return view


def _work(app: FastAPI, ws: Workspace) -> None:
    queue: JobQueue = app.state.baryon.jobs
    assert Worker(ws, flywheel_handlers(), queue=queue, poll_interval=0.02).run_once() is not None


def test_post_cycle_202_worker_runs_it_get_shows_the_report(
    api: ClientFactory, tenants: Tenants, acme: Workspace, clock: FixedClock, app: FastAPI,
    ws: Workspace,
) -> None:  # fmt: skip
    label(acme, clock, new_word_texts(12))
    admin = api(tenants.keys["acme:admin"])

    response = admin.post(f"/v1/flywheel/{MODEL}/cycles", json={})

    assert response.status_code == 202, response.text
    submitted = response.json()
    assert (submitted["status"], submitted["model"]) == ("queued", MODEL)
    assert submitted["cycle_id"].startswith("fw_")
    assert submitted["job_id"].startswith("job_")
    queued = admin.get(f"/v1/flywheel/cycles/{submitted['cycle_id']}").json()
    assert (queued["status"], queued["job_status"], queued["job_id"]) == (
        "queued", "queued", submitted["job_id"],
    )  # fmt: skip
    _work(app, ws)
    viewer = api(tenants.keys["acme:viewer"])  # flywheel:read
    done = viewer.get(f"/v1/flywheel/cycles/{submitted['cycle_id']}").json()
    assert (done["status"], done["job_status"], done["progress"]) == ("promoted", "succeeded", 100)
    report = done["report"]
    assert report["decision"] == "promoted"
    assert report["trigger"] == "api"
    assert report["rows_added"] == {"queue:intent": 12}
    assert report["metrics"]["delta"]["accuracy"]["value"] == pytest.approx(0.25)
    assert len(report["metrics"]["delta"]["accuracy"]["ci95"]) == 2
    assert (done["champion_version"], done["candidate_version"]) == (1, 2)
    listed = viewer.get("/v1/flywheel/cycles", params={"model": MODEL}).json()
    assert [c["id"] for c in listed] == [submitted["cycle_id"]]
    # QA 13 #9: the list gave job_status, stage, progress and attempts null
    assert listed == [done]
    assert (listed[0]["job_status"], listed[0]["attempts"]) == ("succeeded", 1)
    assert viewer.get("/v1/flywheel/cycles", params={"model": "other"}).json() == []


def test_flywheel_routes_another_orgs_model_or_cycle_404_and_roles(
    api: ClientFactory, tenants: Tenants, acme: Workspace, ws: Workspace, app: FastAPI,
) -> None:  # fmt: skip
    cycle_id = (
        api(tenants.keys["acme:owner"]).post(f"/v1/flywheel/{MODEL}/cycles").json()["cycle_id"]
    )
    globex = api(tenants.keys["globex:owner"])
    refused = globex.post(f"/v1/flywheel/{MODEL}/cycles", json={})
    assert (refused.status_code, refused.json()["code"]) == (404, "model_not_found")
    hidden = globex.get(f"/v1/flywheel/cycles/{cycle_id}")
    assert (hidden.status_code, hidden.json()["code"]) == (404, "cycle_not_found")
    assert globex.get("/v1/flywheel/cycles").json() == []
    developer = api(tenants.keys["acme:developer"])
    assert developer.post(f"/v1/flywheel/{MODEL}/cycles", json={}).status_code == 403
    assert developer.get(f"/v1/flywheel/cycles/{cycle_id}").status_code == 200
    assert api(tenants.keys["acme:annotator"]).get("/v1/flywheel/cycles").status_code == 403


def test_post_cycle_bad_input_named_errors_write_nothing(
    api: ClientFactory, tenants: Tenants, acme: Workspace, ws: Workspace
) -> None:
    admin = api(tenants.keys["acme:admin"])
    before = counts(ws)
    cases = [
        (f"/v1/flywheel/{MODEL}/cycles", {"iteration_id": "it_nope"}, 404, "iteration_not_found"),
        ("/v1/flywheel/no-such-model/cycles", {}, 404, "model_not_found"),
        (f"/v1/flywheel/{MODEL}/cycles", {"min_delta": -0.1}, 422, None),
        (f"/v1/flywheel/{MODEL}/cycles", {"unknown": 1}, 422, None),
        # issue-13 QA 5: no string or boolean is a number (nor a number an id)
        *(
            (f"/v1/flywheel/{MODEL}/cycles", {"min_delta": bad}, 422, "invalid_input")
            for bad in ("0.1", "0", True, False, None, [0.1])
        ),
        (f"/v1/flywheel/{MODEL}/cycles", {"iteration_id": 5}, 422, "invalid_input"),
        (f"/v1/flywheel/{MODEL}/cycles", {"iteration_id": True}, 422, "invalid_input"),
    ]
    for path, body, status, code in cases:
        response = admin.post(path, json=body)
        assert response.status_code == status, (path, body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        if code is not None:
            assert response.json()["code"] == code
    assert counts(ws) == before
    first = admin.post(f"/v1/flywheel/{MODEL}/cycles", json={})
    assert first.status_code == 202
    again = admin.post(f"/v1/flywheel/{MODEL}/cycles", json={})
    assert (again.status_code, again.json()["code"]) == (409, "cycle_in_progress")
    assert counts(ws)["cycles"] == before["cycles"] + 1


def test_sdk_run_flywheel_and_wait_for_cycle_with_the_in_process_worker(
    app: FastAPI, tenants: Tenants, acme: Workspace, clock: FixedClock
) -> None:
    label(acme, clock, new_word_texts(8))
    transport = PortalTransport(app)
    try:
        with (
            transport.lifespan(app),
            Client("http://testserver", tenants.keys["acme:admin"], transport=transport) as sdk,
        ):
            submitted = sdk.run_flywheel(MODEL)
            assert submitted.status == "queued"
            cycle = sdk.wait_for_cycle(submitted.cycle_id, timeout=300, poll=0.05)
            assert cycle.status == "promoted"
            assert cycle.report["decision"] == "promoted"
            (listed,) = sdk.flywheel_cycles(model=MODEL)
            assert (listed.id, listed.status, listed.job_id) == (cycle.id, "promoted", cycle.job_id)
            # the job ends just after its cycle: running or succeeded, never unknown
            assert (listed.job_status in ("running", "succeeded"), listed.attempts) == (True, 1)
            again = sdk.wait_for_cycle(sdk.run_flywheel(MODEL).cycle_id, timeout=300, poll=0.05)
            assert again.status == "nothing_new"
            # QA 13 #7: docs/flywheel.md's example reads metrics only when there are some
            assert "metrics" not in again.report
            assert again.report["message"].startswith("nothing new")
            with pytest.raises(NotFound) as info:
                sdk.flywheel_cycle("fw_00000000000000000000000000")
            assert info.value.code == "cycle_not_found"
            with pytest.raises(NotFound) as refused:
                sdk.run_flywheel("no-such-model")
            assert refused.value.code == "model_not_found"
            label(acme, clock, new_word_texts(2, start=900))
            third = sdk.run_flywheel(MODEL)
            with pytest.raises(Conflict) as busy:  # the third one is queued or running
                sdk.run_flywheel(MODEL)
            assert busy.value.code == "cycle_in_progress"
            assert sdk.wait_for_cycle(third.cycle_id, timeout=300, poll=0.05).finished_at
    finally:
        transport.shutdown()


def test_post_cycle_without_body_is_accepted(
    api: ClientFactory, tenants: Tenants, acme: Workspace
) -> None:
    response = api(tenants.keys["acme:owner"]).post(f"/v1/flywheel/{MODEL}/cycles")
    assert response.status_code == 202, response.text


def test_post_cycle_iteration_by_name_or_id(
    api: ClientFactory, tenants: Tenants, acme: Workspace
) -> None:
    # QA 13 #6: {"iteration_id": "w52"} was iteration_not_found though w52 existed
    owner = api(tenants.keys["acme:owner"])
    made = owner.post("/v1/iterations", json={"name": "w52", "ends_at": "2026-12-30T00:00:00Z"})
    assert made.status_code == 201, made.text
    globex = api(tenants.keys["globex:owner"])
    assert globex.post("/v1/iterations", json={"name": "mine", "ends_at": "2026-12-30T00:00:00Z"})
    hidden = owner.post(f"/v1/flywheel/{MODEL}/cycles", json={"iteration_id": "mine"})
    assert (hidden.status_code, hidden.json()["code"]) == (404, "iteration_not_found")
    response = owner.post(f"/v1/flywheel/{MODEL}/cycles", json={"iteration_id": "w52"})
    assert response.status_code == 202, response.text
    cycle = owner.get(f"/v1/flywheel/cycles/{response.json()['cycle_id']}").json()
    assert cycle["iteration_id"] == made.json()["id"]
