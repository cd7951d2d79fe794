"""The hand-off inbox: what a human agent does with a turn the assistant handed off.

A hand-off (:class:`~baryon.solutions.support.tables.SupportHandoffRow`) is ``open``
until an agent closes it. In between the agent may

- **answer** it (:func:`answer_handoff`): the answer, who gave it and when are stored;
  answering again replaces the answer (the audit chain keeps each one);
- **send it to labeling** (:func:`send_to_labeling`): the turn's text goes to the
  labeling queue of the model that handed it off (created on first use, like
  :func:`~baryon.solutions.support.service.queue_turn` does), at the top priority, with
  the model's guess as the suggestion; an open task of the same text is reused;
- **close** it (:func:`close_handoff`), optionally with a last answer.

Every change writes an audit event (``support.handoff.answer``, ``.label``,
``.close``) in the caller's transaction. Functions take a session scoped to the
organization (:mod:`baryon.core.scope`) and its id: another organization's hand-off
is not found.

Error codes: ``handoff_not_found`` (404); ``handoff_closed`` (409, a closed hand-off
takes no answer and no second close); ``empty_answer``, ``answer_too_long``,
``no_text`` (the organization keeps no inputs, so there is nothing to label),
``invalid_status``, ``invalid_limit``, ``invalid_offset`` (422).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from baryon.core.audit import record_audit
from baryon.core.clock import Clock
from baryon.core.errors import Conflict, InvalidInput, NotFound
from baryon.labeling.queue import enqueue, ensure_queue
from baryon.solutions.support.tables import SupportHandoffRow

__all__ = [
    "HANDOFF_STATUSES",
    "MAX_ANSWER_CHARS",
    "answer_handoff",
    "close_handoff",
    "count_handoffs",
    "get_handoff",
    "handoff_dict",
    "send_to_labeling",
]

#: States of a hand-off.
HANDOFF_STATUSES: tuple[str, ...] = ("open", "closed")
#: Longest answer an agent may store (characters).
MAX_ANSWER_CHARS = 10_000
#: ``source`` of the labeling tasks an agent makes.
LABELING_SOURCE = "support_inbox"


def check_status(status: str | None) -> str | None:
    """Return ``status`` if it is ``None`` or one of :data:`HANDOFF_STATUSES`.

    Raises
    ------
    InvalidInput
        ``invalid_status``.
    """
    if status is not None and status not in HANDOFF_STATUSES:
        raise InvalidInput("a hand-off's status is open or closed", code="invalid_status")
    return status


def handoff_dict(row: SupportHandoffRow) -> dict[str, Any]:
    """One hand-off as a dict: ``{"prediction_id", "conversation_id", "model",
    "model_version", "intent", "confidence", "reason", "text", "status", "created_at",
    "answer", "answered_by", "answered_at", "closed_at", "labeling_task_id"}``."""
    return {
        "prediction_id": row.prediction_id,
        "conversation_id": row.conversation_id,
        "model": row.model_name,
        "model_version": row.model_version,
        "intent": row.intent,
        "confidence": row.confidence,
        "reason": row.reason,
        "text": row.text,
        "status": row.status,
        "created_at": row.created_at,
        "answer": row.answer,
        "answered_by": row.answered_by,
        "answered_at": row.answered_at,
        "closed_at": row.closed_at,
        "labeling_task_id": row.labeling_task_id,
    }


def count_handoffs(session: Session, org_id: str, *, status: str | None = None) -> int:
    """How many hand-offs the organization has (in ``status``, if given).

    Raises
    ------
    InvalidInput
        ``invalid_status``.
    """
    query = select(func.count()).select_from(SupportHandoffRow)
    query = query.where(SupportHandoffRow.org_id == org_id)
    if check_status(status) is not None:
        query = query.where(SupportHandoffRow.status == status)
    return int(session.scalar(query) or 0)


def _row(session: Session, org_id: str, prediction_id: str) -> SupportHandoffRow:
    row = session.get(SupportHandoffRow, prediction_id)
    if row is None or row.org_id != org_id:
        raise NotFound(f"no hand-off {prediction_id!r}", code="handoff_not_found")
    return row


def get_handoff(session: Session, org_id: str, prediction_id: str) -> dict[str, Any]:
    """One hand-off (:func:`handoff_dict`).

    Raises
    ------
    NotFound
        ``handoff_not_found`` (also another organization's).
    """
    return handoff_dict(_row(session, org_id, prediction_id))


def _open_row(session: Session, org_id: str, prediction_id: str) -> SupportHandoffRow:
    row = _row(session, org_id, prediction_id)
    if row.status != "open":
        raise Conflict(f"hand-off {prediction_id} is closed", code="handoff_closed")
    return row


def _check_answer(answer: Any) -> str:
    if not isinstance(answer, str) or not answer.strip():
        raise InvalidInput("the answer is empty", code="empty_answer")
    if len(answer) > MAX_ANSWER_CHARS:
        raise InvalidInput(
            f"an answer has at most {MAX_ANSWER_CHARS} characters", code="answer_too_long"
        )
    return answer.strip()


def answer_handoff(
    session: Session,
    org_id: str,
    prediction_id: str,
    *,
    answer: str,
    actor: str,
    clock: Clock,
) -> dict[str, Any]:
    """Store an agent's answer to an open hand-off (audited); return the hand-off.

    Raises
    ------
    NotFound
        ``handoff_not_found``.
    Conflict
        ``handoff_closed``.
    InvalidInput
        ``empty_answer``, ``answer_too_long``.
    """
    text = _check_answer(answer)
    row = _open_row(session, org_id, prediction_id)
    row.answer, row.answered_by, row.answered_at = text, actor, clock.now()
    record_audit(
        session, actor=actor, action="support.handoff.answer", object_type="support_handoff",
        object_id=prediction_id, org_id=org_id, details={"chars": len(text)}, clock=clock,
    )  # fmt: skip
    session.flush()
    return handoff_dict(row)


def close_handoff(
    session: Session,
    org_id: str,
    prediction_id: str,
    *,
    actor: str,
    clock: Clock,
    answer: str | None = None,
) -> dict[str, Any]:
    """Close an open hand-off (audited), storing ``answer`` first if one is given.

    Raises
    ------
    NotFound
        ``handoff_not_found``.
    Conflict
        ``handoff_closed``.
    InvalidInput
        ``empty_answer``, ``answer_too_long`` (an answer given but blank or too long).
    """
    if answer is not None and answer.strip():
        answer_handoff(session, org_id, prediction_id, answer=answer, actor=actor, clock=clock)
    row = _open_row(session, org_id, prediction_id)
    row.status, row.closed_at = "closed", clock.now()
    record_audit(
        session, actor=actor, action="support.handoff.close", object_type="support_handoff",
        object_id=prediction_id, org_id=org_id, details={"answered": row.answer is not None},
        clock=clock,
    )  # fmt: skip
    session.flush()
    return handoff_dict(row)


def send_to_labeling(
    session: Session,
    org_id: str,
    prediction_id: str,
    *,
    classes: Sequence[str],
    actor: str,
    clock: Clock,
) -> str:
    """Queue a hand-off's text for labeling on its model's queue (audited).

    Parameters
    ----------
    classes : sequence of str
        The model's labels (:func:`baryon.labeling.service.queue_classes`): the queue is
        created with them on first use, and learns those it lacked.

    Returns
    -------
    str
        The labeling task id (an open task of the same text is reused).

    Raises
    ------
    NotFound
        ``handoff_not_found``.
    InvalidInput
        ``no_text``: the organization keeps no inputs (or only their hash).
    """
    row = _row(session, org_id, prediction_id)
    if row.text is None:
        raise InvalidInput(
            "this hand-off kept no text (the organization's input mode), so it cannot be labeled",
            code="no_text",
        )
    queue = ensure_queue(
        session, org_id=org_id, model_name=row.model_name, classes=classes, clock=clock
    )
    task_id = enqueue(
        session, queue, input={"text": row.text}, source=LABELING_SOURCE, reason=row.reason,
        clock=clock, priority=1.0, prediction_id=row.prediction_id,
        model_version=row.model_version, suggested_label=row.intent, confidence=row.confidence,
    )  # fmt: skip
    row.labeling_task_id = task_id
    record_audit(
        session, actor=actor, action="support.handoff.label", object_type="support_handoff",
        object_id=prediction_id, org_id=org_id,
        details={"queue": queue.name, "task_id": task_id}, clock=clock,
    )  # fmt: skip
    session.flush()
    return task_id
