"""Plan changes and price versions.

:func:`update_plan` changes a plan; :func:`archive_plan` stops offering it. A price
change never rewrites the past: it adds a **price version** (``plan_prices``) and
:func:`price_in_force` says which version bills a billing period:

    the newest version created at or before the period's start; version 1 when the
    period started before the plan's first version (an organization that moved to the
    plan mid-period).

So a price change made on the 10th applies from each organization's next period
start, never to a period already running, and an invoice of a past period is
computed again to the same amounts whatever changed since.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from baryon.commerce.plans import (
    Plan,
    check_base_price,
    check_features,
    check_limit,
    check_route_prices,
    check_terms,
    check_trial,
    check_unit_weights,
    parse_money,
    plan_row,
)
from baryon.commerce.tables import PlanPriceRow
from baryon.core.audit import record_audit
from baryon.core.clock import Clock, SystemClock
from baryon.core.errors import Conflict, NotFound

__all__ = [
    "PriceVersion",
    "archive_plan",
    "list_price_versions",
    "price_in_force",
    "update_plan",
]


@dataclass(frozen=True)
class PriceVersion:
    """One price version of a plan.

    Attributes
    ----------
    plan_id : str
    version : int
        1, 2, ... in order of creation.
    monthly_price : Decimal
    overage_price : Decimal or None
    route_prices : dict of str to Decimal
    created_at : datetime
        In force from the first billing period starting at or after it.
    """

    plan_id: str
    version: int
    monthly_price: Decimal
    overage_price: Decimal | None
    route_prices: Mapping[str, Decimal]
    created_at: datetime

    @classmethod
    def from_row(cls, row: PlanPriceRow) -> PriceVersion:
        """Build from a :class:`PlanPriceRow`."""
        return cls(
            plan_id=row.plan_id,
            version=row.version,
            monthly_price=row.monthly_price,
            overage_price=row.overage_price,
            route_prices={r: Decimal(p) for r, p in (row.route_prices or {}).items()},
            created_at=row.created_at,
        )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (money as exact strings)."""
        return {
            "plan_id": self.plan_id,
            "version": self.version,
            "monthly_price": str(self.monthly_price),
            "overage_price": None if self.overage_price is None else str(self.overage_price),
            "route_prices": {r: str(p) for r, p in self.route_prices.items()},
            "created_at": self.created_at.isoformat(),
        }


def list_price_versions(session: Session, plan_id: str) -> list[PriceVersion]:
    """Return a plan's price versions, oldest first."""
    rows = session.scalars(
        select(PlanPriceRow).where(PlanPriceRow.plan_id == plan_id).order_by(PlanPriceRow.version)
    )
    return [PriceVersion.from_row(r) for r in rows]


def price_in_force(session: Session, plan_id: str, period_start: datetime) -> PriceVersion:
    """Return the price version that bills the period starting at ``period_start``
    (see the module docstring).

    Raises
    ------
    NotFound
        Code ``plan_not_found``: the plan has no price version.
    """
    row = session.scalar(
        select(PlanPriceRow)
        .where(PlanPriceRow.plan_id == plan_id, PlanPriceRow.created_at <= period_start)
        .order_by(PlanPriceRow.version.desc())
        .limit(1)
    )
    if row is None:
        row = session.scalar(
            select(PlanPriceRow)
            .where(PlanPriceRow.plan_id == plan_id)
            .order_by(PlanPriceRow.version)
            .limit(1)
        )
    if row is None:
        raise NotFound(f"plan {plan_id!r} has no price version", code="plan_not_found")
    return PriceVersion.from_row(row)


_UNSET: Any = object()


