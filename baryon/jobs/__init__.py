"""Baryon's durable background jobs: a queue in the metadata database, and workers.

Public surface::

    from baryon.jobs import JobQueue, Worker, builtin_handlers

    queue = JobQueue(ws.db, ws.clock)
    job = queue.enqueue("sleep", {"seconds": 2}, org_id=org.id)
    Worker(ws, builtin_handlers()).run_once()
    queue.get(job.id, org_id=org.id).status        # 'succeeded'

Schedules (:mod:`baryon.jobs.schedules`) enqueue a job of one kind every interval or
on a cron expression; a worker given a :class:`Scheduler` fires the due ones, each due
time once however many workers run (:mod:`baryon.jobs.scheduler`).

See ``docs/jobs.md`` for statuses, leases and recovery, schedules, and why the queue
lives in the metadata database.
"""

from __future__ import annotations

from baryon.jobs.builtin import builtin_handlers
from baryon.jobs.queue import (
    CANCELLED,
    FAILED,
    JOB_STATUSES,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    TERMINAL_STATUSES,
    Job,
    JobQueue,
    LeaseState,
    ReapReport,
)
from baryon.jobs.scheduler import Firing, Scheduler
from baryon.jobs.schedules import Schedule, ScheduledKind
from baryon.jobs.wakeup import LocalWakeup, RedisWakeup, Wakeup, open_wakeup
from baryon.jobs.worker import BackgroundWorker, Handler, JobCancelled, JobContext, Worker

__all__ = [
    "CANCELLED",
    "FAILED",
    "JOB_STATUSES",
    "QUEUED",
    "RUNNING",
    "SUCCEEDED",
    "TERMINAL_STATUSES",
    "BackgroundWorker",
    "Firing",
    "Handler",
    "Job",
    "JobCancelled",
    "JobContext",
    "JobQueue",
    "LeaseState",
    "LocalWakeup",
    "ReapReport",
    "RedisWakeup",
    "Schedule",
    "ScheduledKind",
    "Scheduler",
    "Wakeup",
    "Worker",
    "builtin_handlers",
    "open_wakeup",
]
