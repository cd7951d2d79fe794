"""Labeling queues: create, list, show with progress, update; their tasks.

A queue holds the tasks of one kind for one registered model: its label space
(``classes``, by default the model champion's ``classes_``, named through the
version's ``extra["label_names"]`` when it has them), how many annotators label each
task (``overlap``, *k*), the share of those labels the majority needs
(``min_agreement``) and instructions for annotators. Annotation itself (claim,
submit, skip, review, consensus) is :mod:`baryon.labeling.annotation`.

Every function runs in the caller's session, whose scope (:mod:`baryon.core.scope`)
makes another organization's queue or task not found. Creating and updating a queue
write an audit event in the same transaction.

Error codes: ``invalid_queue_name``, ``invalid_classes``, ``invalid_overlap``,
``invalid_min_agreement``, ``invalid_instructions``, ``invalid_status``,
``no_model_classes``, ``unknown_label``, ``empty_update`` (422); ``queue_exists``
(409); ``queue_not_found``, ``task_not_found``, ``model_not_found`` (404).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from baryon.core.audit import record_audit
from baryon.core.clock import Clock
from baryon.core.errors import Conflict, Forbidden, InvalidInput, ModelNotReady, NotFound
from baryon.core.ids import new_id
from baryon.core.refs import NAME_PATTERN
from baryon.core.scope import Scope
from baryon.labeling.annotation import settle, task_for_update
from baryon.labeling.limits import (
    MAX_CLASSES,
    MAX_INSTRUCTIONS_CHARS,
    MAX_LABEL_CHARS,
    MAX_OVERLAP,
    TASK_STATUSES,
)
from baryon.labeling.queue import DEFAULT_MIN_AGREEMENT, get_queue
from baryon.labeling.tables import AnnotationRow, LabelingQueueRow, LabelingTaskRow
from baryon.labeling.views import AnnotatorProgress, Queue, QueueProgress, Task
from baryon.predictions.inference import ModelResolver, ServedModel

__all__ = [
    "check_classes",
    "create_queue",
    "get_task",
    "list_queues",
    "list_tasks",
    "model_classes",
    "queue_classes",
    "queue_progress",
    "update_queue",
]

_NAME_RE = re.compile(NAME_PATTERN)


# ------------------------------------------------------------------- checks
def _check_name(name: object) -> str:
    if not isinstance(name, str) or _NAME_RE.fullmatch(name) is None:
        raise InvalidInput(
            "a queue name is 1-100 letters, digits, '.', '_' or '-', starting with a "
            "letter or digit",
            code="invalid_queue_name",
        )
    return name


def check_classes(classes: Sequence[object]) -> list[str]:
    """Return ``classes`` sorted, if they are 1 to :data:`MAX_CLASSES` distinct non-blank
    strings of at most :data:`MAX_LABEL_CHARS` characters.

    Raises
    ------
    InvalidInput
        ``invalid_classes``.
    """
    if isinstance(classes, str) or not 1 <= len(classes) <= MAX_CLASSES:
        raise InvalidInput(
            f"classes must be a list of 1 to {MAX_CLASSES} labels", code="invalid_classes"
        )
    bad = [
        c
        for c in classes
        if not isinstance(c, str) or not c.strip() or len(c) > MAX_LABEL_CHARS or c != c.strip()
    ]
    if bad:
        raise InvalidInput(
            f"each class is a non-blank string of at most {MAX_LABEL_CHARS} characters "
            "without surrounding spaces",
            code="invalid_classes",
        )
    if len(set(classes)) != len(classes):
        raise InvalidInput("classes must not repeat", code="invalid_classes")
    return sorted(str(c) for c in classes)


def _check_overlap(overlap: object) -> int:
    if isinstance(overlap, bool) or not isinstance(overlap, int) or not 1 <= overlap <= MAX_OVERLAP:
        raise InvalidInput(
            f"overlap (annotators per task) must be an integer from 1 to {MAX_OVERLAP}",
            code="invalid_overlap",
        )
    return overlap


def _check_min_agreement(value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0.0 <= value <= 1.0
    ):
        raise InvalidInput("min_agreement must be from 0 to 1", code="invalid_min_agreement")
    return float(value)


def _check_instructions(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_INSTRUCTIONS_CHARS:
        raise InvalidInput(
            f"instructions are a text of at most {MAX_INSTRUCTIONS_CHARS} characters",
            code="invalid_instructions",
        )
    return value if value.strip() else None


# ------------------------------------------------------------------- classes
def model_classes(model: ServedModel) -> list[str] | None:
    """Return the label space of a served classifier, sorted (``None`` if it has none).

    The model's ``classes`` (else its estimator's ``classes_``), each named through
    the version's ``extra["label_names"]`` (``{"0": "Bearish", ...}``) when it has
    one, else as ``str(class)``.
    """
    raw = model.classes if model.classes is not None else getattr(model.estimator, "classes_", None)
    if raw is None:
        return None
    names = model.extra.get("label_names") or {}
    labels = {str(names.get(str(c), c)) for c in list(raw)}
    return sorted(labels) or None


def _check_model_classes(model_name: str, classes: Sequence[str], known: Sequence[str]) -> None:
    unknown = [c for c in classes if c not in known]
    if unknown:
        shown = list(known[:20])
        raise InvalidInput(
            f"class(es) {', '.join(map(repr, unknown))} are not classes of model "
            f"{model_name!r}: its champion could not learn them",
            code="unknown_label",
            details={"unknown": unknown, "classes": shown, "more": len(known) - len(shown)},
        )


def queue_classes(
    resolver: ModelResolver,
    model_name: str,
    *,
    scope: Scope,
    classes: Sequence[str] | None = None,
) -> list[str]:
    """Return the label space of a new queue for ``model_name``.

    ``classes`` when given (the model must still exist and be visible to ``scope``:
    its own or shared with it), else its champion's classes (:func:`model_classes`;
    a model shared for reading only cannot be loaded, so it needs ``classes``). Call
    it before the write transaction: it may load the champion.

    Given ``classes`` must be some of the champion's classes when it has any: a label
    outside them could not be learned (the flywheel leaves it out, ``unknown_label``).
    A model whose champion has no class list (none yet, a regressor, or shared for
    reading only, so not loadable here) takes ``classes`` as given.

    Raises
    ------
    NotFound
        ``model_not_found``: no such model for ``scope``.
    InvalidInput
        ``no_model_classes``: no ``classes`` given and the model has no champion or is
        not a classifier; ``invalid_classes``; ``unknown_label``: a given class is not
        one of the champion's classes (``details["unknown"]``, ``details["classes"]``).
    """
    if classes is not None:
        classes = check_classes(classes)
    try:
        served = resolver.resolve(model_name, scope=scope)
    except (ModelNotReady, Forbidden):  # it exists: no champion, or shared for reading only
        if classes is not None:
            return list(classes)
        raise InvalidInput(
            f"model {model_name!r} has no champion this organization may load classes "
            "from: give classes",
            code="no_model_classes",
        ) from None
    found = model_classes(served)
    if classes is not None:
        if found:
            _check_model_classes(model_name, classes, found)
        return list(classes)
    if not found:
        raise InvalidInput(
            f"model {model_name!r} has no classes (not a classifier): give classes",
            code="no_model_classes",
        )
    return found


# -------------------------------------------------------------------- queues
def create_queue(
    session: Session,
    *,
    org_id: str,
    name: str,
    model_name: str,
    classes: Sequence[str],
    overlap: int = 1,
    min_agreement: float = DEFAULT_MIN_AGREEMENT,
    instructions: str | None = None,
    actor: str,
    clock: Clock,
) -> Queue:
    """Create organization ``org_id``'s queue ``name`` for ``model_name`` (audited).

    Parameters
    ----------
    classes : sequence of str
        The label space (see :func:`queue_classes`).
    overlap : int
        Annotators per task, 1 to :data:`MAX_OVERLAP`.
    min_agreement : float
        In [0, 1] (see :mod:`baryon.labeling.consensus`).
    instructions : str, optional
        Shown to annotators with each claimed task.
    actor : str
        Who acts, for the audit event (``key:<id>``, ``cli:<user>``).

    Raises
    ------
    InvalidInput
        ``invalid_queue_name``, ``invalid_classes``, ``invalid_overlap``,
        ``invalid_min_agreement``, ``invalid_instructions``.
    Conflict
        ``queue_exists``: the organization has a queue of that name.
    """
    row = LabelingQueueRow(
        id=new_id("lq", clock),
        org_id=org_id,
        name=_check_name(name),
        model_name=model_name,
        classes=check_classes(classes),
        overlap=_check_overlap(overlap),
        min_agreement=_check_min_agreement(min_agreement),
        instructions=_check_instructions(instructions),
        created_at=clock.now(),
        updated_at=clock.now(),
    )
    taken = session.scalar(select(LabelingQueueRow.id).where(LabelingQueueRow.name == name))
    if taken is None:
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:  # a concurrent create of the same name won
            taken = row.id
    if taken is not None:
        raise Conflict(f"a labeling queue {name!r} exists already", code="queue_exists")
    record_audit(
        session,
        actor=actor,
        action="labeling_queue.create",
        object_type="labeling_queue",
        object_id=row.id,
        org_id=org_id,
        details={
            "name": name,
            "model": model_name,
            "classes": len(row.classes),
            "overlap": row.overlap,
            "min_agreement": row.min_agreement,
        },
        clock=clock,
    )
    session.flush()
    return Queue.from_row(row)


def list_queues(session: Session) -> list[Queue]:
    """Return the organization's queues, by name."""
    rows = session.scalars(select(LabelingQueueRow).order_by(LabelingQueueRow.name))
    return [Queue.from_row(r) for r in rows]


