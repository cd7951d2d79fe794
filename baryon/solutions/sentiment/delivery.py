"""Delivering sentiment alerts: channels (signed webhooks, e-mail), retries, dead letters.

An organization's **channels** say where its alerts go: a ``webhook`` (an http(s)
URL, each request signed as :mod:`baryon.solutions.sentiment.signing` describes) or
an ``email`` address (sent through the workspace's SMTP server, settings
``smtp_*``). Every enabled channel receives every alert the organization's rules
fire.

When an alert is stored, :func:`queue_alert` writes one **delivery** per enabled
channel and enqueues an ``alert.deliver`` job for it, in the same transaction as the
alert. A worker runs :func:`deliver` (the job's handler): it sends, and on failure
waits ``alert_retry_seconds * 2**(attempt - 1)`` seconds (exponential back-off, at
most 600 s a wait) and tries again, up to ``alert_delivery_attempts`` attempts; then
the delivery is ``dead`` — the dead-letter list (:func:`list_deliveries` with
``status="dead"``) — and the job fails with ``delivery_dead``. :func:`redeliver`
queues a dead delivery again with fresh attempts; :func:`send_test` sends a test alert
to one channel. A delivery's attempts survive a worker that dies: the next claim of
its job goes on from the attempts already counted.

Statuses::

    pending ──sent──► delivered
       │
       └── attempts used up ──► dead ──redeliver──► pending

A webhook's **signing secret** is made by Baryon (32 random bytes, ``whsec_…``), shown
once when the channel is made, and stored sealed by :func:`baryon.core.secrets.seal_secret`
(AES-256-GCM under the workspace's secrets key file, the channel's id as associated
data), so every process sharing the database and that file can sign and nothing in the
database alone reveals it.

Codes: ``unknown_channel_kind``, ``invalid_webhook_url``, ``invalid_email``,
``invalid_channel_name``, ``smtp_not_configured``, ``invalid_delivery_status`` (422);
``channel_not_found``, ``delivery_not_found`` (404); ``channel_exists``,
``delivery_not_dead``, ``channel_disabled`` (409); on deliveries: ``webhook_unreachable``,
``webhook_rejected``, ``webhook_address_refused`` (the URL resolves to a non-public
address not in ``fetch_allow``), ``webhook_redirected`` (a 3xx answer; redirects are
not followed), ``smtp_failed``, ``delivery_dead``.

Webhooks go out through :class:`~baryon.connectors.fetch.OutboundClient` (the one
SSRF-safe client): the address is vetted when each attempt is sent, the connection
pinned to it.
"""

from __future__ import annotations

import re
import secrets
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from baryon.core.audit import record_audit
from baryon.core.clock import Clock
from baryon.core.config import Settings
from baryon.core.errors import BaryonError, Conflict, InvalidInput, NotFound, UpstreamError
from baryon.core.ids import new_id
from baryon.core.jsonvalues import dumps
from baryon.core.scope import Scope
from baryon.core.secrets import open_secret, seal_secret
from baryon.solutions.sentiment.monitor import Alert
from baryon.solutions.sentiment.signing import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    sign_webhook,
)
from baryon.solutions.sentiment.tables import (
    ALERT_NAME_PATTERN,
    CHANNEL_KINDS,
    DEAD,
    DELIVERED,
    DELIVERY_STATUSES,
    PENDING,
    AlertChannelRow,
    AlertDeliveryRow,
)

if TYPE_CHECKING:
    from baryon.jobs.queue import JobQueue
    from baryon.jobs.worker import Handler, JobContext

__all__ = [
    "CHANNEL_KINDS",
    "DELIVERY_JOB",
    "DELIVERY_STATUSES",
    "Channel",
    "Delivery",
    "alert_handlers",
    "alert_sender",
    "create_channel",
    "deliver",
    "get_channel",
    "get_delivery",
    "list_channels",
    "list_deliveries",
    "queue_alert",
    "redeliver",
    "remove_channel",
    "send_test",
    "set_channel_enabled",
]

#: The job kind that delivers one delivery.
DELIVERY_JOB = "alert.deliver"
#: Longest wait between two attempts, in seconds.
MAX_BACKOFF_SECONDS = 600.0
_MAX_URL_CHARS = 2048
_NAME_RE = re.compile(f"^{ALERT_NAME_PATTERN}$")
_EMAIL_RE = re.compile(r"^[^@\s<>,;:\"]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")


