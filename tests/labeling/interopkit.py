"""Helpers of the agreement and interop tests: queues and annotations made by hand."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from homekit import copy_home_db
from sqlalchemy import select
from sqlalchemy.orm import Session

from baryon.core.clock import Clock
from baryon.core.config import Settings
from baryon.core.ids import new_id
from baryon.core.scope import OPERATOR_ORG_ID
from baryon.labeling.queue import enqueue, ensure_queue
from baryon.labeling.tables import AnnotationRow, LabelingQueueRow, LabelingTaskRow
from baryon.workspace import Workspace


def migrated_template(directory: Path) -> Path:
    """Migrate a database once in ``directory``; return its file (tests copy it)."""
    Workspace.open(Settings(home=directory)).close()
    return directory / "baryon.db"


def open_copy(template: Path, settings: Settings, clock: Clock) -> Workspace:
    """A workspace at ``settings.home`` on a copy of the migrated ``template``."""
    copy_home_db(template, settings.home)
    return Workspace.open(settings, clock=clock)


def make_queue(
    session: Session,
    clock: Clock,
    *,
    name: str = "reviews",
    classes: Sequence[str] = ("neg", "pos"),
    overlap: int = 2,
    org_id: str = OPERATOR_ORG_ID,
) -> LabelingQueueRow:
    """A queue of ``org_id`` for model ``sentiment`` with ``overlap`` annotators per task."""
    queue = ensure_queue(
        session, org_id=org_id, model_name="sentiment", classes=classes, clock=clock, name=name
    )
    queue.overlap = overlap
    session.flush()
    return queue


def annotate(
    session: Session,
    queue: LabelingQueueRow,
    clock: Clock,
    text: str,
    labels: Mapping[str, str | None],
    *,
    suggested: str | None = None,
    confidence: float | None = None,
) -> str:
    """Queue ``{"text": text}`` and give it ``labels`` (annotator → label; None = skip).

    The task's status is left as enqueued (``open``); tests set consensus by hand. The
    clock moves one second first, so tasks sort in the order they were made.
    """
    advance = getattr(clock, "advance", None)
    if advance is not None:
        advance(1.0)
    task_id = enqueue(
        session, queue, input={"text": text}, source="prediction", reason="low_confidence",
        clock=clock, suggested_label=suggested, confidence=confidence,
        model_version=None if suggested is None else 3,
    )  # fmt: skip
    for slot, (annotator, label) in enumerate(labels.items()):
        session.add(
            AnnotationRow(
                id=new_id("ann", clock), org_id=queue.org_id, task_id=task_id,
                queue_id=queue.id, slot=slot, annotator=annotator,
                status="skipped" if label is None else "submitted", label=label,
                skip_reason="unclear" if label is None else None, seconds=2.5,
                claimed_at=clock.now(), submitted_at=clock.now(),
            )
        )  # fmt: skip
    session.flush()
    return task_id


def set_consensus(session: Session, task_id: str, label: str | None, status: str = "done") -> None:
    """Give a task a consensus label (``majority``) or another status."""
    task = session.get(LabelingTaskRow, task_id)
    assert task is not None
    task.status, task.label = status, label
    task.resolution = "majority" if status == "done" else None
    session.flush()


def snapshot(session: Session, queue: LabelingQueueRow) -> dict[str, tuple[Any, ...]]:
    """``{text: (status, label, resolution, suggestion, {annotator: (status, label)})}``."""
    tasks = session.scalars(
        select(LabelingTaskRow).where(LabelingTaskRow.queue_id == queue.id)
    ).all()
    out: dict[str, tuple[Any, ...]] = {}
    for t in tasks:
        anns = session.scalars(select(AnnotationRow).where(AnnotationRow.task_id == t.id)).all()
        out[str(t.input["text"])] = (
            t.status,
            t.label,
            t.resolution,
            (t.suggested_label, t.confidence, t.model_version),
            {a.annotator: (a.status, a.label, a.seconds) for a in anns},
        )
    return out
