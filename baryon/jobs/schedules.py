"""Job schedules: enqueue a job of one kind every interval or on a cron expression.

A schedule belongs to an organization (another organization's is not found) and says
*what* to enqueue — a job kind and its payload — and *when*: ``every`` an interval
(``30s``, ``15m``, ``2h``, ``1d``; at least :data:`MIN_INTERVAL_SECONDS`) or a 5-field
``cron`` expression, evaluated in UTC with `croniter <https://pypi.org/project/croniter/>`_.
Workers fire the due ones (:mod:`baryon.jobs.scheduler`).

Only kinds that are given as a :class:`ScheduledKind` may be scheduled: the entry
points pass the mapping ``kind → ScheduledKind`` explicitly, as they pass job handlers
(today :func:`baryon.flywheel.schedules.flywheel_schedule_kinds`); an unknown kind is
refused (``unknown_schedule_kind``).

Due times
---------
- ``every N``: the first run is ``N`` after creation, then every ``N`` on that grid.
- ``cron``: the first matching minute after creation, then each following one.
- After downtime, a schedule that missed several due times fires **once** and its next
  due time is the first one after now (the missed ones are counted in
  ``missed_count``). A paused schedule never fires; resuming it does not catch up.

Names are unique in an organization. A schedule made without one takes its kind's
default name (:meth:`ScheduledKind.default_name`: ``flywheel-MODEL`` for a model's
flywheel), so scheduling the same model's flywheel twice is refused
(``schedule_exists``) instead of running it twice as often; give a name to have more.

Create, pause, resume and remove write an audit event in the same transaction.

Codes: ``unknown_schedule_kind``, ``invalid_job_payload``, ``invalid_interval``,
``interval_too_short``, ``invalid_cron``, ``invalid_schedule`` (neither or both of
``every`` and ``cron``), ``invalid_schedule_name``, ``invalid_description`` (422);
``schedule_not_found`` (404); ``schedule_exists`` (409).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from baryon.core.audit import record_audit
from baryon.core.clock import Clock
from baryon.core.errors import Conflict, InvalidInput, NotFound
from baryon.core.ids import new_id
from baryon.core.refs import WHITE_SPACE
from baryon.jobs.queue import Job, JobQueue, check_payload
from baryon.jobs.tables import JobScheduleRow

if TYPE_CHECKING:
    from baryon.workspace import Workspace

__all__ = [
    "EVERY_PATTERN",
    "MAX_INTERVAL_SECONDS",
    "MIN_INTERVAL_SECONDS",
    "Schedule",
    "ScheduleSpec",
    "ScheduledKind",
    "check_cron",
    "create_schedule",
    "format_every",
    "get_schedule",
    "list_schedules",
    "next_due",
    "parse_every",
    "pause_schedule",
    "plan_schedule",
    "remove_schedule",
    "resume_schedule",
    "schedule_row",
]

#: The shortest interval a schedule may have, in seconds (a cron fires at most once a
#: minute, so this is also its floor).
MIN_INTERVAL_SECONDS = 60
#: The longest interval, in seconds (366 days).
MAX_INTERVAL_SECONDS = 366 * 86400
#: Most characters of a description.
MAX_DESCRIPTION_CHARS = 500

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
#: An interval's form: ASCII digits and a unit, white space as ``str.strip`` reads it
#: around them (the API's request schema states this pattern).
EVERY_PATTERN = f"^[{WHITE_SPACE}]*([0-9]{{1,9}})[{WHITE_SPACE}]*([smhd])[{WHITE_SPACE}]*$"
_EVERY_RE = re.compile(EVERY_PATTERN)
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
#: Due times counted at most when a schedule comes back from a long downtime.
_MAX_COUNTED = 10_000


# --------------------------------------------------------------------- timing
def parse_every(every: Any) -> int:
    """Return an interval such as ``"15m"`` in seconds.

    Parameters
    ----------
    every : str
        A whole number and a unit: ``s`` (seconds), ``m`` (minutes), ``h`` (hours),
        ``d`` (days): ``"30s"``, ``"15m"``, ``"2h"``, ``"1d"``.

    Returns
    -------
    int
        Seconds, from :data:`MIN_INTERVAL_SECONDS` to :data:`MAX_INTERVAL_SECONDS`.

    Raises
    ------
    InvalidInput
        ``invalid_interval`` (malformed, or longer than 366 days);
        ``interval_too_short`` (under :data:`MIN_INTERVAL_SECONDS`).
    """
    match = _EVERY_RE.match(every) if isinstance(every, str) else None
    if match is None:
        raise InvalidInput(
            f"an interval is a whole number and a unit s, m, h or d (30s, 15m, 2h, 1d), "
            f"got {str(every)[:40]!r}",
            code="invalid_interval",
        )
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if seconds < MIN_INTERVAL_SECONDS:
        raise InvalidInput(
            f"a schedule runs at most once a minute; {every.strip()} is {seconds} s "
            f"(at least {MIN_INTERVAL_SECONDS} s)",
            code="interval_too_short",
        )
    if seconds > MAX_INTERVAL_SECONDS:
        raise InvalidInput(
            f"an interval is at most 366 days, got {every.strip()}", code="invalid_interval"
        )
    return seconds


def format_every(seconds: int) -> str:
    """Write an interval in seconds with the largest unit that divides it (``900`` → ``15m``)."""
    for unit in ("d", "h", "m"):
        if seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"


def check_cron(cron: Any) -> str:
    """Return a 5-field cron expression (minute hour day-of-month month day-of-week).

    The fields are read by croniter (ranges ``1-5``, steps ``*/15``, lists ``1,15``,
    names ``mon``, ``jan``) and evaluated in UTC.

    Returns
    -------
    str
        The expression with single spaces between its fields.

    Raises
    ------
    InvalidInput
        ``invalid_cron``: not exactly 5 fields, or a field croniter refuses.
    """
    from croniter import croniter

    fields = cron.split() if isinstance(cron, str) else []
    text = " ".join(fields)
    if len(fields) != 5 or len(text) > 200 or not croniter.is_valid(text):
        raise InvalidInput(
            "a cron expression has 5 fields: minute hour day-of-month month day-of-week "
            f"(e.g. '0 3 * * *', daily at 03:00 UTC), got {str(cron)[:60]!r}",
            code="invalid_cron",
        )
    return text


def next_due(
    *, every_seconds: int | None, cron: str | None, due_at: datetime, now: datetime
) -> tuple[datetime, int]:
    """Return the first due time after ``now`` and how many due times are at or before it.

    Parameters
    ----------
    every_seconds, cron
        The schedule's timing (exactly one is set).
    due_at : datetime
        Its current due time (UTC): the grid an interval stays on.
    now : datetime
        The time it is (UTC).

    Returns
    -------
    next_run_at : datetime
        ``due_at`` itself when it is still ahead; otherwise the first due time after
        ``now`` (an interval's grid point, or the cron's next matching minute).
    due : int
        How many due times passed (``due_at`` and those after it, up to ``now``): 0
        when ``due_at`` is ahead, at most 10 000 (counted, never fired one by one).
    """
    if due_at > now:
        return due_at, 0
    if every_seconds is not None:
        steps = int((now - due_at).total_seconds() // every_seconds) + 1
        return due_at + timedelta(seconds=every_seconds * steps), min(steps, _MAX_COUNTED)
    if cron is None:
        raise ValueError("a schedule has every_seconds or cron")
    from croniter import croniter

    following: datetime = croniter(cron, now).get_next(datetime)
    walker = croniter(cron, due_at)
    due = 1
    while due < _MAX_COUNTED and walker.get_next(datetime) <= now:
        due += 1
    return following.astimezone(UTC), due


def _first_due(every_seconds: int | None, cron: str | None, now: datetime) -> datetime:
    if every_seconds is not None:
        return now + timedelta(seconds=every_seconds)
    from croniter import croniter

    first: datetime = croniter(cron, now).get_next(datetime)
    return first.astimezone(UTC)


# ---------------------------------------------------------------------- kinds
class ScheduledKind:
    """How schedules of one job kind are checked and fired.

    The base class enqueues ``kind`` with the schedule's payload as it is. A layer
    whose jobs need more (a flywheel cycle is a cycle row plus its job) subclasses it;
    :func:`baryon.flywheel.schedules.flywheel_schedule_kinds` is the example.

    Parameters
    ----------
    kind : str
        The job kind it enqueues.
    max_attempts : int
        Attempts of each job it enqueues (see :meth:`JobQueue.enqueue
        <baryon.jobs.queue.JobQueue.enqueue>`).
    """

    #: The JSON Schema of the payload :meth:`check` takes (the API documents it).
    payload_schema: ClassVar[dict[str, Any]] = {"type": "object"}

    def __init__(self, kind: str, *, max_attempts: int = 3) -> None:
        self.kind = kind
        self.max_attempts = max_attempts

    def check(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Check a payload's shape; return it as stored. Default: as given.

        Raises
        ------
        InvalidInput
            ``invalid_job_payload`` (or a more precise code of the kind).
        """
        return payload

    def default_name(self, payload: dict[str, Any]) -> str:
        """The name of a schedule made without one (unique per organization)."""
        return self.kind

    def prepare(self, ws: Workspace, payload: dict[str, Any]) -> Any:
        """Check the payload against the organization's objects; return what
        :meth:`submit` needs. Called when a schedule is made and before each firing,
        **outside** the firing's transaction (it may open sessions of its own).

        Raises
        ------
        BaryonError
            The payload names something missing or unusable: at creation the schedule
            is refused; at a firing it is recorded ``failed`` with the error's code.
        """
        return payload

    def submit(
        self, ws: Workspace, queue: JobQueue, prepared: Any, *, session: Session, actor: str
    ) -> Job:
        """Enqueue the job inside ``session`` (the firing's transaction, scoped to the
        schedule's organization) and return it.

        Raises
        ------
        Conflict
            The work is already under way by other means: the firing is ``skipped``.
        BaryonError
            Anything else: the firing is ``failed``.
        """
        org_id = ws.scope.org_id
        if org_id is None:
            raise InvalidInput("a scheduled job belongs to an organization")
        return queue.enqueue(
            self.kind, prepared, org_id=org_id, max_attempts=self.max_attempts, session=session
        )


