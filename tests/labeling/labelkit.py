"""Helpers of the labeling tests: org ids, scoped sessions, queues and tasks."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import select
from sqlalchemy.orm import Session

from baryon.core.scope import Scope
from baryon.labeling.queue import enqueue
from baryon.labeling.service import create_queue
from baryon.labeling.tables import LabelingQueueRow
from baryon.labeling.views import Queue
from baryon.tenancy.tables import OrganizationRow
from baryon.workspace import Workspace

CLAIM = 1800.0


def org_id(ws: Workspace, name: str) -> str:
    """The id of organization ``name``."""
    with ws.db.session() as s:
        found = s.scalar(select(OrganizationRow.id).where(OrganizationRow.name == name))
    assert found is not None
    return str(found)


@contextmanager
def as_org(ws: Workspace, name: str = "acme") -> Iterator[Session]:
    """A session in organization ``name``'s scope (committed at the end)."""
    with ws.db.session(Scope.own(org_id(ws, name), name)) as s:
        yield s


def make_queue(
    ws: Workspace,
    *,
    org: str = "acme",
    name: str = "q",
    classes: Sequence[str] = ("a", "b", "c"),
    overlap: int = 1,
    min_agreement: float = 0.5,
) -> Queue:
    """Create queue ``name`` for model ``m`` in ``org``."""
    with as_org(ws, org) as s:
        return create_queue(
            s, org_id=org_id(ws, org), name=name, model_name="m", classes=classes,
            overlap=overlap, min_agreement=min_agreement, actor="test", clock=ws.clock,
        )  # fmt: skip


def add_task(
    ws: Workspace,
    text: str,
    *,
    org: str = "acme",
    queue: str = "q",
    priority: float = 0.0,
    suggested: str | None = None,
) -> str:
    """Queue ``{"text": text}`` on ``queue``; return the task id."""
    with as_org(ws, org) as s:
        row = s.scalars(select(LabelingQueueRow).where(LabelingQueueRow.name == queue)).one()
        return enqueue(
            s, row, input={"text": text}, source="prediction", reason="low_confidence",
            clock=ws.clock, priority=priority, suggested_label=suggested,
        )  # fmt: skip
