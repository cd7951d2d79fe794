"""Audit events: who did what to which object, when.

Every state change of note (a forced promotion, a key revoked, a plan changed) writes
one audit event **in the same transaction** as the change, so the log and the state
never disagree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from baryon.core.clock import Clock, SystemClock
from baryon.core.db import Base, JSONType, UTCDateTime
from baryon.core.ids import new_id

__all__ = ["AuditEvent", "list_audit_events", "record_audit"]


class AuditEvent(Base):
    """One row of the audit log (table ``audit_events``)."""

    __tablename__ = "audit_events"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(200))
    org_id: Mapped[str | None] = mapped_column(String(40), index=True)
    action: Mapped[str] = mapped_column(String(100))
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSONType)


def record_audit(
    session: Session,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    details: dict[str, Any] | None = None,
    org_id: str | None = None,
    clock: Clock | None = None,
) -> AuditEvent:
    """Add an audit event to ``session`` (committed with the caller's transaction).

    Parameters
    ----------
    session : Session
        The open session of the change being audited.
    actor : str
        Who acted: ``"cli:<os user>"``, ``"key:<key id>"``, ``"system"``.
    action : str
        Dotted verb, e.g. ``"model.promote"``, ``"key.revoke"``.
    object_type, object_id : str
        What was acted on.
    details : dict, optional
        JSON-serialisable facts (reason, old/new values).
    org_id : str, optional
        Organization the object belongs to.
    clock : Clock, optional
        Time source (default: system clock).

    Returns
    -------
    AuditEvent
        The pending row.
    """
    clock = clock or SystemClock()
    event = AuditEvent(
        id=new_id("aud", clock),
        at=clock.now(),
        actor=actor,
        org_id=org_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        details=dict(details or {}),
    )
    session.add(event)
    return event


def list_audit_events(
    session: Session, *, object_type: str | None = None, object_id: str | None = None
) -> list[AuditEvent]:
    """Return audit events, oldest first, optionally for one object."""
    stmt = select(AuditEvent).order_by(AuditEvent.at, AuditEvent.id)
    if object_type is not None:
        stmt = stmt.where(AuditEvent.object_type == object_type)
    if object_id is not None:
        stmt = stmt.where(AuditEvent.object_id == object_id)
    return list(session.scalars(stmt))
