"""Billing's close job on a schedule: an operator organization's only, fired like any other."""

from __future__ import annotations

from servingkit import ClientFactory, Tenants
from sqlalchemy import func, select

from baryon.core.clock import FixedClock
from baryon.core.scope import SYSTEM
from baryon.job_kinds import default_schedule_kinds
from baryon.jobs.scheduler import Scheduler
from baryon.jobs.tables import JobRow, JobScheduleRow
from baryon.workspace import Workspace


def _schedules(ws: Workspace) -> int:
    with ws.db.session(SYSTEM) as s:
        return int(s.scalar(select(func.count()).select_from(JobScheduleRow)) or 0)


def test_only_an_operator_org_schedules_billing_close(
    api: ClientFactory, tenants: Tenants, ws: Workspace
) -> None:
    body = {"kind": "billing_close", "every": "1d"}
    refused = api(tenants.keys["acme:admin"]).post("/v1/schedules", json=body)
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    ops = api(tenants.keys["ops:admin"])
    bad = ops.post("/v1/schedules", json={**body, "payload": {"period": "2026-01"}})
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_job_payload")
    assert _schedules(ws) == 0  # nothing written by a refusal
    made = ops.post("/v1/schedules", json={**body, "payload": {"issue": False}})
    assert made.status_code == 201, made.text
    assert (made.json()["kind"], made.json()["payload"]) == ("billing_close", {"issue": False})


def test_a_due_billing_close_schedule_queues_the_close_job(
    api: ClientFactory, tenants: Tenants, ws: Workspace, clock: FixedClock
) -> None:
    made = api(tenants.keys["ops:admin"]).post(
        "/v1/schedules", json={"kind": "billing_close", "every": "1d"}
    )
    assert made.status_code == 201, made.text
    clock.advance(86400)
    (firing,) = Scheduler(ws, default_schedule_kinds()).run_due()
    with ws.db.session(SYSTEM) as s:
        job = s.get(JobRow, firing.job_id)
        assert job is not None
        assert (job.kind, job.org_id) == ("billing_close", tenants.org_ids["ops"])
