"""Audit events: who did what to which object, when — in a tamper-evident chain.

Every state change of note (a forced promotion, a key revoked, a plan changed) writes
one audit event **in the same transaction** as the change, so the log and the state
never disagree.

The chain
---------
Each event has a sequence number ``seq`` (1, 2, 3, ... across the whole workspace) and
a chain value::

    chain[n] = HMAC-SHA256(key, chain[n-1] + "\\n" + canonical JSON of event n)

with ``chain[0]`` 64 zeros (RFC 2104 HMAC, FIPS 180-4 SHA-256). The canonical JSON is
the event's ``seq``, ``id``, ``at`` (``YYYY-MM-DDTHH:MM:SS.ffffffZ``), ``actor``,
``org_id``, ``action``, ``object_type``, ``object_id`` and ``details`` with sorted keys
and no spaces (:func:`~baryon.core.jsonvalues.canonical_bytes`); an integral float in
``details`` is written as the integer (PostgreSQL's ``jsonb`` reads ``1e20`` back as
``100000000000000000000``). The key is the workspace's own (``<home>/audit.key``, mode
0600, :mod:`baryon.core.keyfile`); without it nobody can compute a chain value, so an
event edited, deleted, inserted or moved by hand in the database breaks the chain at
that event, and :func:`verify_audit_chain` names it.

The newest ``(seq, chain)`` is kept in the one-row table ``audit_chain``. Writing an
event locks that row (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite transactions
are already serialised by ``BEGIN IMMEDIATE``) until the transaction ends, so two
transactions can never link to the same predecessor: the chain order is the commit
order.

Limits: whoever holds the key (the operator) can rewrite the whole log; and deleting
the newest events *and* rewinding ``audit_chain`` to match is invisible without an
anchor — note ``seq`` and ``chain`` of the head now and then (``baryon audit verify``
prints them) and pass them back with ``--anchor``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Integer, String, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from baryon.core.clock import Clock, SystemClock
from baryon.core.db import Base, JSONType, UTCDateTime
from baryon.core.errors import BaryonError, IntegrityError, InvalidInput
from baryon.core.ids import new_id
from baryon.core.jsonvalues import canonical_bytes, to_jsonable

__all__ = [
    "AUDIT_KEY_INFO",
    "GENESIS",
    "AuditChainHead",
    "AuditEvent",
    "ChainProblem",
    "ChainReport",
    "audit_event_dict",
    "chain_value",
    "iter_audit_events",
    "list_audit_events",
    "parse_anchor",
    "record_audit",
    "verify_audit_chain",
]

#: ``Session.info`` key under which :class:`~baryon.core.db.Database` hands every
#: session the workspace's audit key.
AUDIT_KEY_INFO = "audit_key"

#: The chain value before the first event.
GENESIS = "0" * 64

_HEAD_ID = 1


class AuditEvent(Base):
    """One row of the audit log (table ``audit_events``)."""

    __tablename__ = "audit_events"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(200))
    org_id: Mapped[str | None] = mapped_column(String(40), index=True)
    action: Mapped[str] = mapped_column(String(100))
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSONType)
    chain: Mapped[str] = mapped_column(String(64))


class AuditChainHead(Base):
    """The newest link of the chain (table ``audit_chain``, one row with ``id`` 1)."""

    __tablename__ = "audit_chain"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    chain: Mapped[str] = mapped_column(String(64))


# ----------------------------------------------------------------------- the chain
def _normalise(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    return value


def _canonical(event: AuditEvent) -> bytes:
    return canonical_bytes(
        {
            "seq": event.seq,
            "id": event.id,
            "at": event.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "actor": event.actor,
            "org_id": event.org_id,
            "action": event.action,
            "object_type": event.object_type,
            "object_id": event.object_id,
            "details": _normalise(event.details),
        }
    )


def chain_value(key: bytes, previous: str, event: AuditEvent) -> str:
    """Return ``event``'s chain value after ``previous`` (formula in the module docstring).

    Parameters
    ----------
    key : bytes
        The workspace's audit key.
    previous : str
        The previous event's chain value (64 hex digits; :data:`GENESIS` for the first).
    event : AuditEvent
        With ``seq`` set.

    Returns
    -------
    str
        64 lower-case hex digits.
    """
    message = previous.encode("ascii") + b"\n" + _canonical(event)
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _session_key(session: Session) -> bytes:
    key = session.info.get(AUDIT_KEY_INFO)
    if not isinstance(key, bytes) or not key:
        raise BaryonError(
            "this database session has no audit key: open the workspace with "
            "Workspace.open (it reads <home>/audit.key)",
            code="audit_key_missing",
        )
    return key


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
    """Add an audit event to ``session``, linked to the chain (committed with the caller).

    The chain head stays locked until the caller's transaction ends: call this after
    the change it records, not before long work.

    Parameters
    ----------
    session : Session
        The open session of the change being audited (made by the workspace's
        :class:`~baryon.core.db.Database`, which gives it the audit key).
    actor : str
        Who acted: ``"cli:<os user>"``, ``"key:<key id>"``, ``"system"``.
    action : str
        Dotted verb, e.g. ``"model.promote"``, ``"key.revoke"``.
    object_type, object_id : str
        What was acted on.
    details : dict, optional
        JSON-serialisable facts (reason, old/new values); stored as
        :func:`~baryon.core.jsonvalues.to_jsonable` makes them.
    org_id : str, optional
        Organization the object belongs to.
    clock : Clock, optional
        Time source (default: system clock).

    Returns
    -------
    AuditEvent
        The pending row, with its ``seq`` and ``chain``.

    Raises
    ------
    BaryonError
        ``audit_key_missing``: the session was not made by a workspace's database.
    """
    key = _session_key(session)
    clock = clock or SystemClock()
    head = session.execute(
        select(AuditChainHead)
        .where(AuditChainHead.id == _HEAD_ID)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    event = AuditEvent(
        id=new_id("aud", clock),
        seq=head.seq + 1,
        at=clock.now(),
        actor=actor,
        org_id=org_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        details=to_jsonable(dict(details or {})),
    )
    event.chain = chain_value(key, head.chain, event)
    head.seq, head.chain = event.seq, event.chain
    session.add(event)
    return event


# --------------------------------------------------------------------- reading
def _filtered(
    *,
    org_id: str | None,
    actor: str | None,
    action: str | None,
    object_type: str | None,
    object_id: str | None,
    since: datetime | None,
    until: datetime | None,
) -> Any:
    stmt = select(AuditEvent)
    if org_id is not None:
        stmt = stmt.where(AuditEvent.org_id == org_id)
    if actor is not None:
        stmt = stmt.where(AuditEvent.actor == actor)
    if action is not None:
        if action.endswith("*"):
            prefix = action[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            stmt = stmt.where(AuditEvent.action.like(prefix + "%", escape="\\"))
        else:
            stmt = stmt.where(AuditEvent.action == action)
    if object_type is not None:
        stmt = stmt.where(AuditEvent.object_type == object_type)
    if object_id is not None:
        stmt = stmt.where(AuditEvent.object_id == object_id)
    if since is not None:
        stmt = stmt.where(AuditEvent.at >= _aware(since))
    if until is not None:
        stmt = stmt.where(AuditEvent.at < _aware(until))
    return stmt


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def list_audit_events(
    session: Session,
    *,
    org_id: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
    newest_first: bool = False,
) -> list[AuditEvent]:
    """Return audit events in chain order (oldest first unless ``newest_first``).

    Every filter left ``None`` matches everything. Audit events are not scoped by the
    session: a caller acting for one organization passes its ``org_id``.

    Parameters
    ----------
    org_id : str, optional
        Only this organization's events.
    actor : str, optional
        Exact actor (``key:<id>``, ``cli:<user>``, ``system``).
    action : str, optional
        Exact action, or a prefix ending in ``*`` (``model.*``).
    object_type, object_id : str, optional
        The object acted on.
    since, until : datetime, optional
        Events with ``since <= at < until`` (a naive time is UTC).
    limit : int, optional
        At most this many events.
    newest_first : bool
        Newest first (the API's order).
    """
    stmt = _filtered(
        org_id=org_id, actor=actor, action=action, object_type=object_type,
        object_id=object_id, since=since, until=until,
    )  # fmt: skip
    stmt = stmt.order_by(AuditEvent.seq.desc() if newest_first else AuditEvent.seq)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))


def iter_audit_events(
    session: Session,
    *,
    org_id: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    batch: int = 1000,
) -> Iterator[AuditEvent]:
    """Yield matching events oldest first, ``batch`` rows at a time (for exports).

    Filters as :func:`list_audit_events`.
    """
    stmt = _filtered(
        org_id=org_id, actor=actor, action=action, object_type=object_type,
        object_id=object_id, since=since, until=until,
    )  # fmt: skip
    after = 0
    while True:
        rows = list(
            session.scalars(
                stmt.where(AuditEvent.seq > after).order_by(AuditEvent.seq).limit(batch)
            )
        )
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1].seq


def audit_event_dict(event: AuditEvent, *, chain: bool = False) -> dict[str, Any]:
    """Return ``event`` as JSON-ready values (with its chain value when ``chain``)."""
    out: dict[str, Any] = {
        "seq": event.seq,
        "id": event.id,
        "at": event.at,
        "actor": event.actor,
        "org_id": event.org_id,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "details": event.details,
    }
    if chain:
        out["chain"] = event.chain
    return out


# ------------------------------------------------------------------- verifying
@dataclass(frozen=True)
class ChainProblem:
    """The first place where the stored log and its chain disagree.

    Attributes
    ----------
    seq : int
        The sequence number where the chain breaks.
    event_id : str or None
        The event stored there (``None`` when it is missing).
    kind : str
        ``altered`` (the event at ``seq`` is not the one chained there: edited,
        inserted, or moved from elsewhere), ``missing`` (no event with that ``seq``:
        deleted), ``duplicate`` (two events share it), ``beyond_head`` (events after
        the recorded head), ``head`` (the recorded head does not match the last
        event), ``anchor`` (the event at an anchor's ``seq`` has another chain value).
    message : str
    """

    seq: int
    event_id: str | None
    kind: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "seq": self.seq,
            "event_id": self.event_id,
            "kind": self.kind,
            "message": self.message,
        }


@dataclass(frozen=True)
class ChainReport:
    """What :func:`verify_audit_chain` found.

    Attributes
    ----------
    events : int
        Events read.
    head_seq : int
        The recorded head's ``seq`` (0 for an empty log).
    head_chain : str
        The recorded head's chain value (note it down: it is an anchor).
    problem : ChainProblem or None
        The first break; ``None`` when the whole chain holds.
    """

    events: int
    head_seq: int
    head_chain: str
    problem: ChainProblem | None

    @property
    def ok(self) -> bool:
        """Whether the chain holds."""
        return self.problem is None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "ok": self.ok,
            "events": self.events,
            "head_seq": self.head_seq,
            "head_chain": self.head_chain,
            "problem": None if self.problem is None else self.problem.to_dict(),
        }

    def raise_if_broken(self) -> None:
        """Raise unless the chain holds.

        Raises
        ------
        IntegrityError
            ``audit_chain_broken``, naming the first bad event.
        """
        if self.problem is not None:
            raise IntegrityError(
                self.problem.message, code="audit_chain_broken", details=self.problem.to_dict()
            )


def parse_anchor(value: str) -> tuple[int, str]:
    """Parse an anchor ``SEQ:CHAIN`` (what ``baryon audit verify`` prints).

    Raises
    ------
    InvalidInput
        ``invalid_anchor``.
    """
    seq_text, _, chain = value.partition(":")
    chain = chain.strip().lower()
    if (
        not seq_text.strip().isdigit()
        or len(chain) != 64
        or any(c not in "0123456789abcdef" for c in chain)
    ):
        raise InvalidInput(
            f"an anchor is SEQ:CHAIN (a number, a colon, 64 hex digits), got {value!r}",
            code="invalid_anchor",
        )
    return int(seq_text), chain


def verify_audit_chain(
    session: Session,
    *,
    key: bytes | None = None,
    anchors: tuple[tuple[int, str], ...] = (),
    batch: int = 1000,
) -> ChainReport:
    """Recompute the whole chain and report the first event where it breaks.

    Call it first in a fresh session: on PostgreSQL it makes the transaction
    ``REPEATABLE READ``, so events committed while it reads are not mistaken for
    events added by hand (SQLite transactions are snapshots already).

    Parameters
    ----------
    session : Session
        A fresh session of the workspace's database.
    key : bytes, optional
        The audit key (default: the session's).
    anchors : tuple of (int, str)
        ``(seq, chain)`` pairs noted earlier (:func:`parse_anchor`); each must still be
        in the chain.
    batch : int
        Rows read at a time.

    Returns
    -------
    ChainReport
    """
    key = key if key is not None else _session_key(session)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
    head = session.get(AuditChainHead, _HEAD_ID)
    head_seq, head_chain = (0, GENESIS) if head is None else (head.seq, head.chain)
    walk = _Walk(key, dict(anchors))
    problem = walk.rows(session, batch)
    if problem is None:
        problem = walk.end(head_seq, head_chain)
    return ChainReport(walk.count, head_seq, head_chain, problem)


class _Walk:
    """The state of one pass along the chain, oldest event first."""

    def __init__(self, key: bytes, anchors: dict[int, str]) -> None:
        self.key, self.anchors = key, anchors
        self.expected, self.previous, self.count = 1, GENESIS, 0

    def rows(self, session: Session, batch: int) -> ChainProblem | None:
        after: tuple[int, str] = (0, "")
        while True:
            later = (AuditEvent.seq > after[0]) | (
                (AuditEvent.seq == after[0]) & (AuditEvent.id > after[1])
            )
            stmt = select(AuditEvent).where(later).order_by(AuditEvent.seq, AuditEvent.id)
            rows = list(session.scalars(stmt.limit(batch)))
            for row in rows:
                problem = self.check(row)
                if problem is not None:
                    return problem
            if len(rows) < batch:
                return None
            after = (rows[-1].seq, rows[-1].id)

    def check(self, row: AuditEvent) -> ChainProblem | None:
        self.count += 1
        name = f"audit event #{row.seq} ({row.id}, {row.action})"
        if row.seq < self.expected:
            return ChainProblem(
                row.seq, row.id, "duplicate", f"{name} shares its number with another: inserted"
            )
        if row.seq > self.expected:
            return ChainProblem(
                self.expected,
                None,
                "missing",
                f"audit event #{self.expected} is missing (deleted); "
                f"the next one stored is #{row.seq} ({row.id})",
            )
        if not hmac.compare_digest(chain_value(self.key, self.previous, row), row.chain):
            return ChainProblem(
                row.seq, row.id, "altered", f"{name} does not match its chain: edited, "
                "inserted or moved",
            )  # fmt: skip
        anchored = self.anchors.get(row.seq)
        if anchored is not None and not hmac.compare_digest(anchored, row.chain):
            return ChainProblem(
                row.seq, row.id, "anchor", f"{name} is not the event anchored there: "
                "the log was rewritten from there on",
            )  # fmt: skip
        self.previous, self.expected = row.chain, row.seq + 1
        return None

    def end(self, head_seq: int, head_chain: str) -> ChainProblem | None:
        last = self.expected - 1
        if last < head_seq:
            return ChainProblem(
                self.expected,
                None,
                "missing",
                f"audit events #{self.expected} to #{head_seq} are missing "
                "(deleted from the end of the log)",
            )
        if last > head_seq:
            return ChainProblem(
                head_seq + 1,
                None,
                "beyond_head",
                f"audit events after #{head_seq}, the recorded head, were added by hand",
            )
        if not hmac.compare_digest(self.previous, head_chain):
            return ChainProblem(
                head_seq, None, "head", f"the recorded chain head does not match #{head_seq}"
            )
        cut = [seq for seq in sorted(self.anchors) if seq > last]
        if cut:
            return ChainProblem(
                cut[0], None, "anchor", f"anchored audit event #{cut[0]} is missing: "
                "the log was cut short",
            )  # fmt: skip
        return None
