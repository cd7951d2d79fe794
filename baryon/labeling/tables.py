"""Labeling tables (migration ``0010``): queues, tasks and annotations.

``tests/core/test_schema.py`` compares these with the migrations.

Tables
------
``labeling_queues``
    A queue of items waiting for a label from the label space of one model
    (``classes``). ``overlap`` annotators label each task (*k*); a task whose
    annotators agree less than ``min_agreement`` (share of annotations equal to the
    majority label) goes to review by an admin.
``labeling_tasks``
    One item to label: the model's input row (``input``, JSON), the model's
    suggestion (pre-annotation) and a priority. One task per distinct input and queue
    (``input_hash``, SHA-256 of the input's canonical JSON): an input queued again
    raises ``seen_count`` instead of adding a task. ``status`` is ``open`` (wants
    annotations), ``review`` (annotators disagree: an admin decides), ``done`` (has
    its consensus ``label``, what training sees) or ``skipped`` (every annotator
    skipped it).
``annotations``
    One annotator's work on one task: a claim, then a label or a skip. ``slot``
    (0 ≤ slot < the queue's overlap) is unique per task, so two annotators racing for
    the last slot of a task get exactly one accepted annotation; ``annotator`` is
    unique per task too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

import baryon.tenancy.tables  # noqa: F401  (organizations: the foreign keys' target)
from baryon.core.db import Base, JSONType, UTCDateTime
from baryon.core.scope import OrgOwned

__all__ = ["AnnotationRow", "LabelingQueueRow", "LabelingTaskRow"]


class LabelingQueueRow(OrgOwned, Base):
    """A labeling queue of one organization (table ``labeling_queues``).

    Attributes
    ----------
    id : str
        ``lq_…``.
    name : str
        Unique per organization.
    model_name : str
        The registered model whose label space the queue uses and whose champion
        pre-annotates its tasks (the flywheel of that model consumes its labels).
    classes : list of str
        Labels an annotator may give.
    overlap : int
        Annotators per task (*k* ≥ 1).
    min_agreement : float
        In [0, 1]: share of a task's annotations that must equal the majority label
        for the majority to be the consensus; below it (or on a tie) the task goes
        to review.
    instructions : str or None
    created_at, updated_at : datetime
    """

    __tablename__ = "labeling_queues"
    __table_args__ = (UniqueConstraint("org_id", "name", name="uq_labeling_queues_org_id_name"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    model_name: Mapped[str] = mapped_column(String(200))
    classes: Mapped[list[str]] = mapped_column(JSONType)
    overlap: Mapped[int] = mapped_column(Integer)
    min_agreement: Mapped[float] = mapped_column(Float)
    instructions: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LabelingTaskRow(OrgOwned, Base):
    """One item waiting for a label (table ``labeling_tasks``).

    Attributes
    ----------
    id : str
        ``task_…``.
    queue_id : str
    source : str
        What queued it: ``prediction`` (low confidence), ``support`` (a hand-off),
        ``feedback`` (feedback disagreeing with the prediction), ``active_learning``
        or ``import``.
    reason : str
        Why: ``low_confidence``, ``out_of_scope``, ``disagreement``,
        ``least_confidence``, ``margin``, ``entropy``, ``random`` or ``import``.
    input : dict
        The row the model sees (``{"text": ...}`` for text models).
    input_hash : str
        SHA-256 (hex) of the input's canonical JSON (unique per queue).
    prediction_id : str or None
        The first logged prediction that queued this input.
    model_version : int or None
        The model version that made the suggestion.
    suggested_label : str or None
        The model's suggestion (pre-annotation).
    confidence : float or None
        Its probability, in [0, 1].
    priority : float
        Higher is served first (uncertainty scores, 1 − confidence, …).
    seen_count : int
        How many times this input was queued.
    status : str
        ``open``, ``review``, ``done`` or ``skipped``.
    label : str or None
        The consensus label (``done`` tasks only).
    resolution : str or None
        How the label was decided: ``majority``, ``review`` or ``import``.
    agreement : float or None
        Share of the task's annotations equal to the majority label, in [0, 1].
    created_at, updated_at : datetime
    done_at : datetime or None
        When the task got its consensus label (the flywheel's watermark).
    """

    __tablename__ = "labeling_tasks"
    __table_args__ = (
        UniqueConstraint("queue_id", "input_hash", name="uq_labeling_tasks_queue_id_input_hash"),
        Index("ix_labeling_tasks_queue_status_priority", "queue_id", "status", "priority"),
        Index("ix_labeling_tasks_queue_done", "queue_id", "done_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    queue_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("labeling_queues.id", ondelete="CASCADE")
    )
    source: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(32))
    input: Mapped[dict[str, Any]] = mapped_column(JSONType)
    input_hash: Mapped[str] = mapped_column(String(64))
    prediction_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    model_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    suggested_label: Mapped[str | None] = mapped_column(String(200), nullable=True)
    confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    priority: Mapped[float] = mapped_column(Float)
    seen_count: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    label: Mapped[str | None] = mapped_column(String(200), nullable=True)
    resolution: Mapped[str | None] = mapped_column(String(16), nullable=True)
    agreement: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class AnnotationRow(OrgOwned, Base):
    """One annotator's claim on, then label or skip of, one task (table ``annotations``).

    Attributes
    ----------
    id : str
        ``ann_…``.
    task_id, queue_id : str
    slot : int
        0 ≤ slot < the queue's overlap; unique per task.
    annotator : str
        The user id of the key that annotated (the key id for keys without a user).
    status : str
        ``claimed``, ``submitted`` or ``skipped``.
    label : str or None
        The label given (``submitted`` only).
    skip_reason : str or None
    seconds : float or None
        Time spent, as reported by the client or measured from the claim.
    claimed_at : datetime
    submitted_at : datetime or None
    """

    __tablename__ = "annotations"
    __table_args__ = (
        UniqueConstraint("task_id", "slot", name="uq_annotations_task_id_slot"),
        UniqueConstraint("task_id", "annotator", name="uq_annotations_task_id_annotator"),
        Index("ix_annotations_queue_annotator", "queue_id", "annotator"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    task_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("labeling_tasks.id", ondelete="CASCADE")
    )
    queue_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("labeling_queues.id", ondelete="CASCADE")
    )
    slot: Mapped[int] = mapped_column(Integer)
    annotator: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16))
    label: Mapped[str | None] = mapped_column(String(200), nullable=True)
    skip_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
