"""Request and response bodies of the schedule routes (``/v1/schedules``, pydantic v2).

Kept apart from :mod:`baryon.serving.schemas` like the flywheel's bodies; imports
nothing but pydantic and :mod:`baryon.serving.fields`, so :mod:`baryon.client` types
its answers with them without loading the app. Requests refuse unknown fields
(``extra="forbid"``). What the fields mean: :mod:`baryon.jobs.schedules` and ``docs/jobs.md``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from baryon.jobs.schedules import EVERY_PATTERN
from baryon.serving.fields import named

#: Exactly one of ``every`` and ``cron`` (a null one is not given): ``invalid_schedule``.
_TIMING: dict[str, Any] = {
    "oneOf": [
        {"required": [given], "properties": {given: {"type": "string"}, other: {"type": "null"}}}
        for given, other in (("every", "cron"), ("cron", "every"))
    ]
}

__all__ = ["ScheduleOut", "ScheduleRequest"]


class ScheduleRequest(BaseModel):
    """``POST /v1/schedules``: enqueue a job of ``kind`` every interval or on a cron."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_TIMING)

    kind: str = Field(max_length=64, description="A schedulable job kind (today: flywheel).")
    payload: dict[str, Any] = Field(
        default_factory=dict,
        description="The job's input; a flywheel schedule's is {'model': NAME, 'min_delta': X}.",
    )
    every: (
        Annotated[
            str,
            Field(max_length=20, pattern=EVERY_PATTERN),
            named("invalid_interval", "an interval is a whole number and s, m, h or d"),
        ]
        | None
    ) = Field(default=None, description="An interval: 30s, 15m, 2h, 1d (at least 60 s).")
    cron: str | None = Field(
        default=None,
        max_length=200,
        description="A 5-field cron expression evaluated in UTC, e.g. '0 3 * * *'.",
    )
    name: (
        Annotated[
            str,
            Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$"),
            named("invalid_schedule_name", "a schedule name is 1-200 letters, digits, . _ -"),
        ]
        | None
    ) = Field(
        default=None,
        description="Unique in the organization (default: the kind's, flywheel-MODEL).",
    )
    description: (
        Annotated[
            str,
            Field(max_length=500, pattern=r"^[^\x00-\x08\x0b-\x1f\x7f]*$"),
            named("invalid_description", "a description has no control characters"),
        ]
        | None
    ) = None
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