def queue_progress(
    session: Session, name: str, *, claim_seconds: float, clock: Clock
) -> QueueProgress:
    """Return queue ``name`` with its tasks by status and its annotators' work.

    Parameters
    ----------
    claim_seconds : float
        How long a claim lasts (expired claims are not counted).

    Raises
    ------
    NotFound
        ``queue_not_found``.
    """
    queue = get_queue(session, name)
    by_status = dict.fromkeys(TASK_STATUSES, 0)
    counted = session.execute(
        select(LabelingTaskRow.status, func.count())
        .where(LabelingTaskRow.queue_id == queue.id)
        .group_by(LabelingTaskRow.status)
    )
    for status, count in counted:
        by_status[str(status)] = int(count)
    by_status["total"] = sum(by_status.values())
    cutoff = clock.now() - timedelta(seconds=claim_seconds)
    a = AnnotationRow
    live = (a.status != "claimed") | (a.claimed_at >= cutoff)
    rows = session.execute(
        select(
            a.annotator,
            func.sum(case((a.status == "submitted", 1), else_=0)),
            func.sum(case((a.status == "skipped", 1), else_=0)),
            func.sum(case((a.status == "claimed", 1), else_=0)),
            func.avg(case((a.status == "submitted", a.seconds), else_=None)),
        )
        .where(a.queue_id == queue.id, live)
        .group_by(a.annotator)
        .order_by(a.annotator)
    )
    annotators = [
        AnnotatorProgress(
            annotator=str(who),
            submitted=int(submitted or 0),
            skipped=int(skipped or 0),
            claimed=int(claimed or 0),
            seconds_mean=None if mean is None else float(mean),
        )
        for who, submitted, skipped, claimed, mean in rows
    ]
    return QueueProgress(queue=Queue.from_row(queue), tasks=by_status, annotators=annotators)


