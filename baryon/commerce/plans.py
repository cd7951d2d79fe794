"""Plans, billing periods, charges and the units a metered request costs.

A **plan** is a priced bundle: a quota of units per billing period, a rate limit in
requests per minute, a monthly price and an overage price per unit (both
:class:`~decimal.Decimal`, never float), feature flags and unit weights. Three plans
are built in (``free``, ``pro``, ``enterprise``, seeded by migration ``0004``);
operators add their own with :func:`create_plan` (``baryon plans create``).

Limits are validated when a plan is created: a quota or rate must be a non-negative
``int`` (``True``, ``1.5`` and ``-1`` are refused). A quota of 0 admits nothing; a rate
of 0 admits nothing either.

Units count the work done: a metered request costs one unit per input it scores
(:data:`METERED_ROUTES` says what an input is on each route) times the plan's weight
for that route (``unit_weights``: route template → units per input, default 1), so a
batch of 256 inputs costs 256 units, or 512 on a route weighted 2
(:meth:`Plan.units_for`).

Feature flags the serving layer acts on:

``traffic_split``
    the organization may send a share of its traffic to the ``challenger`` alias.
``overage``
    the quota is soft: requests beyond it are admitted and billed at ``overage_price``
    (the plan must then have an overage price). Without it the quota is a hard stop
    (HTTP 429 ``quota_exceeded``).

Billing periods are calendar months anchored on the day the organization first
subscribed (an anchor on the 31st gives periods ending on the last day of shorter
months), as :func:`billing_period` computes.

Money and change (issue 15): a plan has a **currency** (a code of
:data:`baryon.commerce.money.CURRENCIES`; unknown codes are refused,
``unknown_currency``), optional **route prices** (a price per unit on a metered
route, charged on top of the base and any overage) and a **trial** of
``trial_days`` days during which the base price is not charged. :func:`update_plan`
changes a plan: quota, rate, features, unit weights and trial apply at once; a price
change (monthly, overage, route prices) is a new **price version**
(:mod:`baryon.commerce.prices`) in force from each organization's next billing
period. :func:`archive_plan` stops a plan being chosen; organizations already on it
keep it.

A quota of 0 is refused at creation and update (``invalid_quota``) unless the plan
bills every unit as overage (the ``overage`` feature with an overage price: a
pay-as-you-go plan). A monthly price has at most the currency's minor-unit places
(``49.99`` USD, ``4999`` JPY); unit prices (overage, routes) up to 4 more.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from baryon.commerce.money import CURRENCIES, DEFAULT_CURRENCY, check_currency
from baryon.commerce.tables import PlanPriceRow, PlanRow
from baryon.core.audit import record_audit
from baryon.core.clock import Clock, SystemClock
from baryon.core.errors import Conflict, InvalidInput, NotFound
from baryon.core.ids import new_id

__all__ = [
    "BUILTIN_PLANS",
    "KNOWN_FEATURES",
    "MAX_TRIAL_DAYS",
    "MAX_UNIT_WEIGHT",
    "METERED_ROUTES",
    "MONEY_PATTERN",
    "PLAN_NAME_PATTERN",
    "Plan",
    "add_months",
    "billing_period",
    "check_base_price",
    "check_features",
    "check_limit",
    "check_route_prices",
    "check_terms",
    "check_trial",
    "check_unit_weights",
    "create_plan",
    "get_plan",
    "list_plans",
    "parse_money",
    "plan_row",
]

#: A plan's name: 1-40 lower-case letters, digits, ``_`` or ``-``, starting with a letter.
PLAN_NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,39}$"
_NAME_RE = re.compile(PLAN_NAME_PATTERN)
_FEATURE_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_MONEY_PLACES = 4
#: An amount of money as text: plain decimal notation, at most 12 digits before the point
#: (under a trillion) and 4 after it. No sign, exponent, separator or white space inside.
MONEY_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,4})?$"
_MONEY_RE = re.compile(MONEY_PATTERN)
#: Longest trial a plan may offer, in days.
MAX_TRIAL_DAYS = 366

#: Feature flags with an effect in the serving layer (others are stored as given).
KNOWN_FEATURES = frozenset({"traffic_split", "overage"})

#: The metered routes (route templates, as usage records name them) and what one input
#: of each is. A request costs ``inputs x weight`` units (see :meth:`Plan.units_for`).
METERED_ROUTES: dict[str, str] = {
    "/v1/models/{name}/predict": "one entry of inputs",
    "/v1/support/answer": "one message",
    "/v1/sentiment/analyze": "one text",
    "/v1/sentiment/items": "one new item (an id sent before is free)",
    "/v1/recommendations/{user_id}": "one user",
}
#: Largest units per input a plan may charge on a route.
MAX_UNIT_WEIGHT = 1_000_000


@dataclass(frozen=True)
class Plan:
    """A plan as callers see it.

    Attributes
    ----------
    id, name : str
    quota : int
        Units admitted per billing period (0 admits nothing).
    rate_per_minute : int
        Requests per minute per API key (0 admits nothing).
    monthly_price : Decimal
        Price of one billing period, in the operator's currency.
    overage_price : Decimal or None
        Price of one unit beyond the quota (only with the ``overage`` feature).
    features : tuple of str
    builtin : bool
    created_at : datetime
    unit_weights : dict of str to int
        Units per input on a metered route (route template → weight); a route not
        listed costs 1 unit per input.
    currency : str
        ISO 4217 code of every price of the plan.
    trial_days : int
        Days from a new subscription during which the base price is not charged.
    route_prices : dict of str to Decimal
        Price per unit on a metered route (route template → price), on top of the
        base and overage.
    price_version : int
        The newest price version (the one these prices are).
    archived_at : datetime or None
        When the plan stopped being offered.
    """

    id: str
    name: str
    quota: int
    rate_per_minute: int
    monthly_price: Decimal
    overage_price: Decimal | None
    features: tuple[str, ...]
    builtin: bool
    created_at: datetime
    unit_weights: Mapping[str, int] = field(default_factory=dict, hash=False)
    currency: str = DEFAULT_CURRENCY
    trial_days: int = 0
    route_prices: Mapping[str, Decimal] = field(default_factory=dict, hash=False)
    price_version: int = 1
    archived_at: datetime | None = None

    @property
    def allows_overage(self) -> bool:
        """Whether units beyond the quota are admitted (and billed)."""
        return "overage" in self.features and self.overage_price is not None

    def units_for(self, route: str, inputs: int) -> int:
        """Return the units a request of ``inputs`` inputs costs on ``route``.

        Parameters
        ----------
        route : str
            The route template, e.g. ``"/v1/models/{name}/predict"``.
        inputs : int
            Inputs the request scores (``>= 0``; what an input is: :data:`METERED_ROUTES`).

        Returns
        -------
        int
            ``inputs`` times the plan's weight for ``route`` (1 unless set).
        """
        return inputs * self.unit_weights.get(route, 1)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (money as strings, exact)."""
        return {
            "id": self.id,
            "name": self.name,
            "quota": self.quota,
            "rate_per_minute": self.rate_per_minute,
            "monthly_price": str(self.monthly_price),
            "overage_price": None if self.overage_price is None else str(self.overage_price),
            "features": list(self.features),
            "unit_weights": dict(self.unit_weights),
            "builtin": self.builtin,
            "created_at": self.created_at.isoformat(),
            "currency": self.currency,
            "trial_days": self.trial_days,
            "route_prices": {r: str(p) for r, p in self.route_prices.items()},
            "price_version": self.price_version,
            "archived_at": None if self.archived_at is None else self.archived_at.isoformat(),
        }

    @classmethod
    def from_row(cls, row: PlanRow) -> Plan:
        """Build from a :class:`PlanRow`."""
        return cls(
            id=row.id,
            name=row.name,
            quota=row.quota,
            rate_per_minute=row.rate_per_minute,
            monthly_price=row.monthly_price,
            overage_price=row.overage_price,
            features=tuple(row.features),
            builtin=row.builtin,
            created_at=row.created_at,
            unit_weights=dict(row.unit_weights or {}),
            currency=row.currency,
            trial_days=row.trial_days,
            route_prices={r: Decimal(p) for r, p in (row.route_prices or {}).items()},
            price_version=row.price_version,
            archived_at=row.archived_at,
        )


