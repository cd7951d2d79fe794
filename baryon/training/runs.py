"""Tracked runs: one row per training execution, with metrics and artifacts.

A run goes ``running`` → ``succeeded`` | ``failed`` | ``failed_validation`` exactly once.
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

import json
import platform
from dataclasses import asdict, dataclass, field
from datetime import datetime
from importlib import metadata
from typing import Any

from sqlalchemy import select

from baryon.core.artifacts import ArtifactStore
from baryon.core.clock import Clock
from baryon.core.db import Database
from baryon.core.errors import BaryonError, Conflict, InvalidInput, NotFound, ValidationFailed
from baryon.core.ids import new_id
from baryon.core.jsonvalues import to_jsonable
from baryon.core.refs import Ref
from baryon.core.scope import Scope
from baryon.training.tables import RunRow

__all__ = [
    "RUNNING",
    "RUN_STATUSES",
    "Run",
    "RunFailed",
    "RunStore",
    "library_versions",
]

RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
FAILED_VALIDATION = "failed_validation"
#: Every status a run can have; the last three are final.
RUN_STATUSES = (RUNNING, SUCCEEDED, FAILED, FAILED_VALIDATION)

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
        installed are left out. Read from package metadata (nothing is imported).
    """
    versions = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
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
        UTC timestamps.
    duration_seconds : float or None
        Wall time from start to end, in seconds.
    library_versions : dict
        Versions of Python and the numeric libraries.
    metrics : dict of str to float
        Final metrics, flat; test-split metrics have their bare names
        (``accuracy``), others a prefix (``validation_accuracy``, ``cv_accuracy_mean``).
    history : dict of str to list of float
        Per-step metrics, e.g. ``{"loss": [...]}`` for gradient descent.
    artifacts : dict of str to str
        Artifact name → SHA-256 digest (``model``, ``manifest``, ``report``, ...).
    extra : dict
        Anything else (e.g. the registered model version).
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
            If the run ended ``failed`` or is still ``running``.
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
    ) -> Run:
        """Record a new run in status ``running`` and return it.

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

        Raises
        ------
        InvalidInput
            If ``params`` is not JSON-serialisable (code ``invalid_params``).
        """
        try:
            params = json.loads(json.dumps(params))
        except (TypeError, ValueError):
            raise InvalidInput(
                "run params must be JSON values (numbers, strings, lists, objects)",
                code="invalid_params",
            ) from None
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
            status=RUNNING,
            error=None,
            error_code=None,
            started_at=self.clock.now(),
            ended_at=None,
            duration_seconds=None,
            library_versions=library_versions(),
            metrics={},
            history={},
            artifacts={},
            extra={},
        )
        with self.db.session(self.scope) as session:
            session.add(row)
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
    ) -> Run:
        """Merge facts into a run (metrics and extra are merged key by key).

        Raises
        ------
        NotFound
            No such run.
        """
        with self.db.session(self.scope) as session:
            row = self._row(session, run_id)
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
    ) -> Run:
        """End a running run with a final status.

        Parameters
        ----------
        run_id : str
            The run.
        status : str
            ``succeeded``, ``failed`` or ``failed_validation``.
        duration_seconds : float, optional
            Wall time in seconds (default: from ``started_at`` to now).
        error, error_code : str, optional
            Why it failed.

        Raises
        ------
        InvalidInput
            Unknown or non-final status.
        Conflict
            The run already ended (code ``run_finished``).
        NotFound
            No such run.
        """
        if status not in RUN_STATUSES or status == RUNNING:
            raise InvalidInput(f"not a final run status: {status!r}", code="invalid_status")
        now = self.clock.now()
        with self.db.session(self.scope) as session:
            row = self._row(session, run_id)
            if row.status != RUNNING:
                raise Conflict(f"run {run_id} already ended ({row.status})", code="run_finished")
            row.status = status
            row.ended_at = now
            if duration_seconds is None:
                duration_seconds = (now - row.started_at).total_seconds()
            row.duration_seconds = float(duration_seconds)
            row.error = error
            row.error_code = error_code
            return _to_run(row)

    # ------------------------------------------------------------------ reading
    def get(self, run_id: str) -> Run:
        """Return the run ``run_id``.

        Raises
        ------
        NotFound
            No such run (code ``run_not_found``).
        """
        with self.db.session(self.scope) as session:
            return _to_run(self._row(session, run_id))

    def list(
        self,
        *,
        status: str | None = None,
        kind: str | None = None,
        dataset: str | None = None,
        limit: int = 100,
    ) -> list[Run]:
        """Return runs, newest first.

        Parameters
        ----------
        status, kind, dataset : str, optional
            Keep only runs with this status / kind / dataset name.
        limit : int
            At most this many runs (1 to 10,000).

        Raises
        ------
        InvalidInput
            Unknown status or a limit out of range.
        """
        if status is not None and status not in RUN_STATUSES:
            raise InvalidInput(
                f"unknown run status {status!r}; one of {', '.join(RUN_STATUSES)}",
                code="invalid_status",
            )
        if not 1 <= limit <= 10_000:
            raise InvalidInput("limit must be between 1 and 10000", code="invalid_limit")
        stmt = select(RunRow).order_by(RunRow.started_at.desc(), RunRow.id.desc()).limit(limit)
        if status is not None:
            stmt = stmt.where(RunRow.status == status)
        if kind is not None:
            stmt = stmt.where(RunRow.kind == kind)
        if dataset is not None:
            stmt = stmt.where(RunRow.dataset_name == dataset)
        with self.db.session(self.scope) as session:
            return [_to_run(row) for row in session.scalars(stmt)]

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

    @staticmethod
    def _row(session: Any, run_id: str) -> RunRow:
        # A select, not session.get: the scope applies to every query (not an identity-map hit).
        row = session.scalar(select(RunRow).where(RunRow.id == run_id))
        if row is None:
            raise NotFound(f"run {run_id!r} not found", code="run_not_found")
        return row  # type: ignore[no-any-return]
