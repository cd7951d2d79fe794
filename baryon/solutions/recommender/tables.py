"""Recommender tables (migration ``0006``): interaction events kept as feedback.

``recommender_events`` holds what ``POST /v1/events`` accepted: a view, a click or
a rating of an item by a user, per organization. Rated events become rows of the
next training set (``RecommenderService.feedback_ratings`` in
:mod:`baryon.solutions.recommender.service`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

import baryon.commerce.tables  # noqa: F401  (organizations: the foreign key's target)
from baryon.core.db import Base, UTCDateTime
from baryon.core.scope import OrgOwned

__all__ = ["RecommenderEventRow"]

#: Longest user or item id kept (characters).
MAX_ID_CHARS = 200


class RecommenderEventRow(OrgOwned, Base):
    """One interaction (table ``recommender_events``)."""

    __tablename__ = "recommender_events"
    __table_args__ = (
        Index("ix_recommender_events_org_at", "org_id", "at"),
        Index("ix_recommender_events_org_user", "org_id", "user_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("organizations.id", ondelete="CASCADE")
    )
    user_id: Mapped[str] = mapped_column(String(MAX_ID_CHARS))
    item_id: Mapped[str] = mapped_column(String(MAX_ID_CHARS))
    type: Mapped[str] = mapped_column(String(8))
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    key_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
