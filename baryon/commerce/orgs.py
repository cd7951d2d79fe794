"""Organizations (tenants) and their subscriptions.

Every organization has exactly one ``active`` subscription to a plan (created with the
organization, ``free`` unless told otherwise). Changing plan ends the active
subscription and starts a new one **on the same billing anchor**, so the current
period and what was already used in it carry over: switching plans never resets a
quota. The invoice of that period prorates each plan's base price by the second it
was active (:mod:`baryon.commerce.charges`). A move to the plan already active is a
no-op; a move to an archived plan (``plan_archived``) or to a plan in another
currency (``currency_mismatch``: one invoice has one currency) is refused.

A subscription to a plan with ``trial_days`` starts a trial of that many days
(``trial_ends_at``) unless the organization already had a trial of that plan.

All functions take an open :class:`~sqlalchemy.orm.Session` and write their audit
event in it, so the change and its audit event commit together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from baryon.commerce.plans import Plan, billing_period, get_plan
from baryon.commerce.tables import PlanRow, SubscriptionRow
from baryon.core.audit import record_audit
from baryon.core.clock import Clock, SystemClock
from baryon.core.errors import Conflict, InvalidInput, NotFound
from baryon.core.ids import new_id
from baryon.core.refs import ORG_NAME_PATTERN
from baryon.tenancy.tables import OrganizationRow

__all__ = [
    "DEFAULT_PREDICTION_INPUTS",
    "PREDICTION_INPUT_MODES",
    "Organization",
    "Subscription",
    "active_subscription",
    "create_org",
    "get_org",
    "list_orgs",
    "subscribe",
    "update_org",
]

_NAME_RE = re.compile(ORG_NAME_PATTERN)  # the one rule; references use it for ORG/NAME

#: How the prediction log keeps inputs: in full, with personal data masked, as SHA-256
#: digests, or not at all (:mod:`baryon.predictions.log`).
PREDICTION_INPUT_MODES = ("full", "masked", "hashed", "none")

#: The input mode of a new organization: personal data never reaches the log unasked.
DEFAULT_PREDICTION_INPUTS = "masked"


@dataclass(frozen=True)
class Organization:
    """A tenant.

    Attributes
    ----------
    id, name : str
    operator : bool
        Whether this organization runs the platform (holds platform permissions).
    prediction_inputs : str
        ``full``, ``masked``, ``hashed`` or ``none`` (see :data:`PREDICTION_INPUT_MODES`).
    created_at : datetime
    """

    id: str
    name: str
    operator: bool
    prediction_inputs: str
    created_at: datetime

    @classmethod
    def from_row(cls, row: OrganizationRow) -> Organization:
        """Build from an :class:`OrganizationRow`."""
        return cls(row.id, row.name, row.operator, row.prediction_inputs, row.created_at)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "id": self.id,
            "name": self.name,
            "operator": self.operator,
            "prediction_inputs": self.prediction_inputs,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class Subscription:
    """An organization's active plan and billing anchor.

    Attributes
    ----------
    id, org_id : str
    plan : Plan
    status : str
        ``active`` or ``ended``.
    billing_anchor, started_at : datetime
    ended_at : datetime or None
    trial_ends_at : datetime or None
        End of the trial (the base price is not charged before it).
    """

    id: str
    org_id: str
    plan: Plan
    status: str
    billing_anchor: datetime
    started_at: datetime
    ended_at: datetime | None
    trial_ends_at: datetime | None = None

    def period(self, at: datetime) -> tuple[datetime, datetime]:
        """Return ``[start, end)`` of the billing period containing ``at``."""
        return billing_period(self.billing_anchor, at)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "id": self.id,
            "org_id": self.org_id,
            "plan": self.plan.to_dict(),
            "status": self.status,
            "billing_anchor": self.billing_anchor.isoformat(),
            "started_at": self.started_at.isoformat(),
            "ended_at": None if self.ended_at is None else self.ended_at.isoformat(),
            "trial_ends_at": None if self.trial_ends_at is None else self.trial_ends_at.isoformat(),
        }


def _check_mode(mode: str) -> str:
    if mode not in PREDICTION_INPUT_MODES:
        raise InvalidInput(
            f"prediction_inputs must be one of {', '.join(PREDICTION_INPUT_MODES)}, got {mode!r}",
            code="invalid_input",
        )
    return mode


def create_org(
    session: Session,
    *,
    name: str,
    plan: str = "free",
    operator: bool = False,
    prediction_inputs: str = DEFAULT_PREDICTION_INPUTS,
    actor: str = "system",
    clock: Clock | None = None,
) -> Organization:
    """Create an organization subscribed to ``plan`` (audited).

    Parameters
    ----------
    session : Session
    name : str
        Lower-case slug, unique (``^[a-z0-9][a-z0-9_.-]{0,63}$``).
    plan : str
        Plan name or id (default ``free``).
    operator : bool
        Make it an operator organization (platform permissions for its admins).
    prediction_inputs : str
        How its prediction log keeps inputs: ``full``, ``masked`` (default),
        ``hashed`` or ``none``.
    actor : str
    clock : Clock, optional

    Raises
    ------
    InvalidInput
        Bad name (``invalid_name``) or input mode.
    NotFound
        Unknown plan (``plan_not_found``).
    Conflict
        Name taken (``org_exists``); archived plan (``plan_archived``).
    """
    clock = clock or SystemClock()
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise InvalidInput(
            f"organization name must match {_NAME_RE.pattern}, got {name!r}", code="invalid_name"
        )
    _check_mode(prediction_inputs)
    chosen = _offered(session, plan)
    if session.scalar(select(OrganizationRow.id).where(OrganizationRow.name == name)):
        raise Conflict(f"organization {name!r} already exists", code="org_exists")
    now = clock.now()
    row = OrganizationRow(
        id=new_id("org", clock),
        name=name,
        operator=operator,
        prediction_inputs=prediction_inputs,
        created_at=now,
    )
    session.add(row)
    session.flush()
    session.add(
        SubscriptionRow(
            id=new_id("sub", clock),
            org_id=row.id,
            plan_id=chosen.id,
            status="active",
            billing_anchor=now,
            started_at=now,
            trial_ends_at=_trial_end(chosen, now),
        )
    )
    record_audit(
        session,
        actor=actor,
        action="org.create",
        object_type="organization",
        object_id=row.id,
        org_id=row.id,
        details={
            "name": name,
            "plan": chosen.name,
            "operator": operator,
            "prediction_inputs": prediction_inputs,
        },
        clock=clock,
    )
    session.flush()
    return Organization.from_row(row)


def _offered(session: Session, plan: str) -> Plan:
    chosen = get_plan(session, plan)
    if chosen.archived_at is not None:
        raise Conflict(
            f"plan {chosen.name!r} is archived and can no longer be chosen", code="plan_archived"
        )
    return chosen


def _trial_end(plan: Plan, now: datetime) -> datetime | None:
    return now + timedelta(days=plan.trial_days) if plan.trial_days else None


def list_orgs(session: Session) -> list[Organization]:
    """Return every organization, oldest first."""
    rows = session.scalars(select(OrganizationRow).order_by(OrganizationRow.created_at))
    return [Organization.from_row(r) for r in rows]


def get_org(session: Session, name_or_id: str) -> Organization:
    """Return the organization named (or with id) ``name_or_id``.

    Raises
    ------
    NotFound
        Code ``org_not_found``.
    """
    row = session.scalar(
        select(OrganizationRow).where(
            (OrganizationRow.id == name_or_id) | (OrganizationRow.name == name_or_id)
        )
    )
    if row is None:
        raise NotFound(f"no organization {name_or_id!r}", code="org_not_found")
    return Organization.from_row(row)


def update_org(
    session: Session,
    org_id: str,
    *,
    prediction_inputs: str | None = None,
    actor: str = "system",
    clock: Clock | None = None,
) -> Organization:
    """Change an organization's settings (audited); ``None`` leaves a setting as is.

    Parameters
    ----------
    session : Session
    org_id : str
    prediction_inputs : str, optional
        ``full``, ``masked``, ``hashed`` or ``none``; applies to predictions logged
        from now on (what is logged already stays as it was logged).
    actor : str
        Who changes it (the audit event ``org.update`` holds old and new values).
    clock : Clock, optional

    Raises
    ------
    NotFound
        ``org_not_found``.
    InvalidInput
        An unknown input mode (``invalid_input``).
    """
    row = session.get(OrganizationRow, org_id)
    if row is None:
        raise NotFound(f"no organization {org_id!r}", code="org_not_found")
    changes: dict[str, Any] = {}
    if prediction_inputs is not None and prediction_inputs != row.prediction_inputs:
        changes["prediction_inputs"] = [row.prediction_inputs, _check_mode(prediction_inputs)]
        row.prediction_inputs = prediction_inputs
    if changes:
        record_audit(
            session,
            actor=actor,
            action="org.update",
            object_type="organization",
            object_id=org_id,
            org_id=org_id,
            details=changes,
            clock=clock,
        )
    session.flush()
    return Organization.from_row(row)


def active_subscription(session: Session, org_id: str) -> Subscription | None:
    """Return the organization's active subscription (with its plan), or ``None``."""
    found = session.execute(
        select(SubscriptionRow, PlanRow)
        .join(PlanRow, PlanRow.id == SubscriptionRow.plan_id)
        .where(SubscriptionRow.org_id == org_id, SubscriptionRow.status == "active")
    ).first()
    if found is None:
        return None
    sub, plan = found
    return Subscription(
        id=sub.id,
        org_id=sub.org_id,
        plan=Plan.from_row(plan),
        status=sub.status,
        billing_anchor=sub.billing_anchor,
        started_at=sub.started_at,
        ended_at=sub.ended_at,
        trial_ends_at=sub.trial_ends_at,
    )


