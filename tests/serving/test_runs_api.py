"""Training over HTTP: ``/v1/runs`` (submit, list, show, cancel, compare) and the SDK.

Most tests run the ``train`` jobs with a worker in the test (``run_once``, or a thread
when a job must be caught mid-training); one runs the app's lifespan, whose in-process
worker trains what the SDK submits, as ``baryon serve`` does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from fastapi import FastAPI
from servingkit import ClientFactory, PortalTransport, Tenants
from sqlalchemy import func, select

from baryon.client import Client, WaitTimedOut
from baryon.core.errors import Conflict, InvalidInput, NotFound
from baryon.core.scope import SYSTEM
from baryon.jobs import Job, JobContext, JobQueue, Worker
from baryon.jobs.tables import JobRow
from baryon.training.jobs import TRAIN, train_job, training_handlers
from baryon.training.tables import RunRow
from baryon.workspace import Workspace

DIVERGING = {"learning_rate": 50.0, "max_iter": 200}  # gradient descent blows up in fit


def _quadrants(ws: Workspace, org_id: str, home: Path, name: str = "quad") -> Any:
    """Ingest and split 200 quadrant points in ``org_id`` (a stump ~75 %, depth 3 ~100 %)."""
    rng = np.random.default_rng(0)
    x1, x2 = rng.uniform(-1, 1, 200), rng.uniform(-1, 1, 200)
    label = np.where((x1 > 0) & (x2 > 0), "in", "out")
    path = home / f"{name}-{org_id}.csv"
    pd.DataFrame({"x1": x1, "x2": x2, "label": label}).to_csv(path, index=False)
    view = ws.for_org(org_id)
    view.datasets.ingest(path, name=name, roles={"label": "label"})
    return view.datasets.split(name, strategy="stratified", seed=0)


@pytest.fixture
def quad(ws: Workspace, tenants: Tenants, tmp_path: Path) -> Any:
    """acme's dataset ``quad``."""
    return _quadrants(ws, tenants.org_ids["acme"], tmp_path)


@pytest.fixture
def jobs(app: FastAPI) -> JobQueue:
    """The app's job queue."""
    queue: JobQueue = app.state.baryon.jobs
    return queue


@pytest.fixture
def work(ws: Workspace, jobs: JobQueue) -> Callable[[], Job | None]:
    """Run the next queued job with a worker that has the real ``train`` handler."""
    worker = Worker(ws, training_handlers(), queue=jobs, poll_interval=0.02)
    return worker.run_once


@pytest.fixture
def dev(api: ClientFactory, tenants: Tenants) -> httpx.Client:
    """acme's developer key."""
    return api(tenants.keys["acme:developer"])


def _counts(ws: Workspace) -> tuple[int, int]:
    with ws.db.session(SYSTEM) as session:
        runs = session.scalar(select(func.count()).select_from(RunRow))
        jobs = session.scalar(select(func.count()).select_from(JobRow))
    return int(runs or 0), int(jobs or 0)


def _submit(client: httpx.Client, **body: Any) -> str:
    response = client.post("/v1/runs", json={"kind": "decision_tree", "dataset": "quad", **body})
    assert response.status_code == 202, response.text
    return str(response.json()["run_id"])


# ------------------------------------------------------------------- lifecycle
def test_post_run_missing_impute_recorded_with_the_version(
    dev: httpx.Client, quad: Any, work: Callable[[], Job | None]
) -> None:
    _submit(dev, register="quad", missing="impute")
    job = work()
    assert job is not None
    assert job.status == "succeeded", job
    inputs = dev.get("/v1/models/quad").json()["versions"][0]["extra"]["inputs"]
    assert inputs["missing"] == "impute"
    assert inputs["types"] == {"x1": "number", "x2": "number"}


