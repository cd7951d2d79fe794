"""What an iteration shows: its items with the objects they link to, and its goals.

Private to :mod:`baryon.flywheel.iterations`, which re-exports the records
(:class:`Item`, :class:`IterationSummary`, :class:`Iteration`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from baryon.flywheel._goals import Goal, GoalProgress, is_test_metric, measure_goal, number
from baryon.flywheel.tables import FlywheelCycleRow, IterationItemRow, IterationRow
from baryon.labeling.tables import LabelingQueueRow, LabelingTaskRow
from baryon.training.tables import RunRow

__all__ = [
    "ITEM_STATES",
    "Item",
    "Iteration",
    "IterationSummary",
    "default_title",
    "goals_of",
    "item_counts",
    "item_view",
    "iteration_view",
    "linked_objects",
    "target",
]

#: Kanban states, in board order.
ITEM_STATES: tuple[str, ...] = ("todo", "doing", "done")


@dataclass(frozen=True)
class Item:
    """A work item of an iteration, with the status of the object it links to.

    Attributes
    ----------
    id : str
        ``iti_…``.
    iteration_id : str
    kind : str
        One of :data:`ITEM_KINDS`.
    title : str
    ref : str or None
        The linked object's id (``None`` for ``task``).
    state : str
        One of :data:`ITEM_STATES`.
    owner : str or None
    created_at, updated_at : datetime
    linked : dict or None
        The linked object now: a queue's ``name``, ``model_name`` and ``progress``
        (tasks by status and ``total``); a run's ``status``, ``run_kind``, ``task``,
        ``dataset`` and test ``metrics``; a cycle's ``model_name``, ``status``,
        ``decision``, versions and ``finished_at``. ``None`` for a ``task`` or when
        the object is gone.
    """

    id: str
    iteration_id: str
    kind: str
    title: str
    ref: str | None
    state: str
    owner: str | None
    created_at: datetime
    updated_at: datetime
    linked: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "iteration_id": self.iteration_id,
            "kind": self.kind,
            "title": self.title,
            "ref": self.ref,
            "state": self.state,
            "owner": self.owner,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "linked": self.linked,
        }


@dataclass(frozen=True)
class IterationSummary:
    """An iteration as lists show it: its time box, goals and item counts.

    Attributes
    ----------
    id, name, status : str
    starts_at, ends_at, created_at : datetime
    closed_at : datetime or None
    goals : list of Goal
    counts : dict of str to int
        Items per Kanban state.
    """

    id: str
    name: str
    status: str
    starts_at: datetime
    ends_at: datetime
    created_at: datetime
    closed_at: datetime | None
    goals: list[Goal]
    counts: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "starts_at": self.starts_at,
            "ends_at": self.ends_at,
            "created_at": self.created_at,
            "closed_at": self.closed_at,
            "goals": [g.to_dict() for g in self.goals],
            "counts": dict(self.counts),
        }


@dataclass(frozen=True)
class Iteration:
    """An iteration in full: goals with their trajectories, and the Kanban board.

    Attributes
    ----------
    id, name, status : str
    starts_at, ends_at, created_at : datetime
    closed_at : datetime or None
    goals : list of GoalProgress
    items : dict of str to list of Item
        ``{"todo": [...], "doing": [...], "done": [...]}``, oldest first.
    summary : dict
        Empty while open; when closed, ``goals`` (each goal with its final ``value``,
        ``champion_version`` and ``met``), ``met`` and ``total`` (goals met, of how
        many) and ``items`` (counts per state) at closing time.
    """

    id: str
    name: str
    status: str
    starts_at: datetime
    ends_at: datetime
    created_at: datetime
    closed_at: datetime | None
    goals: list[GoalProgress]
    items: dict[str, list[Item]]
    summary: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "starts_at": self.starts_at,
            "ends_at": self.ends_at,
            "created_at": self.created_at,
            "closed_at": self.closed_at,
            "goals": [g.to_dict() for g in self.goals],
            "items": {state: [i.to_dict() for i in items] for state, items in self.items.items()},
            "counts": {state: len(items) for state, items in self.items.items()},
            "summary": self.summary,
        }


_TABLES: dict[str, Any] = {
    "labeling": LabelingQueueRow,
    "run": RunRow,
    "flywheel": FlywheelCycleRow,
}


def target(session: Session, org_id: str, kind: str, ref: str) -> Any:
    """The row ``ref`` names, if it is the organization's own (else ``None``)."""
    table = _TABLES[kind]
    return session.scalars(select(table).where(table.id == ref, table.org_id == org_id)).first()


def _progress(session: Session, queue_ids: list[str]) -> dict[str, dict[str, int]]:
    """Tasks by status (and ``total``) of each queue, in one query."""
    out = {q: dict.fromkeys(("open", "review", "done", "skipped"), 0) for q in queue_ids}
    if queue_ids:
        rows = session.execute(
            select(LabelingTaskRow.queue_id, LabelingTaskRow.status, func.count())
            .where(LabelingTaskRow.queue_id.in_(queue_ids))
            .group_by(LabelingTaskRow.queue_id, LabelingTaskRow.status)
        )
        for queue_id, status, count in rows:
            out[str(queue_id)][str(status)] = int(count)
    return {q: {**counts, "total": sum(counts.values())} for q, counts in out.items()}


