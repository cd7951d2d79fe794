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
from baryon.flywheel.tables import FlywheelCycleRow, IterationRow

if TYPE_CHECKING:
    from baryon.workspace import Workspace

__all__ = [
    "CYCLE_STATUSES",
    "DECISIONS",
    "FINAL_STATUSES",
    "Cycle",
    "create_cycle",
    "cycle_row",
    "get_cycle",
    "list_cycles",
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

    Raises
    ------
    NotFound
        ``iteration_not_found``: ``iteration_id`` names no iteration of the
        organization.
    Conflict
        ``iteration_closed``: the iteration is closed.
    """
    if iteration_id is not None:
        iteration = session.scalars(
            select(IterationRow).where(IterationRow.id == iteration_id)
        ).first()
        if iteration is None:
            raise NotFound(f"no iteration {iteration_id!r}", code="iteration_not_found")
        if iteration.status == "closed":
            raise Conflict(f"iteration {iteration_id!r} is closed", code="iteration_closed")
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
