"""The ``jobs`` table (the state of record of every background job) and ``job_schedules``.

``jobs`` is created by migration ``0008`` (``baryon/core/migrations/versions/0008_jobs.py``),
``job_schedules`` by ``0011``; ``tests/jobs/test_jobs_tables.py`` checks they agree.

A job row is claimed by a worker with a **lease** (``lease_owner``, ``lease_expires_at``)
that the worker renews while the job runs; see :mod:`baryon.jobs.queue`. A schedule row
is fired by a worker when its ``next_run_at`` is due; see :mod:`baryon.jobs.scheduler`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

import baryon.tenancy.tables  # noqa: F401  (organizations: the foreign key's target)
from baryon.core.db import Base, JSONType, UTCDateTime
from baryon.core.scope import OrgOwned

__all__ = ["JobRow", "JobScheduleRow"]


class JobRow(Base):
    """One background job (table ``jobs``)."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_status_created", "status", "created_at"),
        Index("ix_jobs_org_created", "org_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("organizations.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(16))
    stage: Mapped[str | None] = mapped_column(String(200), nullable=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    lease_owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class JobScheduleRow(OrgOwned, Base):
    """When to enqueue a job of one kind (table ``job_schedules``).

    Attributes
    ----------
    id : str
        ``sch_…``.
    name : str
        Unique in the organization (default: the kind's, e.g. ``flywheel:MODEL``).
    kind : str
        The job kind it enqueues.
    payload : dict
        The kind's input (JSON), checked when the schedule is made.
    every_seconds : int or None
        The interval in seconds (``every``), or ``None`` for a cron schedule.
    cron : str or None
        A 5-field cron expression evaluated in UTC, or ``None``.
    paused : bool
    next_run_at : datetime
        The next due time (UTC).
    last_run_at, last_outcome, last_job_id, last_error_code, last_error
        When it last fired, what happened (``enqueued``, ``skipped``, ``failed``), the
        job it enqueued, and why it skipped or failed.
    run_count, skip_count, missed_count : int
        Jobs enqueued; firings skipped or failed; due times passed over while no
        worker ran (fired once, not once each).
    """

    __tablename__ = "job_schedules"
    __table_args__ = (
        UniqueConstraint("org_id", "name", name="uq_job_schedules_org_id_name"),
        Index("ix_job_schedules_paused_next", "paused", "next_run_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    every_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cron: Mapped[str | None] = mapped_column(String(200), nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    last_job_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    last_error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    run_count: Mapped[int] = mapped_column(Integer, default=0)
    skip_count: Mapped[int] = mapped_column(Integer, default=0)
    missed_count: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