#: The built-in plans, exactly as migration 0004 seeds them.
BUILTIN_PLANS: tuple[dict[str, Any], ...] = (
    {
        "id": "plan_free",
        "name": "free",
        "quota": 1_000,
        "rate_per_minute": 60,
        "monthly_price": Decimal("0.00"),
        "overage_price": None,
        "features": [],
    },
    {
        "id": "plan_pro",
        "name": "pro",
        "quota": 100_000,
        "rate_per_minute": 600,
        "monthly_price": Decimal("49.00"),
        "overage_price": Decimal("0.0010"),
        "features": ["traffic_split"],
    },
    {
        "id": "plan_enterprise",
        "name": "enterprise",
        "quota": 1_000_000,
        "rate_per_minute": 6_000,
        "monthly_price": Decimal("990.00"),
        "overage_price": Decimal("0.0005"),
        "features": ["overage", "traffic_split"],
    },
)


#: Largest quota or rate a plan may hold: the database counters are signed 64-bit.
_MAX_LIMIT = 2**63 - 1


def check_limit(name: str, value: object) -> int:
    """Return a quota or rate checked: a whole number from 0 to 2**63 - 1
    (code ``invalid_limit``)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(
            f"{name} must be a whole number, got {value!r}",
            code="invalid_limit",
            details={"field": name},
        )
    if value < 0:
        raise InvalidInput(
            f"{name} must be 0 or more, got {value}", code="invalid_limit", details={"field": name}
        )
    if value > _MAX_LIMIT:
        raise InvalidInput(
            f"{name} must be at most {_MAX_LIMIT} (a 64-bit counter), got {value}",
            code="invalid_limit",
            details={"field": name},
        )
    return value


def parse_money(value: object, *, field: str = "price") -> Decimal:
    """Return ``value`` as a non-negative :class:`Decimal` with at most 4 decimal places.

    Parameters
    ----------
    value : str, int or Decimal
        ``"49"``, ``"0.0010"``, ``49``: plain decimal notation (:data:`MONEY_PATTERN`;
        surrounding white space is ignored). Floats are refused (``0.1`` is not exact),
        and so are ``"1e3"``, ``"+5"``, ``"1_000"`` and amounts of a trillion or more.
    field : str
        Name used in the error message.

    Raises
    ------
    InvalidInput
        Code ``invalid_price`` for a float, a non-number, a negative amount, more than 4
        decimal places, or any other spelling than plain decimal notation.
    """
    if isinstance(value, bool | float) or not isinstance(value, str | int | Decimal):
        raise InvalidInput(
            f"{field} must be a decimal string such as '49.00', got {value!r}",
            code="invalid_price",
            details={"field": field},
        )
    text = format(value, "f") if isinstance(value, Decimal) and value.is_finite() else str(value)
    if not _MONEY_RE.fullmatch(text.strip()):
        raise InvalidInput(
            f"{field} must be an amount of 0 or more in plain decimal notation, under a "
            f"trillion, with at most {_MONEY_PLACES} decimal places (e.g. '49.00'); "
            f"got {str(value)[:40]!r}",
            code="invalid_price",
            details={"field": field},
        )
    return Decimal(text.strip())


def check_features(features: Iterable[str]) -> list[str]:
    """Return feature flags sorted and unique.

    Raises
    ------
    InvalidInput
        ``invalid_feature`` for a flag that is not a lower-case name;
        ``unknown_feature`` for one that is not in :data:`KNOWN_FEATURES` (a typo such as
        ``overgae`` would otherwise store a plan without overage billing).
    """
    out = sorted(set(features))
    for flag in out:
        if not isinstance(flag, str) or not _FEATURE_RE.match(flag):
            raise InvalidInput(f"invalid feature flag {flag!r}", code="invalid_feature")
        if flag not in KNOWN_FEATURES:
            raise InvalidInput(
                f"unknown plan feature {flag!r}; use {', '.join(sorted(KNOWN_FEATURES))}",
                code="unknown_feature",
            )
    return out


def check_unit_weights(weights: Mapping[str, object] | None) -> dict[str, int]:
    """Return ``weights`` checked: metered route templates to positive whole numbers.

    Parameters
    ----------
    weights : mapping of str to int, or None
        Route template (a key of :data:`METERED_ROUTES`) → units per input, from 1 to
        :data:`MAX_UNIT_WEIGHT`. ``None`` is no weights.

    Returns
    -------
    dict of str to int
        Sorted by route.

    Raises
    ------
    InvalidInput
        Code ``unknown_metered_route`` for a route that is not metered (``details``
        lists the metered ones); ``invalid_unit_weight`` for a weight that is not a
        whole number from 1 to :data:`MAX_UNIT_WEIGHT` (``True`` and ``1.5`` included).
    """
    out: dict[str, int] = {}
    for route, weight in sorted((weights or {}).items(), key=lambda kv: str(kv[0])):
        if route not in METERED_ROUTES:
            raise InvalidInput(
                f"{route!r} is not a metered route; weights apply to {', '.join(METERED_ROUTES)}",
                code="unknown_metered_route",
                details={"route": str(route), "metered_routes": list(METERED_ROUTES)},
            )
        if (
            isinstance(weight, bool)
            or not isinstance(weight, int)
            or not 1 <= weight <= MAX_UNIT_WEIGHT
        ):
            raise InvalidInput(
                f"the unit weight of {route} must be a whole number from 1 to "
                f"{MAX_UNIT_WEIGHT}, got {weight!r}",
                code="invalid_unit_weight",
                details={"route": route},
            )
        out[route] = weight
    return out


def check_route_prices(prices: Mapping[str, object] | None) -> dict[str, Decimal]:
    """Return ``prices`` checked: metered route templates to unit prices.

    Parameters
    ----------
    prices : mapping of str to (str, int or Decimal), or None
        Route template (a key of :data:`METERED_ROUTES`) → price per unit
        (see :func:`parse_money`). ``None`` is no route prices.

    Raises
    ------
    InvalidInput
        ``unknown_metered_route`` or ``invalid_price``.
    """
    out: dict[str, Decimal] = {}
    for route, price in sorted((prices or {}).items(), key=lambda kv: str(kv[0])):
        if route not in METERED_ROUTES:
            raise InvalidInput(
                f"{route!r} is not a metered route; prices apply to {', '.join(METERED_ROUTES)}",
                code="unknown_metered_route",
                details={"route": str(route), "metered_routes": list(METERED_ROUTES)},
            )
        out[route] = parse_money(price, field=f"route price of {route}")
    return out


def check_base_price(value: object, currency: str) -> Decimal:
    """Return a monthly price checked by :func:`parse_money` with at most the minor-unit
    places of ``currency`` (code ``invalid_price``)."""
    amount = parse_money(value, field="monthly_price")
    exponent = amount.as_tuple().exponent
    places = CURRENCIES[currency]
    if isinstance(exponent, int) and -exponent > places:
        raise InvalidInput(
            f"monthly_price has more decimal places than {currency}'s minor unit "
            f"({places}): {value!r}",
            code="invalid_price",
            details={"field": "monthly_price", "currency": currency},
        )
    return amount


def check_trial(value: object) -> int:
    """Return ``value`` if it is a whole number of days from 0 to :data:`MAX_TRIAL_DAYS`
    (code ``invalid_trial``)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TRIAL_DAYS:
        raise InvalidInput(
            f"trial_days must be a whole number from 0 to {MAX_TRIAL_DAYS}, got {value!r}",
            code="invalid_trial",
            details={"field": "trial_days"},
        )
    return value