def subscribe(
    session: Session,
    org_id: str,
    plan: str,
    *,
    actor: str = "system",
    clock: Clock | None = None,
) -> Subscription:
    """Move an organization to ``plan`` (audited); the billing anchor is kept.

    Moving to the plan already active changes nothing and returns the active
    subscription. The new subscription has a trial when the plan offers one and the
    organization never had a subscription to that plan.

    Raises
    ------
    NotFound
        Unknown organization (``org_not_found``) or plan (``plan_not_found``).
    Conflict
        Archived plan (``plan_archived``); a plan in another currency than the
        active one (``currency_mismatch``).
    """
    clock = clock or SystemClock()
    if session.get(OrganizationRow, org_id) is None:
        raise NotFound(f"no organization {org_id!r}", code="org_not_found")
    chosen = get_plan(session, plan)
    now = clock.now()
    current = session.scalar(
        select(SubscriptionRow).where(
            SubscriptionRow.org_id == org_id, SubscriptionRow.status == "active"
        )
    )
    anchor = now
    previous = None
    if current is not None and current.plan_id == chosen.id:
        sub = active_subscription(session, org_id)
        assert sub is not None  # the active row just read
        return sub
    chosen = _offered(session, chosen.id)
    if current is not None:
        old_currency = session.scalar(select(PlanRow.currency).where(PlanRow.id == current.plan_id))
        if old_currency != chosen.currency:
            raise Conflict(
                f"plan {chosen.name!r} is priced in {chosen.currency}, the organization's "
                f"current plan in {old_currency}; one invoice has one currency",
                code="currency_mismatch",
                details={"current": old_currency, "requested": chosen.currency},
            )
        anchor, previous = current.billing_anchor, current.plan_id
    had_trial = session.scalar(
        select(SubscriptionRow.id).where(
            SubscriptionRow.org_id == org_id,
            SubscriptionRow.plan_id == chosen.id,
            SubscriptionRow.trial_ends_at.is_not(None),
        )
    )
    if current is not None:
        current.status, current.ended_at = "ended", now
        session.flush()
    row = SubscriptionRow(
        id=new_id("sub", clock),
        org_id=org_id,
        plan_id=chosen.id,
        status="active",
        billing_anchor=anchor,
        started_at=now,
        trial_ends_at=None if had_trial else _trial_end(chosen, now),
    )
    session.add(row)
    record_audit(
        session,
        actor=actor,
        action="org.subscribe",
        object_type="organization",
        object_id=org_id,
        org_id=org_id,
        details={"plan": chosen.name, "previous_plan_id": previous},
        clock=clock,
    )
    session.flush()
    sub = active_subscription(session, org_id)
    assert sub is not None  # just written
    return sub
