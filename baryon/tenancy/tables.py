"""Tenancy tables: organizations (tenants), their users, API keys and console sessions.

Created by migrations ``0004`` and later (console sessions: ``0015``);
``tests/tenancy/test_tables.py`` compares the two.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from baryon.core.db import Base, UTCDateTime

__all__ = ["ApiKeyRow", "ConsoleSessionRow", "GrantRow", "OrganizationRow", "UserRow"]

_ORG_FK = "organizations.id"


class OrganizationRow(Base):
    """A tenant: owns keys, a subscription, usage, predictions.

    ``prediction_inputs`` is how the prediction log keeps request inputs: ``full``,
    ``masked`` (personal data masked; new organizations' default), ``hashed`` (SHA-256
    of each input) or ``none``. An ``operator`` organization is
    the one that runs the platform: its owners and admins hold the platform
    permissions (plans, other organizations, metrics).
    """

    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    operator: Mapped[bool] = mapped_column(Boolean, default=False)
    prediction_inputs: Mapped[str] = mapped_column(String(16), default="masked")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class UserRow(Base):
    """A person in an organization, with one role."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("org_id", "email"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(40), ForeignKey(_ORG_FK, ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ApiKeyRow(Base):
    """An API key: only its SHA-256 and a short visible prefix are stored."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(
        String(40), ForeignKey(_ORG_FK, ondelete="CASCADE"), index=True
    )
    user_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("users.id", ondelete="CASCADE"), nullable=True
    )
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    prefix: Mapped[str] = mapped_column(String(16))
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class GrantRow(Base):
    """One organization's grant of ``read`` or ``predict`` on one of its objects.

    ``grantee_org_id`` is ``None`` for a grant to every organization (how the operator
    shares the bundled solution models). Revoking deletes the row (audited).
    """

    __tablename__ = "grants"
    __table_args__ = (
        UniqueConstraint(
            "object_type", "object_id", "grantee_org_id", "permission", name="uq_grants_object"
        ),
        Index("ix_grants_grantee", "grantee_org_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner_org_id: Mapped[str] = mapped_column(
        String(40), ForeignKey(_ORG_FK, ondelete="CASCADE"), index=True
    )
    grantee_org_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey(_ORG_FK, ondelete="CASCADE"), nullable=True
    )
    object_type: Mapped[str] = mapped_column(String(16))
    object_id: Mapped[str] = mapped_column(String(40))
    permission: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ConsoleSessionRow(Base):
    """A web console session: an API key signed in from a browser (migration ``0015``).

    Only the SHA-256 of the session token (the cookie's value) is stored, like a key's
    secret. A session ends at ``expires_at``, at logout (the row is deleted) and when
    its key is revoked or expires (:mod:`baryon.tenancy.sessions`).
    """

    __tablename__ = "console_sessions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    org_id: Mapped[str] = mapped_column(
        String(40), ForeignKey(_ORG_FK, ondelete="CASCADE"), index=True
    )
    key_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("api_keys.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