def update_queue(
    session: Session,
    name: str,
    *,
    overlap: int | None = None,
    min_agreement: float | None = None,
    instructions: str | None = None,
    actor: str,
    clock: Clock,
) -> Queue:
    """Change a queue's overlap, min_agreement or instructions (audited).

    ``None`` leaves a field as it is; empty ``instructions`` clear them. A lower
    overlap decides at once the open tasks that now have enough labels; the other
    changes apply to tasks decided from now on.

    Raises
    ------
    NotFound
        ``queue_not_found``.
    InvalidInput
        ``empty_update`` (no field given), ``invalid_overlap``,
        ``invalid_min_agreement``, ``invalid_instructions``.
    """
    queue = get_queue(session, name)
    if overlap is None and min_agreement is None and instructions is None:
        raise InvalidInput("give overlap, min_agreement or instructions", code="empty_update")
    changes: dict[str, Any] = {}
    if overlap is not None and _check_overlap(overlap) != queue.overlap:
        changes["overlap"] = [queue.overlap, overlap]
        queue.overlap = overlap
    if min_agreement is not None:
        value = _check_min_agreement(min_agreement)
        if value != queue.min_agreement:
            changes["min_agreement"] = [queue.min_agreement, value]
            queue.min_agreement = value
    if instructions is not None:
        text = _check_instructions(instructions)
        if text != queue.instructions:
            changes["instructions"] = "changed"
            queue.instructions = text
    if not changes:
        return Queue.from_row(queue)
    now = clock.now()
    queue.updated_at = now
    session.flush()
    if "overlap" in changes and changes["overlap"][1] < changes["overlap"][0]:
        _settle_full_tasks(session, queue, clock)
    record_audit(
        session,
        actor=actor,
        action="labeling_queue.update",
        object_type="labeling_queue",
        object_id=queue.id,
        org_id=queue.org_id,
        details=changes,
        clock=clock,
    )
    session.flush()
    return Queue.from_row(queue)


