"""API keys: made, stored as hashes, listed, revoked.

A key is ``bry_`` followed by 43 URL-safe base-64 characters encoding 32 random bytes
from :func:`secrets.token_bytes` (256 bits). Only its SHA-256 (hex) and a short visible
prefix (``bry_`` plus 8 characters, enough to tell keys apart in a list) are stored;
the full key is returned once, by :func:`create_key`, and never again. A plain,
unsalted SHA-256 is the right hash here: the secret is uniformly random with 256 bits
of entropy, so there is nothing for a dictionary or a salt to protect (unlike a
password), and lookups stay one indexed equality.

An organization never locks itself out: revoking its last active ``owner`` or
``admin`` key (directly, or by disabling the user who holds it) is refused with a 409
``last_admin`` (:func:`check_not_last_admin`). Only the operator may, with
``force=True`` (``baryon keys revoke --force``); the operator's recovery path for an
organization without such a key is ``baryon keys create --org ORG --role owner``.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from baryon.core.audit import record_audit
from baryon.core.clock import Clock, SystemClock
from baryon.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from baryon.core.ids import new_id
from baryon.tenancy.permissions import ROLE_RANK, check_role
from baryon.tenancy.tables import ApiKeyRow, OrganizationRow, UserRow

__all__ = [
    "ADMIN_ROLES",
    "KEY_PREFIX",
    "SECRET_BYTES",
    "ApiKey",
    "CreatedKey",
    "check_not_last_admin",
    "create_key",
    "generate_secret",
    "get_key",
    "hash_secret",
    "list_keys",
    "looks_like_key",
    "parse_duration",
    "revoke_key",
]

KEY_PREFIX = "bry_"
SECRET_BYTES = 32
_VISIBLE = len(KEY_PREFIX) + 8
_KEY_RE = re.compile(r"^bry_[A-Za-z0-9_-]{43}$")
_DURATION_RE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}

#: Roles whose keys administer an organization (its keys and users).
ADMIN_ROLES: tuple[str, ...] = ("owner", "admin")


def generate_secret() -> str:
    """Return a new key: ``bry_`` + URL-safe base 64 of 32 random bytes (47 characters)."""
    raw = secrets.token_bytes(SECRET_BYTES)
    return KEY_PREFIX + base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def hash_secret(secret: str) -> str:
    """Return the SHA-256 of ``secret`` as 64 hex characters (what is stored)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def looks_like_key(secret: str) -> bool:
    """Whether ``secret`` has the shape of a Baryon key (checked before any lookup)."""
    return bool(_KEY_RE.match(secret))


#: Longest key lifetime accepted (100 years, seconds): beyond it datetimes overflow.
_MAX_DURATION_SECONDS = 100 * 366 * 86_400


def parse_duration(text: str) -> timedelta:
    """Parse ``"30d"``, ``"12h"``, ``"90m"``, ``"2w"``, ``"45s"`` into a timedelta.

    Raises
    ------
    InvalidInput
        Code ``invalid_duration`` for anything else, or a zero duration.
    """
    match = _DURATION_RE.match(text or "")
    if not match or int(match.group(1)) == 0:
        raise InvalidInput(
            f"expected a duration such as 30d, 12h, 90m, 2w; got {text!r}",
            code="invalid_duration",
        )
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if seconds > _MAX_DURATION_SECONDS:
        raise InvalidInput(
            f"a key may live at most 100 years; got {text!r}", code="invalid_duration"
        )
    return timedelta(seconds=seconds)


