"""Annotation: claim the next task, submit a label, skip, review; consensus.

Slots
-----
A queue with overlap *k* gives each task *k* labeling **slots** (0 … k-1). A claim
or a label holds one slot: the row ``annotations(task_id, slot)`` is unique, so two
annotators racing for a task's last slot get exactly one row, on SQLite and on
PostgreSQL alike; the loser moves on to the next task (claim) or gets a 409 (submit).
``annotations(task_id, annotator)`` is unique too: an annotator works on a task once.

* **Claim next** (:func:`claim_next`): an annotator's live claim in the queue is
  returned again; otherwise the open task of highest priority, then oldest, that
  they have not labeled or skipped and that has fewer than *k* active annotations
  (labels plus unexpired claims) gets their claim, in its lowest free slot — or in
  the slot of an expired claim, which is taken over. A claim lasts
  ``claim_seconds`` (``BARYON_LABELING_CLAIM_SECONDS``).
* **Submit** (:func:`submit_label`): the label must be one of the queue's classes.
  The annotator's claim becomes their label (even if it expired, as long as nobody
  took its slot); without a claim the label takes a slot like a claim does. Time
  spent is the client's figure, else the time since the claim. The *k*-th label
  decides the task (:mod:`baryon.labeling.consensus`): ``done`` with the majority
  label, or ``review``.
* **Skip** (:func:`skip_task`): a skip keeps the annotator's row on the task (so the
  task is never offered to them again) but holds **no labeling slot**: it moves to a
  negative slot (-1, -2, …, unique per task), freeing its slot for someone else.
  When ``max_skips`` annotators (``BARYON_LABELING_MAX_SKIPS``) have skipped a task
  it leaves the queue: ``skipped`` when nobody labeled it, else ``review`` so an admin
  decides with the labels it has.
* **Review** (:func:`review_task`): an admin sets the final label of any task →
  ``done`` with ``resolution="review"`` (audited).

Submit, skip and review lock the task row first (``SELECT … FOR NO KEY UPDATE`` on
PostgreSQL, which claims' foreign-key checks do not wait for; SQLite runs one writer
at a time), so the label that completes a task and the decision it triggers are one
step; the unique slots are the backstop.

Error codes: ``task_not_found``, ``queue_not_found`` (404); ``unknown_label``,
``invalid_seconds``, ``invalid_skip_reason`` (422); ``task_not_open``,
``task_full``, ``already_annotated``, ``already_skipped`` (409).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from baryon.core.audit import record_audit
from baryon.core.clock import Clock
from baryon.core.errors import Conflict, InvalidInput, NotFound
from baryon.core.ids import new_id
from baryon.labeling.consensus import majority_vote
from baryon.labeling.limits import MAX_SECONDS, MAX_SKIP_REASON_CHARS
from baryon.labeling.queue import get_queue
from baryon.labeling.tables import AnnotationRow, LabelingQueueRow, LabelingTaskRow
from baryon.labeling.views import Annotation, Claim, Submission, Task

__all__ = [
    "check_label",
    "claim_next",
    "review_task",
    "settle",
    "skip_task",
    "submit_label",
    "task_for_update",
]

#: Open tasks looked at per round of :func:`claim_next`.
_CANDIDATES = 20
#: Rounds of :func:`claim_next` before it reports nothing to do (each round's
#: candidates were all taken by concurrent claims).
_ROUNDS = 5

_A = AnnotationRow
_T = LabelingTaskRow


# ------------------------------------------------------------------- helpers
def check_label(queue: LabelingQueueRow, label: object) -> str:
    """Return ``label`` if it is one of ``queue``'s classes.

    Raises
    ------
    InvalidInput
        ``unknown_label``.
    """
    if not isinstance(label, str) or label not in queue.classes:
        shown = queue.classes[:20]
        raise InvalidInput(
            f"label {label!r} is not one of queue {queue.name!r}'s classes",
            code="unknown_label",
            details={"classes": shown, "more": len(queue.classes) - len(shown)},
        )
    return label


def task_for_update(session: Session, task_id: str) -> LabelingTaskRow:
    """Return task ``task_id``, its row locked until the transaction ends (PostgreSQL).

    Raises
    ------
    NotFound
        ``task_not_found`` (also for another organization's task).
    """
    row = session.scalars(
        select(_T)
        .where(_T.id == task_id)
        .with_for_update(key_share=True)  # FOR NO KEY UPDATE: claims' FK checks go on
        .execution_options(populate_existing=True)
    ).first()
    if row is None:
        raise NotFound(f"no labeling task {task_id!r}", code="task_not_found")
    return row


def _queue_of(session: Session, task: LabelingTaskRow) -> LabelingQueueRow:
    queue = session.get(LabelingQueueRow, task.queue_id)
    assert queue is not None  # a foreign key with ON DELETE CASCADE
    return queue


def _annotations(session: Session, task_id: str) -> list[AnnotationRow]:
    stmt = select(_A).where(_A.task_id == task_id).execution_options(populate_existing=True)
    return list(session.scalars(stmt))


def _cutoff(now: datetime, claim_seconds: float) -> datetime:
    return now - timedelta(seconds=claim_seconds)


def _check_seconds(seconds: float | None) -> float | None:
    if seconds is None:
        return None
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not math.isfinite(seconds)
        or not 0 <= seconds <= MAX_SECONDS
    ):
        raise InvalidInput(f"seconds must be from 0 to {MAX_SECONDS:g}", code="invalid_seconds")
    return float(seconds)


def _take_slot(
    session: Session,
    task: LabelingTaskRow,
    queue: LabelingQueueRow,
    rows: Sequence[AnnotationRow],
    *,
    annotator: str,
    clock: Clock,
    cutoff: datetime,
) -> AnnotationRow | None:
    """Claim a labeling slot of ``task`` for ``annotator`` (who has no row on it).

    The lowest free slot, else the slot of an expired claim (taken over). ``None``
    when every slot is held, or a concurrent writer took the one tried.
    """
    now = clock.now()
    held = {r.slot for r in rows if r.slot >= 0}
    free = next((s for s in range(queue.overlap) if s not in held), None)
    if free is not None:
        row = AnnotationRow(
            id=new_id("ann", clock),
            org_id=task.org_id,
            task_id=task.id,
            queue_id=queue.id,
            slot=free,
            annotator=annotator,
            status="claimed",
            label=None,
            skip_reason=None,
            seconds=None,
            claimed_at=now,
            submitted_at=None,
        )
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            return None  # a concurrent claim took this slot (or this annotator claimed)
        return row
    expired = sorted(
        (r for r in rows if r.status == "claimed" and r.claimed_at < cutoff and r.slot >= 0),
        key=lambda r: r.slot,
    )
    for old in expired:
        try:
            with session.begin_nested():
                moved = session.execute(
                    update(_A)
                    .where(
                        _A.id == old.id,
                        _A.annotator == old.annotator,
                        _A.status == "claimed",
                        _A.claimed_at < cutoff,
                    )
                    .values(annotator=annotator, claimed_at=now, seconds=None)
                    .execution_options(synchronize_session=False)
                )
        except IntegrityError:
            return None
        if moved.rowcount == 1:  # type: ignore[attr-defined]
            session.expire(old)
            return old
    return None


def _claim(
    queue: LabelingQueueRow,
    task: LabelingTaskRow,
    row: AnnotationRow,
    claim_seconds: float,
) -> Claim:
    return Claim(
        task=Task.from_row(task, queue.name),
        annotation_id=row.id,
        slot=row.slot,
        claimed_at=row.claimed_at,
        expires_at=row.claimed_at + timedelta(seconds=claim_seconds),
        classes=list(queue.classes),
        instructions=queue.instructions,
    )


# --------------------------------------------------------------------- claim
def claim_next(
    session: Session,
    queue_name: str,
    *,
    annotator: str,
    claim_seconds: float,
    clock: Clock,
) -> Claim | None:
    """Claim the next task of queue ``queue_name`` for ``annotator`` (see the module
    docstring); ``None`` when there is nothing for them to do.

    Parameters
    ----------
    annotator : str
        The user id of the caller's key (the key id for keys without a user).
    claim_seconds : float
        How long a claim lasts.

    Raises
    ------
    NotFound
        ``queue_not_found``.
    """
    queue = get_queue(session, queue_name)
    now = clock.now()
    cutoff = _cutoff(now, claim_seconds)
    mine = session.execute(
        select(_A, _T)
        .join(_T, _T.id == _A.task_id)
        .where(
            _A.queue_id == queue.id,
            _A.annotator == annotator,
            _A.status == "claimed",
            _A.claimed_at >= cutoff,
            _T.status == "open",
        )
        .order_by(_A.claimed_at, _A.id)
        .limit(1)
    ).first()
    if mine is not None:
        return _claim(queue, mine[1], mine[0], claim_seconds)
    done_by_me = exists().where(
        _A.task_id == _T.id, _A.annotator == annotator, _A.status != "claimed"
    )
    active = (
        select(func.count())
        .select_from(_A)
        .where(
            _A.task_id == _T.id,
            _A.slot >= 0,
            or_(_A.status == "submitted", and_(_A.status == "claimed", _A.claimed_at >= cutoff)),
        )
        .correlate(_T)
        .scalar_subquery()
    )
    tried: set[str] = set()
    for _ in range(_ROUNDS):
        stmt = (
            select(_T)
            .where(
                _T.queue_id == queue.id, _T.status == "open", ~done_by_me, active < queue.overlap
            )
            .order_by(_T.priority.desc(), _T.created_at, _T.id)
            .limit(_CANDIDATES + len(tried))
        )
        candidates = [t for t in session.scalars(stmt) if t.id not in tried]
        if not candidates:
            return None
        for task in candidates:
            tried.add(task.id)
            rows = _annotations(session, task.id)
            own = next((r for r in rows if r.annotator == annotator), None)
            if own is not None:  # their own claim, expired: renew it
                renewed = session.execute(
                    update(_A)
                    .where(_A.id == own.id, _A.annotator == annotator, _A.status == "claimed")
                    .values(claimed_at=now)
                    .execution_options(synchronize_session=False)
                )
                if renewed.rowcount == 1:  # type: ignore[attr-defined]
                    session.expire(own)
                    return _claim(queue, task, own, claim_seconds)
                continue
            row = _take_slot(
                session, task, queue, rows, annotator=annotator, clock=clock, cutoff=cutoff
            )
            if row is not None:
                return _claim(queue, task, row, claim_seconds)
    return None


# -------------------------------------------------------------------- submit
def submit_label(
    session: Session,
    task_id: str,
    *,
    annotator: str,
    label: str,
    seconds: float | None = None,
    claim_seconds: float,
    clock: Clock,
) -> Submission:
    """Give ``annotator``'s label for task ``task_id``; decide the task when it is the
    *k*-th label.

    Parameters
    ----------
    label : str
        One of the queue's classes.
    seconds : float, optional
        Time spent, 0 to :data:`MAX_SECONDS`; default: since the annotator's claim
        (unknown without one).
    claim_seconds : float
        How long a claim lasts (a label without a claim may take an expired claim's
        slot).

    Raises
    ------
    NotFound
        ``task_not_found``.
    InvalidInput
        ``unknown_label``, ``invalid_seconds``.
    Conflict
        ``task_not_open`` (decided, in review or skipped), ``already_annotated``,
        ``already_skipped``, ``task_full`` (every slot held by others).
    """
    seconds = _check_seconds(seconds)
    task = task_for_update(session, task_id)
    queue = _queue_of(session, task)
    check_label(queue, label)
    _check_open(task)
    now = clock.now()
    rows = _annotations(session, task.id)
    own = _own_row(rows, annotator)
    if own is None:
        own = _take_slot(
            session, task, queue, rows, annotator=annotator, clock=clock,
            cutoff=_cutoff(now, claim_seconds),
        )  # fmt: skip
        if own is None:
            raise Conflict(
                "every annotation slot of this task is taken", code="task_full",
                details={"overlap": queue.overlap},
            )  # fmt: skip
        measured = None
    else:
        measured = max(0.0, (now - own.claimed_at).total_seconds())
    own.status = "submitted"
    own.label = label
    own.seconds = seconds if seconds is not None else measured
    own.submitted_at = now
    session.flush()
    settle(session, task, queue, now)
    session.flush()
    return Submission(Annotation.from_row(own), Task.from_row(task, queue.name))


def _check_open(task: LabelingTaskRow) -> None:
    if task.status != "open":
        raise Conflict(
            f"task {task.id} is {task.status}, not open for annotation",
            code="task_not_open",
            details={"status": task.status},
        )


def _own_row(rows: Sequence[AnnotationRow], annotator: str) -> AnnotationRow | None:
    own = next((r for r in rows if r.annotator == annotator), None)
    if own is not None and own.status == "submitted":
        raise Conflict("you labeled this task already", code="already_annotated")
    if own is not None and own.status == "skipped":
        raise Conflict("you skipped this task", code="already_skipped")
    return own


def settle(session: Session, task: LabelingTaskRow, queue: LabelingQueueRow, now: datetime) -> None:
    """Decide an open task that has ``overlap`` labels (else leave it open).

    Majority vote (:func:`~baryon.labeling.consensus.majority_vote`): accepted → the
    task is ``done`` with the label, ``resolution="majority"``, its agreement and
    ``done_at``; a tie or low agreement → ``review`` (with the agreement).
    """
    if task.status != "open":
        return
    labels = [
        str(r.label)
        for r in _annotations(session, task.id)
        if r.status == "submitted" and r.label is not None
    ]
    if len(labels) < queue.overlap:
        return
    vote = majority_vote(labels, min_agreement=queue.min_agreement)
    task.agreement = vote.agreement
    task.updated_at = now
    if vote.accepted:
        task.status, task.label, task.resolution, task.done_at = "done", vote.label, "majority", now
    else:
        task.status = "review"


# ---------------------------------------------------------------------- skip
def skip_task(
    session: Session,
    task_id: str,
    *,
    annotator: str,
    reason: str,
    max_skips: int,
    seconds: float | None = None,
    clock: Clock,
) -> Submission:
    """Skip task ``task_id`` for ``annotator``, with a reason (see the module docstring).

    Skipping a task one skipped already, for the same reason, returns that skip (a
    retry); for another reason it is ``already_skipped``.

    Parameters
    ----------
    reason : str
        Why (1 to :data:`MAX_SKIP_REASON_CHARS` characters).
    max_skips : int
        Skips after which the task leaves the queue (``skipped`` or ``review``).
    seconds : float, optional
        Time spent; default: since the annotator's claim.

    Raises
    ------
    NotFound
        ``task_not_found``.
    InvalidInput
        ``invalid_skip_reason``, ``invalid_seconds``.
    Conflict
        ``task_not_open``, ``already_annotated``, ``already_skipped`` (skipped
        already, for another reason).
    """
    if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_SKIP_REASON_CHARS:
        raise InvalidInput(
            f"a skip needs a reason of 1 to {MAX_SKIP_REASON_CHARS} characters",
            code="invalid_skip_reason",
        )
    seconds = _check_seconds(seconds)
    task = task_for_update(session, task_id)
    queue = _queue_of(session, task)
    rows = _annotations(session, task.id)
    own = next((r for r in rows if r.annotator == annotator), None)
    if own is not None and own.status == "skipped":
        if own.skip_reason != reason.strip():
            raise Conflict(
                f"you skipped this task already ({own.skip_reason!r})", code="already_skipped"
            )
        return Submission(Annotation.from_row(own), Task.from_row(task, queue.name))
    _check_open(task)
    if own is not None and own.status == "submitted":
        raise Conflict("you labeled this task already", code="already_annotated")
    now = clock.now()
    measured = None if own is None else max(0.0, (now - own.claimed_at).total_seconds())
    own = _skip_row(session, task, queue, rows, own, annotator=annotator, clock=clock)
    own.skip_reason = reason.strip()
    own.seconds = seconds if seconds is not None else measured
    own.submitted_at = now
    session.flush()
    skips = sum(1 for r in _annotations(session, task.id) if r.status == "skipped")
    if skips >= max_skips:
        _leave_queue(session, task, now)
    session.flush()
    return Submission(Annotation.from_row(own), Task.from_row(task, queue.name))


def _skip_row(
    session: Session,
    task: LabelingTaskRow,
    queue: LabelingQueueRow,
    rows: list[AnnotationRow],
    own: AnnotationRow | None,
    *,
    annotator: str,
    clock: Clock,
) -> AnnotationRow:
    """Put ``annotator``'s skip in the next free negative slot (retrying on a race)."""
    now = clock.now()
    for _ in range(5):
        slot = min([0, *(r.slot for r in rows)]) - 1
        try:
            with session.begin_nested():
                if own is None:
                    row = AnnotationRow(
                        id=new_id("ann", clock),
                        org_id=task.org_id,
                        task_id=task.id,
                        queue_id=queue.id,
                        slot=slot,
                        annotator=annotator,
                        status="skipped",
                        label=None,
                        skip_reason=None,
                        seconds=None,
                        claimed_at=now,
                        submitted_at=None,
                    )
                    session.add(row)
                    return row
                own.slot, own.status = slot, "skipped"
                session.flush()
                return own
        except IntegrityError:
            rows = _annotations(session, task.id)
            own = next((r for r in rows if r.annotator == annotator), None)
            if own is not None and own.status != "claimed":
                raise Conflict(
                    "you labeled or skipped this task already", code="already_annotated"
                ) from None
    raise Conflict("the task is busy: try again", code="task_busy")


def _leave_queue(session: Session, task: LabelingTaskRow, now: datetime) -> None:
    labels = [
        str(r.label)
        for r in _annotations(session, task.id)
        if r.status == "submitted" and r.label is not None
    ]
    task.updated_at = now
    if not labels:
        task.status = "skipped"
        return
    task.status = "review"
    task.agreement = majority_vote(labels, min_agreement=1.0).agreement


# -------------------------------------------------------------------- review
def review_task(
    session: Session,
    task_id: str,
    *,
    label: str,
    actor: str,
    clock: Clock,
) -> Task:
    """Set the final label of task ``task_id`` (any status) → ``done``, ``review``
    resolution (audited).

    Raises
    ------
    NotFound
        ``task_not_found``.
    InvalidInput
        ``unknown_label``.
    """
    task = task_for_update(session, task_id)
    queue = _queue_of(session, task)
    check_label(queue, label)
    now = clock.now()
    before = {"status": task.status, "label": task.label}
    task.status, task.label, task.resolution = "done", label, "review"
    task.done_at = task.updated_at = now
    record_audit(
        session,
        actor=actor,
        action="labeling_task.review",
        object_type="labeling_task",
        object_id=task.id,
        org_id=task.org_id,
        details={"queue": queue.name, "label": label, "before": before},
        clock=clock,
    )
    session.flush()
    return Task.from_row(task, queue.name, _annotations(session, task.id))
