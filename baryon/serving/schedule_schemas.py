"""Request and response bodies of the schedule routes (``/v1/schedules``, pydantic v2).

Kept apart from :mod:`baryon.serving.schemas` like the flywheel's bodies; imports
nothing but pydantic, so :mod:`baryon.client` types its answers with them without
loading the app. Requests refuse unknown fields (``extra="forbid"``). What the fields
mean: :mod:`baryon.jobs.schedules` and ``docs/jobs.md``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

__all__ = ["ScheduleOut", "ScheduleRequest"]


class ScheduleRequest(BaseModel):
    """``POST /v1/schedules``: enqueue a job of ``kind`` every interval or on a cron."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(max_length=64, description="A schedulable job kind (today: flywheel).")
    payload: dict[str, Any] = Field(
        default_factory=dict,
        description="The job's input; a flywheel schedule's is {'model': NAME, 'min_delta': X}.",
    )
    every: str | None = Field(
        default=None, max_length=20, description="An interval: 30s, 15m, 2h, 1d (at least 60 s)."
    )
    cron: str | None = Field(
        default=None,
        max_length=200,
        description="A 5-field cron expression evaluated in UTC, e.g. '0 3 * * *'.",
    )
    name: str | None = Field(
        default=None,
        max_length=200,
        description="Unique in the organization (default: the kind's, flywheel-MODEL).",
    )
    description: str | None = Field(default=None, max_length=500)
    paused: StrictBool = Field(default=False, description="Make it paused (it fires once resumed).")


class ScheduleOut(BaseModel):
    """One schedule: what it enqueues, when, and what its last firing did."""

    id: str
    org_id: str
    name: str
    kind: str
    payload: dict[str, Any]
    every: str | None
    every_seconds: int | None
    cron: str | None
    timezone: Literal["UTC"]
    description: str | None
    paused: bool
    next_run_at: datetime
    last_run_at: datetime | None
    last_outcome: Literal["enqueued", "skipped", "failed"] | None
    last_job_id: str | None
    last_error_code: str | None
    last_error: str | None
    run_count: int
    skip_count: int
    missed_count: int
    created_by: str
    created_at: datetime
    updated_at: datetime