@dataclass(frozen=True)
class ApiKey:
    """An API key as listed (never with its secret).

    Attributes
    ----------
    id, org_id : str
    user_id : str or None
        The user the key acts for; ``None`` for a service key.
    name, role, prefix : str
    created_at : datetime
    expires_at, revoked_at, last_used_at : datetime or None
    """

    id: str
    org_id: str
    user_id: str | None
    name: str
    role: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def from_row(cls, row: ApiKeyRow) -> ApiKey:
        """Build from an :class:`ApiKeyRow`."""
        return cls(
            row.id,
            row.org_id,
            row.user_id,
            row.name,
            row.role,
            row.prefix,
            row.created_at,
            row.expires_at,
            row.revoked_at,
            row.last_used_at,
        )

    def status(self, now: datetime) -> str:
        """Return ``active``, ``revoked`` or ``expired`` at ``now``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"

    def to_dict(self, now: datetime | None = None) -> dict[str, Any]:
        """Return a JSON-ready dict (with ``status`` when ``now`` is given)."""
        out: dict[str, Any] = {
            "id": self.id,
            "org_id": self.org_id,
            "user_id": self.user_id,
            "name": self.name,
            "role": self.role,
            "prefix": self.prefix,
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "last_used_at": self.last_used_at.isoformat() if self.last_used_at else None,
        }
        if now is not None:
            out["status"] = self.status(now)
        return out


@dataclass(frozen=True)
class CreatedKey:
    """A new key with its secret: the only time the secret exists outside the caller."""

    key: ApiKey
    secret: str


def create_key(
    session: Session,
    *,
    org_id: str,
    role: str,
    name: str = "",
    user_id: str | None = None,
    expires_at: datetime | None = None,
    granted_by: str | None = None,
    actor: str = "system",
    clock: Clock | None = None,
) -> CreatedKey:
    """Make a key for ``org_id`` and return it with its secret (shown once).

    Parameters
    ----------
    session : Session
    org_id : str
    role : str
        One of the roles; not above ``granted_by`` or the user's role.
    name : str
        A label for people (``"ci"``, ``"mobile app"``).
    user_id : str, optional
        The user the key acts for (same organization, not disabled).
    expires_at : datetime, optional
        When the key stops working (must be in the future).
    granted_by : str, optional
        Role of the key creating this one (API callers); ``None`` for operators.
    actor : str
    clock : Clock, optional

    Raises
    ------
    InvalidInput
        Unknown role, bad name, expiry in the past.
    Forbidden
        ``role`` ranks above ``granted_by`` or the user's role (``role_too_high``).
    NotFound
        Unknown organization or user (or a user of another organization).
    """
    clock = clock or SystemClock()
    now = clock.now()
    check_role(role)
    if not isinstance(name, str) or len(name) > 100:
        raise InvalidInput("key name must be at most 100 characters", code="invalid_name")
    if session.get(OrganizationRow, org_id) is None:
        raise NotFound(f"no organization {org_id!r}", code="org_not_found")
    if granted_by is not None and ROLE_RANK[role] > ROLE_RANK[granted_by]:
        raise Forbidden(
            f"a key with the role {granted_by} cannot make a key with the role {role}",
            code="role_too_high",
        )
    if user_id is not None:
        user = session.get(UserRow, user_id)
        if user is None or user.org_id != org_id or user.disabled_at is not None:
            raise NotFound(f"no user {user_id!r}", code="user_not_found")
        if ROLE_RANK[role] > ROLE_RANK[user.role]:
            raise Forbidden(
                f"user {user_id} is {user.role}; a {role} key is above that", code="role_too_high"
            )
    if expires_at is not None and expires_at <= now:
        raise InvalidInput("expires_at must be in the future", code="invalid_expiry")
    secret = generate_secret()
    row = ApiKeyRow(
        id=new_id("key", clock),
        org_id=org_id,
        user_id=user_id,
        name=name,
        role=role,
        prefix=secret[:_VISIBLE],
        secret_sha256=hash_secret(secret),
        created_at=now,
        expires_at=expires_at,
    )
    session.add(row)
    record_audit(
        session,
        actor=actor,
        action="key.create",
        object_type="api_key",
        object_id=row.id,
        org_id=org_id,
        details={
            "role": role,
            "name": name,
            "prefix": row.prefix,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
        clock=clock,
    )
    session.flush()
    return CreatedKey(ApiKey.from_row(row), secret)


def list_keys(session: Session, org_id: str) -> list[ApiKey]:
    """Return the organization's keys (revoked ones too), oldest first."""
    rows = session.scalars(
        select(ApiKeyRow).where(ApiKeyRow.org_id == org_id).order_by(ApiKeyRow.created_at)
    )
    return [ApiKey.from_row(r) for r in rows]


