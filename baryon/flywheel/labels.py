"""What a flywheel cycle learns from: consensus labels and trusted feedback, since a watermark.

Two sources feed a model's flywheel, both read straight from the tables of the
model's own organization (the session's scope):

consensus labels
    Labeling tasks with status ``done`` and a ``label`` (the consensus, what training
    sees) on every labeling queue whose ``model_name`` is the model. The source is
    named ``queue:<queue name>``.
trusted feedback
    Feedback with a ``label`` on a prediction the model served, given with an API key
    of role ``owner``, ``admin`` or ``developer`` (:data:`TRUSTED_ROLES`) that is not
    revoked. Annotators' feedback is not trusted — an annotator's label goes through a
    queue, where overlap, consensus and review apply — and neither is feedback from a
    key that was revoked (it may have been revoked for misuse). Feedback on a
    prediction whose inputs were not kept (organization setting ``prediction_inputs``
    ``hashed`` or ``none``) has nothing to learn from; in ``masked`` the input is
    learned as logged, personal data masked. The source is ``feedback``.

A :class:`Watermark` is the newest ``(time, id)`` consumed from each source: a task's
``done_at`` and id, a feedback's ``at`` and id. :func:`gather` returns what is
strictly newer than a watermark, oldest first, and the watermark after it. A cycle
records its watermark in the lineage of the dataset version it makes, so the next
cycle starts where the champion's data ends.

Limitation: a label committed with an earlier ``done_at`` than one already consumed
(two transactions whose clocks and commits interleave) is behind the watermark and
is not seen. Labels are written with the server's clock in one transaction each, so
this needs two labels within the same instant of two writers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from baryon.labeling.tables import LabelingQueueRow, LabelingTaskRow
from baryon.predictions.log import KEEPS_INPUTS
from baryon.predictions.tables import FeedbackRow, PredictionRow
from baryon.tenancy.tables import ApiKeyRow

__all__ = [
    "FEEDBACK",
    "TRUSTED_ROLES",
    "Gathered",
    "LabeledInput",
    "Watermark",
    "gather",
    "queue_source",
]

#: Roles whose feedback a cycle trusts as a label.
TRUSTED_ROLES: tuple[str, ...] = ("owner", "admin", "developer")
#: Source name of trusted feedback.
FEEDBACK = "feedback"

_Mark = tuple[datetime, str]


def queue_source(queue_name: str) -> str:
    """Return the source name of the consensus labels of queue ``queue_name``."""
    return f"queue:{queue_name}"


@dataclass(frozen=True)
class Watermark:
    """The newest consensus label and feedback a dataset version already holds.

    Attributes
    ----------
    labels : (datetime, str) or None
        ``(done_at, task id)`` of the newest consumed task (None: none yet).
    feedback : (datetime, str) or None
        ``(at, feedback id)`` of the newest consumed feedback.
    """

    labels: _Mark | None = None
    feedback: _Mark | None = None

    def to_dict(self) -> dict[str, Any]:
        """``{"labels": {"at", "id"} | None, "feedback": {"at", "id"} | None}`` (JSON)."""
        return {"labels": _mark_dict(self.labels), "feedback": _mark_dict(self.feedback)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Watermark:
        """Read :meth:`to_dict`'s output (``None`` or ``{}``: the empty watermark)."""
        data = data or {}
        return cls(labels=_mark_of(data.get("labels")), feedback=_mark_of(data.get("feedback")))


def _mark_dict(mark: _Mark | None) -> dict[str, str] | None:
    return None if mark is None else {"at": mark[0].isoformat(), "id": mark[1]}


def _mark_of(value: Any) -> _Mark | None:
    if not isinstance(value, Mapping) or "at" not in value or "id" not in value:
        return None
    return datetime.fromisoformat(str(value["at"])), str(value["id"])


@dataclass(frozen=True)
class LabeledInput:
    """One label to learn from.

    Attributes
    ----------
    source : str
        ``queue:<name>`` or ``feedback``.
    origin : str
        What queued the task (``support``, ``prediction``, ``active_learning``, ...),
        or ``feedback``.
    ref : str
        The task id or the feedback id.
    input : object
        The model's input: a task's ``input`` dict (``{"text": ...}`` for text
        models), or the logged prediction's input (a text, a row dict or a list).
    label : object
        The consensus label or the feedback's label.
    at : datetime
        When it was labelled (``done_at`` or the feedback's ``at``).
    """

    source: str
    origin: str
    ref: str
    input: Any
    label: Any
    at: datetime