def check_terms(quota: int, flags: list[str], overage: Decimal | None) -> None:
    """Refuse ``overage`` without an overage price (``invalid_feature``) and a quota of 0
    on a plan that does not bill every unit as overage (``invalid_quota``)."""
    if "overage" in flags and overage is None:
        raise InvalidInput("the 'overage' feature needs an overage price", code="invalid_feature")
    if quota == 0 and "overage" not in flags:
        raise InvalidInput(
            "a quota of 0 admits nothing; give a quota of 1 or more, or bill every unit "
            "as overage (--feature overage with an overage price)",
            code="invalid_quota",
            details={"field": "quota"},
        )


def plan_row(session: Session, name_or_id: str) -> PlanRow:
    """Return the row of the plan named (or with id) ``name_or_id`` (for changes).

    Raises
    ------
    NotFound
        Code ``plan_not_found``.
    """
    row = session.scalar(
        select(PlanRow).where((PlanRow.name == name_or_id) | (PlanRow.id == name_or_id))
    )
    if row is None:
        raise NotFound(f"no plan {name_or_id!r}", code="plan_not_found")
    return row


def create_plan(
    session: Session,
    *,
    name: str,
    quota: int,
    rate_per_minute: int,
    monthly_price: object = "0",
    overage_price: object | None = None,
    features: Iterable[str] = (),
    unit_weights: Mapping[str, object] | None = None,
    currency: object = DEFAULT_CURRENCY,
    trial_days: object = 0,
    route_prices: Mapping[str, object] | None = None,
    actor: str = "system",
    clock: Clock | None = None,
) -> Plan:
    """Create an operator-defined plan and its price version 1 (audited in the same
    transaction).

    Parameters
    ----------
    session : Session
        Open transaction.
    name : str
        Lower-case slug, unique (``^[a-z][a-z0-9_-]{0,39}$``).
    quota : int
        Units per billing period, ``>= 1`` (0 only for a pay-as-you-go plan: feature
        ``overage`` with an overage price).
    rate_per_minute : int
        Requests per minute per key, ``>= 0``.
    monthly_price : str, int or Decimal
        Price of one billing period (at most the currency's minor-unit places).
    overage_price : str, int or Decimal, optional
        Price per unit beyond the quota (up to 4 decimal places; see :func:`parse_money`).
    features : iterable of str
        Feature flags (see the module docstring).
    unit_weights : mapping of str to int, optional
        Units per input by metered route (see :func:`check_unit_weights`).
    currency : str
        ISO 4217 code (default ``USD``; see :func:`baryon.commerce.money.check_currency`).
    trial_days : int
        Days of free base price at the start of a new subscription (0–366).
    route_prices : mapping of str to price, optional
        Price per unit on a metered route (see :func:`check_route_prices`).
    actor : str
        Who acts, for the audit event.
    clock : Clock, optional

    Returns
    -------
    Plan

    Raises
    ------
    InvalidInput
        Bad name (``invalid_name``), limit (``invalid_limit``), quota 0 without
        overage (``invalid_quota``), price (``invalid_price``: negative, a float, too
        many places), currency (``unknown_currency``), trial (``invalid_trial``),
        feature (``invalid_feature``), unit weight (``invalid_unit_weight``,
        ``unknown_metered_route``); ``overage`` without an overage price.
    Conflict
        A plan of that name exists (code ``plan_exists``).
    """
    clock = clock or SystemClock()
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise InvalidInput(
            f"plan name must match {_NAME_RE.pattern}, got {name!r}", code="invalid_name"
        )
    quota = check_limit("quota", quota)
    rate_per_minute = check_limit("rate_per_minute", rate_per_minute)
    code = check_currency(currency)
    monthly = check_base_price(monthly_price, code)
    overage = None if overage_price is None else parse_money(overage_price, field="overage_price")
    flags = check_features(features)
    weights = check_unit_weights(unit_weights)
    prices = check_route_prices(route_prices)
    trial = check_trial(trial_days)
    check_terms(quota, flags, overage)
    if session.scalar(select(PlanRow.id).where(PlanRow.name == name)) is not None:
        raise Conflict(f"plan {name!r} already exists", code="plan_exists")
    now = clock.now()
    row = PlanRow(
        id=new_id("plan", clock),
        name=name,
        quota=quota,
        rate_per_minute=rate_per_minute,
        monthly_price=monthly,
        overage_price=overage,
        features=flags,
        unit_weights=weights,
        builtin=False,
        created_at=now,
        currency=code,
        trial_days=trial,
        route_prices={r: str(p) for r, p in prices.items()},
        price_version=1,
    )
    session.add(row)
    session.flush()
    session.add(
        PlanPriceRow(
            plan_id=row.id, version=1, monthly_price=monthly, overage_price=overage,
            route_prices=row.route_prices, created_at=now, actor=actor,
        )
    )  # fmt: skip
    record_audit(
        session,
        actor=actor,
        action="plan.create",
        object_type="plan",
        object_id=row.id,
        details={
            "name": name,
            "quota": quota,
            "rate_per_minute": rate_per_minute,
            "unit_weights": weights,
            "currency": code,
            "monthly_price": str(monthly),
            "trial_days": trial,
        },
        clock=clock,
    )
    session.flush()
    return Plan.from_row(row)