def get_key(session: Session, key_id: str, *, org_id: str | None = None) -> ApiKey:
    """Return one key; with ``org_id``, a key of another organization is not found.

    Raises
    ------
    NotFound
        Code ``key_not_found``.
    """
    row = session.get(ApiKeyRow, key_id)
    if row is None or (org_id is not None and row.org_id != org_id):
        raise NotFound(f"no API key {key_id!r}", code="key_not_found")
    return ApiKey.from_row(row)


def _active_admin(row: ApiKeyRow, now: datetime) -> bool:
    return (
        row.role in ADMIN_ROLES
        and row.revoked_at is None
        and (row.expires_at is None or row.expires_at > now)
    )


def check_not_last_admin(
    session: Session, org_id: str, leaving: Collection[ApiKeyRow], *, now: datetime
) -> None:
    """Refuse a change that would leave ``org_id`` without an active owner or admin key.

    ``leaving`` are the keys the change revokes. When one of them is an active
    (not revoked, not expired) ``owner``/``admin`` key, at least one other such key of
    the organization must stay active. The organization's row is locked first
    (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already
    serialises writers), so two admins revoking each other's keys at once cannot both
    succeed.

    Raises
    ------
    Conflict
        Code ``last_admin`` (HTTP 409), naming the recovery path.
    """
    going = [row for row in leaving if _active_admin(row, now)]
    if not going:
        return
    session.execute(
        select(OrganizationRow.id).where(OrganizationRow.id == org_id).with_for_update()
    )
    remaining = session.scalar(
        select(func.count())
        .select_from(ApiKeyRow)
        .where(
            ApiKeyRow.org_id == org_id,
            ApiKeyRow.role.in_(ADMIN_ROLES),
            ApiKeyRow.revoked_at.is_(None),
            or_(ApiKeyRow.expires_at.is_(None), ApiKeyRow.expires_at > now),
            ApiKeyRow.id.not_in([row.id for row in going]),
        )
    )
    if not remaining:
        ids = ", ".join(row.id for row in going)
        raise Conflict(
            f"{ids} is the organization's last active owner or admin key: make another "
            "owner or admin key first (POST /v1/keys), so the organization keeps a way to "
            "manage its keys and users",
            code="last_admin",
            details={"key_ids": [row.id for row in going]},
        )


def revoke_key(
    session: Session,
    key_id: str,
    *,
    org_id: str | None = None,
    granted_by: str | None = None,
    force: bool = False,
    actor: str = "system",
    clock: Clock | None = None,
) -> ApiKey:
    """Revoke a key (idempotent: revoking a revoked key changes nothing).

    Its web console sessions end in the same transaction
    (:func:`baryon.tenancy.sessions.end_key_sessions`).

    Parameters
    ----------
    key_id : str
    org_id : str, optional
        Restrict to this organization (API callers); a key of another one is not found.
    granted_by : str, optional
        Role of the revoking key: it cannot revoke a key of a higher role.
    force : bool
        Revoke even the organization's last active owner or admin key (operators only:
        ``baryon keys revoke --force``; never over the API).

    Raises
    ------
    NotFound
        Code ``key_not_found``.
    Forbidden
        The key ranks above ``granted_by`` (``role_too_high``).
    Conflict
        The key is the organization's last active owner or admin key (``last_admin``)
        and ``force`` is false.
    """
    clock = clock or SystemClock()
    row = session.get(ApiKeyRow, key_id)
    if row is None or (org_id is not None and row.org_id != org_id):
        raise NotFound(f"no API key {key_id!r}", code="key_not_found")
    if granted_by is not None and ROLE_RANK[row.role] > ROLE_RANK[granted_by]:
        raise Forbidden(
            f"a key with the role {granted_by} cannot revoke a key with the role {row.role}",
            code="role_too_high",
        )
    if row.revoked_at is None and not force:
        check_not_last_admin(session, row.org_id, [row], now=clock.now())
    if row.revoked_at is None:
        row.revoked_at = clock.now()
        from baryon.tenancy.sessions import end_key_sessions

        end_key_sessions(session, row.id)
        record_audit(
            session,
            actor=actor,
            action="key.revoke",
            object_type="api_key",
            object_id=row.id,
            org_id=row.org_id,
            details={"prefix": row.prefix},
            clock=clock,
        )
        session.flush()
    return ApiKey.from_row(row)
