"""Iterations: a time box with metric goals and a Kanban board of work items.

The seed's Scrum/Kanban step. An iteration (``it_…``, a name unique per organization)
runs from ``starts_at`` to ``ends_at`` with goals such as *support-intent accuracy ≥
0.94 on its test split* (see :mod:`baryon.flywheel._goals`), and holds work items
(``iti_…``) of four kinds:

==========  ==================================  =========================================
kind        ``ref``                             status shown with the item
==========  ==================================  =========================================
labeling    a labeling queue id (``lq_…``)      the queue's tasks by status (progress)
run         a run id (``run_…``)                the run's status and test metrics
flywheel    a flywheel cycle id (``fw_…``)      the cycle's status and the gate's decision
task        none (free text)                    —
==========  ==================================  =========================================

Each item is in one Kanban state (``todo``, ``doing``, ``done``) and may have an
owner (a user id of the organization, ``usr_…``, or a free-text name). Closing an
iteration freezes each goal's value (the champion's test-split metric then) and
whether it was met into ``summary``; a closed iteration refuses every change (409
``iteration_closed``).

Every change writes an audit event in the same transaction. The functions take a
session scoped to the organization (:mod:`baryon.core.scope`): another organization's
iteration, item, queue, run or cycle is not found (404), and linked objects must
belong to the iteration's own organization.

Error codes
-----------
422: ``invalid_iteration_name``, ``invalid_datetime``, ``invalid_time_box``,
``invalid_goal``, ``invalid_goal_op``, ``invalid_goal_target``, ``too_many_goals``,
``unknown_goal_model``, ``unknown_goal_metric``, ``duplicate_goal``,
``invalid_item_kind``, ``invalid_item_state``, ``missing_ref``, ``unexpected_ref``,
``invalid_ref``, ``invalid_title``, ``missing_title``, ``invalid_owner``,
``empty_update``, ``invalid_status``. 404: ``iteration_not_found``,
``item_not_found``, ``queue_not_found``, ``run_not_found``, ``cycle_not_found``,
``user_not_found``. 409: ``iteration_exists``, ``iteration_closed``, ``item_exists``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Final

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from baryon.core.audit import record_audit
from baryon.core.clock import Clock
from baryon.core.errors import Conflict, InvalidInput, NotFound
from baryon.core.ids import is_id, new_id
from baryon.core.refs import NAME_PATTERN
from baryon.flywheel._board import (
    ITEM_STATES,
    Item,
    Iteration,
    IterationSummary,
    default_title,
    goals_of,
    item_counts,
    item_view,
    iteration_view,
    linked_objects,
    target,
)
from baryon.flywheel._goals import (
    GOAL_OPS,
    MAX_GOALS,
    Goal,
    GoalProgress,
    TrajectoryPoint,
    champion_value,
    check_goals,
    parse_goal,
)
from baryon.flywheel.tables import IterationItemRow, IterationRow
from baryon.tenancy.tables import UserRow

__all__ = [
    "GOAL_OPS",
    "ITEM_KINDS",
    "ITEM_STATES",
    "ITERATION_STATUSES",
    "MAX_GOALS",
    "MAX_OWNER_CHARS",
    "MAX_TITLE_CHARS",
    "UNSET",
    "Goal",
    "GoalProgress",
    "Item",
    "Iteration",
    "IterationSummary",
    "TrajectoryPoint",
    "add_item",
    "close_iteration",
    "create_iteration",
    "get_iteration",
    "list_iterations",
    "parse_goal",
    "show_iteration",
    "update_item",
]

#: Kinds of work items.
ITEM_KINDS: tuple[str, ...] = ("labeling", "run", "flywheel", "task")
#: Statuses of an iteration.
ITERATION_STATUSES: tuple[str, ...] = ("open", "closed")
#: Longest item title and owner, in characters.
MAX_TITLE_CHARS = 500
MAX_OWNER_CHARS = 200

_REF_PREFIX = {"labeling": "lq", "run": "run", "flywheel": "fw"}
_NAME_RE = re.compile(NAME_PATTERN)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class _Unset(Enum):
    UNSET = "UNSET"


#: "Leave this field as it is" for :func:`update_item` (``None`` clears the owner).
UNSET: Final = _Unset.UNSET


# ------------------------------------------------------------------ checks
def _utc(value: Any, what: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidInput(f"{what} must be a datetime with a time zone", code="invalid_datetime")
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise InvalidInput(f"{what} is out of range", code="invalid_datetime") from None


def _name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise InvalidInput(
            "an iteration name is 1-100 letters, digits, '.', '_' or '-', starting with a "
            "letter or digit",
            code="invalid_iteration_name",
        )
    return name


def _text(value: Any, what: str, limit: int, code: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be text", code=code)
    text = value.strip()
    if not text or len(text) > limit or _CONTROL.search(text.replace("\n", " ").replace("\t", " ")):
        raise InvalidInput(
            f"{what} must be 1-{limit} characters without control characters", code=code
        )
    return text


def _owner(session: Session, org_id: str, owner: Any) -> str | None:
    if owner is None:
        return None
    text = _text(owner, "owner", MAX_OWNER_CHARS, "invalid_owner")
    if text.startswith("usr_"):  # a user id, well formed or not: it must be a user's
        found = session.scalar(
            select(UserRow.id).where(UserRow.id == text, UserRow.org_id == org_id)
        )
        if found is None:
            raise NotFound(f"no user {text!r} in this organization", code="user_not_found")
    return text


def _state(state: Any) -> str:
    if state not in ITEM_STATES:
        raise InvalidInput(
            f"an item's state is one of {', '.join(ITEM_STATES)}, not {str(state)[:20]!r}",
            code="invalid_item_state",
        )
    return str(state)


# ----------------------------------------------------------------- lookups
def get_iteration(
    session: Session, iteration: str, *, org_id: str | None = None, lock: bool = False
) -> IterationRow:
    """Return the iteration named ``iteration`` (its id or its name).

    Parameters
    ----------
    session : Session
        Scoped to the organization: another organization's iteration is not found.
    iteration : str
        ``it_…`` or a name.
    org_id : str, optional
        Narrow to one organization (for sessions that span several, such as
        :data:`~baryon.core.scope.SYSTEM`).
    lock : bool
        Lock the row for this transaction (writes).

    Raises
    ------
    NotFound
        ``iteration_not_found``.
    """
    stmt = select(IterationRow).where(
        or_(IterationRow.id == iteration, IterationRow.name == iteration)
    )
    if org_id is not None:
        stmt = stmt.where(IterationRow.org_id == org_id)
    if lock:
        stmt = stmt.with_for_update()
    rows = sorted(session.scalars(stmt), key=lambda r: r.id != iteration)
    if not rows:
        raise NotFound(f"no iteration {iteration[:100]!r}", code="iteration_not_found")
    return rows[0]


def _open(session: Session, iteration: str, org_id: str | None) -> IterationRow:
    row = get_iteration(session, iteration, org_id=org_id, lock=True)
    if row.status != "open":
        raise Conflict(f"iteration {row.name!r} is closed", code="iteration_closed")
    return row


def _item_row(session: Session, row: IterationRow, item_id: str) -> IterationItemRow:
    item = session.scalars(
        select(IterationItemRow).where(
            IterationItemRow.id == item_id, IterationItemRow.iteration_id == row.id
        )
    ).first()
    if item is None:
        raise NotFound(
            f"iteration {row.name!r} has no item {item_id[:40]!r}", code="item_not_found"
        )
    return item


# ------------------------------------------------------------------- verbs
def create_iteration(
    session: Session,
    *,
    org_id: str,
    name: str,
    ends_at: datetime,
    starts_at: datetime | None = None,
    goals: Any = (),
    actor: str,
    clock: Clock,
) -> Iteration:
    """Create an open iteration of organization ``org_id``.

    Parameters
    ----------
    session : Session
        Scoped to ``org_id`` (or :data:`~baryon.core.scope.SYSTEM`).
    org_id : str
        The organization that owns it (its models are the goals' models).
    name : str
        Unique in the organization (the dataset and model name rule).
    ends_at : datetime
        End of the time box (with a time zone; stored in UTC).
    starts_at : datetime, optional
        Start of the time box (default: now).
    goals : list of dict
        ``{"model", "metric", "op", "target"}`` each (see
        :func:`~baryon.flywheel._goals.check_goals`).
    actor : str
        Who creates it (audited).
    clock : Clock

    Returns
    -------
    Iteration

    Raises
    ------
    InvalidInput
        ``invalid_iteration_name``, ``invalid_datetime`` (no time zone, or out of
        range), ``invalid_time_box`` (``starts_at`` not before ``ends_at``), and the
        goal codes of :func:`~baryon.flywheel._goals.check_goals`.
    Conflict
        ``iteration_exists``: the organization has an iteration of that name.
    """
    _name(name)
    now = clock.now()
    start = now if starts_at is None else _utc(starts_at, "starts_at")
    end = _utc(ends_at, "ends_at")
    if start >= end:
        raise InvalidInput(
            f"the time box must start before it ends ({start.isoformat()} is not before "
            f"{end.isoformat()})",
            code="invalid_time_box",
        )
    checked = check_goals(session, org_id, goals)
    taken = select(IterationRow.id).where(IterationRow.name == name, IterationRow.org_id == org_id)
    exists = Conflict(f"an iteration named {name!r} exists", code="iteration_exists")
    if session.scalar(taken) is not None:
        raise exists
    row = IterationRow(
        id=new_id("it", clock),
        org_id=org_id,
        name=name,
        starts_at=start,
        ends_at=end,
        goals=[g.to_dict() for g in checked],
        status="open",
        summary={},
        created_at=now,
        closed_at=None,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # another writer took the name in between
        raise exists from None
    record_audit(
        session, actor=actor, action="iteration.create", object_type="iteration",
        object_id=row.id, details={"name": name, "goals": len(checked)}, org_id=org_id,
        clock=clock,
    )  # fmt: skip
    return iteration_view(session, row)


def list_iterations(
    session: Session, *, status: str | None = None, org_id: str | None = None
) -> list[IterationSummary]:
    """Return the organization's iterations, newest time box first.

    Raises
    ------
    InvalidInput
        ``invalid_status``: not ``open`` or ``closed``.
    """
    stmt = select(IterationRow).order_by(IterationRow.starts_at.desc(), IterationRow.id.desc())
    if status is not None:
        if status not in ITERATION_STATUSES:
            raise InvalidInput(
                f"an iteration's status is open or closed, not {status[:20]!r}",
                code="invalid_status",
            )
        stmt = stmt.where(IterationRow.status == status)
    if org_id is not None:
        stmt = stmt.where(IterationRow.org_id == org_id)
    rows = list(session.scalars(stmt))
    counts = item_counts(session, [r.id for r in rows])
    return [
        IterationSummary(
            id=r.id,
            name=r.name,
            status=r.status,
            starts_at=r.starts_at,
            ends_at=r.ends_at,
            created_at=r.created_at,
            closed_at=r.closed_at,
            goals=goals_of(r),
            counts=counts[r.id],
        )
        for r in rows
    ]


def show_iteration(session: Session, iteration: str, *, org_id: str | None = None) -> Iteration:
    """Return one iteration in full: goals with trajectories, items by state.

    Raises
    ------
    NotFound
        ``iteration_not_found``.
    """
    return iteration_view(session, get_iteration(session, iteration, org_id=org_id))


def add_item(
    session: Session,
    iteration: str,
    *,
    kind: str,
    title: str | None = None,
    ref: str | None = None,
    owner: str | None = None,
    state: str = "todo",
    actor: str,
    clock: Clock,
    org_id: str | None = None,
) -> Item:
    """Add a work item to an open iteration.

    Parameters
    ----------
    iteration : str
        The iteration's id or name.
    kind : str
        ``labeling``, ``run``, ``flywheel`` or ``task``.
    title : str, optional
        Up to :data:`MAX_TITLE_CHARS` characters; required for a ``task``, else
        defaults to a description of the linked object.
    ref : str, optional
        The linked object's id (required for every kind but ``task``, refused for it):
        a labeling queue (``lq_…``), run (``run_…``) or flywheel cycle (``fw_…``) of
        the iteration's organization.
    owner : str, optional
        A user id of the organization (``usr_…``) or a free-text name.
    state : str
        The item's Kanban state (default ``todo``).

    Raises
    ------
    InvalidInput
        ``invalid_item_kind``, ``invalid_item_state``, ``missing_ref``,
        ``unexpected_ref``, ``invalid_ref`` (not an id of the kind's object),
        ``missing_title``, ``invalid_title``, ``invalid_owner``.
    NotFound
        ``iteration_not_found``; ``queue_not_found``, ``run_not_found``,
        ``cycle_not_found`` (no such object in the organization); ``user_not_found``.
    Conflict
        ``iteration_closed``; ``item_exists`` (the iteration already links ``ref``).
    """
    if kind not in ITEM_KINDS:
        raise InvalidInput(
            f"an item's kind is one of {', '.join(ITEM_KINDS)}, not {str(kind)[:20]!r}",
            code="invalid_item_kind",
        )
    state = _state(state)
    row = _open(session, iteration, org_id)
    linked_row = None
    if kind == "task":
        if ref is not None:
            raise InvalidInput("a task item links to nothing: give no ref", code="unexpected_ref")
        if title is None:
            raise InvalidInput("a task item needs a title", code="missing_title")
    else:
        prefix = _REF_PREFIX[kind]
        if ref is None:
            raise InvalidInput(f"a {kind} item needs a ref ({prefix}_…)", code="missing_ref")
        if not isinstance(ref, str) or not is_id(ref, prefix):
            raise InvalidInput(
                f"a {kind} item's ref is an id {prefix}_…, not {str(ref)[:40]!r}",
                code="invalid_ref",
            )
        linked_row = target(session, row.org_id, kind, ref)
        if linked_row is None:
            what = {"labeling": "queue", "run": "run", "flywheel": "cycle"}[kind]
            raise NotFound(f"no {what} {ref!r}", code=f"{what}_not_found")
        linked_already = select(IterationItemRow.id).where(
            IterationItemRow.iteration_id == row.id, IterationItemRow.ref == ref
        )
        if session.scalar(linked_already) is not None:
            raise Conflict(
                f"iteration {row.name!r} already has an item for {ref}", code="item_exists"
            )
    text = _text(
        title if title is not None else default_title(linked_row),
        "title", MAX_TITLE_CHARS, "invalid_title",
    )  # fmt: skip
    now = clock.now()
    item = IterationItemRow(
        id=new_id("iti", clock),
        org_id=row.org_id,
        iteration_id=row.id,
        kind=kind,
        title=text,
        ref=ref,
        state=state,
        owner=_owner(session, row.org_id, owner),
        created_at=now,
        updated_at=now,
    )
    session.add(item)
    record_audit(
        session, actor=actor, action="iteration.item.add", object_type="iteration",
        object_id=row.id, details={"item_id": item.id, "kind": kind, "ref": ref, "state": state},
        org_id=row.org_id, clock=clock,
    )  # fmt: skip
    session.flush()
    return item_view(item, linked_objects(session, row.org_id, [item]))


def update_item(
    session: Session,
    iteration: str,
    item_id: str,
    *,
    state: str | _Unset = UNSET,
    owner: str | _Unset | None = UNSET,
    title: str | _Unset = UNSET,
    actor: str,
    clock: Clock,
    org_id: str | None = None,
) -> Item:
    """Move an item to another Kanban state, (re)assign it, or rename it.

    Parameters
    ----------
    state : str, optional
        ``todo``, ``doing`` or ``done``.
    owner : str or None, optional
        A user id of the organization or a free-text name; ``None`` unassigns.
    title : str, optional

    Fields left :data:`UNSET` stay as they are.

    Raises
    ------
    InvalidInput
        ``empty_update`` (nothing to change), ``invalid_item_state``,
        ``invalid_owner``, ``invalid_title``.
    NotFound
        ``iteration_not_found``, ``item_not_found``, ``user_not_found``.
    Conflict
        ``iteration_closed``.
    """
    row = _open(session, iteration, org_id)
    item = _item_row(session, row, item_id)
    if state is UNSET and owner is UNSET and title is UNSET:
        raise InvalidInput("give a state, an owner or a title", code="empty_update")
    changes: dict[str, Any] = {}
    if state is not UNSET:
        changes["state"] = _state(state)
    if owner is not UNSET:
        changes["owner"] = _owner(session, row.org_id, owner)
    if title is not UNSET:
        changes["title"] = _text(title, "title", MAX_TITLE_CHARS, "invalid_title")
    before = {name: getattr(item, name) for name in changes}
    for name, value in changes.items():
        setattr(item, name, value)
    item.updated_at = clock.now()
    record_audit(
        session, actor=actor, action="iteration.item.update", object_type="iteration",
        object_id=row.id, details={"item_id": item.id, "from": before, "to": changes},
        org_id=row.org_id, clock=clock,
    )  # fmt: skip
    session.flush()
    return item_view(item, linked_objects(session, row.org_id, [item]))


def close_iteration(
    session: Session, iteration: str, *, actor: str, clock: Clock, org_id: str | None = None
) -> Iteration:
    """Close an iteration: freeze each goal's final value and whether it was met.

    A goal's final value is its model's champion's test-split metric at closing
    time. After this the iteration refuses every change.

    Raises
    ------
    NotFound
        ``iteration_not_found``.
    Conflict
        ``iteration_closed``: it is closed already.
    """
    row = _open(session, iteration, org_id)
    final = []
    for goal in goals_of(row):
        value, version = champion_value(session, row.org_id, goal)
        met = goal.met_by(value)
        final.append({**goal.to_dict(), "value": value, "champion_version": version, "met": met})
    counts = item_counts(session, [row.id])[row.id]
    now = clock.now()
    row.summary = {
        "goals": final,
        "met": sum(1 for g in final if g["met"]),
        "total": len(final),
        "items": counts,
    }
    row.status = "closed"
    row.closed_at = now
    record_audit(
        session, actor=actor, action="iteration.close", object_type="iteration",
        object_id=row.id, details={"met": row.summary["met"], "total": len(final)},
        org_id=row.org_id, clock=clock,
    )  # fmt: skip
    session.flush()
    return iteration_view(session, row)
