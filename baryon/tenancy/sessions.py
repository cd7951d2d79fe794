"""Web console sessions: an API key signed in from a browser.

Signing in to the console (``/console/login``) with an API key opens a **server-side
session**: a random token of 32 bytes (:func:`secrets.token_urlsafe`, 256 bits) goes
to the browser in a cookie, and only its SHA-256 is stored (table
``console_sessions``), as for a key's secret, for the same reason: the token is
uniformly random, so a plain hash is enough and a lookup stays one indexed equality.

A session acts as its key: the key's organization and role, nothing more. It ends

- at ``expires_at`` (creation time plus the lifetime the caller gives, the
  ``BARYON_CONSOLE_SESSION_SECONDS`` setting; no sliding renewal);
- at logout (:func:`close_session` deletes the row);
- when its key is revoked (:func:`baryon.tenancy.keys.revoke_key` calls
  :func:`end_key_sessions` in the same transaction) or expires (the lookup in
  :mod:`baryon.serving.auth` refuses and deletes the session).

Opening and closing a session write audit events (``session.open``,
``session.close``) in the same transaction.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from baryon.core.audit import record_audit
from baryon.core.clock import Clock, SystemClock
from baryon.core.errors import InvalidInput
from baryon.core.ids import new_id
from baryon.tenancy.keys import hash_secret
from baryon.tenancy.tables import ConsoleSessionRow

__all__ = [
    "TOKEN_BYTES",
    "ConsoleSession",
    "OpenedSession",
    "close_session",
    "end_key_sessions",
    "open_session",
]

#: Random bytes in a session token (256 bits).
TOKEN_BYTES = 32
#: Longest session lifetime accepted (30 days, seconds).
_MAX_LIFETIME = timedelta(days=30)


@dataclass(frozen=True)
class ConsoleSession:
    """A console session as stored (never with its token).

    Attributes
    ----------
    id, org_id, key_id : str
    created_at, expires_at, last_seen_at : datetime
        UTC.
    """

    id: str
    org_id: str
    key_id: str
    created_at: datetime
    expires_at: datetime
    last_seen_at: datetime

    @classmethod
    def from_row(cls, row: ConsoleSessionRow) -> ConsoleSession:
        """Build from a :class:`ConsoleSessionRow`."""
        return cls(row.id, row.org_id, row.key_id, row.created_at, row.expires_at, row.last_seen_at)


@dataclass(frozen=True)
class OpenedSession:
    """A new session with its token: the only time the token exists outside the browser."""

    session: ConsoleSession
    token: str


def open_session(
    session: Session,
    *,
    org_id: str,
    key_id: str,
    lifetime: timedelta,
    clock: Clock | None = None,
) -> OpenedSession:
    """Open a session for key ``key_id`` of ``org_id``, valid for ``lifetime``.

    The caller has already checked the key (:func:`baryon.serving.auth.authenticate`).

    Parameters
    ----------
    session : Session
    org_id, key_id : str
    lifetime : timedelta
        How long the session lasts (more than 0, at most 30 days).
    clock : Clock, optional

    Returns
    -------
    OpenedSession

    Raises
    ------
    InvalidInput
        ``invalid_session_lifetime`` for a lifetime out of range.
    """
    if not timedelta(0) < lifetime <= _MAX_LIFETIME:
        raise InvalidInput(
            "a console session lasts more than 0 s and at most 30 days",
            code="invalid_session_lifetime",
        )
    clock = clock or SystemClock()
    now = clock.now()
    token = secrets.token_urlsafe(TOKEN_BYTES)
    row = ConsoleSessionRow(
        id=new_id("ses", clock),
        token_sha256=hash_secret(token),
        org_id=org_id,
        key_id=key_id,
        created_at=now,
        expires_at=now + lifetime,
        last_seen_at=now,
    )
    session.add(row)
    record_audit(
        session,
        actor=f"key:{key_id}",
        action="session.open",
        object_type="console_session",
        object_id=row.id,
        org_id=org_id,
        details={"expires_at": row.expires_at.isoformat()},
        clock=clock,
    )
    session.flush()
    return OpenedSession(ConsoleSession.from_row(row), token)


def close_session(
    session: Session, token: str, *, reason: str = "logout", clock: Clock | None = None
) -> bool:
    """Delete the session of ``token``; return whether there was one.

    Parameters
    ----------
    session : Session
    token : str
        The session token (the cookie's value).
    reason : str
        Recorded in the audit event: ``logout``, ``expired``, ``key_revoked``,
        ``key_expired``.
    clock : Clock, optional
    """
    row = session.scalar(
        select(ConsoleSessionRow).where(ConsoleSessionRow.token_sha256 == hash_secret(token))
    )
    if row is None:
        return False
    record_audit(
        session,
        actor=f"key:{row.key_id}",
        action="session.close",
        object_type="console_session",
        object_id=row.id,
        org_id=row.org_id,
        details={"reason": reason},
        clock=clock,
    )
    session.delete(row)
    session.flush()
    return True


def end_key_sessions(session: Session, key_id: str) -> int:
    """Delete every console session of key ``key_id`` (its revocation); return how many."""
    result = session.execute(
        delete(ConsoleSessionRow)
        .where(ConsoleSessionRow.key_id == key_id)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
