"""Flywheel cycles as recorded: the :class:`Cycle` snapshot, creating, reading, listing.

The table is :class:`~baryon.flywheel.tables.FlywheelCycleRow`; the workflow that fills
it is :mod:`baryon.flywheel.cycle`, the job that runs it :mod:`baryon.flywheel.jobs`.
Every read goes through a session scoped to the organization: another organization's
cycle is ``cycle_not_found``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from baryon.core.errors import Conflict, NotFound
from baryon.core.ids import new_id
from baryon.flywheel.iterations import get_iteration
from baryon.flywheel.tables import FlywheelCycleRow
from baryon.jobs.queue import SUCCEEDED, Job
from baryon.jobs.tables import JobRow
from baryon.training.tables import RegisteredModelRow

if TYPE_CHECKING:
    from baryon.workspace import Workspace

__all__ = [
    "CYCLE_STATUSES",
    "DECISIONS",
    "FINAL_STATUSES",
    "Cycle",
    "CycleState",
    "create_cycle",
    "cycle_row",
    "get_cycle",
    "list_cycles",
    "refuse_concurrent",
]

#: Every status of a cycle.
CYCLE_STATUSES = ("queued", "running", "promoted", "kept", "nothing_new", "failed")
#: Statuses of a cycle that ended.
FINAL_STATUSES = ("promoted", "kept", "nothing_new", "failed")
#: ``report["decision"]`` of a cycle that did not fail.
DECISIONS = ("promoted", "kept", "nothing_new")


@dataclass(frozen=True)
class Cycle:
    """A flywheel cycle as stored (see :class:`~baryon.flywheel.tables.FlywheelCycleRow`)."""

    id: str
    model_name: str
    status: str
    job_id: str | None
    iteration_id: str | None
    champion_version: int | None
    parent_version_id: str | None
    dataset_version_id: str | None
    run_id: str | None
    candidate_version: int | None
    report: dict[str, Any]
    created_at: datetime
    finished_at: datetime | None
    org_id: str = ""

    @property
    def finished(self) -> bool:
        """Whether the cycle ended (:data:`FINAL_STATUSES`)."""
        return self.status in FINAL_STATUSES

    @classmethod
    def from_row(cls, row: FlywheelCycleRow) -> Cycle:
        """Snapshot a row."""
        return cls(
            id=row.id,
            model_name=row.model_name,
            status=row.status,
            job_id=row.job_id,
            iteration_id=row.iteration_id,
            champion_version=row.champion_version,
            parent_version_id=row.parent_version_id,
            dataset_version_id=row.dataset_version_id,
            run_id=row.run_id,
            candidate_version=row.candidate_version,
            report=dict(row.report or {}),
            created_at=row.created_at,
            finished_at=row.finished_at,
            org_id=row.org_id,
        )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (``model`` for ``model_name``; times in ISO 8601)."""
        return {
            "id": self.id,
            "model": self.model_name,
            "status": self.status,
            "job_id": self.job_id,
            "iteration_id": self.iteration_id,
            "champion_version": self.champion_version,
            "parent_version_id": self.parent_version_id,
            "dataset_version_id": self.dataset_version_id,
            "run_id": self.run_id,
            "candidate_version": self.candidate_version,
            "report": self.report,
            "created_at": self.created_at.isoformat(),
            "finished_at": None if self.finished_at is None else self.finished_at.isoformat(),
        }


@dataclass(frozen=True)
class CycleState:
    """A cycle with the state of the job that runs it (``None`` for an in-process cycle).

    Attributes
    ----------
    cycle : Cycle
    job : Job or None
    """

    cycle: Cycle
    job: Job | None = None

    @property
    def status(self) -> str:
        """The cycle's status; ``failed`` when its job ended without ending it."""
        job = self.job
        if not self.cycle.finished and job is not None and job.finished:
            return "failed" if job.status != SUCCEEDED else self.cycle.status
        return self.cycle.status

    @property
    def active(self) -> bool:
        """Whether the cycle is queued or running (and its job, if any, not ended)."""
        return self.status in ("queued", "running")

    def to_dict(self) -> dict[str, Any]:
        """The cycle's :meth:`~baryon.flywheel.records.Cycle.to_dict` plus its job's state."""
        job = self.job
        out = {**self.cycle.to_dict(), "status": self.status}
        out.update(
            job_status=None if job is None else job.status,
            stage=None if job is None else job.stage,
            progress=None if job is None else (100.0 if self.cycle.finished else job.progress),
            attempts=None if job is None else job.attempts,
        )
        if self.status == "failed" and not self.cycle.finished and job is not None:
            error = {"code": job.error_code, "message": job.error}
            out["report"] = {**out["report"], "error": error}
        return out


