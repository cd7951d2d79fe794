"""Putting items on a labeling queue: one task per distinct input and queue.

Every source of tasks (low-confidence predictions, support hand-offs, feedback that
disagrees with the prediction, active learning, imports) goes through
:func:`enqueue`, so duplicates merge the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from baryon.core.clock import Clock
from baryon.core.errors import NotFound
from baryon.core.ids import new_id
from baryon.labeling.tables import LabelingQueueRow, LabelingTaskRow
from baryon.predictions.log import hash_input

__all__ = ["DEFAULT_MIN_AGREEMENT", "enqueue", "ensure_queue", "get_queue"]

#: Share of a task's annotations that must agree with the majority (default).
DEFAULT_MIN_AGREEMENT = 0.5


def get_queue(session: Session, name: str) -> LabelingQueueRow:
    """Return the queue called ``name`` that the session's scope sees.

    Raises
    ------
    NotFound
        ``queue_not_found``: no such queue in the organization (another
        organization's queue is not found either).
    """
    queue = session.scalars(select(LabelingQueueRow).where(LabelingQueueRow.name == name)).first()
    if queue is None:
        raise NotFound(f"no labeling queue {name!r}", code="queue_not_found")
    return queue


def ensure_queue(
    session: Session,
    *,
    org_id: str,
    model_name: str,
    classes: Sequence[str],
    clock: Clock,
    name: str | None = None,
) -> LabelingQueueRow:
    """Return organization ``org_id``'s queue ``name`` (default: the model's name).

    Created on first use with ``classes``, overlap 1 and
    :data:`DEFAULT_MIN_AGREEMENT`; an existing queue learns classes it lacked (a new
    model version may add one). ``org_id`` is explicit because system sessions
    (the CLI's operator tools) see every organization's queues.
    """
    name = name or model_name
    queue = session.scalars(select(LabelingQueueRow).where(LabelingQueueRow.name == name)).first()
    labels = sorted({str(c) for c in classes})
    now = clock.now()
    if queue is None:
        queue = LabelingQueueRow(
            id=new_id("lq", clock),
            org_id=org_id,
            name=name,
            model_name=model_name,
            classes=labels,
            overlap=1,
            min_agreement=DEFAULT_MIN_AGREEMENT,
            instructions=None,
            created_at=now,
            updated_at=now,
        )
        session.add(queue)
        session.flush()
        return queue
    missing = [c for c in labels if c not in queue.classes]
    if missing:
        queue.classes = sorted({*queue.classes, *missing})
        queue.updated_at = now
    return queue


def enqueue(
    session: Session,
    queue: LabelingQueueRow,
    *,
    input: dict[str, Any],
    source: str,
    reason: str,
    clock: Clock,
    priority: float = 0.0,
    prediction_id: str | None = None,
    model_version: int | None = None,
    suggested_label: str | None = None,
    confidence: float | None = None,
) -> str:
    """Queue ``input`` for labeling on ``queue``; return the task id.

    An input already on the queue (same SHA-256 of its canonical JSON) is not added
    again: its task's ``seen_count`` rises and its priority becomes the larger of the
    two. Runs in the caller's transaction (a savepoint guards the insert, so two
    writers racing on one input end with one task).

    Parameters
    ----------
    input : dict
        The row the model sees (``{"text": ...}`` for text models).
    source, reason : str
        See :class:`~baryon.labeling.tables.LabelingTaskRow`.
    priority : float
        Higher is served first.
    """
    digest = hash_input(input)
    now = clock.now()
    task = LabelingTaskRow
    existing = session.scalars(
        select(task.id).where(task.queue_id == queue.id, task.input_hash == digest)
    ).first()
    if existing is None:
        task_id = new_id("task", clock)
        try:
            with session.begin_nested():
                session.add(
                    LabelingTaskRow(
                        id=task_id,
                        org_id=queue.org_id,
                        queue_id=queue.id,
                        source=source,
                        reason=reason,
                        input=dict(input),
                        input_hash=digest,
                        prediction_id=prediction_id,
                        model_version=model_version,
                        suggested_label=suggested_label,
                        confidence=confidence,
                        priority=float(priority),
                        seen_count=1,
                        status="open",
                        label=None,
                        resolution=None,
                        agreement=None,
                        created_at=now,
                        updated_at=now,
                        done_at=None,
                    )
                )
            return task_id
        except IntegrityError:
            existing = session.scalars(
                select(task.id).where(task.queue_id == queue.id, task.input_hash == digest)
            ).one()
    row = session.get(task, existing)
    assert row is not None
    row.seen_count += 1
    row.priority = max(row.priority, float(priority))
    row.updated_at = now
    return str(existing)