# ------------------------------------------------------------------- records
@dataclass(frozen=True)
class Schedule:
    """A schedule as stored (immutable snapshot); fields as :class:`JobScheduleRow`."""

    id: str
    org_id: str
    name: str
    kind: str
    payload: dict[str, Any]
    every_seconds: int | None
    cron: str | None
    description: str | None
    paused: bool
    next_run_at: datetime
    last_run_at: datetime | None
    last_outcome: str | None
    last_job_id: str | None
    last_error_code: str | None
    last_error: str | None
    run_count: int
    skip_count: int
    missed_count: int
    created_by: str
    created_at: datetime
    updated_at: datetime

    @property
    def every(self) -> str | None:
        """The interval as written (``15m``), or ``None`` for a cron schedule."""
        return None if self.every_seconds is None else format_every(self.every_seconds)

    @classmethod
    def from_row(cls, row: JobScheduleRow) -> Schedule:
        """Build a snapshot from a ``job_schedules`` row."""
        return cls(
            **{name: getattr(row, name) for name in cls.__dataclass_fields__ if name != "payload"},
            payload=dict(row.payload),
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: every field, ``every`` as written, ``timezone`` (``UTC``),
        datetimes as ISO 8601 strings."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            out[name] = value.isoformat() if isinstance(value, datetime) else value
        out["payload"] = dict(self.payload)
        out["every"] = self.every
        out["timezone"] = "UTC"
        return out


@dataclass(frozen=True)
class ScheduleSpec:
    """A checked schedule, not yet written (from :func:`plan_schedule`)."""

    kind: str
    payload: dict[str, Any]
    name: str
    every_seconds: int | None
    cron: str | None
    description: str | None


def _name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise InvalidInput(
            "a schedule name is 1-200 letters, digits, '.', '_' or '-', starting with a "
            f"letter or digit; got {str(name)[:60]!r}",
            code="invalid_schedule_name",
        )
    return name


def _description(text: Any) -> str | None:
    if text is None:
        return None
    if not isinstance(text, str) or len(text) > MAX_DESCRIPTION_CHARS or _CONTROL.search(text):
        raise InvalidInput(
            f"a description is text of at most {MAX_DESCRIPTION_CHARS} characters without "
            "control characters",
            code="invalid_description",
        )
    return text.strip() or None


def plan_schedule(
    ws: Workspace,
    kinds: Mapping[str, ScheduledKind],
    *,
    kind: str,
    payload: Mapping[str, Any] | None = None,
    every: str | None = None,
    cron: str | None = None,
    name: str | None = None,
    description: str | None = None,
) -> ScheduleSpec:
    """Check a schedule of organization ``ws.scope`` can be made; write nothing.

    Call it before the transaction :func:`create_schedule` writes in (the kind's
    :meth:`~ScheduledKind.prepare` reads with sessions of its own).

    Parameters
    ----------
    ws : Workspace
        The organization's view.
    kinds : mapping of str to ScheduledKind
        The kinds that may be scheduled.
    kind : str
        The job kind to enqueue.
    payload : mapping, optional
        Its input (a JSON object; the kind checks its fields).
    every, cron : str, optional
        Exactly one: an interval (``"15m"``) or a 5-field cron expression (UTC).
    name : str, optional
        Unique in the organization (default: the kind's default name).
    description : str, optional
        At most 500 characters.

    Returns
    -------
    ScheduleSpec

    Raises
    ------
    InvalidInput
        ``unknown_schedule_kind``, ``invalid_schedule``, ``invalid_interval``,
        ``interval_too_short``, ``invalid_cron``, ``invalid_job_payload`` (and the
        kind's codes), ``invalid_schedule_name``, ``invalid_description``.
    BaryonError
        What the kind's :meth:`~ScheduledKind.prepare` raises (a flywheel schedule of
        an unknown model: ``model_not_found``).
    """
    handler = kinds.get(kind) if isinstance(kind, str) else None
    if handler is None:
        known = ", ".join(sorted(kinds)) or "none"
        raise InvalidInput(
            f"job kind {str(kind)[:64]!r} cannot be scheduled; schedulable kinds: {known}",
            code="unknown_schedule_kind",
        )
    if (every is None) == (cron is None):
        raise InvalidInput(
            "a schedule runs either every an interval or on a cron expression: give one "
            "of every and cron",
            code="invalid_schedule",
        )
    every_seconds = None if every is None else parse_every(every)
    cron_text = None if cron is None else check_cron(cron)
    data = handler.check(check_payload(payload if payload is not None else {}))
    chosen = _name(handler.default_name(data) if name is None else name)
    text = _description(description)
    handler.prepare(ws, data)
    return ScheduleSpec(kind, data, chosen, every_seconds, cron_text, text)


def create_schedule(
    session: Session,
    spec: ScheduleSpec,
    *,
    org_id: str,
    actor: str,
    clock: Clock,
    paused: bool = False,
) -> Schedule:
    """Write a planned schedule of organization ``org_id`` (and its audit event).

    Parameters
    ----------
    session : Session
        Scoped to ``org_id``.
    spec : ScheduleSpec
        From :func:`plan_schedule`.
    actor : str
        Who makes it (``created_by``; audited).
    clock : Clock
        Its first due time counts from now.
    paused : bool
        Make it paused (it fires once resumed).

    Raises
    ------
    Conflict
        ``schedule_exists``: the organization has a schedule of that name.
    """
    exists = Conflict(
        f"a schedule named {spec.name!r} exists; remove it or give another name",
        code="schedule_exists",
    )
    taken = select(JobScheduleRow.id).where(
        JobScheduleRow.name == spec.name, JobScheduleRow.org_id == org_id
    )
    if session.scalar(taken) is not None:
        raise exists
    now = clock.now()
    row = JobScheduleRow(
        id=new_id("sch", clock),
        org_id=org_id,
        name=spec.name,
        kind=spec.kind,
        payload=spec.payload,
        every_seconds=spec.every_seconds,
        cron=spec.cron,
        description=spec.description,
        paused=paused,
        next_run_at=_first_due(spec.every_seconds, spec.cron, now),
        run_count=0,
        skip_count=0,
        missed_count=0,
        created_by=actor[:200],
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # another writer took the name in between
        raise exists from None
    when = {"every": row.every_seconds} if row.cron is None else {"cron": row.cron}
    _audit(session, row, "schedule.create", actor, clock, kind=row.kind, **when)
    return Schedule.from_row(row)


def schedule_row(session: Session, schedule: str, *, lock: bool = False) -> JobScheduleRow:
    """Return the row of the schedule named ``schedule`` (its id or its name).

    Parameters
    ----------
    session : Session
        Scoped to the organization: another organization's schedule is not found.
    schedule : str
        ``sch_…`` or a name.
    lock : bool
        Lock the row for this transaction (writes).

    Raises
    ------
    NotFound
        ``schedule_not_found``.
    """
    stmt = select(JobScheduleRow).where(
        or_(JobScheduleRow.id == schedule, JobScheduleRow.name == schedule)
    )
    if lock:
        stmt = stmt.with_for_update()
    rows = sorted(session.scalars(stmt), key=lambda r: r.id != schedule)
    if not rows:
        raise NotFound(f"no schedule {str(schedule)[:100]!r}", code="schedule_not_found")
    return rows[0]


def get_schedule(session: Session, schedule: str) -> Schedule:
    """Return one schedule by id or name (see :func:`schedule_row`)."""
    return Schedule.from_row(schedule_row(session, schedule))


def list_schedules(session: Session, *, kind: str | None = None) -> list[Schedule]:
    """Return the organization's schedules (of ``kind``), by name."""
    stmt = select(JobScheduleRow).order_by(JobScheduleRow.name, JobScheduleRow.id)
    if kind is not None:
        stmt = stmt.where(JobScheduleRow.kind == kind)
    return [Schedule.from_row(row) for row in session.scalars(stmt)]


def pause_schedule(session: Session, schedule: str, *, actor: str, clock: Clock) -> Schedule:
    """Pause a schedule: it fires no more until resumed (a paused one is returned as is).

    Raises
    ------
    NotFound
        ``schedule_not_found``.
    """
    row = schedule_row(session, schedule, lock=True)
    if not row.paused:
        row.paused = True
        row.updated_at = clock.now()
        _audit(session, row, "schedule.pause", actor, clock)
    return Schedule.from_row(row)


def resume_schedule(session: Session, schedule: str, *, actor: str, clock: Clock) -> Schedule:
    """Resume a paused schedule: its next due time is the first one after now (the
    times it missed while paused are not caught up). A running one is returned as is.

    Raises
    ------
    NotFound
        ``schedule_not_found``.
    """
    row = schedule_row(session, schedule, lock=True)
    if row.paused:
        now = clock.now()
        row.next_run_at, _ = next_due(
            every_seconds=row.every_seconds, cron=row.cron, due_at=row.next_run_at, now=now
        )
        row.paused = False
        row.updated_at = now
        _audit(session, row, "schedule.resume", actor, clock, next_run_at=row.next_run_at)
    return Schedule.from_row(row)


def remove_schedule(session: Session, schedule: str, *, actor: str, clock: Clock) -> Schedule:
    """Delete a schedule; return it as it was. Jobs it enqueued are left as they are.

    Raises
    ------
    NotFound
        ``schedule_not_found``.
    """
    row = schedule_row(session, schedule, lock=True)
    removed = Schedule.from_row(row)
    _audit(session, row, "schedule.remove", actor, clock, kind=row.kind)
    session.delete(row)
    session.flush()
    return removed


def _audit(
    session: Session, row: JobScheduleRow, action: str, actor: str, clock: Clock, **details: Any
) -> None:
    facts = {"name": row.name, **details}
    for key, value in facts.items():
        if isinstance(value, datetime):
            facts[key] = value.isoformat()
    record_audit(
        session, actor=actor, action=action, object_type="schedule", object_id=row.id,
        details=facts, org_id=row.org_id, clock=clock,
    )  # fmt: skip