@dataclass(frozen=True)
class Gathered:
    """What :func:`gather` found.

    Attributes
    ----------
    labels : list of LabeledInput
        Consensus labels, then usable trusted feedback, each oldest first.
    watermark : Watermark
        The newest task and feedback looked at (used or not).
    skipped : dict of str to int
        Feedback not used: ``untrusted_feedback`` (key role below developer, revoked
        or gone) and ``no_input`` (the prediction's inputs were not kept).
    """

    labels: list[LabeledInput]
    watermark: Watermark
    skipped: dict[str, int]

    @property
    def examined(self) -> int:
        """Labels and feedback looked at (used or skipped)."""
        return len(self.labels) + sum(self.skipped.values())


def _after(at: Any, ident: Any, mark: _Mark | None) -> Any:
    """SQL: ``(at, ident)`` strictly after ``mark`` (everything when there is none)."""
    if mark is None:
        return and_(at.is_not(None))
    return or_(at > mark[0], and_(at == mark[0], ident > mark[1]))


def gather(session: Session, model_name: str, since: Watermark) -> Gathered:
    """Return the consensus labels and trusted feedback of ``model_name`` after ``since``.

    Parameters
    ----------
    session : Session
        Scoped to the model's organization (only its queues, tasks and feedback are
        seen).
    model_name : str
    since : Watermark
        What the champion's training data already holds.

    Returns
    -------
    Gathered
    """
    labels: list[LabeledInput] = []
    newest_task = since.labels
    task, queue = LabelingTaskRow, LabelingQueueRow
    for row, queue_name in session.execute(
        select(task, queue.name)
        .join(queue, queue.id == task.queue_id)
        .where(
            queue.model_name == model_name,
            task.status == "done",
            task.label.is_not(None),
            _after(task.done_at, task.id, since.labels),
        )
        .order_by(task.done_at, task.id)
    ):
        assert row.done_at is not None
        labels.append(
            LabeledInput(
                source=queue_source(str(queue_name)),
                origin=row.source,
                ref=row.id,
                input=row.input,
                label=row.label,
                at=row.done_at,
            )
        )
        newest_task = (row.done_at, row.id)
    feedback, skipped, newest_feedback = _feedback(session, model_name, since.feedback)
    return Gathered(
        labels=labels + feedback,
        watermark=Watermark(labels=newest_task, feedback=newest_feedback),
        skipped=skipped,
    )


def _feedback(
    session: Session, model_name: str, since: _Mark | None
) -> tuple[list[LabeledInput], dict[str, int], _Mark | None]:
    fb, pred, key = FeedbackRow, PredictionRow, ApiKeyRow
    rows: Iterable[Any] = session.execute(
        select(fb, pred.input_mode, pred.inputs, key.role, key.revoked_at)
        .join(pred, pred.id == fb.prediction_id)
        .outerjoin(key, and_(key.id == fb.key_id, key.org_id == fb.org_id))
        .where(pred.model_name == model_name, _after(fb.at, fb.id, since))
        .order_by(fb.at, fb.id)
    )
    out: list[LabeledInput] = []
    skipped = {"untrusted_feedback": 0, "no_input": 0}
    newest = since
    for row, input_mode, inputs, role, revoked_at in rows:
        newest = (row.at, row.id)
        if row.label is None:  # a rating (recommenders): not a label
            continue
        if role not in TRUSTED_ROLES or revoked_at is not None:
            skipped["untrusted_feedback"] += 1
            continue
        if (
            input_mode not in KEEPS_INPUTS
            or not isinstance(inputs, list)
            or row.item >= len(inputs)
        ):
            skipped["no_input"] += 1
            continue
        out.append(
            LabeledInput(
                source=FEEDBACK,
                origin=FEEDBACK,
                ref=row.id,
                input=inputs[row.item],
                label=row.label,
                at=row.at,
            )
        )
    return out, {k: v for k, v in skipped.items() if v}, newest
