"""Support tables (migration ``0005``): the hand-off queue.

``tests/solutions/test_support_tables.py`` compares these with the hand-written
migrations ``baryon/core/migrations/versions/0005_solutions.py`` and ``0021`` (the
inbox's answer, closing time and labeling task).

Tables
------
``support_handoffs``
    One row per turn the assistant handed to a human (out of scope or unsure), keyed
    by the turn's ``prediction_id``: what a human agent picks up, per conversation.
A handed-off turn whose text may be kept is also queued for labeling on the model's
labeling queue (:func:`baryon.labeling.queue.enqueue`, ``baryon/labeling/tables.py``).

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
    answer : str or None
        The agent's answer to the customer (migration ``0021``), if any.
    answered_by : str or None
        Who answered (the audit actor, ``key:…``).
    answered_at, closed_at : datetime or None
    labeling_task_id : str or None
        The labeling task an agent sent the turn to (``task_…``), if any.
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
    answer: Mapped[str | None] = mapped_column(Text, nullable=True)
    answered_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    labeling_task_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