def test_post_run_answers_202_queued_then_worker_trains_it(
    dev: httpx.Client, quad: Any, work: Callable[[], Job | None]
) -> None:
    body = {"kind": "decision_tree", "dataset": "quad", "params": {"max_depth": 3}}
    response = dev.post("/v1/runs", json={**body, "register": "quad", "seed": 1})
    assert response.status_code == 202, response.text
    submitted = response.json()
    assert submitted["status"] == "queued"
    assert submitted["run_id"].startswith("run_")
    assert submitted["job_id"].startswith("job_")
    queued = dev.get(f"/v1/runs/{submitted['run_id']}").json()
    assert (queued["status"], queued["job_status"], queued["stage"], queued["progress"]) == (
        "queued", "queued", None, 0.0,
    )  # fmt: skip
    assert queued["job_id"] == submitted["job_id"]
    assert queued["queued_at"] is not None
    job = work()
    assert job is not None
    assert job.id == submitted["job_id"]
    run = dev.get(f"/v1/runs/{submitted['run_id']}").json()
    assert run["status"] == "succeeded", run
    assert run["metrics"]["accuracy"] >= 0.95
    assert (run["stage"], run["progress"], run["attempts"]) == ("register", 100.0, 1)
    assert run["registered"] == {"name": "quad", "version": 1}
    assert (run["dataset"], run["dataset_version_id"]) == (quad.ref, quad.id)
    assert (run["params"], run["seed"], run["error_code"]) == ({"max_depth": 3}, 1, None)
    assert set(run["artifacts"]) >= {"model", "manifest", "report"}
    assert isinstance(run["history"], dict)


def test_post_run_params_failing_in_fit_fail_the_run_with_a_code(
    dev: httpx.Client, quad: Any, work: Callable[[], Job | None]
) -> None:
    run_id = _submit(dev, kind="linear_regression_gd", target="x1", params=DIVERGING)
    work()
    run = dev.get(f"/v1/runs/{run_id}").json()
    assert (run["status"], run["error_code"], run["job_status"]) == (
        "failed", "not_converged", "failed",
    )  # fmt: skip
    assert run["error"]
    assert "Traceback" not in run["error"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"kind": "nope"}, 422, "unknown_kind"),
        ({"dataset": "missing"}, 404, "dataset_not_found"),
        ({"params": {"max_dept": 2}}, 422, "invalid_param"),
        ({"params": {"max_depth": "deep"}}, 422, "invalid_param"),
        ({"seed": -1}, 422, "invalid_seed"),
        ({"cv_folds": 1}, 422, "invalid_cv_folds"),
        ({"register": "no spaces"}, 422, "invalid_model_name"),
        ({"epochs": 3}, 422, "invalid_input"),
        ({"seed": "1"}, 422, "invalid_input"),
        ({"params": [1, 2]}, 422, "invalid_input"),
        ({"missing": "drop"}, 422, "invalid_input"),
        ({"cv_folds": True}, 422, "invalid_input"),
    ],
)
def test_post_run_bad_input_refused_without_run_or_job(
    dev: httpx.Client, ws: Workspace, quad: Any, body: dict[str, Any], status: int, code: str
) -> None:
    response = dev.post("/v1/runs", json={"kind": "decision_tree", "dataset": "quad", **body})
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    assert _counts(ws) == (0, 0)