def list_plans(session: Session, *, include_archived: bool = False) -> list[Plan]:
    """Return the plans on offer (and archived ones when asked), cheapest first
    (then by name)."""
    stmt = select(PlanRow)
    if not include_archived:
        stmt = stmt.where(PlanRow.archived_at.is_(None))
    plans = [Plan.from_row(r) for r in session.scalars(stmt).all()]
    return sorted(plans, key=lambda p: (p.monthly_price, p.name))


def get_plan(session: Session, name_or_id: str) -> Plan:
    """Return the plan named (or with id) ``name_or_id``.

    Raises
    ------
    NotFound
        Code ``plan_not_found``.
    """
    return Plan.from_row(plan_row(session, name_or_id))


def add_months(anchor: datetime, months: int) -> datetime:
    """Return ``anchor`` moved by ``months`` calendar months, day clamped to the month.

    >>> from datetime import datetime, UTC
    >>> add_months(datetime(2026, 1, 31, tzinfo=UTC), 1).date().isoformat()
    '2026-02-28'
    """
    index = anchor.year * 12 + (anchor.month - 1) + months
    year, month0 = divmod(index, 12)
    day = min(anchor.day, calendar.monthrange(year, month0 + 1)[1])
    return anchor.replace(year=year, month=month0 + 1, day=day)


def billing_period(anchor: datetime, at: datetime) -> tuple[datetime, datetime]:
    """Return ``[start, end)`` of the monthly billing period containing ``at``.

    Parameters
    ----------
    anchor : datetime
        Start of the first period (timezone-aware).
    at : datetime
        The instant to place (timezone-aware). Instants before ``anchor`` fall in
        earlier periods, computed the same way.

    Returns
    -------
    tuple of datetime
        ``(start, end)`` with ``start <= at < end``; each is ``anchor`` plus a whole
        number of months (see :func:`add_months`).
    """
    months = (at.year - anchor.year) * 12 + (at.month - anchor.month)
    start = add_months(anchor, months)
    while start > at:
        months -= 1
        start = add_months(anchor, months)
    end = add_months(anchor, months + 1)
    while end <= at:
        months += 1
        start, end = end, add_months(anchor, months + 1)
    return start, end