def refuse_concurrent(session: Session, *, org_id: str, model_name: str) -> None:
    """Refuse a new cycle of ``model_name`` while one run by a job is queued or running.

    Locks the model's row first (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's
    ``BEGIN IMMEDIATE`` transactions already run one writer at a time), so two
    transactions that each check and then record a cycle of one model take turns:
    the second sees the first's cycle. Call it in the transaction that records the
    new cycle.

    Raises
    ------
    Conflict
        ``cycle_in_progress`` (``details["cycle_id"]``).
    """
    session.execute(
        select(RegisteredModelRow.id)
        .where(RegisteredModelRow.org_id == org_id, RegisteredModelRow.name == model_name)
        .with_for_update()
    ).all()
    rows = session.scalars(
        select(FlywheelCycleRow).where(
            FlywheelCycleRow.model_name == model_name,
            FlywheelCycleRow.status.in_(("queued", "running")),
            FlywheelCycleRow.job_id.is_not(None),
        )
    ).all()
    for row in rows:
        job_row = session.get(JobRow, row.job_id)
        job = None if job_row is None else Job.from_row(job_row)
        state = CycleState(Cycle.from_row(row), job)
        if state.active:
            raise Conflict(
                f"cycle {row.id} of {model_name!r} is {state.status}; wait for it to end",
                code="cycle_in_progress",
                details={"cycle_id": row.id},
            )


def create_cycle(
    session: Session,
    *,
    org_id: str,
    model_name: str,
    status: str,
    clock: Any,
    job_id: str | None = None,
    iteration_id: str | None = None,
    champion_version: int | None = None,
    report: dict[str, Any] | None = None,
) -> Cycle:
    """Insert a cycle row (``queued`` for a job, ``running`` in-process) in ``session``.

    ``iteration_id`` is an iteration's id (``it_…``) or its name; the cycle records
    the id.

    Raises
    ------
    NotFound
        ``iteration_not_found``: ``iteration_id`` names no iteration of the
        organization.
    Conflict
        ``iteration_closed``: the iteration is closed.
    """
    if iteration_id is not None:
        iteration = get_iteration(session, iteration_id, org_id=org_id)
        if iteration.status == "closed":
            raise Conflict(f"iteration {iteration.name!r} is closed", code="iteration_closed")
        iteration_id = iteration.id
    row = FlywheelCycleRow(
        id=new_id("fw", clock),
        org_id=org_id,
        model_name=model_name,
        status=status,
        job_id=job_id,
        iteration_id=iteration_id,
        champion_version=champion_version,
        parent_version_id=None,
        dataset_version_id=None,
        run_id=None,
        candidate_version=None,
        report=dict(report or {}),
        created_at=clock.now(),
        finished_at=None,
    )
    session.add(row)
    session.flush()
    return Cycle.from_row(row)


def get_cycle(ws: Workspace, cycle_id: str, *, session: Session | None = None) -> Cycle:
    """Return cycle ``cycle_id`` of the workspace's organization.

    Raises
    ------
    NotFound
        ``cycle_not_found`` (another organization's cycle is not found either).
    """
    if session is None:
        with ws.db.session(ws.scope) as own:
            return get_cycle(ws, cycle_id, session=own)
    row = session.scalars(select(FlywheelCycleRow).where(FlywheelCycleRow.id == cycle_id)).first()
    if row is None:
        raise NotFound(f"no flywheel cycle {cycle_id!r}", code="cycle_not_found")
    return Cycle.from_row(row)


def list_cycles(ws: Workspace, *, model: str | None = None, limit: int = 50) -> list[Cycle]:
    """Return the organization's cycles (of ``model``), newest first (at most ``limit``)."""
    stmt = select(FlywheelCycleRow)
    if model is not None:
        stmt = stmt.where(FlywheelCycleRow.model_name == model)
    stmt = stmt.order_by(FlywheelCycleRow.created_at.desc(), FlywheelCycleRow.id.desc())
    with ws.db.session(ws.scope) as session:
        return [Cycle.from_row(r) for r in session.scalars(stmt.limit(limit))]


def cycle_row(session: Session, cycle_id: str) -> FlywheelCycleRow:
    """Return cycle ``cycle_id``'s row in ``session`` (``cycle_not_found`` if not seen)."""
    row = session.scalars(select(FlywheelCycleRow).where(FlywheelCycleRow.id == cycle_id)).first()
    if row is None:
        raise NotFound(f"no flywheel cycle {cycle_id!r}", code="cycle_not_found")
    return row