def test_post_run_nan_param_refused(dev: httpx.Client, ws: Workspace, quad: Any) -> None:
    content = b'{"kind": "decision_tree", "dataset": "quad", "params": {"max_depth": NaN}}'
    response = dev.post("/v1/runs", content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert _counts(ws) == (0, 0)


def test_post_run_idempotency_key_replays_one_submission(
    dev: httpx.Client, ws: Workspace, quad: Any
) -> None:
    body = {"kind": "decision_tree", "dataset": "quad"}
    first = dev.post("/v1/runs", json=body, headers={"Idempotency-Key": "train-1"})
    again = dev.post("/v1/runs", json=body, headers={"Idempotency-Key": "train-1"})
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _counts(ws) == (1, 1)


def test_runs_need_runs_permissions(
    api: ClientFactory, tenants: Tenants, quad: Any, dev: httpx.Client
) -> None:
    run_id = _submit(dev)
    viewer = api(tenants.keys["acme:viewer"])
    assert viewer.get(f"/v1/runs/{run_id}").status_code == 200
    assert viewer.get("/v1/runs").status_code == 200
    body = {"kind": "decision_tree", "dataset": "quad"}
    assert viewer.post("/v1/runs", json=body).json()["code"] == "forbidden"
    assert viewer.post(f"/v1/runs/{run_id}/cancel").status_code == 403
    annotator = api(tenants.keys["acme:annotator"])
    assert annotator.get(f"/v1/runs/{run_id}").status_code == 403
    assert api().get("/v1/runs").status_code == 401


# ----------------------------------------------------------------------- lists
def test_get_runs_filters_and_limits(
    dev: httpx.Client, quad: Any, work: Callable[[], Job | None]
) -> None:
    failed = _submit(dev, kind="linear_regression_gd", target="x1", params=DIVERGING)
    work()
    queued = _submit(dev)
    listed = dev.get("/v1/runs").json()
    assert {r["id"] for r in listed} == {failed, queued}
    assert "history" not in listed[0]
    by_status = {r["id"]: r for r in listed}
    assert by_status[queued]["progress"] == 0.0
    assert by_status[failed]["stage"] is None  # finished runs: no job lookup in lists
    assert [r["id"] for r in dev.get("/v1/runs?status=queued").json()] == [queued]
    assert [r["id"] for r in dev.get("/v1/runs?kind=linear_regression_gd").json()] == [failed]
    assert len(dev.get("/v1/runs?dataset=quad&limit=1").json()) == 1
    assert dev.get("/v1/runs?dataset=other").json() == []
    bad = dev.get("/v1/runs?status=done")
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_status")
    assert dev.get("/v1/runs?limit=0").status_code == 422


# ---------------------------------------------------------------------- cancel
def test_cancel_queued_run_ends_it_at_once(
    dev: httpx.Client, quad: Any, work: Callable[[], Job | None]
) -> None:
    run_id = _submit(dev)
    cancelled = dev.post(f"/v1/runs/{run_id}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    body = cancelled.json()
    assert (body["status"], body["job_status"], body["cancel_requested"]) == (
        "cancelled", "cancelled", True,
    )  # fmt: skip
    assert work() is None  # the job will never run
    again = dev.post(f"/v1/runs/{run_id}/cancel")
    assert (again.status_code, again.json()["status"]) == (200, "cancelled")


def test_cancel_finished_run_409(
    dev: httpx.Client, quad: Any, work: Callable[[], Job | None]
) -> None:
    run_id = _submit(dev, kind="linear_regression_gd", target="x1", params=DIVERGING)
    work()
    refused = dev.post(f"/v1/runs/{run_id}/cancel")
    assert (refused.status_code, refused.json()["code"]) == (409, "run_finished")


def test_cancel_running_run_stops_it_at_its_next_stage(
    dev: httpx.Client, ws: Workspace, jobs: JobQueue, quad: Any
) -> None:
    entered, release = threading.Event(), threading.Event()

    def gated(ctx: JobContext) -> Any:
        report = ctx.progress

        def progress(stage: str, percent: float) -> None:
            report(stage, percent)
            if stage == "fit":
                entered.set()
                release.wait(30)

        ctx.progress = progress  # type: ignore[method-assign]
        return train_job(ctx)

    run_id = _submit(dev)
    worker = Worker(ws, {TRAIN: gated}, queue=jobs, poll_interval=0.02)
    thread = threading.Thread(target=worker.run_once, daemon=True)
    thread.start()
    try:
        assert entered.wait(60)
        running = dev.get(f"/v1/runs/{run_id}").json()
        assert (running["status"], running["stage"], running["progress"]) == (
            "running",
            "fit",
            30.0,
        )
        asked = dev.post(f"/v1/runs/{run_id}/cancel").json()
        assert (asked["status"], asked["cancel_requested"]) == ("running", True)
        threading.Event().wait(0.1)  # past the job context's check interval
    finally:
        release.set()
        thread.join(60)
    run = dev.get(f"/v1/runs/{run_id}").json()
    assert (run["status"], run["job_status"], run["error_code"]) == ("cancelled", "cancelled", None)


# --------------------------------------------------------------------- compare
def test_compare_two_runs_side_by_side(
    dev: httpx.Client, quad: Any, work: Callable[[], Job | None]
) -> None:
    stump = _submit(dev, params={"max_depth": 1})
    tree = _submit(dev, params={"max_depth": 3})
    work()
    work()
    response = dev.get(f"/v1/runs/compare?ids={stump},{tree}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["run_ids"] == [stump, tree]
    assert [r["id"] for r in body["runs"]] == [stump, tree]
    assert body["differing_params"] == ["max_depth"]
    params = {row["name"]: row for row in body["params"]}
    assert params["max_depth"] == {"name": "max_depth", "values": [1, 3], "differs": True}
    assert params["kind"]["differs"] is False
    accuracy = next(row for row in body["metrics"] if row["name"] == "accuracy")
    assert accuracy["values"][0] < accuracy["values"][1]


@pytest.mark.parametrize(
    ("ids", "status", "code"),
    [
        ("{a}", 422, "invalid_run_ids"),
        ("{a},{a}", 422, "invalid_run_ids"),
        ("{a},run_1,run_2,run_3,run_4,run_5", 422, "invalid_run_ids"),
        ("{a},run_missing", 404, "run_not_found"),
        (",", 422, "invalid_run_ids"),
    ],
)
def test_compare_bad_ids_refused(
    dev: httpx.Client, quad: Any, ids: str, status: int, code: str
) -> None:
    run_id = _submit(dev)
    response = dev.get("/v1/runs/compare", params={"ids": ids.format(a=run_id)})
    assert (response.status_code, response.json()["code"]) == (status, code)


# ------------------------------------------------------------ two organizations
def test_other_organization_gets_404_on_every_run_route_and_sees_only_its_runs(
    api: ClientFactory,
    tenants: Tenants,
    ws: Workspace,
    quad: Any,
    dev: httpx.Client,
    tmp_path: Path,
    work: Callable[[], Job | None],
) -> None:
    a1, a2 = _submit(dev), _submit(dev)
    globex = api(tenants.keys["globex:developer"])
    for response in (
        globex.get(f"/v1/runs/{a1}"),
        globex.post(f"/v1/runs/{a1}/cancel"),
        globex.get(f"/v1/runs/compare?ids={a1},{a2}"),
    ):
        assert (response.status_code, response.json()["code"]) == (404, "run_not_found")
    assert globex.get("/v1/runs").json() == []
    refused = globex.post("/v1/runs", json={"kind": "decision_tree", "dataset": "quad"})
    assert (refused.status_code, refused.json()["code"]) == (404, "dataset_not_found")

    _quadrants(ws, tenants.org_ids["globex"], tmp_path)  # globex's own "quad"
    g1 = _submit(globex)
    assert [r["id"] for r in globex.get("/v1/runs").json()] == [g1]
    assert {r["id"] for r in dev.get("/v1/runs").json()} == {a1, a2}
    assert dev.get(f"/v1/runs/{g1}").status_code == 404
    mixed = globex.get(f"/v1/runs/compare?ids={g1},{a1}")
    assert mixed.status_code == 404
    assert dev.post(f"/v1/runs/{a1}/cancel").json()["status"] == "cancelled"
    assert globex.get(f"/v1/runs/{g1}").json()["status"] == "queued"  # untouched
    while work() is not None:  # each job trains in its own organization
        pass
    g_run = globex.get(f"/v1/runs/{g1}").json()
    assert g_run["status"] == "succeeded"
    assert g_run["dataset_version_id"] != quad.id


def test_dataset_granted_by_another_organization_can_be_trained_on(
    api: ClientFactory, tenants: Tenants, quad: Any, work: Callable[[], Job | None]
) -> None:
    admin = api(tenants.keys["acme:admin"])
    grant = {"object_type": "dataset", "name": "quad", "grantee": "globex", "permission": "read"}
    assert admin.post("/v1/grants", json=grant).status_code == 201
    globex = api(tenants.keys["globex:developer"])
    run_id = _submit(globex)  # no "quad" of its own: acme's, shared
    work()
    run = globex.get(f"/v1/runs/{run_id}").json()
    assert (run["status"], run["dataset_version_id"]) == ("succeeded", quad.id)
    assert api(tenants.keys["acme:developer"]).get("/v1/runs").json() == []


# -------------------------------------------------------------------------- SDK
def test_sdk_trains_waits_compares_and_cancels_with_the_inprocess_worker(
    app: FastAPI, tenants: Tenants, quad: Any
) -> None:
    transport = PortalTransport(app)
    try:
        with (
            transport.lifespan(app),
            Client("http://testserver", tenants.keys["acme:developer"], transport=transport) as sdk,
        ):
            stump = sdk.train("decision_tree", "quad", params={"max_depth": 1}, register="quad")
            tree = sdk.train("decision_tree", "quad", params={"max_depth": 3}, seed=7)
            assert stump.status == "queued"
            done = sdk.wait_for_run(stump.run_id, timeout=120, poll=0.05)
            assert (done.status, done.progress) == ("succeeded", 100.0)
            assert done.registered is not None
            assert (done.registered.name, done.registered.version) == ("quad", 1)
            assert sdk.wait_for_run(tree.run_id, timeout=120, poll=0.05).status == "succeeded"
            comparison = sdk.compare_runs([stump.run_id, tree.run_id])
            assert comparison.differing_params == ["seed", "max_depth"]
            assert {r.id for r in sdk.runs(status="succeeded")} == {tree.run_id, stump.run_id}
            assert sdk.run(tree.run_id).metrics["accuracy"] == pytest.approx(1.0, abs=0.05)
            with pytest.raises(Conflict) as finished:
                sdk.cancel_run(tree.run_id)
            assert finished.value.code == "run_finished"
            with pytest.raises(InvalidInput) as bad:
                sdk.train("nope", "quad")
            assert bad.value.code == "unknown_kind"
            with pytest.raises(NotFound):
                sdk.run("run_missing")
    finally:
        transport.shutdown()


def test_sdk_wait_for_run_times_out_with_named_error(
    app: FastAPI, tenants: Tenants, quad: Any
) -> None:
    slept: list[float] = []
    transport = PortalTransport(app)  # no lifespan: no worker, the run stays queued
    try:
        with Client(
            "http://testserver",
            tenants.keys["acme:developer"],
            transport=transport,
            sleep=slept.append,
        ) as sdk:
            submitted = sdk.train("decision_tree", "quad")
            with pytest.raises(WaitTimedOut) as info:
                sdk.wait_for_run(submitted.run_id, timeout=1.0, poll=0.3)
            assert info.value.code == "wait_timeout"
            assert info.value.details["status"] == "queued"
            # Polls of at most 0.3 s, never more than the timeout in all; the deadline is
            # also the real clock's (a slow server does not stretch it), so on a loaded
            # machine the wait may end before the whole second has been slept.
            assert all(0 < step <= 0.3 + 1e-9 for step in slept)
            assert sum(slept) <= 1.0 + 1e-9
            cancelled = sdk.cancel_run(submitted.run_id)
            assert cancelled.status == "cancelled"
    finally:
        transport.shutdown()


@pytest.fixture(autouse=True)
def _no_stray_worker_threads() -> Iterator[None]:
    yield
    stray = [t for t in threading.enumerate() if t.name == "baryon-job-worker"]
    assert stray == []