def _settle_full_tasks(session: Session, queue: LabelingQueueRow, clock: Clock) -> None:
    a, t = AnnotationRow, LabelingTaskRow
    full = session.scalars(
        select(t.id)
        .join(a, a.task_id == t.id)
        .where(t.queue_id == queue.id, t.status == "open", a.status == "submitted")
        .group_by(t.id)
        .having(func.count() >= queue.overlap)
    ).all()
    for task_id in full:
        settle(session, task_for_update(session, task_id), queue, clock.now())


# --------------------------------------------------------------------- tasks
def list_tasks(
    session: Session, name: str, *, status: str | None = None, limit: int = 50, offset: int = 0
) -> list[Task]:
    """Return queue ``name``'s tasks, highest priority then oldest first.

    Parameters
    ----------
    status : str, optional
        One of :data:`TASK_STATUSES` (default: every task).
    limit : int
        At most this many (1 to 1000).
    offset : int
        Tasks of that order to pass over first (0 or more: a page's start).

    Raises
    ------
    NotFound
        ``queue_not_found``.
    InvalidInput
        ``invalid_status``, ``invalid_limit``, ``invalid_offset``.
    """
    if status is not None and status not in TASK_STATUSES:
        raise InvalidInput(
            f"status must be one of {', '.join(TASK_STATUSES)}", code="invalid_status"
        )
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
        raise InvalidInput("limit must be from 1 to 1000", code="invalid_limit")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidInput("offset must be 0 or more", code="invalid_offset")
    queue = get_queue(session, name)
    t = LabelingTaskRow
    stmt = select(t).where(t.queue_id == queue.id)
    if status is not None:
        stmt = stmt.where(t.status == status)
    stmt = stmt.order_by(t.priority.desc(), t.created_at, t.id).limit(limit).offset(offset)
    return [Task.from_row(row, queue.name) for row in session.scalars(stmt)]


def get_task(session: Session, task_id: str, *, visible_to: str | None = None) -> Task:
    """Return one task with its annotations.

    Parameters
    ----------
    task_id : str
    visible_to : str, optional
        Show only this annotator's annotations (an annotator does not see the others'
        labels); ``None`` shows them all.

    Raises
    ------
    NotFound
        ``task_not_found`` (also for another organization's task).
    """
    row = session.get(LabelingTaskRow, task_id)
    if row is None:
        raise NotFound(f"no labeling task {task_id!r}", code="task_not_found")
    queue = session.get(LabelingQueueRow, row.queue_id)
    assert queue is not None
    stmt = select(AnnotationRow).where(AnnotationRow.task_id == row.id)
    if visible_to is not None:
        stmt = stmt.where(AnnotationRow.annotator == visible_to)
    return Task.from_row(row, queue.name, session.scalars(stmt).all())