def update_plan(
    session: Session,
    name_or_id: str,
    *,
    quota: int | None = None,
    rate_per_minute: int | None = None,
    features: Iterable[str] | None = None,
    unit_weights: Mapping[str, object] | None = None,
    trial_days: int | None = None,
    monthly_price: object | None = None,
    overage_price: object = _UNSET,
    route_prices: Mapping[str, object] | None = None,
    actor: str = "system",
    clock: Clock | None = None,
) -> Plan:
    """Change a plan (audited); ``None`` (or, for ``overage_price``, leaving it out)
    keeps a field as it is.

    Quota, rate, features, unit weights and trial apply at once. A change of price
    (``monthly_price``, ``overage_price`` — ``None`` removes it — or ``route_prices``)
    writes a new price version, in force from each organization's next billing
    period (:func:`baryon.commerce.prices.price_in_force`); the plan then shows the
    new prices. A change that changes nothing writes nothing.

    Raises
    ------
    NotFound
        ``plan_not_found``.
    Conflict
        ``plan_archived``: an archived plan is not changed.
    InvalidInput
        As :func:`create_plan`.
    """
    clock = clock or SystemClock()
    row = plan_row(session, name_or_id)
    if row.archived_at is not None:
        raise Conflict(f"plan {row.name!r} is archived", code="plan_archived")
    new_quota = row.quota if quota is None else check_limit("quota", quota)
    new_rate = (
        row.rate_per_minute
        if rate_per_minute is None
        else check_limit("rate_per_minute", rate_per_minute)
    )
    flags = list(row.features) if features is None else check_features(features)
    weights = (
        dict(row.unit_weights or {}) if unit_weights is None else check_unit_weights(unit_weights)
    )
    trial = row.trial_days if trial_days is None else check_trial(trial_days)
    monthly = (
        row.monthly_price
        if monthly_price is None
        else check_base_price(monthly_price, row.currency)
    )
    if overage_price is _UNSET:
        overage = row.overage_price
    else:
        overage = (
            None if overage_price is None else parse_money(overage_price, field="overage_price")
        )
    prices = (
        {r: Decimal(p) for r, p in (row.route_prices or {}).items()}
        if route_prices is None
        else check_route_prices(route_prices)
    )
    check_terms(new_quota, flags, overage)
    changes: dict[str, Any] = {}
    for field_name, old, new in (
        ("quota", row.quota, new_quota),
        ("rate_per_minute", row.rate_per_minute, new_rate),
        ("features", list(row.features), flags),
        ("unit_weights", dict(row.unit_weights or {}), weights),
        ("trial_days", row.trial_days, trial),
    ):
        if old != new:
            changes[field_name] = [old, new]
            setattr(row, field_name, new)
    old_prices = {r: Decimal(p) for r, p in (row.route_prices or {}).items()}
    price_changed = (
        monthly != row.monthly_price or overage != row.overage_price or prices != old_prices
    )
    now = clock.now()
    if price_changed:
        changes["prices"] = {
            "monthly_price": [str(row.monthly_price), str(monthly)],
            "overage_price": [_text(row.overage_price), _text(overage)],
            "route_prices": [_texts(old_prices), _texts(prices)],
        }
        row.monthly_price, row.overage_price = monthly, overage
        row.route_prices = _texts(prices)
        row.price_version += 1
        changes["price_version"] = row.price_version
        session.add(
            PlanPriceRow(
                plan_id=row.id, version=row.price_version, monthly_price=monthly,
                overage_price=overage, route_prices=row.route_prices, created_at=now,
                actor=actor,
            )
        )  # fmt: skip
    if changes:
        record_audit(
            session,
            actor=actor,
            action="plan.update",
            object_type="plan",
            object_id=row.id,
            details={"name": row.name, **changes},
            clock=clock,
        )
    session.flush()
    return Plan.from_row(row)


def _text(amount: Decimal | None) -> str | None:
    return None if amount is None else str(amount)


def _texts(prices: Mapping[str, Decimal]) -> dict[str, str]:
    return {r: str(p) for r, p in sorted(prices.items())}


def archive_plan(
    session: Session, name_or_id: str, *, actor: str = "system", clock: Clock | None = None
) -> Plan:
    """Stop offering a plan (audited): no organization can be created on it or move to
    it; organizations already on it keep it and are invoiced as before.

    Raises
    ------
    NotFound
        ``plan_not_found``.
    Conflict
        ``plan_archived``: already archived.
    """
    clock = clock or SystemClock()
    row = plan_row(session, name_or_id)
    if row.archived_at is not None:
        raise Conflict(f"plan {row.name!r} is already archived", code="plan_archived")
    row.archived_at = clock.now()
    record_audit(
        session, actor=actor, action="plan.archive", object_type="plan", object_id=row.id,
        details={"name": row.name}, clock=clock,
    )  # fmt: skip
    session.flush()
    return Plan.from_row(row)
