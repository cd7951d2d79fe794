"""The job queue: enqueue, read, cancel, and the lease operations workers use.

The state of record of every job is its row in the ``jobs`` table of the
workspace's metadata database (:class:`~baryon.jobs.tables.JobRow`). A worker
**claims** the oldest queued job of a kind it can run by writing a lease on it
(``lease_owner``, ``lease_expires_at``) in one transaction: ``SELECT ... FOR UPDATE
SKIP LOCKED`` on PostgreSQL, a ``BEGIN IMMEDIATE`` transaction on SQLite (the
:class:`~baryon.core.db.Database` opens every SQLite transaction that way), so two
workers never claim one job. The worker renews the lease while the job runs; a job
whose lease expired (its worker was killed) is put back in the queue, or failed with
``worker_lost`` once it used all its attempts (:meth:`JobQueue.reap`).

Statuses::

    queued ──claim──► running ──► succeeded | failed | cancelled
      │  ▲               │
      │  └─ lease expired (attempts left) or worker stopping (released)
      └──cancel──► cancelled
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from baryon.core.audit import record_audit
from baryon.core.clock import Clock, SystemClock
from baryon.core.db import Database
from baryon.core.errors import Conflict, InvalidInput, NotFound
from baryon.core.ids import new_id
from baryon.jobs.tables import JobRow
from baryon.jobs.wakeup import Wakeup

__all__ = [
    "CANCELLED",
    "FAILED",
    "JOB_STATUSES",
    "QUEUED",
    "RUNNING",
    "SUCCEEDED",
    "TERMINAL_STATUSES",
    "Job",
    "JobQueue",
    "LeaseState",
    "ReapReport",
    "check_payload",
]

QUEUED = "queued"
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELLED = "cancelled"

#: Every status a job can have, in lifecycle order.
JOB_STATUSES = (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED)
#: Statuses a job never leaves.
TERMINAL_STATUSES = frozenset({SUCCEEDED, FAILED, CANCELLED})

_KIND_RE = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")
_MAX_ATTEMPTS_CAP = 100
_MAX_STAGE_CHARS = 200
_MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class Job:
    """A job as stored (immutable snapshot).

    Attributes
    ----------
    id : str
        ``job_…``.
    org_id : str
        The organization that owns the job.
    kind : str
        What the job does (``train``, ``sleep``, ...): the key of its handler.
    payload : dict
        The handler's input (JSON).
    status : str
        One of :data:`JOB_STATUSES`.
    stage : str or None
        What the running job is doing now, as its handler last reported.
    progress : float
        Percent done, 0–100, as its handler last reported (100 when succeeded).
    attempts, max_attempts : int
        Times the job was claimed by a worker, and the most it may be.
    cancel_requested : bool
        Whether someone asked to cancel it.
    lease_owner : str or None
        ``<worker name>:<token>`` of the worker holding it (running jobs only).
    lease_expires_at, heartbeat_at : datetime or None
        When the lease ends unless renewed; when the worker last renewed it (UTC).
    error_code, error : str or None
        Why the job failed: a stable code (``worker_lost``, ``internal_error``, or the
        code of the :class:`~baryon.core.errors.BaryonError` its handler raised) and
        a message.
    result : dict or None
        What the handler returned (JSON), for succeeded jobs.
    created_at : datetime
        When it was enqueued (UTC).
    started_at, ended_at : datetime or None
        When its latest attempt started; when it reached a terminal status (UTC).
    """

    id: str
    org_id: str
    kind: str
    payload: dict[str, Any]
    status: str
    stage: str | None
    progress: float
    attempts: int
    max_attempts: int
    cancel_requested: bool
    lease_owner: str | None
    lease_expires_at: datetime | None
    heartbeat_at: datetime | None
    error_code: str | None
    error: str | None
    result: dict[str, Any] | None
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None

    @property
    def finished(self) -> bool:
        """Whether the job reached a terminal status (succeeded, failed, cancelled)."""
        return self.status in TERMINAL_STATUSES

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (datetimes as ISO 8601 strings)."""
        out = asdict(self)
        for name in ("lease_expires_at", "heartbeat_at", "created_at", "started_at", "ended_at"):
            value = out[name]
            out[name] = value.isoformat() if value is not None else None
        return out

    @classmethod
    def from_row(cls, row: JobRow) -> Job:
        """Build a snapshot from a ``jobs`` row."""
        return cls(
            id=row.id,
            org_id=row.org_id,
            kind=row.kind,
            payload=dict(row.payload),
            status=row.status,
            stage=row.stage,
            progress=float(row.progress),
            attempts=row.attempts,
            max_attempts=row.max_attempts,
            cancel_requested=bool(row.cancel_requested),
            lease_owner=row.lease_owner,
            lease_expires_at=row.lease_expires_at,
            heartbeat_at=row.heartbeat_at,
            error_code=row.error_code,
            error=row.error,
            result=None if row.result is None else dict(row.result),
            created_at=row.created_at,
            started_at=row.started_at,
            ended_at=row.ended_at,
        )


