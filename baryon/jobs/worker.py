"""Workers: claim jobs, run their handlers, keep the lease alive, record the outcome.

A :class:`Worker` is given its handlers explicitly, a mapping ``kind → callable``;
there is no global task registry. A handler takes a :class:`JobContext` and returns
a JSON object (or ``None``)::

    def train(ctx: JobContext) -> dict[str, Any]:
        ctx.progress("fit", 10)
        ...
        ctx.check_cancelled()          # raises JobCancelled when asked to stop
        return {"run_id": run.id}

    Worker(ws, {"train": train}).run(stop_event)

Outcomes
--------
- the handler returns: ``succeeded``, with the returned object as ``result``;
- it raises :class:`JobCancelled` after a cancel request: ``cancelled``;
- it raises a :class:`~baryon.core.errors.BaryonError`: ``failed`` with that error's
  ``code`` and message (shown in the job, not only in a log);
- it raises anything else: ``failed`` with code ``internal_error`` and a one-line
  message (the traceback goes to the ``baryon.jobs`` log);
- the worker stops (SIGTERM, server shutdown) while the handler runs: the handler sees
  :meth:`JobContext.cancelled` turn true; if it stops by raising
  :class:`JobCancelled`, the job is **released** back to the queue (the attempt is
  not counted), otherwise it finishes normally;
- the worker dies (``kill -9``): its lease expires and :meth:`JobQueue.reap
  <baryon.jobs.queue.JobQueue.reap>` re-queues the job, or fails it with
  ``worker_lost`` after ``max_attempts``.

While a handler runs, a heartbeat thread renews the lease every third of
``lease_seconds``.

Schedules: a worker given a :class:`~baryon.jobs.scheduler.Scheduler` fires the due
schedules before it claims, at most once per ``poll_interval``; the scheduler makes
sure each due time enqueues one job however many workers look
(:mod:`baryon.jobs.scheduler`).
"""

from __future__ import annotations

import logging
import math
import os
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from baryon.core.errors import BaryonError, InvalidInput
from baryon.jobs.queue import CANCELLED, FAILED, SUCCEEDED, Job, JobQueue, LeaseState

if TYPE_CHECKING:
    from baryon.jobs.scheduler import Scheduler
    from baryon.jobs.wakeup import Wakeup
    from baryon.workspace import Workspace

__all__ = ["BackgroundWorker", "Handler", "JobCancelled", "JobContext", "Worker"]

logger = logging.getLogger("baryon.jobs")

_KIND_RE = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")
_PROGRESS_MIN_INTERVAL = 0.5  # seconds between two progress writes of one stage
_MAX_MESSAGE_CHARS = 500
_STOP_CHECK_SECONDS = 1.0  # longest an idle worker takes to see a stop


class JobCancelled(BaryonError):
    """Raised inside a handler to stop its job (see :meth:`JobContext.check_cancelled`)."""

    code = "job_cancelled"


