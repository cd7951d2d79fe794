"""Fire due schedules: each due time enqueues one job, once, whatever the number of workers.

Every worker (``baryon worker``, and the in-process worker of ``baryon serve``) calls
:meth:`Scheduler.run_due` between jobs, at most once per poll interval. For each due
schedule of a kind it knows:

1. the kind's :meth:`~baryon.jobs.schedules.ScheduledKind.prepare` runs first, outside
   any transaction (it may read with sessions of its own);
2. one transaction, scoped to the schedule's organization, **claims** the due time with
   a conditional ``UPDATE … SET next_run_at = <following> WHERE id = … AND next_run_at
   = <the due time read> AND NOT paused``. Only one worker's update matches: on
   PostgreSQL a second updater waits for the first's row lock and then finds
   ``next_run_at`` changed (zero rows); on SQLite ``BEGIN IMMEDIATE`` lets one writer in
   at a time. A worker that matched zero rows does nothing more;
3. in the same transaction the job is enqueued (``enqueued``) — unless the job the
   schedule enqueued last is still queued or running (``skipped``, code
   ``previous_job_unfinished``), the kind reports the work already under way
   (``skipped`` with its code, e.g. ``cycle_in_progress``), or preparing or submitting
   failed (``failed`` with the error's code; the kind's partial writes are rolled back
   to a savepoint). The outcome is recorded on the schedule.

The claim and the enqueue commit together, so a due time yields exactly one job (or
one recorded skip): a worker that dies before the commit leaves the schedule due for
the next worker. The following due time is the first one **after now**, so a schedule
that missed many due times while no worker ran fires once (``missed_count`` counts
the rest). Times come from the workspace's clock, so tests move time by hand.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from baryon.core.errors import BaryonError, Conflict
from baryon.core.scope import SYSTEM, Scope
from baryon.jobs.queue import QUEUED, RUNNING, JobQueue
from baryon.jobs.schedules import ScheduledKind, next_due
from baryon.jobs.tables import JobRow, JobScheduleRow

if TYPE_CHECKING:
    from baryon.workspace import Workspace

__all__ = ["ENQUEUED", "FAILED_TO_FIRE", "SKIPPED", "Firing", "Scheduler"]

logger = logging.getLogger("baryon.jobs")

#: Outcomes of a firing.
ENQUEUED = "enqueued"
SKIPPED = "skipped"
FAILED_TO_FIRE = "failed"

_MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class Firing:
    """What one due time of one schedule did.

    Attributes
    ----------
    schedule_id, org_id, kind : str
    due_at : datetime
        The due time fired (UTC).
    next_run_at : datetime
        The schedule's next due time.
    outcome : str
        ``enqueued``, ``skipped`` or ``failed``.
    job_id : str or None
        The job enqueued.
    error_code, error : str or None
        Why it skipped or failed.
    missed : int
        Further due times passed over (fired once, not once each).
    """

    schedule_id: str
    org_id: str
    kind: str
    due_at: datetime
    next_run_at: datetime
    outcome: str
    job_id: str | None = None
    error_code: str | None = None
    error: str | None = None
    missed: int = 0


class Scheduler:
    """Fires the due schedules of the kinds it is given.

    Parameters
    ----------
    workspace : Workspace
        The workspace (its database and clock; organizations' views are made from it).
    kinds : mapping of str to ScheduledKind
        The kinds it fires; schedules of other kinds are left for a worker that knows them.
    queue : JobQueue, optional
        Where jobs go (default: a queue on the workspace's database and clock). Give the
        worker's queue so its wake-up is told.
    batch : int
        Most schedules fired by one :meth:`run_due` (the rest at the next call).
    """

    def __init__(
        self,
        workspace: Workspace,
        kinds: Mapping[str, ScheduledKind],
        *,
        queue: JobQueue | None = None,
        batch: int = 100,
    ) -> None:
        self.workspace = workspace
        self.kinds = dict(kinds)
        self.queue = queue if queue is not None else JobQueue(workspace.db, workspace.clock)
        self.batch = batch

    def run_due(self) -> list[Firing]:
        """Fire every due, unpaused schedule of this scheduler's kinds (up to ``batch``).

        Returns
        -------
        list of Firing
            The firings this call made (a due time another worker claimed first is not
            in it). Errors of one schedule never stop the others; they are recorded on
            the schedule, or logged when the database itself failed.
        """
        if not self.kinds:
            return []
        now = self.workspace.clock.now()
        stmt = (
            select(
                JobScheduleRow.id,
                JobScheduleRow.org_id,
                JobScheduleRow.kind,
                JobScheduleRow.payload,
                JobScheduleRow.next_run_at,
                JobScheduleRow.every_seconds,
                JobScheduleRow.cron,
            )
            .where(
                JobScheduleRow.paused.is_(False),
                JobScheduleRow.next_run_at <= now,
                JobScheduleRow.kind.in_(sorted(self.kinds)),
            )
            .order_by(JobScheduleRow.next_run_at, JobScheduleRow.id)
            .limit(self.batch)
        )
        with self.workspace.db.session(SYSTEM) as session:
            due = session.execute(stmt).all()
        firings = []
        for row in due:
            try:
                firing = self._fire(*row, now=now)
            except Exception:
                logger.exception("schedule %s: cannot fire it; trying again next time", row[0])
                continue
            if firing is not None:
                firings.append(firing)
        return firings

    def _fire(
        self,
        schedule_id: str,
        org_id: str,
        kind_name: str,
        payload: dict[str, Any],
        due_at: datetime,
        every_seconds: int | None,
        cron: str | None,
        *,
        now: datetime,
    ) -> Firing | None:
        kind = self.kinds[kind_name]
        scope = Scope.own(org_id)
        ws = self.workspace.with_scope(scope)
        prepared: Any = None
        problem: BaryonError | None = None
        try:
            prepared = kind.prepare(ws, dict(payload))
        except Exception as exc:
            problem = _as_error(exc, schedule_id)
        following, due = next_due(every_seconds=every_seconds, cron=cron, due_at=due_at, now=now)
        actor = f"schedule:{schedule_id}"
        with self.workspace.db.session(scope) as session:
            claimed = session.execute(
                update(JobScheduleRow)
                .where(
                    JobScheduleRow.id == schedule_id,
                    JobScheduleRow.next_run_at == due_at,
                    JobScheduleRow.paused.is_(False),
                )
                .values(next_run_at=following, last_run_at=now, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            if getattr(claimed, "rowcount", 0) != 1:
                return None  # another worker fired this due time, or it was paused
            row = session.scalars(
                select(JobScheduleRow).where(JobScheduleRow.id == schedule_id)
            ).one()
            outcome, job_id = FAILED_TO_FIRE, None
            previous = None if row.last_job_id is None else session.get(JobRow, row.last_job_id)
            if previous is not None and previous.status in (QUEUED, RUNNING):
                outcome = SKIPPED
                problem = Conflict(
                    f"the job this schedule enqueued last ({previous.id}) is still "
                    f"{previous.status}",
                    code="previous_job_unfinished",
                )
            elif problem is None:
                try:
                    with session.begin_nested():
                        job = kind.submit(ws, self.queue, prepared, session=session, actor=actor)
                    outcome, job_id = ENQUEUED, job.id
                except Conflict as exc:
                    outcome, problem = SKIPPED, exc
                except Exception as exc:
                    problem = _as_error(exc, schedule_id)
            row.last_outcome = outcome
            row.missed_count += max(0, due - 1)
            row.last_error_code = None if problem is None else problem.code
            row.last_error = None if problem is None else problem.message[:_MAX_ERROR_CHARS]
            if outcome == ENQUEUED:
                row.last_job_id = job_id
                row.run_count += 1
            else:
                row.skip_count += 1
            session.flush()
        firing = Firing(
            schedule_id=schedule_id, org_id=org_id, kind=kind_name, due_at=due_at,
            next_run_at=following, outcome=outcome, job_id=job_id,
            error_code=None if problem is None else problem.code,
            error=None if problem is None else problem.message, missed=max(0, due - 1),
        )  # fmt: skip
        log = logger.info if outcome == ENQUEUED else logger.warning
        log(
            "schedule %s (%s) %s%s%s",
            schedule_id,
            kind_name,
            outcome,
            f" job {job_id}" if job_id else f": error[{firing.error_code}] {firing.error}",
            f"; {firing.missed} missed due times not caught up" if firing.missed else "",
        )
        return firing


def _as_error(exc: Exception, schedule_id: str) -> BaryonError:
    """A Baryon error as it is; anything else as ``internal_error`` (traceback logged)."""
    if isinstance(exc, BaryonError):
        return exc
    logger.error("schedule %s: firing failed", schedule_id, exc_info=exc)
    return BaryonError(f"{type(exc).__name__}: {exc}"[:500], code="internal_error")