def _status(row: Any, progress: dict[str, dict[str, int]]) -> dict[str, Any]:
    if isinstance(row, LabelingQueueRow):
        return {"name": row.name, "model_name": row.model_name, "progress": progress[row.id]}
    if isinstance(row, RunRow):
        metrics = {
            name: value
            for name, raw in (row.metrics or {}).items()
            if is_test_metric(name) and (value := number(raw)) is not None
        }
        return {
            "status": row.status,
            "run_kind": row.kind,
            "task": row.task,
            "dataset": f"{row.dataset_name}:{row.dataset_version}",
            "metrics": metrics,
        }
    report = row.report if isinstance(row.report, dict) else {}
    return {
        "model_name": row.model_name,
        "status": row.status,
        "decision": report.get("decision"),
        "champion_version": row.champion_version,
        "candidate_version": row.candidate_version,
        "finished_at": row.finished_at,
    }


def linked_objects(
    session: Session, org_id: str, items: list[IterationItemRow]
) -> dict[str, dict[str, Any]]:
    """The status of the objects ``items`` link to, by ref (see :attr:`Item.linked`).

    One query per kind of object (and one for the queues' progress), whatever the
    number of items; a ref that names nothing of ``org_id``'s is left out.
    """
    refs: dict[str, list[str]] = {}
    for item in items:
        if item.ref is not None and item.kind in _TABLES:
            refs.setdefault(item.kind, []).append(item.ref)
    rows: list[Any] = []
    for kind, ids in refs.items():
        table = _TABLES[kind]
        rows.extend(session.scalars(select(table).where(table.id.in_(ids), table.org_id == org_id)))
    progress = _progress(session, [r.id for r in rows if isinstance(r, LabelingQueueRow)])
    return {row.id: _status(row, progress) for row in rows}


def default_title(row: Any) -> str:
    """An item's title when none is given: what the linked object is."""
    if isinstance(row, LabelingQueueRow):
        return f"label queue {row.name}"
    if isinstance(row, RunRow):
        return f"train {row.kind} on {row.dataset_name}:{row.dataset_version}"
    return f"flywheel cycle of {row.model_name}"


def item_view(item: IterationItemRow, linked: dict[str, dict[str, Any]]) -> Item:
    """The :class:`Item` of a row, with its linked object's status from ``linked``
    (:func:`linked_objects`)."""
    return Item(
        id=item.id,
        iteration_id=item.iteration_id,
        kind=item.kind,
        title=item.title,
        ref=item.ref,
        state=item.state,
        owner=item.owner,
        created_at=item.created_at,
        updated_at=item.updated_at,
        linked=None if item.ref is None else linked.get(item.ref),
    )


def item_counts(session: Session, iteration_ids: list[str]) -> dict[str, dict[str, int]]:
    """Items per Kanban state of each iteration: ``{iteration id: {state: count}}``."""
    out = {i: dict.fromkeys(ITEM_STATES, 0) for i in iteration_ids}
    if not iteration_ids:
        return out
    rows = session.execute(
        select(IterationItemRow.iteration_id, IterationItemRow.state, func.count())
        .where(IterationItemRow.iteration_id.in_(iteration_ids))
        .group_by(IterationItemRow.iteration_id, IterationItemRow.state)
    )
    for iteration_id, state, count in rows:
        out[str(iteration_id)][str(state)] = int(count)
    return out


def goals_of(row: IterationRow) -> list[Goal]:
    """The goals an iteration row stores."""
    return [
        Goal(model=g["model"], metric=g["metric"], op=g["op"], target=float(g["target"]))
        for g in row.goals
    ]


def iteration_view(session: Session, row: IterationRow) -> Iteration:
    """The :class:`Iteration` of a row: goals measured (frozen once closed), items by state."""
    frozen = row.summary.get("goals") if row.status == "closed" else None
    goals = [
        measure_goal(
            session,
            row.org_id,
            goal,
            row.starts_at,
            row.ends_at,
            frozen=frozen[i] if isinstance(frozen, list) and i < len(frozen) else None,
        )
        for i, goal in enumerate(goals_of(row))
    ]
    items: dict[str, list[Item]] = {state: [] for state in ITEM_STATES}
    rows = list(
        session.scalars(
            select(IterationItemRow)
            .where(IterationItemRow.iteration_id == row.id)
            .order_by(IterationItemRow.created_at, IterationItemRow.id)
        )
    )
    linked = linked_objects(session, row.org_id, rows)
    for item in rows:
        items.setdefault(item.state, []).append(item_view(item, linked))
    return Iteration(
        id=row.id, name=row.name, status=row.status, starts_at=row.starts_at,
        ends_at=row.ends_at, created_at=row.created_at, closed_at=row.closed_at, goals=goals,
        items=items, summary=dict(row.summary),
    )  # fmt: skip
