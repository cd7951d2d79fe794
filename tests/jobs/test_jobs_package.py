"""The public surface of baryon.jobs, and import hygiene."""

from __future__ import annotations

import baryon.jobs


def test_jobs_public_api_is_pinned() -> None:
    assert baryon.jobs.__all__ == [
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
    for name in baryon.jobs.__all__:
        assert hasattr(baryon.jobs, name)


def test_builtin_handlers_returns_a_fresh_mapping() -> None:
    first = baryon.jobs.builtin_handlers()
    first.pop("noop")
    assert set(baryon.jobs.builtin_handlers()) == {"noop", "sleep"}
