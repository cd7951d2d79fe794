"""Users: people in an organization, each with one role.

A user's keys act with at most the user's role. Disabling a user revokes every key
of theirs in the same transaction (and audits both); it is refused (409 ``last_admin``)
when that would revoke the organization's last active owner or admin key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from baryon.core.audit import record_audit
from baryon.core.clock import Clock, SystemClock
from baryon.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from baryon.core.ids import new_id
from baryon.tenancy.keys import check_not_last_admin, revoke_key
from baryon.tenancy.permissions import ROLE_RANK, check_role
from baryon.tenancy.tables import ApiKeyRow, OrganizationRow, UserRow

__all__ = ["User", "create_user", "disable_user", "get_user", "list_users"]

_EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}$")


@dataclass(frozen=True)
class User:
    """A person in an organization.

    A user is never deleted: :func:`disable_user` is a soft delete that keeps the
    record (and the audit trail that names it) with ``status`` ``disabled``.

    Attributes
    ----------
    id, org_id, email, role : str
    created_at : datetime
    disabled_at : datetime or None
    """

    id: str
    org_id: str
    email: str
    role: str
    created_at: datetime
    disabled_at: datetime | None

    @property
    def status(self) -> str:
        """``"active"``, or ``"disabled"`` once :func:`disable_user` ran."""
        return "active" if self.disabled_at is None else "disabled"

    @classmethod
    def from_row(cls, row: UserRow) -> User:
        """Build from a :class:`UserRow`."""
        return cls(row.id, row.org_id, row.email, row.role, row.created_at, row.disabled_at)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "id": self.id,
            "org_id": self.org_id,
            "email": self.email,
            "role": self.role,
            "status": self.status,
            "created_at": self.created_at.isoformat(),
            "disabled_at": self.disabled_at.isoformat() if self.disabled_at else None,
        }


def create_user(
    session: Session,
    *,
    org_id: str,
    email: str,
    role: str,
    granted_by: str | None = None,
    actor: str = "system",
    clock: Clock | None = None,
) -> User:
    """Add a user to an organization (audited).

    Raises
    ------
    InvalidInput
        Bad email (``invalid_email``) or role (``invalid_role``).
    Forbidden
        ``role`` ranks above ``granted_by`` (``role_too_high``).
    NotFound
        Unknown organization.
    Conflict
        The email is already a user of the organization (``user_exists``).
    """
    clock = clock or SystemClock()
    check_role(role)
    email = (email or "").strip().lower()
    if not _EMAIL_RE.match(email):
        raise InvalidInput(f"not an email address: {email!r}", code="invalid_email")
    if granted_by is not None and ROLE_RANK[role] > ROLE_RANK[granted_by]:
        raise Forbidden(
            f"a key with the role {granted_by} cannot add a user with the role {role}",
            code="role_too_high",
        )
    if session.get(OrganizationRow, org_id) is None:
        raise NotFound(f"no organization {org_id!r}", code="org_not_found")
    taken = session.scalar(
        select(UserRow.id).where(UserRow.org_id == org_id, UserRow.email == email)
    )
    if taken is not None:
        raise Conflict(f"{email} is already a user of this organization", code="user_exists")
    row = UserRow(
        id=new_id("usr", clock), org_id=org_id, email=email, role=role, created_at=clock.now()
    )
    session.add(row)
    record_audit(
        session,
        actor=actor,
        action="user.create",
        object_type="user",
        object_id=row.id,
        org_id=org_id,
        details={"role": role},
        clock=clock,
    )
    session.flush()
    return User.from_row(row)


def list_users(session: Session, org_id: str) -> list[User]:
    """Return the organization's users, oldest first."""
    rows = session.scalars(
        select(UserRow).where(UserRow.org_id == org_id).order_by(UserRow.created_at)
    )
    return [User.from_row(r) for r in rows]


def get_user(session: Session, user_id: str, *, org_id: str) -> User:
    """Return a user of ``org_id``; a user of another organization is not found.

    Raises
    ------
    NotFound
        Code ``user_not_found``.
    """
    row = session.get(UserRow, user_id)
    if row is None or row.org_id != org_id:
        raise NotFound(f"no user {user_id!r}", code="user_not_found")
    return User.from_row(row)


def disable_user(
    session: Session,
    user_id: str,
    *,
    org_id: str,
    granted_by: str | None = None,
    force: bool = False,
    actor: str = "system",
    clock: Clock | None = None,
) -> User:
    """Disable a user and revoke their keys (idempotent, audited): a soft delete.

    The user stays readable and listed with ``status`` ``disabled`` and
    ``disabled_at``; their keys stay listed as ``revoked``.

    Parameters
    ----------
    force : bool
        Disable even the holder of the organization's last active owner or admin key
        (operators only; never over the API).

    Raises
    ------
    NotFound
        Code ``user_not_found``.
    Forbidden
        The user ranks above ``granted_by`` (``role_too_high``).
    Conflict
        The user holds the organization's last active owner or admin key
        (``last_admin``) and ``force`` is false.
    """
    clock = clock or SystemClock()
    row = session.get(UserRow, user_id)
    if row is None or row.org_id != org_id:
        raise NotFound(f"no user {user_id!r}", code="user_not_found")
    if granted_by is not None and ROLE_RANK[row.role] > ROLE_RANK[granted_by]:
        raise Forbidden(
            f"a key with the role {granted_by} cannot disable a user with the role {row.role}",
            code="role_too_high",
        )
    if row.disabled_at is None and not force:
        held = session.scalars(select(ApiKeyRow).where(ApiKeyRow.user_id == user_id)).all()
        check_not_last_admin(session, org_id, held, now=clock.now())
    if row.disabled_at is None:
        row.disabled_at = clock.now()
        record_audit(
            session,
            actor=actor,
            action="user.disable",
            object_type="user",
            object_id=row.id,
            org_id=org_id,
            clock=clock,
        )
        key_ids = session.scalars(select(ApiKeyRow.id).where(ApiKeyRow.user_id == user_id)).all()
        for key_id in key_ids:
            revoke_key(session, key_id, org_id=org_id, force=True, actor=actor, clock=clock)
    session.flush()
    return User.from_row(row)
