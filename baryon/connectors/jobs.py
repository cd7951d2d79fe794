"""Sources as jobs and on schedules: the ``source_run`` job kind.

::

    from baryon.connectors.jobs import source_handlers, source_schedule_kinds

    Worker(ws, source_handlers()).run_once()           # runs queued source pulls
    plan_schedule(ws, source_schedule_kinds(), kind="source_run",
                  payload={"source": "news"}, every="15m")

A ``source_run`` job's payload is ``{"source": NAME}``; the job runs
:func:`~baryon.connectors.sources.run_source` for the job's organization (actor
``job:…``, trigger ``job``) and returns the run's summary. A run that fails (an
unreachable feed, malformed JSON, a refused address) is recorded as a failed run of
the source and the job still succeeds: the failure belongs to the source, not to the
worker, and the schedule goes on. A source removed since the job was queued fails
the job (``source_not_found``).

A schedule's default name is ``source-NAME`` (one schedule per source unless named).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from baryon.connectors.sources import Sink, get_source, run_source
from baryon.core.errors import InvalidInput
from baryon.jobs.schedules import ScheduledKind
from baryon.jobs.worker import Handler, JobContext

if TYPE_CHECKING:
    from baryon.workspace import Workspace

__all__ = ["SOURCE_RUN", "SourceSchedule", "source_handlers", "source_schedule_kinds"]

SOURCE_RUN = "source_run"
_SUMMARY = ("id", "status", "fetched", "new", "duplicate", "failed", "version_id", "error_code")


def _source_name(payload: Mapping[str, Any]) -> str:
    name = payload.get("source")
    if not isinstance(name, str) or not name or len(name) > 200 or set(payload) - {"source"}:
        raise InvalidInput("a source_run payload is {'source': NAME}", code="invalid_job_payload")
    return name


def source_handlers(sinks: Mapping[str, Sink] | None = None) -> dict[str, Handler]:
    """Return ``{"source_run": handler}``; ``sinks`` are passed to every run."""
    given = dict(sinks or {})

    def source_run(ctx: JobContext) -> dict[str, Any]:
        name = _source_name(ctx.payload)
        ws = ctx.workspace.for_org(ctx.job.org_id)
        ctx.progress("pull", 0)
        run = run_source(ws, name, actor=f"job:{ctx.job.id}", trigger="job", sinks=given)
        return {"source": name, **{k: run[k] for k in _SUMMARY}}

    return {SOURCE_RUN: source_run}


class SourceSchedule(ScheduledKind):
    """Schedules of the ``source_run`` kind: one run of a source per due time."""

    def __init__(self) -> None:
        super().__init__(SOURCE_RUN, max_attempts=1)

    def check(self, payload: dict[str, Any]) -> dict[str, Any]:
        """``{"source": NAME}`` (``invalid_job_payload`` otherwise)."""
        return {"source": _source_name(payload)}

    def default_name(self, payload: dict[str, Any]) -> str:
        """``source-NAME``."""
        return f"source-{payload['source']}"

    def prepare(self, ws: Workspace, payload: dict[str, Any]) -> Any:
        """Check the source exists in the organization (``source_not_found``)."""
        get_source(ws, payload["source"], runs=0)
        return payload


def source_schedule_kinds() -> dict[str, ScheduledKind]:
    """Return ``{"source_run": SourceSchedule()}`` (a new dict each call)."""
    return {SOURCE_RUN: SourceSchedule()}