class JobContext:
    """What a handler gets: its job, the workspace, progress and cancel checks.

    Built by :class:`Worker`; handlers do not construct it.

    Attributes
    ----------
    job : Job
        The job as claimed (``attempts`` counts this attempt).
    payload : dict
        ``job.payload``.
    workspace : Workspace
        The workspace the worker runs in.
    """

    def __init__(
        self,
        job: Job,
        *,
        workspace: Workspace,
        queue: JobQueue,
        owner: str,
        lease_seconds: float,
        stopping: threading.Event,
        check_interval: float,
    ) -> None:
        self.job = job
        self.payload = job.payload
        self.workspace = workspace
        self._queue = queue
        self._owner = owner
        self._lease_seconds = lease_seconds
        self._stopping = stopping
        self._check_interval = check_interval
        self._lock = threading.Lock()
        self._cancel_requested = job.cancel_requested
        self._lost = False
        self._last_check = time.monotonic()
        self._last_write = -math.inf
        self._last_stage: str | None = None

    # ----------------------------------------------------------------- handlers
    def progress(self, stage: str, percent: float) -> None:
        """Record what the job is doing and how far it is (visible in the job).

        Writes are throttled: a report with the same stage within half a second of
        the last write is skipped (a new stage, or 100 %, is always written).

        Parameters
        ----------
        stage : str
            A short name of the current step (``"fit"``, ``"evaluate"``).
        percent : float
            Percent done, 0–100.

        Raises
        ------
        InvalidInput
            Code ``invalid_progress``: empty stage or percent outside 0–100.
        """
        if not isinstance(stage, str) or not stage.strip():
            raise InvalidInput(
                "a progress stage must be a non-empty string", code="invalid_progress"
            )
        if (
            isinstance(percent, bool)
            or not isinstance(percent, int | float)
            or not 0 <= percent <= 100
        ):
            raise InvalidInput(
                f"progress must be a number from 0 to 100, got {percent!r}", code="invalid_progress"
            )
        now = time.monotonic()
        if (
            stage == self._last_stage
            and percent < 100
            and now - self._last_write < _PROGRESS_MIN_INTERVAL
        ):
            return
        self._last_stage, self._last_write = stage, now
        self._refresh(stage=stage, progress=float(percent))

    def cancelled(self) -> bool:
        """Return whether the job should stop now.

        True when a cancel was requested, when the worker is shutting down, or when
        this worker lost the job (its lease expired). The database is asked at most
        once per check interval (≤ 1 s); between asks the last answer is used.
        """
        if self._lost or self._cancel_requested or self._stopping.is_set():
            return True
        if time.monotonic() - self._last_check >= self._check_interval:
            self._refresh()
        return self._lost or self._cancel_requested or self._stopping.is_set()

    def check_cancelled(self) -> None:
        """Raise :class:`JobCancelled` if :meth:`cancelled` is true.

        Raises
        ------
        JobCancelled
        """
        if self.cancelled():
            raise JobCancelled(f"job {self.job.id} cancelled")

    @property
    def stopping(self) -> bool:
        """Whether the worker is shutting down (the job will be released, not cancelled)."""
        return self._stopping.is_set()

    # ----------------------------------------------------------------- worker side
    @property
    def lost(self) -> bool:
        """Whether this worker no longer holds the job (its lease expired)."""
        return self._lost

    @property
    def cancel_requested(self) -> bool:
        """Whether someone asked to cancel the job (as last seen)."""
        return self._cancel_requested

    def _refresh(self, *, stage: str | None = None, progress: float | None = None) -> None:
        """Renew the lease (and record progress); learn about cancels and lost leases."""
        with self._lock:
            state: LeaseState = self._queue.renew(
                self.job.id,
                owner=self._owner,
                lease_seconds=self._lease_seconds,
                stage=stage,
                progress=progress,
            )
            self._last_check = time.monotonic()
            self._cancel_requested = self._cancel_requested or state.cancel_requested
            if not state.owned and not self._lost:
                self._lost = True
                logger.warning("job %s: lease lost; this worker stops working on it", self.job.id)


class _Heartbeat:
    """Renews a running job's lease every ``interval`` seconds in a daemon thread."""

    def __init__(self, ctx: JobContext, interval: float) -> None:
        self._ctx = ctx
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, name=f"baryon-heartbeat-{ctx.job.id}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._ctx._refresh()
            except Exception:  # keep beating: one failed renewal is not a lost lease
                logger.warning("job %s: lease renewal failed", self._ctx.job.id, exc_info=True)
            if self._ctx.lost:
                return


#: A job handler: takes the job's context, returns a JSON object or ``None``.
Handler = Callable[[JobContext], Mapping[str, Any] | None]


def _one_line(text: str) -> str:
    line = " ".join(part.strip() for part in str(text).splitlines() if part.strip())
    return line[:_MAX_MESSAGE_CHARS]


