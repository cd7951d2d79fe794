"""Job schedules over HTTP (``/v1/schedules``) and the SDK, and the in-process worker
of ``baryon serve`` firing a due schedule.

The app schedules the ``noop`` kind here as well as ``flywheel`` (the default), so the
routes are tested without training a model; the flywheel's own checks are reached
through a model that does not exist (tests/flywheel/test_flywheel_schedules.py fires real ones).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from servingkit import ClientFactory, PortalTransport, StaticResolver, Tenants
from sqlalchemy import func, select

from baryon.client import Client
from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.core.errors import Conflict, InvalidInput, NotFound
from baryon.core.scope import SYSTEM
from baryon.flywheel.schedules import flywheel_schedule_kinds
from baryon.jobs import ScheduledKind
from baryon.jobs.tables import JobRow, JobScheduleRow
from baryon.serving.app import create_app
from baryon.workspace import Workspace

KINDS = {"noop": ScheduledKind("noop"), **flywheel_schedule_kinds()}


@pytest.fixture
def app(settings: Settings, ws: Workspace, clock: FixedClock, resolver: StaticResolver) -> FastAPI:
    return create_app(
        settings.model_copy(update={"job_poll_interval": 0.05}),
        workspace=ws, clock=clock, resolver=resolver, schedule_kinds=KINDS,
    )  # fmt: skip


@pytest.fixture
def sdk(app: FastAPI, tenants: Tenants) -> Iterator[Client]:
    transport = PortalTransport(app)
    try:
        with Client("http://testserver", tenants.keys["acme:admin"], transport=transport) as c:
            yield c
    finally:
        transport.shutdown()


def _job(ws: Workspace, job_id: str | None) -> JobRow:
    with ws.db.session(SYSTEM) as session:  # a short transaction: SQLite has one writer
        job = session.get(JobRow, job_id)
        assert job is not None
        return job


def _count(ws: Workspace) -> int:
    with ws.db.session(SYSTEM) as session:
        return int(session.scalar(select(func.count()).select_from(JobScheduleRow)) or 0)


def test_create_list_show_pause_resume_delete_and_audit(
    api: ClientFactory, tenants: Tenants, clock: FixedClock
) -> None:
    admin = api(tenants.keys["acme:admin"])
    body = {"kind": "noop", "every": "15m", "payload": {"n": 1}, "description": "heartbeat"}

    made = admin.post("/v1/schedules", json=body)

    assert made.status_code == 201, made.text
    schedule = made.json()
    assert schedule["id"].startswith("sch_")
    assert (schedule["name"], schedule["kind"], schedule["payload"]) == ("noop", "noop", {"n": 1})
    assert (schedule["every"], schedule["every_seconds"], schedule["cron"]) == ("15m", 900, None)
    assert (schedule["timezone"], schedule["paused"], schedule["last_outcome"]) == (
        "UTC", False, None,
    )  # fmt: skip
    assert schedule["next_run_at"] == "2026-01-01T00:15:00+00:00"
    assert schedule["created_by"].startswith("key:")
    viewer = api(tenants.keys["acme:viewer"])  # schedules:read
    assert [s["id"] for s in viewer.get("/v1/schedules").json()] == [schedule["id"]]
    assert viewer.get("/v1/schedules", params={"kind": "flywheel"}).json() == []
    assert viewer.get("/v1/schedules/noop").json()["id"] == schedule["id"]
    assert viewer.get(f"/v1/schedules/{schedule['id']}").json()["name"] == "noop"
    paused = admin.post(f"/v1/schedules/{schedule['id']}/pause")
    assert (paused.status_code, paused.json()["paused"]) == (200, True)
    assert admin.post("/v1/schedules/noop/pause").json()["paused"] is True  # as is
    clock.advance(3600)
    resumed = admin.post("/v1/schedules/noop/resume").json()
    assert (resumed["paused"], resumed["next_run_at"]) == (False, "2026-01-01T01:15:00+00:00")
    removed = admin.delete("/v1/schedules/noop")
    assert (removed.status_code, removed.json()["id"]) == (200, schedule["id"])
    gone = viewer.get("/v1/schedules/noop")
    assert (gone.status_code, gone.json()["code"]) == (404, "schedule_not_found")
    audit = admin.get("/v1/audit", params={"limit": 50}).json()
    actions = sorted(e["action"] for e in audit if e["object_id"] == schedule["id"])
    assert actions == ["schedule.create", "schedule.pause", "schedule.remove", "schedule.resume"]


def test_cron_schedule_and_a_name(api: ClientFactory, tenants: Tenants) -> None:
    admin = api(tenants.keys["acme:owner"])
    body = {"kind": "noop", "cron": "0  3 * * *", "name": "nightly", "paused": True}
    made = admin.post("/v1/schedules", json=body).json()
    assert (made["name"], made["cron"], made["every"], made["paused"]) == (
        "nightly", "0 3 * * *", None, True,
    )  # fmt: skip
    assert made["next_run_at"] == "2026-01-01T03:00:00+00:00"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"kind": "train", "every": "1h"}, 422, "unknown_schedule_kind"),
        ({"kind": "noop", "every": "1h", "cron": "0 3 * * *"}, 422, "invalid_schedule"),
        ({"kind": "noop"}, 422, "invalid_schedule"),
        ({"kind": "noop", "every": "30s"}, 422, "interval_too_short"),
        ({"kind": "noop", "every": "often"}, 422, "invalid_interval"),
        ({"kind": "noop", "cron": "0 3 * *"}, 422, "invalid_cron"),
        ({"kind": "noop", "cron": "99 * * * *"}, 422, "invalid_cron"),
        ({"kind": "noop", "every": "1h", "name": "no spaces"}, 422, "invalid_schedule_name"),
        ({"kind": "flywheel", "every": "1d", "payload": {}}, 422, "invalid_job_payload"),
        ({"kind": "flywheel", "every": "1d", "payload": {"model": "m", "x": 1}}, 422,
         "invalid_job_payload"),
        ({"kind": "flywheel", "every": "1d", "payload": {"model": "m", "min_delta": -1}}, 422,
         "invalid_min_delta"),
        # issue-13 QA 5: no string or boolean is a number, a flag or a text
        *(
            ({"kind": "flywheel", "every": "1d", "payload": {"model": "m", "min_delta": bad}},
             422, "invalid_min_delta")
            for bad in ("0.1", "0", True, False, None)
        ),
        ({"kind": "flywheel", "every": "1d", "payload": {"model": 5}}, 422,
         "invalid_job_payload"),
        ({"kind": "flywheel", "every": "1d", "payload": {"model": True}}, 422,
         "invalid_job_payload"),
        ({"kind": "noop", "every": "1h", "paused": "true"}, 422, "invalid_input"),
        ({"kind": "noop", "every": "1h", "paused": 1}, 422, "invalid_input"),
        ({"kind": "noop", "every": 3600}, 422, "invalid_input"),
        ({"kind": "noop", "cron": True}, 422, "invalid_input"),
        ({"kind": True, "every": "1h"}, 422, "invalid_input"),
        ({"kind": "noop", "every": "1h", "name": 5}, 422, "invalid_input"),
        ({"kind": "noop", "every": "1h", "description": False}, 422, "invalid_input"),
        ({"kind": "flywheel", "every": "1d", "payload": {"model": "nope"}}, 404,
         "model_not_found"),
        ({"kind": "noop", "every": "1h", "unknown": 1}, 422, None),
        ({"kind": "noop", "every": "1h", "payload": "x"}, 422, None),
    ],
)  # fmt: skip
def test_bad_schedule_is_a_named_problem_and_writes_nothing(
    api: ClientFactory, tenants: Tenants, ws: Workspace, body: dict[str, Any], status: int,
    code: str | None,
) -> None:  # fmt: skip
    response = api(tenants.keys["acme:admin"]).post("/v1/schedules", json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    if code is not None:
        assert response.json()["code"] == code
    assert _count(ws) == 0


def test_name_in_use_is_409_and_another_org_may_use_it(
    api: ClientFactory, tenants: Tenants, ws: Workspace
) -> None:
    body = {"kind": "noop", "every": "1h"}
    assert api(tenants.keys["acme:admin"]).post("/v1/schedules", json=body).status_code == 201
    again = api(tenants.keys["acme:admin"]).post("/v1/schedules", json=body)
    assert (again.status_code, again.json()["code"]) == (409, "schedule_exists")
    assert api(tenants.keys["globex:admin"]).post("/v1/schedules", json=body).status_code == 201
    assert _count(ws) == 2


def test_another_orgs_schedule_is_404_everywhere_and_roles(
    api: ClientFactory, tenants: Tenants
) -> None:
    made = api(tenants.keys["acme:admin"]).post(
        "/v1/schedules", json={"kind": "noop", "every": "1h"}
    )
    schedule_id = made.json()["id"]
    globex = api(tenants.keys["globex:owner"])
    for method, suffix in (("GET", ""), ("POST", "/pause"), ("POST", "/resume"), ("DELETE", "")):
        for ref in (schedule_id, "noop"):
            answer = globex.request(method, f"/v1/schedules/{ref}{suffix}")
            assert (answer.status_code, answer.json()["code"]) == (404, "schedule_not_found")
            assert schedule_id not in answer.text or ref == schedule_id
    assert globex.get("/v1/schedules").json() == []
    developer = api(tenants.keys["acme:developer"])
    assert developer.get(f"/v1/schedules/{schedule_id}").status_code == 200
    assert developer.post(f"/v1/schedules/{schedule_id}/pause").status_code == 403
    assert developer.post("/v1/schedules", json={"kind": "noop", "every": "2h"}).status_code == 403
    assert api(tenants.keys["acme:annotator"]).get("/v1/schedules").status_code == 403
    shown = api(tenants.keys["acme:viewer"]).get(f"/v1/schedules/{schedule_id}").json()
    assert shown["paused"] is False


def test_sdk_schedule_methods_and_their_errors(sdk: Client, ws: Workspace) -> None:
    made = sdk.create_schedule("noop", every="1h", payload={"n": 2}, name="hourly")
    assert (made.name, made.every, made.payload) == ("hourly", "1h", {"n": 2})
    assert [s.id for s in sdk.schedules()] == [made.id]
    assert sdk.schedules(kind="flywheel") == []
    assert sdk.schedule("hourly").id == made.id
    assert sdk.pause_schedule(made.id).paused is True
    assert sdk.resume_schedule("hourly").paused is False
    with pytest.raises(Conflict) as exists:
        sdk.create_schedule("noop", every="2h", name="hourly")
    assert exists.value.code == "schedule_exists"
    with pytest.raises(InvalidInput) as short:
        sdk.create_schedule("noop", every="10s", name="fast")
    assert short.value.code == "interval_too_short"
    with pytest.raises(NotFound) as missing:
        sdk.create_schedule("flywheel", cron="0 3 * * *", payload={"model": "nope"})
    assert missing.value.code == "model_not_found"
    assert sdk.delete_schedule("hourly").id == made.id
    with pytest.raises(NotFound) as gone:
        sdk.schedule(made.id)
    assert gone.value.code == "schedule_not_found"
    assert _count(ws) == 0


def test_the_in_process_worker_fires_a_due_schedule(
    app: FastAPI, tenants: Tenants, clock: FixedClock, ws: Workspace
) -> None:
    transport = PortalTransport(app)
    try:
        with (
            transport.lifespan(app),
            Client("http://testserver", tenants.keys["acme:admin"], transport=transport) as sdk,
        ):
            made = sdk.create_schedule("noop", every="1h")
            clock.advance(3600)  # due now: the worker sees it at its next look
            deadline = time.monotonic() + 30
            while (shown := sdk.schedule(made.id)).last_outcome is None:
                assert time.monotonic() < deadline, "the in-process worker fired nothing"
                time.sleep(0.05)
            assert (shown.last_outcome, shown.run_count) == ("enqueued", 1)
            deadline = time.monotonic() + 30
            while (job := _job(ws, shown.last_job_id)).status != "succeeded":
                assert time.monotonic() < deadline, f"the noop job is still {job.status}"
                time.sleep(0.05)
            assert job.kind == "noop"
    finally:
        transport.shutdown()
