"""Baryon's durable background jobs: a queue in the metadata database, and workers.

Public surface::

    from baryon.jobs import JobQueue, Worker, builtin_handlers

    queue = JobQueue(ws.db, ws.clock)
    job = queue.enqueue("sleep", {"seconds": 2}, org_id=org.id)
    Worker(ws, builtin_handlers()).run_once()
    queue.get(job.id, org_id=org.id).status        # 'succeeded'

See ``docs/jobs.md`` for statuses, leases and recovery, and why the queue lives in
the metadata database.
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
    "Handler",
    "Job",
    "JobCancelled",
    "JobContext",
    "JobQueue",
    "LeaseState",
    "LocalWakeup",
    "ReapReport",
    "RedisWakeup",
    "Wakeup",
    "Worker",
    "builtin_handlers",
    "open_wakeup",
]
