"""Support tables (migration ``0005``): the hand-off queue and the labeling queue.

``tests/solutions/test_support_tables.py`` compares these with the hand-written
migration ``baryon/core/migrations/versions/0005_solutions.py``.

Tables
------
``support_handoffs``
    One row per turn the assistant handed to a human (out of scope or unsure), keyed
    by the turn's ``prediction_id``: what a human agent picks up, per conversation.
``labeling_tasks``
    Turns waiting for a label from an annotator (the flywheel: a labelled turn goes
    into the next dataset version). One **open** task per distinct text and
    organization: a text handed off again raises ``seen_count`` instead of adding a
    task. A task holds the text, so it exists only when the text may be kept
    (organizations whose prediction-log input mode is ``hashed`` or ``none`` get the
    hand-off row without the text and no labeling task).

Turns answered outside the HTTP API (``baryon support ask``,
:class:`~baryon.solutions.support.service.SupportService` in Python) belong to the
workspace's operator organization.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

import baryon.commerce.tables  # noqa: F401  (organizations: the foreign keys' target)
from baryon.core.db import Base, UTCDateTime
from baryon.core.scope import OrgOwned

__all__ = [
    "MAX_CONVERSATION_ID_CHARS",
    "LabelingTaskRow",
    "SupportHandoffRow",
]

_ORG_FK = "organizations.id"
#: Longest conversation id accepted (characters).
MAX_CONVERSATION_ID_CHARS = 200


class SupportHandoffRow(OrgOwned, Base):
    """One turn handed to a human (table ``support_handoffs``).

    Attributes
    ----------
    prediction_id : str
        The turn's ``pred_…`` id (also in the prediction log for API turns).
    org_id : str
        Organization of the API key (the operator organization outside the HTTP API).
    conversation_id : str or None
        The caller's conversation id.
    model_name : str
    model_version : int
    intent : str
        The model's best guess (kept for the agent even though it was not trusted).
    confidence : float
        Its probability, in [0, 1].
    reason : str
        ``out_of_scope`` or ``low_confidence``.
    text : str or None
        The customer's text (``None`` when the organization does not keep inputs).
    text_hash : str or None
        SHA-256 (hex) of the text's canonical JSON (``None`` in input mode ``none``).
    status : str
        ``open`` (waiting for an agent) or ``closed``.
    created_at : datetime
    """

    __tablename__ = "support_handoffs"
    __table_args__ = (
        Index("ix_support_handoffs_org_conversation", "org_id", "conversation_id"),
        Index("ix_support_handoffs_status_created", "status", "created_at"),
    )

    prediction_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(40), ForeignKey(_ORG_FK, ondelete="CASCADE"))
    conversation_id: Mapped[str | None] = mapped_column(
        String(MAX_CONVERSATION_ID_CHARS), nullable=True
    )
    model_name: Mapped[str] = mapped_column(String(200))
    model_version: Mapped[int] = mapped_column(Integer)
    intent: Mapped[str] = mapped_column(String(200))
    confidence: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(String(32))
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    text_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LabelingTaskRow(OrgOwned, Base):
    """One item waiting for a label (table ``labeling_tasks``).

    Attributes
    ----------
    id : str
        ``task_…``.
    org_id : str
        Owning organization (the operator organization outside the HTTP API).
    source : str
        What queued it (``support``).
    model_name : str
    model_version : int
        The model version whose answer was unsure.
    prediction_id : str
        The first turn that queued this text.
    text : str
        The text to label.
    text_hash : str
        SHA-256 (hex) of the text's canonical JSON (finds the open task of a text).
    suggested_label : str
        The model's best guess, offered to the annotator.
    confidence : float
        Its probability, in [0, 1].
    reason : str
        ``out_of_scope`` or ``low_confidence``.
    seen_count : int
        How many turns handed off this text while the task was open.
    status : str
        ``open``, ``labeled`` or ``skipped``.
    label : str or None
        The annotator's label (an intent, or ``oos``).
    created_at, updated_at : datetime
    """

    __tablename__ = "labeling_tasks"
    __table_args__ = (
        Index("ix_labeling_tasks_source_status", "source", "status", "created_at"),
        Index("ix_labeling_tasks_org_hash", "org_id", "text_hash"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(40), ForeignKey(_ORG_FK, ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(64))
    model_name: Mapped[str] = mapped_column(String(200))
    model_version: Mapped[int] = mapped_column(Integer)
    prediction_id: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    text_hash: Mapped[str] = mapped_column(String(64))
    suggested_label: Mapped[str] = mapped_column(String(200))
    confidence: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(String(32))
    seen_count: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    label: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
