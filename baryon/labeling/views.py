"""What the labeling functions return: queues, tasks, annotations, claims, progress.

Plain frozen dataclasses made from the rows of :mod:`baryon.labeling.tables`, each with
``to_dict()`` for JSON (the API's bodies, the CLI's ``--json``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from baryon.labeling.tables import AnnotationRow, LabelingQueueRow, LabelingTaskRow

__all__ = [
    "Annotation",
    "AnnotatorProgress",
    "Claim",
    "Queue",
    "QueueProgress",
    "Submission",
    "Task",
]


@dataclass(frozen=True)
class Queue:
    """A labeling queue.

    Attributes
    ----------
    id, name : str
    model : str
        The registered model whose label space the queue uses.
    classes : list of str
        Labels an annotator may give.
    overlap : int
        Annotators per task (*k*).
    min_agreement : float
        Least share of a task's labels the majority needs (else review).
    instructions : str or None
    created_at, updated_at : datetime
    """

    id: str
    name: str
    model: str
    classes: list[str]
    overlap: int
    min_agreement: float
    instructions: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: LabelingQueueRow) -> Queue:
        """The view of one ``labeling_queues`` row."""
        return cls(
            id=row.id,
            name=row.name,
            model=row.model_name,
            classes=list(row.classes),
            overlap=row.overlap,
            min_agreement=row.min_agreement,
            instructions=row.instructions,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class Annotation:
    """One annotator's claim on, label for, or skip of one task.

    Attributes
    ----------
    id, task_id : str
    annotator : str
        The user id of the key that annotated (the key id for keys without a user).
    slot : int
        0 ≤ slot < overlap for claims and labels; negative for skips (they hold no
        labeling slot).
    status : str
        ``claimed``, ``submitted`` or ``skipped``.
    label : str or None
    skip_reason : str or None
    seconds : float or None
        Time spent (given by the client, else measured from the claim).
    claimed_at : datetime
    submitted_at : datetime or None
        When the label or skip was given.
    """

    id: str
    task_id: str
    annotator: str
    slot: int
    status: str
    label: str | None
    skip_reason: str | None
    seconds: float | None
    claimed_at: datetime
    submitted_at: datetime | None

    @classmethod
    def from_row(cls, row: AnnotationRow) -> Annotation:
        """The view of one ``annotations`` row."""
        return cls(
            id=row.id,
            task_id=row.task_id,
            annotator=row.annotator,
            slot=row.slot,
            status=row.status,
            label=row.label,
            skip_reason=row.skip_reason,
            seconds=row.seconds,
            claimed_at=row.claimed_at,
            submitted_at=row.submitted_at,
        )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class Task:
    """One item waiting for (or holding) a label.

    Attributes
    ----------
    id, queue : str
        The task's id and its queue's name.
    source, reason : str
        What queued it and why (see :class:`~baryon.labeling.tables.LabelingTaskRow`).
    input : dict
        The row the model sees (``{"text": ...}`` for text models).
    suggested_label : str or None
        The model's suggestion (pre-annotation).
    confidence : float or None
    priority : float
    seen_count : int
    status : str
        ``open``, ``review``, ``done`` or ``skipped``.
    label, resolution : str or None
        The consensus label and how it was decided (``majority``, ``review``).
    agreement : float or None
    prediction_id : str or None
    model_version : int or None
    created_at, updated_at : datetime
    done_at : datetime or None
    annotations : list of Annotation or None
        ``None`` when not asked for (lists), else the annotations the caller may see.
    """

    id: str
    queue: str
    source: str
    reason: str
    input: dict[str, Any]
    suggested_label: str | None
    confidence: float | None
    priority: float
    seen_count: int
    status: str
    label: str | None
    resolution: str | None
    agreement: float | None
    prediction_id: str | None
    model_version: int | None
    created_at: datetime
    updated_at: datetime
    done_at: datetime | None
    annotations: list[Annotation] | None = None

    @classmethod
    def from_row(
        cls,
        row: LabelingTaskRow,
        queue_name: str,
        annotations: Iterable[AnnotationRow] | None = None,
    ) -> Task:
        """The view of one ``labeling_tasks`` row (with ``annotations`` if given)."""
        return cls(
            id=row.id,
            queue=queue_name,
            source=row.source,
            reason=row.reason,
            input=dict(row.input),
            suggested_label=row.suggested_label,
            confidence=row.confidence,
            priority=row.priority,
            seen_count=row.seen_count,
            status=row.status,
            label=row.label,
            resolution=row.resolution,
            agreement=row.agreement,
            prediction_id=row.prediction_id,
            model_version=row.model_version,
            created_at=row.created_at,
            updated_at=row.updated_at,
            done_at=row.done_at,
            annotations=(
                None
                if annotations is None
                else [Annotation.from_row(a) for a in sorted(annotations, key=_by_time)]
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return asdict(self)


def _by_time(row: AnnotationRow) -> tuple[datetime, str]:
    return (row.claimed_at, row.id)


@dataclass(frozen=True)
class Claim:
    """A task claimed by one annotator, with what they need to label it.

    Attributes
    ----------
    task : Task
        With its suggestion; without the other annotators' work.
    annotation_id : str
    slot : int
    claimed_at, expires_at : datetime
        The claim lapses at ``expires_at`` (``BARYON_LABELING_CLAIM_SECONDS``).
    classes : list of str
        The labels the annotator may give.
    instructions : str or None
    """

    task: Task
    annotation_id: str
    slot: int
    claimed_at: datetime
    expires_at: datetime
    classes: list[str]
    instructions: str | None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class Submission:
    """One annotator's label or skip, and the task after it.

    Attributes
    ----------
    annotation : Annotation
    task : Task
        ``done`` (with its consensus label) or ``review`` when this annotation
        completed it; still ``open`` otherwise.
    """

    annotation: Annotation
    task: Task

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class AnnotatorProgress:
    """One annotator's work on one queue.

    Attributes
    ----------
    annotator : str
    submitted, skipped, claimed : int
        Labels given, tasks skipped, live claims.
    seconds_mean : float or None
        Mean time spent per label given (where known), in seconds.
    """

    annotator: str
    submitted: int
    skipped: int
    claimed: int
    seconds_mean: float | None


@dataclass(frozen=True)
class QueueProgress:
    """A queue with its progress.

    Attributes
    ----------
    queue : Queue
    tasks : dict of str to int
        Tasks by status (``open``, ``review``, ``done``, ``skipped``) and ``total``.
    annotators : list of AnnotatorProgress
        By annotator id.
    """

    queue: Queue
    tasks: dict[str, int]
    annotators: list[AnnotatorProgress] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict: the queue's fields, ``tasks`` and ``annotators``."""
        return {
            **self.queue.to_dict(),
            "tasks": dict(self.tasks),
            "annotators": [asdict(a) for a in self.annotators],
        }
