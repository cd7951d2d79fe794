"""Tracked runs: one row per training execution, with metrics and artifacts.

A run ends exactly once::

    queued ──► running ──► succeeded | failed | failed_validation | cancelled
      └──────────────────► cancelled | failed (its job was cancelled, or lost)

A run trained in the foreground (``baryon train``) starts ``running``; one submitted as
a background job (:mod:`baryon.training.jobs`) starts ``queued`` with its job's id in
``extra["job_id"]``, and its job's handler moves it on. When the job queue ends such a
job without its handler — a queued job cancelled, a job whose worker died on its last
attempt (``worker_lost``) — the run **reads its job's state**: the next read of the run
(:meth:`RunStore.get`, :meth:`RunStore.list`) gives it the job's end (``cancelled``, or
``failed`` with the job's error code) in the same transaction, so no run stays
``queued`` or ``running`` after its job ended, whoever ended it (the API, ``baryon jobs
cancel``, any worker's reaper).

It records what was trained (kind, params, seed), on what (dataset version id, name,
number and the split facts), the outcome (error message and code), timings, the
library versions, the metrics (final values and per-step histories such as the
gradient-descent loss) and the digests of its artifacts in the artifact store
(model payload and manifest, metrics report JSON, confusion matrix JSON).

Example
-------
>>> run = ws.runs.get("run_01jd8x3k6q9w2f7c0m4t5v8b1a")      # doctest: +SKIP
>>> run.status, run.metrics["accuracy"]                      # doctest: +SKIP
('succeeded', 0.91)
"""

from __future__ import annotations

import contextlib
import json
import platform
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from email.parser import HeaderParser
from importlib import metadata
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from baryon.core.artifacts import ArtifactStore
from baryon.core.clock import Clock
from baryon.core.db import Database
from baryon.core.errors import BaryonError, Conflict, InvalidInput, NotFound, ValidationFailed
from baryon.core.ids import new_id
from baryon.core.jsonvalues import to_jsonable
from baryon.core.refs import Ref
from baryon.core.scope import Scope
from baryon.jobs.queue import CANCELLED as JOB_CANCELLED
from baryon.jobs.queue import FAILED as JOB_FAILED
from baryon.jobs.queue import TERMINAL_STATUSES as JOB_TERMINAL_STATUSES
from baryon.jobs.tables import JobRow
from baryon.training.tables import RunRow

__all__ = [
    "ACTIVE_STATUSES",
    "CANCELLED",
    "FAILED",
    "FAILED_VALIDATION",
    "FINAL_STATUSES",
    "QUEUED",
    "RUNNING",
    "RUN_STATUSES",
    "SUCCEEDED",
    "Run",
    "RunFailed",
    "RunStore",
    "library_versions",
]

QUEUED = "queued"
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
FAILED_VALIDATION = "failed_validation"
CANCELLED = "cancelled"
#: Every status a run can have, in lifecycle order.
RUN_STATUSES = (QUEUED, RUNNING, SUCCEEDED, FAILED, FAILED_VALIDATION, CANCELLED)
#: Statuses of a run that has not ended yet.
ACTIVE_STATUSES = frozenset({QUEUED, RUNNING})
#: Statuses a run never leaves.
FINAL_STATUSES = frozenset({SUCCEEDED, FAILED, FAILED_VALIDATION, CANCELLED})
#: ``extra`` keys a training attempt writes; :meth:`RunStore.begin` drops them.
_ATTEMPT_KEYS = ("classes", "notes", "model_extra", "registered", "registration_error")

_LIBRARIES = ("baryon", "numpy", "scipy", "pandas", "pyarrow", "scikit-learn", "skops", "implicit")


class RunFailed(BaryonError):
    """A training run ended ``failed`` (an unexpected error while fitting)."""

    code = "run_failed"
    http_status = 500