# -------------------------------------------------------------------- secrets
def _secret_context(channel_id: str) -> str:
    """The associated data a channel's secret is sealed with: its id, so a sealed
    secret copied onto another channel does not open."""
    return f"alert_channel:{channel_id}"


# -------------------------------------------------------------------- records
@dataclass(frozen=True)
class Channel:
    """A channel as stored, without its secret (``has_secret`` says it has one)."""

    id: str
    org_id: str
    name: str
    kind: str
    target: str
    enabled: bool
    has_secret: bool
    created_by: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: AlertChannelRow) -> Channel:
        """Build a snapshot from an ``alert_channels`` row."""
        return cls(
            row.id, row.org_id, row.name, row.kind, row.target, row.enabled,
            row.secret is not None, row.created_by, row.created_at, row.updated_at,
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (datetimes as ISO 8601 strings)."""
        return _as_dict(self)


@dataclass(frozen=True)
class Delivery:
    """A delivery as stored; fields as :class:`AlertDeliveryRow`."""

    id: str
    org_id: str
    channel_id: str
    alert_id: str | None
    event: str
    payload: dict[str, Any]
    status: str
    attempts: int
    job_id: str | None
    last_error_code: str | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None

    @classmethod
    def from_row(cls, row: AlertDeliveryRow) -> Delivery:
        """Build a snapshot from an ``alert_deliveries`` row."""
        return cls(**{n: getattr(row, n) for n in cls.__dataclass_fields__})

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (datetimes as ISO 8601 strings)."""
        return _as_dict(self)


def _as_dict(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in obj.__dataclass_fields__:
        value = getattr(obj, name)
        out[name] = value.isoformat() if isinstance(value, datetime) else value
    return out


# ------------------------------------------------------------------- channels
def _check_target(kind: Any, target: Any, settings: Settings) -> str:
    if kind not in CHANNEL_KINDS:
        raise InvalidInput(
            f"unknown channel kind {str(kind)[:40]!r}; use webhook or email",
            code="unknown_channel_kind",
        )
    if not isinstance(target, str):
        target = ""
    target = target.strip()
    if kind == "webhook":
        try:
            parts = urlsplit(target)
        except ValueError:
            parts = None
        if (
            parts is None
            or len(target) > _MAX_URL_CHARS
            or parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.username is not None
            or any(c.isspace() for c in target)
        ):
            raise InvalidInput(
                "a webhook URL is http(s)://host[:port]/path, without credentials, "
                f"at most {_MAX_URL_CHARS} characters",
                code="invalid_webhook_url",
            )
        from baryon.connectors.fetch import check_url

        try:  # the outbound client's shape rules (a number-spelled host, ...); no network
            check_url(target)
        except UpstreamError as exc:
            raise InvalidInput(
                f"the webhook URL is refused ({exc.code}): {exc.message}",
                code="invalid_webhook_url",
            ) from None
        return target
    if not _EMAIL_RE.fullmatch(target):
        raise InvalidInput(f"{target[:80]!r} is not an e-mail address", code="invalid_email")
    if not settings.smtp_host:
        raise InvalidInput(
            "e-mail channels need an SMTP server: set BARYON_SMTP_HOST",
            code="smtp_not_configured",
        )
    return target


def create_channel(
    session: Session,
    *,
    kind: Any,
    target: Any,
    name: Any = None,
    org_id: str,
    actor: str,
    clock: Clock,
    settings: Settings,
) -> tuple[Channel, str | None]:
    """Make a channel of organization ``org_id``; return it and its secret (shown once).

    Parameters
    ----------
    session : Session
        Scoped to ``org_id``.
    kind : str
        ``webhook`` or ``email``.
    target : str
        The webhook's http(s) URL, or the e-mail address.
    name : str, optional
        Unique in the organization (default: ``KIND-`` and the URL's host or the
        address).
    settings : Settings
        An e-mail channel needs ``smtp_host``.

    Returns
    -------
    (Channel, str or None)
        The channel and, for a webhook, its signing secret (``whsec_…``): the only
        time it is shown.

    Raises
    ------
    InvalidInput
        ``unknown_channel_kind``, ``invalid_webhook_url``, ``invalid_email``,
        ``smtp_not_configured``, ``invalid_channel_name``.
    Conflict
        ``channel_exists``.
    """
    chosen_target = _check_target(kind, target, settings)
    if name is None:
        where = urlsplit(chosen_target).hostname if kind == "webhook" else chosen_target
        name = re.sub(r"[^A-Za-z0-9._-]", "-", f"{kind}-{where}")[:200]
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise InvalidInput(
            "a channel name is 1-200 letters, digits, '.', '_' or '-', starting with a "
            f"letter or digit; got {str(name)[:60]!r}",
            code="invalid_channel_name",
        )
    exists = Conflict(
        f"a channel named {name!r} exists; remove it or give another name",
        code="channel_exists",
    )
    if session.scalar(select(AlertChannelRow.id).where(AlertChannelRow.name == name)):
        raise exists
    now = clock.now()
    row = AlertChannelRow(
        id=new_id("chn", clock), org_id=org_id, name=name, kind=kind, target=chosen_target,
        secret=None, enabled=True, created_by=actor[:200], created_at=now, updated_at=now,
    )  # fmt: skip
    secret = None
    if kind == "webhook":
        secret = "whsec_" + secrets.token_urlsafe(32)
        row.secret = seal_secret(settings, secret, context=_secret_context(row.id))
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise exists from None
    _audit(session, row, "alert_channel.create", actor, clock, kind=kind)
    return Channel.from_row(row), secret


def _channel_row(session: Session, channel: str, *, lock: bool = False) -> AlertChannelRow:
    stmt = select(AlertChannelRow).where(
        or_(AlertChannelRow.id == channel, AlertChannelRow.name == channel)
    )
    if lock:
        stmt = stmt.with_for_update()
    rows = sorted(session.scalars(stmt), key=lambda r: r.id != channel)
    if not rows:
        raise NotFound(f"no alert channel {str(channel)[:100]!r}", code="channel_not_found")
    return rows[0]


def get_channel(session: Session, channel: str) -> Channel:
    """One channel by id (``chn_…``) or name.

    Raises
    ------
    NotFound
        ``channel_not_found`` (also for another organization's channel).
    """
    return Channel.from_row(_channel_row(session, channel))


def list_channels(session: Session) -> list[Channel]:
    """The organization's channels, by name."""
    stmt = select(AlertChannelRow).order_by(AlertChannelRow.name, AlertChannelRow.id)
    return [Channel.from_row(r) for r in session.scalars(stmt)]


def set_channel_enabled(
    session: Session, channel: str, enabled: bool, *, actor: str, clock: Clock
) -> Channel:
    """Enable or disable a channel (a disabled one receives no new alert).

    Raises
    ------
    NotFound
        ``channel_not_found``.
    """
    row = _channel_row(session, channel, lock=True)
    if row.enabled != enabled:
        row.enabled = enabled
        row.updated_at = clock.now()
        action = "alert_channel.enable" if enabled else "alert_channel.disable"
        _audit(session, row, action, actor, clock)
    return Channel.from_row(row)


def remove_channel(session: Session, channel: str, *, actor: str, clock: Clock) -> Channel:
    """Delete a channel and its deliveries; return it as it was.

    Raises
    ------
    NotFound
        ``channel_not_found``.
    """
    row = _channel_row(session, channel, lock=True)
    removed = Channel.from_row(row)
    _audit(session, row, "alert_channel.remove", actor, clock, kind=row.kind)
    session.execute(delete(AlertDeliveryRow).where(AlertDeliveryRow.channel_id == row.id))
    session.delete(row)
    session.flush()
    return removed


# ----------------------------------------------------------------- deliveries
def _new_delivery(
    session: Session,
    queue: JobQueue,
    channel: AlertChannelRow,
    *,
    event: str,
    payload: dict[str, Any],
    alert_id: str | None,
    clock: Clock,
) -> AlertDeliveryRow:
    now = clock.now()
    row = AlertDeliveryRow(
        id=new_id("dlv", clock), org_id=channel.org_id, channel_id=channel.id,
        alert_id=alert_id, event=event, payload=payload, status=PENDING, attempts=0,
        created_at=now, updated_at=now,
    )  # fmt: skip
    session.add(row)
    session.flush()
    _enqueue(session, queue, row)
    return row


def _enqueue(session: Session, queue: JobQueue, row: AlertDeliveryRow) -> None:
    job = queue.enqueue(DELIVERY_JOB, {"delivery_id": row.id}, org_id=row.org_id, session=session)
    row.job_id = job.id


def queue_alert(
    session: Session,
    queue: JobQueue,
    *,
    org_id: str,
    alert_id: str,
    alert: Alert,
    clock: Clock,
) -> list[str]:
    """Write a delivery of ``alert`` to each enabled channel of ``org_id`` and enqueue it.

    Called in the transaction that stores the alert (``ingest_items``' ``on_alert``),
    so the alert and its deliveries commit together.

    Returns
    -------
    list of str
        The deliveries' ids.
    """
    channels = session.scalars(
        select(AlertChannelRow)
        .where(AlertChannelRow.org_id == org_id, AlertChannelRow.enabled.is_(True))
        .order_by(AlertChannelRow.id)
    ).all()
    payload = {"type": "sentiment.alert", "alert": {"id": alert_id, **alert.to_dict()}}
    return [
        _new_delivery(
            session, queue, c, event="sentiment.alert", payload=payload, alert_id=alert_id,
            clock=clock,
        ).id
        for c in channels
    ]  # fmt: skip


def alert_sender(
    queue: JobQueue, *, org_id: str, clock: Clock
) -> Callable[[Session, str, Alert], list[str]]:
    """The ``on_alert`` of :func:`~baryon.solutions.sentiment.service.ingest_items` that
    queues each stored alert to the organization's channels (:func:`queue_alert`).

    Every path that stores items (``POST /v1/sentiment/items``, a subscribed feed)
    passes it, so their alerts are delivered alike.
    """

    def on_alert(session: Session, alert_id: str, alert: Alert) -> list[str]:
        return queue_alert(
            session, queue, org_id=org_id, alert_id=alert_id, alert=alert, clock=clock
        )

    return on_alert


def send_test(
    session: Session, queue: JobQueue, channel: str, *, actor: str, clock: Clock
) -> Delivery:
    """Queue a test alert to one channel (disabled or not); return its delivery.

    The payload is ``{"type": "sentiment.test", "test": true, "alert": {...}}`` with an
    alert-shaped example, so a receiver can check its parsing and the signature.

    Raises
    ------
    NotFound
        ``channel_not_found``.
    """
    row = _channel_row(session, channel)
    now = clock.now()
    example = Alert(
        rule="test", kind="index_crossing", ticker=None, window="1h", state="above",
        value=0.5, threshold=0.3, fired_at=now, item_ids=(), item_count=0,
    )  # fmt: skip
    payload = {"type": "sentiment.test", "test": True, "alert": {"id": None, **example.to_dict()}}
    delivery = _new_delivery(
        session, queue, row, event="sentiment.test", payload=payload, alert_id=None, clock=clock
    )
    _audit(session, row, "alert_channel.test", actor, clock, delivery=delivery.id)
    return Delivery.from_row(delivery)


def _delivery_row(session: Session, delivery: str, *, lock: bool = False) -> AlertDeliveryRow:
    stmt = select(AlertDeliveryRow).where(AlertDeliveryRow.id == delivery)
    if lock:
        stmt = stmt.with_for_update()
    row = session.scalars(stmt).first()
    if row is None:
        raise NotFound(f"no delivery {str(delivery)[:100]!r}", code="delivery_not_found")
    return row


def get_delivery(session: Session, delivery: str) -> Delivery:
    """One delivery by id (``dlv_…``).

    Raises
    ------
    NotFound
        ``delivery_not_found`` (also for another organization's delivery).
    """
    return Delivery.from_row(_delivery_row(session, delivery))


def list_deliveries(
    session: Session,
    *,
    status: str | None = None,
    channel: str | None = None,
    limit: int = 50,
) -> list[Delivery]:
    """The organization's deliveries, newest first; ``status="dead"`` is the dead-letter list.

    Raises
    ------
    InvalidInput
        ``invalid_delivery_status``.
    NotFound
        ``channel_not_found`` for an unknown ``channel``.
    """
    stmt = select(AlertDeliveryRow)
    if status is not None:
        if status not in DELIVERY_STATUSES:
            raise InvalidInput(
                f"status is one of {', '.join(DELIVERY_STATUSES)}, got {status[:20]!r}",
                code="invalid_delivery_status",
            )
        stmt = stmt.where(AlertDeliveryRow.status == status)
    if channel is not None:
        stmt = stmt.where(AlertDeliveryRow.channel_id == _channel_row(session, channel).id)
    stmt = stmt.order_by(AlertDeliveryRow.created_at.desc(), AlertDeliveryRow.id.desc())
    return [Delivery.from_row(r) for r in session.scalars(stmt.limit(limit))]


def redeliver(
    session: Session, queue: JobQueue, delivery: str, *, actor: str, clock: Clock
) -> Delivery:
    """Queue a dead delivery again with fresh attempts (same id, same payload).

    Raises
    ------
    NotFound
        ``delivery_not_found``.
    Conflict
        ``delivery_not_dead`` (only dead letters are redelivered);
        ``channel_disabled`` (enable the channel first).
    """
    row = _delivery_row(session, delivery, lock=True)
    if row.status != DEAD:
        raise Conflict(
            f"delivery {row.id} is {row.status}; only dead deliveries are redelivered",
            code="delivery_not_dead",
        )
    channel = _channel_row(session, row.channel_id)
    if not channel.enabled:
        raise Conflict(
            f"channel {channel.name!r} is disabled; enable it first", code="channel_disabled"
        )
    row.status, row.attempts, row.updated_at = PENDING, 0, clock.now()
    _enqueue(session, queue, row)
    _audit(session, channel, "alert_delivery.redeliver", actor, clock, delivery=row.id)
    return Delivery.from_row(row)


# -------------------------------------------------------------------- sending
class DeliveryFailed(BaryonError):
    """One attempt at sending failed (code ``webhook_unreachable``, ``webhook_rejected``,
    ``webhook_address_refused``, ``webhook_redirected``, ``smtp_failed``)."""

    code = "delivery_failed"


def _post_webhook(url: str, body: bytes, headers: dict[str, str], settings: Settings) -> int:
    """POST ``body`` to ``url`` through the one SSRF-safe outbound client; return the
    HTTP status.

    The address is vetted (``fetch_allow``), the connection pinned to it, redirects
    refused, the time capped by ``alert_send_timeout`` (and ``fetch_timeout``).

    Raises
    ------
    UpstreamError
        The codes of :meth:`~baryon.connectors.fetch.OutboundClient.post`.
    """
    from dataclasses import replace

    from baryon.connectors.fetch import FetchPolicy, OutboundClient

    policy = FetchPolicy.from_settings(settings)
    policy = replace(
        policy,
        user_agent="Baryon-Alerts/1",
        timeout=min(policy.timeout, settings.alert_send_timeout),
    )
    return OutboundClient(policy).post(url, body, headers=headers).status


#: The outbound client's codes that mean the URL's address is not one Baryon sends to.
_REFUSED_CODES = frozenset({"address_refused", "ambiguous_host", "invalid_url"})


@dataclass(frozen=True)
class _Outgoing:
    """What one attempt sends, read in a short transaction (sending holds none)."""

    delivery_id: str
    event: str
    payload: dict[str, Any]
    kind: str
    target: str
    secret: str | None


def _send_webhook(out: _Outgoing, settings: Settings) -> None:
    body = dumps(out.payload | {"delivery_id": out.delivery_id})
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign_webhook(out.secret or "", body),
        EVENT_HEADER: out.event,
        DELIVERY_HEADER: out.delivery_id,
    }
    try:
        status = _post_webhook(out.target, body, headers, settings)
    except UpstreamError as exc:
        if exc.code in _REFUSED_CODES:
            raise DeliveryFailed(
                f"the webhook's address is refused ({exc.code}): {exc.message}",
                code="webhook_address_refused",
            ) from None
        if exc.code == "redirect_refused":
            raise DeliveryFailed(
                "the webhook answered with a redirect, which is not followed",
                code="webhook_redirected",
            ) from None
        raise DeliveryFailed(
            f"the webhook could not be reached ({exc.code})", code="webhook_unreachable"
        ) from None
    if not 200 <= status < 300:
        raise DeliveryFailed(f"the webhook answered HTTP {status}", code="webhook_rejected")


def _send_email(out: _Outgoing, settings: Settings) -> None:
    if not settings.smtp_host:
        raise DeliveryFailed("no SMTP server is set (BARYON_SMTP_HOST)", code="smtp_failed")
    alert = out.payload.get("alert") or {}
    message = EmailMessage()
    prefix = "[Baryon test] " if out.event == "sentiment.test" else "[Baryon] "
    message["Subject"] = (prefix + str(alert.get("message", "sentiment alert")))[:200]
    message["From"] = settings.smtp_from
    message["To"] = out.target
    message[DELIVERY_HEADER] = out.delivery_id
    message.set_content(
        f"{alert.get('message', '')}\n\nfired at {alert.get('fired_at')}\n\n"
        + dumps(out.payload, indent=2).decode()
    )
    timeout = settings.alert_send_timeout
    try:
        smtp: smtplib.SMTP
        if settings.smtp_security == "tls":
            context = ssl.create_default_context()
            smtp = smtplib.SMTP_SSL(
                settings.smtp_host, settings.smtp_port, timeout=timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
        with smtp:
            if settings.smtp_security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_username:
                password = settings.smtp_password
                smtp.login(
                    settings.smtp_username, "" if password is None else password.get_secret_value()
                )
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryFailed(
            f"the SMTP server refused or failed ({type(exc).__name__})", code="smtp_failed"
        ) from None


def _send(out: _Outgoing, settings: Settings) -> None:
    if out.kind == "webhook":
        _send_webhook(out, settings)
    else:
        _send_email(out, settings)


def backoff_seconds(attempt: int, settings: Settings) -> float:
    """Wait after failed attempt number ``attempt`` (1-based): ``base * 2**(attempt-1)``,
    at most :data:`MAX_BACKOFF_SECONDS`."""
    return float(min(settings.alert_retry_seconds * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS))


def deliver(ctx: JobContext) -> dict[str, Any]:
    """The ``alert.deliver`` job: send one delivery, retrying with back-off, or mark it dead.

    Parameters
    ----------
    ctx : JobContext
        ``ctx.payload["delivery_id"]``; the job's organization owns the delivery.

    Returns
    -------
    dict
        ``{"delivery_id", "status": "delivered", "attempts"}``.

    Raises
    ------
    BaryonError
        ``delivery_dead`` when the last attempt failed (the delivery is ``dead``);
        ``delivery_not_found``.
    JobCancelled
        When the job is cancelled or the worker stops while waiting to retry.
    """
    ws = ctx.workspace
    settings = ws.settings
    scope = Scope.own(ctx.job.org_id)
    delivery_id = str(ctx.payload.get("delivery_id", ""))
    while True:
        with ws.db.session(scope) as session:  # count the attempt before sending
            row = _delivery_row(session, delivery_id, lock=True)
            if row.status != PENDING:
                return {"delivery_id": row.id, "status": row.status, "attempts": row.attempts}
            channel = session.get(AlertChannelRow, row.channel_id)
            if channel is None:  # pragma: no cover - removing a channel removes its deliveries
                raise NotFound("the channel was removed", code="channel_not_found")
            secret = (
                None
                if channel.secret is None
                else open_secret(settings, channel.secret, context=_secret_context(channel.id))
            )
            out = _Outgoing(
                row.id, row.event, dict(row.payload), channel.kind, channel.target, secret
            )
            row.attempts += 1
            row.updated_at = ws.clock.now()
            attempt = row.attempts
        error: DeliveryFailed | None = None
        try:
            _send(out, settings)
        except DeliveryFailed as exc:
            error = exc
        dead = error is not None and attempt >= settings.alert_delivery_attempts
        with ws.db.session(scope) as session:
            row = _delivery_row(session, delivery_id, lock=True)
            now = ws.clock.now()
            row.updated_at = now
            if error is None:
                row.status, row.delivered_at = DELIVERED, now
                row.last_error_code = row.last_error = None
                return {"delivery_id": row.id, "status": DELIVERED, "attempts": attempt}
            row.last_error_code, row.last_error = error.code, error.message
            if dead:
                row.status = DEAD
        assert error is not None
        if dead:
            raise BaryonError(
                f"delivery {delivery_id} failed {attempt} times (last: {error.code}); "
                "it is in the dead-letter list",
                code="delivery_dead",
            )
        ctx.progress(f"retry {attempt + 1} after {error.code}", 0)
        _wait(ctx, backoff_seconds(attempt, settings))


def _wait(ctx: JobContext, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        ctx.check_cancelled()
        time.sleep(min(left, 0.25))


def alert_handlers() -> dict[str, Handler]:
    """Return the delivery layer's job handlers, ``{"alert.deliver": deliver}``."""
    return {DELIVERY_JOB: deliver}


def _audit(
    session: Session, row: AlertChannelRow, action: str, actor: str, clock: Clock, **details: Any
) -> None:
    record_audit(
        session, actor=actor, action=action, object_type="alert_channel", object_id=row.id,
        details={"name": row.name, **details}, org_id=row.org_id, clock=clock,
    )  # fmt: skip