@dataclass(frozen=True)
class LeaseState:
    """What a worker learns when it renews a lease or reports progress.

    Attributes
    ----------
    owned : bool
        The worker still holds the job (``False``: the lease expired and the job was
        handed to another attempt, or the job ended; the worker must stop).
    cancel_requested : bool
        Someone asked to cancel the job.
    """

    owned: bool
    cancel_requested: bool


@dataclass(frozen=True)
class ReapReport:
    """What :meth:`JobQueue.reap` did.

    Attributes
    ----------
    requeued : tuple of str
        Ids of jobs whose lease expired and that went back to the queue.
    failed : tuple of str
        Ids of jobs whose lease expired on their last attempt (``worker_lost``).
    cancelled : tuple of str
        Ids of jobs whose lease expired after a cancel was requested.
    """

    requeued: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    cancelled: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        """Number of jobs the reaper moved."""
        return len(self.requeued) + len(self.failed) + len(self.cancelled)


def check_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Return a job payload as a plain JSON object (a copy).

    Raises
    ------
    InvalidInput
        ``invalid_job_payload``: not a mapping, or not JSON (NaN, infinities, keys
        that are not strings, values JSON cannot hold).
    """
    if not isinstance(payload, Mapping):
        raise InvalidInput(
            f"a job payload must be a JSON object, got {type(payload).__name__}",
            code="invalid_job_payload",
        )
    try:
        return dict(json.loads(json.dumps(dict(payload), allow_nan=False)))
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"a job payload must be JSON (finite numbers, string keys): {exc}",
            code="invalid_job_payload",
        ) from None


def _check_result(result: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if result is None:
        return None
    if not isinstance(result, Mapping):
        raise TypeError(f"a job handler must return a dict or None, not {type(result).__name__}")
    return dict(json.loads(json.dumps(dict(result), allow_nan=False)))


class JobQueue:
    """Durable background jobs in the workspace's metadata database.

    Parameters
    ----------
    db : Database
        The workspace's metadata database (SQLite or PostgreSQL).
    clock : Clock, optional
        Time source for timestamps and leases (default: the system clock).
    wakeup : Wakeup, optional
        Told after every enqueue so waiting workers start at once instead of at
        their next poll (see :mod:`baryon.jobs.wakeup`). Default: none (workers poll).

    Examples
    --------
    >>> queue = JobQueue(ws.db)                                      # doctest: +SKIP
    >>> job = queue.enqueue("sleep", {"seconds": 1}, org_id=org.id)  # doctest: +SKIP
    >>> queue.get(job.id, org_id=org.id).status                      # doctest: +SKIP
    'queued'
    """

    def __init__(
        self, db: Database, clock: Clock | None = None, *, wakeup: Wakeup | None = None
    ) -> None:
        self.db = db
        self.clock: Clock = clock or SystemClock()
        self.wakeup = wakeup

    # ------------------------------------------------------------------ callers
    def enqueue(
        self,
        kind: str,
        payload: Mapping[str, Any] | None = None,
        *,
        org_id: str,
        max_attempts: int = 3,
        session: Session | None = None,
    ) -> Job:
        """Add a job to the queue.

        Parameters
        ----------
        kind : str
            The handler that runs it (``^[a-z][a-z0-9_.-]{0,63}$``), e.g. ``"train"``.
        payload : mapping, optional
            The handler's input: a JSON object (finite numbers, string keys).
        org_id : str
            The organization that owns the job (must exist).
        max_attempts : int
            Most times a worker may claim it (1–100, default 3). An attempt is used
            up only when a worker dies holding the job; a handler that raises fails
            the job at once.
        session : Session, optional
            Enqueue inside the caller's transaction (e.g. in the same commit as the
            run it trains): the job exists exactly when that transaction commits,
            and workers are woken then.

        Returns
        -------
        Job
            The queued job.

        Raises
        ------
        InvalidInput
            Bad kind (``invalid_job_kind``), payload (``invalid_job_payload``) or
            ``max_attempts`` (``invalid_input``).
        """
        if not isinstance(kind, str) or not _KIND_RE.match(kind):
            raise InvalidInput(
                f"a job kind must match {_KIND_RE.pattern}, got {kind!r}", code="invalid_job_kind"
            )
        if (
            isinstance(max_attempts, bool)
            or not isinstance(max_attempts, int)
            or not 1 <= max_attempts <= _MAX_ATTEMPTS_CAP
        ):
            raise InvalidInput(
                f"max_attempts must be an integer from 1 to {_MAX_ATTEMPTS_CAP}, "
                f"got {max_attempts!r}"
            )
        data = check_payload(payload if payload is not None else {})
        row = JobRow(
            id=new_id("job", self.clock),
            org_id=org_id,
            kind=kind,
            payload=data,
            status=QUEUED,
            stage=None,
            progress=0.0,
            attempts=0,
            max_attempts=max_attempts,
            cancel_requested=False,
            created_at=self.clock.now(),
        )
        if session is not None:
            session.add(row)
            session.flush()
            if self.wakeup is not None:
                wakeup = self.wakeup
                event.listen(session, "after_commit", lambda _s: wakeup.notify(), once=True)
            return Job.from_row(row)
        with self.db.session() as own:
            own.add(row)
            own.flush()
            job = Job.from_row(row)
        if self.wakeup is not None:
            self.wakeup.notify()
        return job

    def get(self, job_id: str, *, org_id: str | None) -> Job:
        """Return one job.

        Parameters
        ----------
        job_id : str
        org_id : str or None
            The caller's organization; another organization's job is not found.
            ``None`` reads any organization's job (operator tools only).

        Raises
        ------
        NotFound
            Code ``job_not_found``.
        """
        with self.db.session() as session:
            return Job.from_row(self._row(session, job_id, org_id))

    def list(
        self,
        *,
        org_id: str | None,
        status: str | None = None,
        kind: str | None = None,
        limit: int = 50,
    ) -> list[Job]:
        """Return jobs, newest first.

        Parameters
        ----------
        org_id : str or None
            Only this organization's jobs; ``None`` lists every organization's
            (operator tools only).
        status : str, optional
            Only jobs with this status (one of :data:`JOB_STATUSES`).
        kind : str, optional
            Only jobs of this kind.
        limit : int
            At most this many (1–1000).

        Raises
        ------
        InvalidInput
            Unknown status (``invalid_job_status``) or bad limit (``invalid_input``).
        """
        if status is not None and status not in JOB_STATUSES:
            raise InvalidInput(
                f"job status must be one of {', '.join(JOB_STATUSES)}, got {status!r}",
                code="invalid_job_status",
            )
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise InvalidInput(f"limit must be an integer from 1 to 1000, got {limit!r}")
        stmt = select(JobRow).order_by(JobRow.created_at.desc(), JobRow.id.desc()).limit(limit)
        if org_id is not None:
            stmt = stmt.where(JobRow.org_id == org_id)
        if status is not None:
            stmt = stmt.where(JobRow.status == status)
        if kind is not None:
            stmt = stmt.where(JobRow.kind == kind)
        with self.db.session() as session:
            return [Job.from_row(row) for row in session.scalars(stmt)]

    def cancel(
        self,
        job_id: str,
        *,
        org_id: str | None,
        session: Session | None = None,
        actor: str | None = None,
    ) -> Job:
        """Cancel a job: a queued job ends ``cancelled`` at once; a running job is asked to.

        A running job's handler sees the request through
        :meth:`~baryon.jobs.worker.JobContext.cancelled` and stops at its next check;
        the job then ends ``cancelled``. Cancelling a cancelled job returns it as is.

        Parameters
        ----------
        job_id : str
        org_id : str or None
            As in :meth:`get`.
        session : Session, optional
            Cancel inside the caller's transaction (e.g. with the run the job trains).
        actor : str, optional
            Who cancels: the request is audited (``job.cancel``) in the same
            transaction. Callers that audit the cancel as something else (a run's
            ``run.cancel``) leave it out.

        Returns
        -------
        Job
            The job after the request.

        Raises
        ------
        NotFound
            Code ``job_not_found``.
        Conflict
            Code ``job_finished``: the job already succeeded or failed.
        """
        if session is None:
            with self.db.session() as own:
                return self.cancel(job_id, org_id=org_id, session=own, actor=actor)
        row = self._row(session, job_id, org_id, lock=True)
        if row.status == CANCELLED:
            return Job.from_row(row)
        if row.status in TERMINAL_STATUSES:
            raise Conflict(
                f"job {job_id} already {row.status}; only a queued or running job can be cancelled",
                code="job_finished",
                details={"status": row.status},
            )
        row.cancel_requested = True
        if row.status == QUEUED:
            row.status = CANCELLED
            row.ended_at = self.clock.now()
        if actor is not None:
            record_audit(
                session,
                actor=actor,
                action="job.cancel",
                object_type="job",
                object_id=row.id,
                details={"kind": row.kind, "at_once": row.status == CANCELLED},
                org_id=row.org_id,
                clock=self.clock,
            )
        session.flush()
        return Job.from_row(row)

    # ------------------------------------------------------------------ workers
    def claim(
        self,
        *,
        kinds: Collection[str],
        owner: str,
        lease_seconds: float,
        job_id: str | None = None,
    ) -> Job | None:
        """Take the oldest queued job of one of ``kinds`` and lease it to ``owner``.

        Parameters
        ----------
        kinds : collection of str
            The kinds the worker has handlers for.
        owner : str
            Unique name of this claim (``<worker name>:<token>``).
        lease_seconds : float
            Seconds the lease lasts unless renewed.
        job_id : str, optional
            Take this job only (``None`` when it is no longer queued).

        Returns
        -------
        Job or None
            The job, now ``running`` with one more attempt; ``None`` if none waits.
        """
        if not kinds:
            return None
        stmt = (
            select(JobRow)
            .where(JobRow.status == QUEUED, JobRow.kind.in_(sorted(kinds)))
            .order_by(JobRow.created_at, JobRow.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if job_id is not None:
            stmt = stmt.where(JobRow.id == job_id)
        with self.db.session() as session:
            row = session.scalars(stmt).first()
            if row is None:
                return None
            now = self.clock.now()
            row.status = RUNNING
            row.attempts += 1
            row.lease_owner = owner
            row.lease_expires_at = now + timedelta(seconds=lease_seconds)
            row.heartbeat_at = now
            row.started_at = now
            session.flush()
            return Job.from_row(row)

    def renew(
        self,
        job_id: str,
        *,
        owner: str,
        lease_seconds: float,
        stage: str | None = None,
        progress: float | None = None,
    ) -> LeaseState:
        """Extend ``owner``'s lease on a running job, optionally recording progress.

        Parameters
        ----------
        job_id, owner : str
        lease_seconds : float
            The lease now ends this many seconds from now.
        stage : str, optional
            What the job is doing (at most 200 characters are kept).
        progress : float, optional
            Percent done, 0–100.

        Returns
        -------
        LeaseState
            Whether ``owner`` still holds the job, and whether a cancel was requested.
        """
        now = self.clock.now()
        values: dict[str, Any] = {
            "lease_expires_at": now + timedelta(seconds=lease_seconds),
            "heartbeat_at": now,
        }
        if stage is not None:
            values["stage"] = stage[:_MAX_STAGE_CHARS]
        if progress is not None:
            values["progress"] = float(progress)
        with self.db.session() as session:
            result = session.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.lease_owner == owner, JobRow.status == RUNNING)
                .values(**values)
                .returning(JobRow.cancel_requested)
            ).first()
            if result is None:
                cancel = session.scalar(select(JobRow.cancel_requested).where(JobRow.id == job_id))
                return LeaseState(owned=False, cancel_requested=bool(cancel))
            return LeaseState(owned=True, cancel_requested=bool(result[0]))

    def finish(
        self,
        job_id: str,
        *,
        owner: str,
        status: str,
        result: Mapping[str, Any] | None = None,
        error_code: str | None = None,
        error: str | None = None,
    ) -> Job | None:
        """End ``owner``'s attempt with a terminal status.

        Parameters
        ----------
        job_id, owner : str
        status : str
            ``succeeded``, ``failed`` or ``cancelled``.
        result : mapping, optional
            The handler's output (JSON), kept for succeeded jobs.
        error_code, error : str, optional
            Why it failed.

        Returns
        -------
        Job or None
            The finished job; ``None`` if ``owner`` no longer held it (its lease
            expired and the reaper moved it): nothing is written then.

        Raises
        ------
        TypeError, ValueError
            ``result`` is not a JSON object.
        """
        if status not in TERMINAL_STATUSES:
            raise ValueError(f"finish needs a terminal status, got {status!r}")
        data = _check_result(result)
        with self.db.session() as session:
            row = self._owned_row(session, job_id, owner)
            if row is None:
                return None
            row.status = status
            row.ended_at = self.clock.now()
            row.lease_owner = None
            row.lease_expires_at = None
            row.result = data
            row.error_code = error_code
            row.error = None if error is None else error[:_MAX_ERROR_CHARS]
            if status == SUCCEEDED:
                row.progress = 100.0
            session.flush()
            return Job.from_row(row)

    def release(self, job_id: str, *, owner: str) -> Job | None:
        """Give a running job back to the queue without using up an attempt.

        A worker that stops (SIGTERM, server shutdown) releases the job it could
        not finish, so another worker starts it again.

        Returns
        -------
        Job or None
            The queued job; ``None`` if ``owner`` no longer held it.
        """
        with self.db.session() as session:
            row = self._owned_row(session, job_id, owner)
            if row is None:
                return None
            _requeue(row)
            row.attempts = max(0, row.attempts - 1)
            session.flush()
            return Job.from_row(row)

    def reap(self) -> ReapReport:
        """Recover the running jobs whose lease expired (their worker died).

        Each such job goes back to the queue if it has attempts left; otherwise it
        fails with code ``worker_lost``. A job whose cancel was requested ends
        ``cancelled`` instead. Workers call this periodically; ``baryon serve``
        calls it at start-up.

        Returns
        -------
        ReapReport
            Which jobs moved where.
        """
        now = self.clock.now()
        requeued: list[str] = []
        failed: list[str] = []
        cancelled: list[str] = []
        stmt = (
            select(JobRow)
            .where(JobRow.status == RUNNING, JobRow.lease_expires_at < now)
            .order_by(JobRow.created_at)
            .with_for_update(skip_locked=True)
        )
        with self.db.session() as session:
            for row in session.scalars(stmt):
                if row.cancel_requested:
                    _end(row, CANCELLED, now)
                    cancelled.append(row.id)
                elif row.attempts < row.max_attempts:
                    _requeue(row)
                    requeued.append(row.id)
                else:
                    expired = row.lease_expires_at.isoformat() if row.lease_expires_at else "?"
                    _end(row, FAILED, now)
                    row.error_code = "worker_lost"
                    row.error = (
                        f"the worker running this job stopped renewing its lease (expired at "
                        f"{expired}) on attempt {row.attempts} of {row.max_attempts}"
                    )
                    failed.append(row.id)
            session.flush()
        return ReapReport(tuple(requeued), tuple(failed), tuple(cancelled))

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _row(session: Session, job_id: str, org_id: str | None, *, lock: bool = False) -> JobRow:
        stmt = select(JobRow).where(JobRow.id == job_id)
        if org_id is not None:
            stmt = stmt.where(JobRow.org_id == org_id)
        if lock:
            stmt = stmt.with_for_update()
        row = session.scalars(stmt).first() if isinstance(job_id, str) else None
        if row is None:
            raise NotFound(f"no job {job_id!r}", code="job_not_found")
        return row

    @staticmethod
    def _owned_row(session: Session, job_id: str, owner: str) -> JobRow | None:
        stmt = (
            select(JobRow)
            .where(JobRow.id == job_id, JobRow.lease_owner == owner, JobRow.status == RUNNING)
            .with_for_update()
        )
        return session.scalars(stmt).first()


def _requeue(row: JobRow) -> None:
    row.status = QUEUED
    row.lease_owner = None
    row.lease_expires_at = None
    row.stage = None
    row.progress = 0.0


def _end(row: JobRow, status: str, now: datetime) -> None:
    row.status = status
    row.ended_at = now
    row.lease_owner = None
    row.lease_expires_at = None