def library_versions() -> dict[str, str]:
    """Return the versions of Python and the libraries a model depends on.

    Returns
    -------
    dict of str to str
        ``{"python": "3.12.3", "numpy": "2.4.6", ...}``; libraries that are not
        installed are left out. Read from package metadata (nothing is imported): the
        header of each ``METADATA`` file only, which is what ``importlib.metadata.version``
        returns without parsing the long description (a few ms instead of ~12).
    """
    versions = {"python": platform.python_version()}
    headers = HeaderParser()
    for name in _LIBRARIES:
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        text = dist.read_text("METADATA") or dist.read_text("PKG-INFO")
        version = headers.parsestr(text)["Version"] if text else None
        if version:
            versions[name] = str(version)
    return versions


@dataclass(frozen=True)
class Run:
    """A training run as stored (immutable snapshot).

    Attributes
    ----------
    id : str
        ``run_…``.
    kind, task : str
        Estimator kind and the task it was trained for.
    params : dict
        Estimator parameters as given by the user.
    seed : int
        Random seed passed to the estimator (``random_state``) and to CV.
    cv_folds : int
        Cross-validation folds on the training split (0 = no cross-validation).
    dataset_version_id, dataset_name, dataset_version
        The dataset version trained on.
    split : dict or None
        The split facts of that version (strategy, seed, sizes, counts).
    target : str or None
        Target column (tabular and text kinds).
    column_roles : dict of str to str
        Column → role actually used (``feature``, ``label``, ``text``, ``user``, ...).
    feature_columns : list of str
        Feature columns in the order given to the estimator.
    status : str
        One of :data:`RUN_STATUSES`.
    error, error_code : str or None
        Why the run failed (message, and a stable code such as ``single_class``).
    started_at, ended_at : datetime
        UTC timestamps (a queued run's ``started_at`` is when it was submitted, until
        a worker starts it).
    duration_seconds : float or None
        Wall time from start to end, in seconds (``None`` for a run that never ran).
    library_versions : dict
        Versions of Python and the numeric libraries of the process that trained it
        (empty while a background run is queued).
    metrics : dict of str to float
        Final metrics, flat; test-split metrics have their bare names
        (``accuracy``), others a prefix (``validation_accuracy``, ``cv_accuracy_mean``).
    history : dict of str to list of float
        Per-step metrics, e.g. ``{"loss": [...]}`` for gradient descent.
    artifacts : dict of str to str
        Artifact name → SHA-256 digest (``model``, ``manifest``, ``report``, ...).
    extra : dict
        Anything else: ``job_id`` and ``queued_at`` of a background run, the
        ``registered`` model version, a ``registration_error``, ...
    """

    id: str
    kind: str
    task: str
    params: dict[str, Any]
    seed: int
    cv_folds: int
    dataset_version_id: str
    dataset_name: str
    dataset_version: int
    split: dict[str, Any] | None
    target: str | None
    column_roles: dict[str, str]
    feature_columns: list[str]
    status: str
    error: str | None
    error_code: str | None
    started_at: datetime
    ended_at: datetime | None
    duration_seconds: float | None
    library_versions: dict[str, str]
    metrics: dict[str, Any] = field(default_factory=dict)
    history: dict[str, list[float]] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        """Whether the run ended (one of :data:`FINAL_STATUSES`)."""
        return self.status in FINAL_STATUSES

    @property
    def job_id(self) -> str | None:
        """Id of the background job that trains it (``None``: trained in the foreground)."""
        value = self.extra.get("job_id")
        return None if value is None else str(value)

    @property
    def dataset_ref(self) -> str:
        """The canonical reference (``name:version``) of the dataset version trained on."""
        return str(Ref(self.dataset_name, self.dataset_version))

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (datetimes as ISO 8601 strings)."""
        out = asdict(self)
        out["started_at"] = self.started_at.isoformat()
        out["ended_at"] = self.ended_at.isoformat() if self.ended_at else None
        return out

    def raise_for_status(self) -> Run:
        """Return ``self`` if the run succeeded, else raise its error.

        Raises
        ------
        ValidationFailed
            If the run ended ``failed_validation`` (details carry the check).
        RunFailed
            If the run ended ``failed`` or ``cancelled``, or has not ended.
        """
        details = {"run_id": self.id, "check": self.error_code}
        if self.status == FAILED_VALIDATION:
            raise ValidationFailed(
                f"run {self.id} failed validation: {self.error}", details=details
            )
        if self.status != SUCCEEDED:
            raise RunFailed(
                f"run {self.id} {self.status}: {self.error or 'not finished'}", details=details
            )
        return self


def _to_run(row: RunRow) -> Run:
    return Run(
        id=row.id,
        kind=row.kind,
        task=row.task,
        params=dict(row.params),
        seed=row.seed,
        cv_folds=row.cv_folds,
        dataset_version_id=row.dataset_version_id,
        dataset_name=row.dataset_name,
        dataset_version=row.dataset_version,
        split=row.split,
        target=row.target,
        column_roles=dict(row.column_roles),
        feature_columns=list(row.feature_columns),
        status=row.status,
        error=row.error,
        error_code=row.error_code,
        started_at=row.started_at,
        ended_at=row.ended_at,
        duration_seconds=row.duration_seconds,
        library_versions=dict(row.library_versions),
        metrics=dict(row.metrics),
        history=dict(row.history),
        artifacts=dict(row.artifacts),
        extra=dict(row.extra),
    )


class RunStore:
    """Create, update and read runs (``ws.runs``).

    Parameters
    ----------
    db : Database
        The workspace's metadata database.
    artifacts : ArtifactStore
        Where run artifacts (model, reports) are stored.
    clock : Clock
        Time source for ids and timestamps.
    scope : Scope
        The organization whose runs these are (:mod:`baryon.core.scope`); another
        organization's run is ``run_not_found``.
    """

    def __init__(
        self, db: Database, artifacts: ArtifactStore, clock: Clock, *, scope: Scope
    ) -> None:
        self.db = db
        self.artifacts = artifacts
        self.clock = clock
        self.scope = scope

    # ------------------------------------------------------------------ writing
    def start(
        self,
        *,
        kind: str,
        task: str,
        params: dict[str, Any],
        seed: int,
        dataset_version_id: str,
        dataset_name: str,
        dataset_version: int,
        split: dict[str, Any] | None = None,
        target: str | None = None,
        column_roles: dict[str, str] | None = None,
        feature_columns: list[str] | None = None,
        cv_folds: int = 0,
        status: str = RUNNING,
        extra: dict[str, Any] | None = None,
        session: Session | None = None,
    ) -> Run:
        """Record a new run in status ``running`` (or ``queued``) and return it.

        Parameters
        ----------
        kind, task : str
            Estimator kind and task (``classification``, ``regression``, ...).
        params : dict
            JSON-serialisable estimator parameters.
        seed : int
            Random seed.
        dataset_version_id, dataset_name, dataset_version
            The dataset version trained on.
        split : dict, optional
            Split facts of that version.
        target : str, optional
            Target column.
        column_roles : dict, optional
            Column → role used.
        feature_columns : list of str, optional
            Feature columns in estimator order.
        cv_folds : int
            Cross-validation folds (0 = none).
        status : str
            ``running`` (trained now, in this process) or ``queued`` (a worker will
            :meth:`begin` it; ``extra["queued_at"]`` records when it was submitted).
        extra : dict, optional
            Initial ``extra`` (e.g. who submitted it).
        session : Session, optional
            Record it inside the caller's transaction (with the job that trains it).

        Raises
        ------
        InvalidInput
            If ``params`` or ``extra`` is not JSON-serialisable (code ``invalid_params``),
            or ``status`` is not ``running`` or ``queued`` (``invalid_status``).
        """
        if status not in ACTIVE_STATUSES:
            raise InvalidInput(
                f"a run starts running or queued, not {status!r}", code="invalid_status"
            )
        try:
            params = json.loads(json.dumps(params))
            extra = json.loads(json.dumps(dict(extra or {})))
        except (TypeError, ValueError):
            raise InvalidInput(
                "run params must be JSON values (numbers, strings, lists, objects)",
                code="invalid_params",
            ) from None
        now = self.clock.now()
        if status == QUEUED:
            extra["queued_at"] = now.isoformat()
        row = RunRow(
            id=new_id("run", self.clock),
            org_id=self.scope.org_id,
            kind=kind,
            task=task,
            params=params,
            seed=int(seed),
            cv_folds=int(cv_folds),
            dataset_version_id=dataset_version_id,
            dataset_name=dataset_name,
            dataset_version=int(dataset_version),
            split=split,
            target=target,
            column_roles=dict(column_roles or {}),
            feature_columns=list(feature_columns or []),
            status=status,
            error=None,
            error_code=None,
            started_at=now,
            ended_at=None,
            duration_seconds=None,
            # the process that trains it records them (a queued run's worker, at begin)
            library_versions=library_versions() if status == RUNNING else {},
            metrics={},
            history={},
            artifacts={},
            extra=extra,
        )
        with self._session(session) as active:
            active.add(row)
            active.flush()
            return _to_run(row)

    def begin(self, run_id: str, *, extra: dict[str, Any] | None = None) -> Run:
        """Start (or start again) a queued or running run: ``running``, from a clean slate.

        A background run is begun by its job's handler; a job started again after its
        worker died finds the run ``running`` with whatever the lost attempt left: its
        metrics, histories, artifacts, error and training facts in ``extra`` are
        cleared, ``started_at`` is now and ``library_versions`` are this process's
        (the one that trains it).

        Parameters
        ----------
        run_id : str
        extra : dict, optional
            Merged into ``extra`` (e.g. ``{"attempt": 2}``).

        Raises
        ------
        Conflict
            The run already ended (code ``run_finished``).
        NotFound
            No such run.
        """
        with self.db.session(self.scope) as session:
            row = self._row(session, run_id, lock=True)
            if row.status not in ACTIVE_STATUSES:
                raise Conflict(f"run {run_id} already ended ({row.status})", code="run_finished")
            row.status = RUNNING
            row.started_at = self.clock.now()
            row.library_versions = library_versions()
            row.ended_at = None
            row.duration_seconds = None
            row.error = None
            row.error_code = None
            row.metrics = {}
            row.history = {}
            row.artifacts = {}
            kept = {k: v for k, v in row.extra.items() if k not in _ATTEMPT_KEYS}
            row.extra = {**kept, **to_jsonable(dict(extra or {}))}
            return _to_run(row)

    def requeue(self, run_id: str) -> Run:
        """Put a running background run back to ``queued`` (its worker stopped; the job was
        released and another worker will :meth:`begin` it again).

        Raises
        ------
        Conflict
            The run already ended (code ``run_finished``).
        NotFound
            No such run.
        """
        with self.db.session(self.scope) as session:
            row = self._row(session, run_id, lock=True)
            if row.status not in ACTIVE_STATUSES:
                raise Conflict(f"run {run_id} already ended ({row.status})", code="run_finished")
            row.status = QUEUED
            return _to_run(row)

    def update(
        self,
        run_id: str,
        *,
        task: str | None = None,
        target: str | None = None,
        column_roles: dict[str, str] | None = None,
        feature_columns: list[str] | None = None,
        metrics: dict[str, Any] | None = None,
        history: dict[str, list[float]] | None = None,
        extra: dict[str, Any] | None = None,
        session: Session | None = None,
    ) -> Run:
        """Merge facts into a run (metrics and extra are merged key by key).

        Parameters
        ----------
        run_id : str
        task, target, column_roles, feature_columns, metrics, history, extra
            The facts to record (``None``: leave as is).
        session : Session, optional
            Write inside the caller's transaction.

        Raises
        ------
        NotFound
            No such run.
        """
        with self._session(session) as active:
            row = self._row(active, run_id)
            if task is not None:
                row.task = task
            if target is not None:
                row.target = target
            if column_roles is not None:
                row.column_roles = dict(column_roles)
            if feature_columns is not None:
                row.feature_columns = list(feature_columns)
            if metrics:
                row.metrics = {**row.metrics, **to_jsonable(metrics)}
            if history:
                row.history = {**row.history, **to_jsonable(history)}
            if extra:
                row.extra = {**row.extra, **to_jsonable(extra)}
            return _to_run(row)

    def put_artifact(self, run_id: str, name: str, data: bytes) -> str:
        """Store ``data`` as the run's artifact ``name`` and return its digest.

        Parameters
        ----------
        run_id : str
            The run.
        name : str
            Artifact name, e.g. ``"model"``, ``"manifest"``, ``"report"``.
        data : bytes
            The content.

        Raises
        ------
        NotFound
            No such run.
        """
        digest = self.artifacts.put_bytes(data)
        with self.db.session(self.scope) as session:
            row = self._row(session, run_id)
            row.artifacts = {**row.artifacts, name: digest}
        return digest

    def finish(
        self,
        run_id: str,
        *,
        status: str,
        duration_seconds: float | None = None,
        error: str | None = None,
        error_code: str | None = None,
        session: Session | None = None,
    ) -> Run:
        """End a queued or running run with a final status.

        Parameters
        ----------
        run_id : str
            The run.
        status : str
            ``succeeded``, ``failed``, ``failed_validation`` or ``cancelled``.
        duration_seconds : float, optional
            Wall time in seconds (default: from ``started_at`` to now; ``None`` for a
            run that ends while still queued).
        error, error_code : str, optional
            Why it failed.
        session : Session, optional
            Write inside the caller's transaction.

        Raises
        ------
        InvalidInput
            Unknown or non-final status.
        Conflict
            The run already ended (code ``run_finished``).
        NotFound
            No such run.
        """
        if status not in FINAL_STATUSES:
            raise InvalidInput(f"not a final run status: {status!r}", code="invalid_status")
        now = self.clock.now()
        with self._session(session) as active:
            row = self._row(active, run_id, lock=True)
            if row.status not in ACTIVE_STATUSES:
                raise Conflict(f"run {run_id} already ended ({row.status})", code="run_finished")
            if duration_seconds is None and row.status == RUNNING:
                duration_seconds = (now - row.started_at).total_seconds()
            _end(row, status, now, duration_seconds, error, error_code)
            return _to_run(row)

    # ------------------------------------------------------------------ reading
    def get(self, run_id: str, *, session: Session | None = None) -> Run:
        """Return the run ``run_id`` (a background run whose job ended gets that end).

        Parameters
        ----------
        run_id : str
        session : Session, optional
            Read inside the caller's transaction.

        Raises
        ------
        NotFound
            No such run (code ``run_not_found``).
        """
        with self._session(session) as active:
            row = self._row(active, run_id)
            _settle(active, [row], self.clock)
            return _to_run(row)

    def list(
        self,
        *,
        status: str | None = None,
        kind: str | None = None,
        dataset: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Run]:
        """Return runs, newest first.

        Parameters
        ----------
        status, kind, dataset : str, optional
            Keep only runs with this status / kind / dataset name.
        limit : int
            At most this many runs (1 to 10,000).
        offset : int
            Skip this many runs first (a page of a long list; see :meth:`count`).

        Raises
        ------
        InvalidInput
            Unknown status (``invalid_status``), a limit out of range
            (``invalid_limit``) or a negative offset (``invalid_offset``).
        """
        if not 1 <= limit <= 10_000:
            raise InvalidInput("limit must be between 1 and 10000", code="invalid_limit")
        if offset < 0:
            raise InvalidInput("offset must be 0 or more", code="invalid_offset")
        stmt = self._filtered(select(RunRow), status=status, kind=kind, dataset=dataset)
        stmt = stmt.order_by(RunRow.started_at.desc(), RunRow.id.desc()).limit(limit)
        with self.db.session(self.scope) as session:
            active = session.scalars(select(RunRow).where(RunRow.status.in_(ACTIVE_STATUSES)))
            _settle(session, list(active), self.clock)
            return [_to_run(row) for row in session.scalars(stmt.offset(offset))]

    def count(
        self, *, status: str | None = None, kind: str | None = None, dataset: str | None = None
    ) -> int:
        """Return how many runs :meth:`list` would page through with these filters.

        Raises
        ------
        InvalidInput
            Unknown status (``invalid_status``).
        """
        stmt = self._filtered(
            select(func.count()).select_from(RunRow), status=status, kind=kind, dataset=dataset
        )
        with self.db.session(self.scope) as session:
            return int(session.scalar(stmt) or 0)

    @staticmethod
    def _filtered(stmt: Any, *, status: str | None, kind: str | None, dataset: str | None) -> Any:
        if status is not None and status not in RUN_STATUSES:
            raise InvalidInput(
                f"unknown run status {status!r}; one of {', '.join(RUN_STATUSES)}",
                code="invalid_status",
            )
        if status is not None:
            stmt = stmt.where(RunRow.status == status)
        if kind is not None:
            stmt = stmt.where(RunRow.kind == kind)
        if dataset is not None:
            stmt = stmt.where(RunRow.dataset_name == dataset)
        return stmt

    def artifact(self, run_id: str, name: str) -> bytes:
        """Return the bytes of the run's artifact ``name`` (hash verified).

        Raises
        ------
        NotFound
            No such run or the run has no artifact of that name.
        IntegrityError
            The stored bytes no longer match their digest.
        """
        run = self.get(run_id)
        digest = run.artifacts.get(name)
        if digest is None:
            raise NotFound(f"run {run_id} has no artifact {name!r}", code="artifact_not_found")
        return self.artifacts.get_bytes(digest)

    def report(self, run_id: str) -> dict[str, Any]:
        """Return the run's metrics report (the ``report`` artifact, parsed JSON)."""
        data: dict[str, Any] = json.loads(self.artifact(run_id, "report"))
        return data

    @contextlib.contextmanager
    def _session(self, session: Session | None) -> Iterator[Session]:
        """The caller's session, or one of this store's scope (committed at exit)."""
        if session is not None:
            yield session
            return
        with self.db.session(self.scope) as own:
            yield own

    @staticmethod
    def _row(session: Any, run_id: str, *, lock: bool = False) -> RunRow:
        # A select, not session.get: the scope applies to every query (not an identity-map hit).
        stmt = select(RunRow).where(RunRow.id == run_id)
        if lock:
            stmt = stmt.with_for_update()
        row = session.scalar(stmt) if isinstance(run_id, str) else None
        if row is None:
            raise NotFound(f"run {run_id!r} not found", code="run_not_found")
        return row  # type: ignore[no-any-return]