class Worker:
    """Runs jobs of the kinds it has handlers for, one at a time.

    Parameters
    ----------
    workspace : Workspace
        The open workspace (database, artifacts, clock, settings).
    handlers : mapping of str to Handler
        ``kind → handler``. The worker claims only jobs of these kinds.
    lease_seconds : float, optional
        Lease length in seconds (default ``Settings.job_lease_seconds``). A worker
        that dies is noticed this long after its last heartbeat at most.
    poll_interval : float, optional
        Seconds between two looks at the queue when it is empty (default
        ``Settings.job_poll_interval``); a wake-up ends the wait early.
    name : str, optional
        Shown as the lease owner (default ``<hostname>:<pid>``).
    queue : JobQueue, optional
        Default: a queue on the workspace's database and clock, with no wake-up.
    reap_interval : float, optional
        Seconds between two runs of :meth:`JobQueue.reap` (default: half the lease,
        at most 30 s).
    scheduler : Scheduler, optional
        Fires due schedules before each claim, at most once per ``poll_interval``
        (default: none; this worker fires no schedule).

    Raises
    ------
    InvalidInput
        A handler is not callable or a kind is malformed (``invalid_job_kind``), or a
        duration is not positive.
    """

    def __init__(
        self,
        workspace: Workspace,
        handlers: Mapping[str, Handler],
        *,
        lease_seconds: float | None = None,
        poll_interval: float | None = None,
        name: str | None = None,
        queue: JobQueue | None = None,
        reap_interval: float | None = None,
        scheduler: Scheduler | None = None,
    ) -> None:
        for kind, handler in handlers.items():
            if not isinstance(kind, str) or not _KIND_RE.match(kind):
                raise InvalidInput(f"bad job kind {kind!r}", code="invalid_job_kind")
            if not callable(handler):
                raise InvalidInput(f"the handler of {kind!r} is not callable")
        settings = workspace.settings
        self.workspace = workspace
        self.handlers: dict[str, Handler] = dict(handlers)
        self.queue = queue if queue is not None else JobQueue(workspace.db, workspace.clock)
        self.lease_seconds = float(lease_seconds or settings.job_lease_seconds)
        self.poll_interval = float(poll_interval or settings.job_poll_interval)
        self.reap_interval = float(reap_interval or min(self.lease_seconds / 2, 30.0))
        for label, value in (
            ("lease_seconds", self.lease_seconds),
            ("poll_interval", self.poll_interval),
            ("reap_interval", self.reap_interval),
        ):
            if not value > 0:
                raise InvalidInput(f"{label} must be positive, got {value!r}")
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.scheduler = scheduler
        self._stop = threading.Event()
        self._last_reap = -math.inf
        self._last_schedules = -math.inf

    def run_once(self) -> Job | None:
        """Reap expired leases and fire due schedules (each when its interval passed),
        then claim and run one job.

        Returns
        -------
        Job or None
            The job as it ended (succeeded, failed, cancelled, or queued again when
            released); ``None`` when no job of this worker's kinds was waiting.
        """
        if time.monotonic() - self._last_reap >= self.reap_interval:
            self._last_reap = time.monotonic()
            report = self.queue.reap()
            if report.total:
                logger.warning(
                    "reaped expired leases: requeued %s, failed %s, cancelled %s",
                    list(report.requeued),
                    list(report.failed),
                    list(report.cancelled),
                )
        if self._stop.is_set():
            return None
        if (
            self.scheduler is not None
            and time.monotonic() - self._last_schedules >= self.poll_interval
        ):
            self._last_schedules = time.monotonic()
            self.scheduler.run_due()
        owner = f"{self.name}:{secrets.token_hex(4)}"
        job = self.queue.claim(
            kinds=self.handlers.keys(), owner=owner, lease_seconds=self.lease_seconds
        )
        if job is None:
            return None
        return self._execute(job, owner)

    def run_job(self, job_id: str) -> Job | None:
        """Claim job ``job_id`` if it is still queued and run it here, now.

        For a caller that enqueued a job and wants its outcome in this process (``baryon
        flywheel run --wait``): the job is leased, renewed and finished as
        :meth:`run_once` does, so a process that dies mid-job leaves a lease that
        expires, not a job that looks alive forever.

        Returns
        -------
        Job or None
            The job as it ended; ``None`` when it was not queued (another worker took
            it, or it was cancelled).
        """
        owner = f"{self.name}:{secrets.token_hex(4)}"
        job = self.queue.claim(
            kinds=self.handlers.keys(), owner=owner, lease_seconds=self.lease_seconds, job_id=job_id
        )
        if job is None:
            return None
        return self._execute(job, owner)

    def run(self, stop_event: threading.Event | None = None, *, burst: bool = False) -> int:
        """Run jobs until ``stop_event`` is set (or forever without one).

        The job running when the event is set is finished, or released back to
        the queue if its handler stops by raising :class:`JobCancelled`. Database
        errors are logged and retried after ``poll_interval``.

        Parameters
        ----------
        stop_event : threading.Event, optional
            Set it (from another thread or a signal handler) to stop.
        burst : bool
            Return as soon as no job of this worker's kinds is waiting.

        Returns
        -------
        int
            Number of jobs run.
        """
        if stop_event is not None:
            self._stop = stop_event
        count = 0
        wakeup = self.queue.wakeup
        while not self._stop.is_set():
            try:
                job = self.run_once()
            except Exception:
                logger.exception("job worker %s: cannot use the queue; retrying", self.name)
                self._stop.wait(self.poll_interval)
                continue
            if job is not None:
                count += 1
                continue
            if burst:
                break
            self._idle(wakeup)
        return count

    def _idle(self, wakeup: Wakeup | None) -> None:
        """Wait up to ``poll_interval`` for a wake-up, returning soon after a stop.

        A stop set while this worker was claiming (not yet waiting) sends no wake-up
        it can see, so the wait is cut in slices of at most ``_STOP_CHECK_SECONDS``.
        """
        if wakeup is None:
            self._stop.wait(self.poll_interval)
            return
        deadline = time.monotonic() + self.poll_interval
        while not self._stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0 or wakeup.wait(min(left, _STOP_CHECK_SECONDS)):
                return

    def stop(self) -> None:
        """Ask :meth:`run` to return after the current job (thread-safe)."""
        self._stop.set()

    # ------------------------------------------------------------------ internals
    def _execute(self, job: Job, owner: str) -> Job | None:
        ctx = JobContext(
            job,
            workspace=self.workspace,
            queue=self.queue,
            owner=owner,
            lease_seconds=self.lease_seconds,
            stopping=self._stop,
            check_interval=min(1.0, self.poll_interval),
        )
        heartbeat = _Heartbeat(ctx, self.lease_seconds / 3)
        heartbeat.start()
        status, result, code, message = SUCCEEDED, None, None, None
        try:
            result = self.handlers[job.kind](ctx)
        except JobCancelled:
            status = CANCELLED
        except BaryonError as exc:
            status, code, message = FAILED, exc.code, _one_line(exc.message)
        except Exception as exc:
            logger.exception("job %s (%s) failed", job.id, job.kind)
            status, code = FAILED, "internal_error"
            message = _one_line(f"{type(exc).__name__}: {exc}")
        finally:
            heartbeat.stop()
        if ctx.lost:
            return self.queue.get(job.id, org_id=None)
        if status == CANCELLED and not ctx.cancel_requested and self._stop.is_set():
            released = self.queue.release(job.id, owner=owner)
            logger.info("job %s released: worker %s is stopping", job.id, self.name)
            return released
        try:
            finished = self.queue.finish(
                job.id, owner=owner, status=status, result=result, error_code=code, error=message
            )
        except (TypeError, ValueError) as exc:
            finished = self.queue.finish(
                job.id,
                owner=owner,
                status=FAILED,
                error_code="internal_error",
                error=_one_line(f"the {job.kind} handler returned no JSON object: {exc}"),
            )
        if finished is None:
            return self.queue.get(job.id, org_id=None)
        logger.info(
            "job %s (%s) %s%s",
            job.id,
            job.kind,
            finished.status,
            f": error[{finished.error_code}] {finished.error}" if finished.error_code else "",
        )
        return finished


class BackgroundWorker:
    """A :class:`Worker` running in a daemon thread (``baryon serve``'s in-process worker).

    Parameters
    ----------
    worker : Worker
    """

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (once)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self.worker.run, args=(self._stop,), name="baryon-job-worker", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float) -> bool:
        """Ask the worker to stop and wait up to ``timeout`` seconds.

        Returns
        -------
        bool
            Whether the thread ended. If not, its job keeps its lease until the
            process exits, and the reaper recovers it after the lease.
        """
        self._stop.set()
        wakeup = self.worker.queue.wakeup
        if wakeup is not None:
            wakeup.notify()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()