def _end(
    row: RunRow,
    status: str,
    now: datetime,
    duration_seconds: float | None,
    error: str | None,
    error_code: str | None,
) -> None:
    row.status = status
    row.ended_at = now
    row.duration_seconds = None if duration_seconds is None else float(duration_seconds)
    row.error = error
    row.error_code = error_code


def _settle(session: Session, rows: Sequence[RunRow], clock: Clock) -> None:
    """Give each queued or running background run whose job already ended that end.

    The job queue ends jobs without their handler (a queued job cancelled; a job whose
    worker died on its last attempt, ``worker_lost``); the run then ends with its job:
    ``cancelled``, or ``failed`` with the job's error code and message. Runs trained
    in the foreground (no job) are left alone.
    """
    waiting = {
        str(row.extra["job_id"]): row
        for row in rows
        if row.status in ACTIVE_STATUSES and row.extra.get("job_id")
    }
    if not waiting:
        return
    ended = session.execute(
        select(JobRow.id, JobRow.status, JobRow.error_code, JobRow.error, JobRow.ended_at).where(
            JobRow.id.in_(sorted(waiting)), JobRow.status.in_(sorted(JOB_TERMINAL_STATUSES))
        )
    ).all()
    for job_id, job_status, code, error, ended_at in ended:
        row = waiting[job_id]
        end = ended_at or clock.now()
        duration = (end - row.started_at).total_seconds() if row.status == RUNNING else None
        if job_status == JOB_CANCELLED:
            _end(row, CANCELLED, end, duration, None, None)
        elif job_status == JOB_FAILED:
            _end(row, FAILED, end, duration, error or "its job failed", code or "internal_error")
        else:  # the job succeeded without ending its run: a handler bug, not a success
            message = f"job {job_id} ended without ending the run"
            _end(row, FAILED, end, duration, message, "internal_error")
