"""Invoice arithmetic: one billing period's segments and usage → lines and totals.

Pure functions on :class:`~decimal.Decimal` (no database): :func:`compute_bill` is what
an invoice holds, and the worked cases in ``tests/commerce/test_charges.py`` check it.

A period ``[start, end)`` is cut into **segments**, one per subscription active in it
(a plan change mid-period ends one segment and starts the next, at the same second).
For each segment, in this order:

``base``
    The price version's monthly price × the segment's *charged seconds* ÷ the period's
    seconds (proration by the second; a segment that spans the whole period is charged
    the monthly price exactly). Seconds of a trial are not charged; they show as a
    ``trial`` line of amount 0.
``usage``
    The units used in the segment (amount 0: informational; their sum over the lines
    is the invoice's ``units``).
``overage``
    On a plan with the ``overage`` feature: the segment's units beyond the plan's quota,
    × the overage price. The quota counts the whole period: with ``C`` the period's
    units up to the segment's end and ``P`` those before it, the segment's overage is
    ``max(0, C - max(quota, P))`` — exactly the units the request-time quota check
    admitted beyond the quota while this plan was active.
``route``
    Per metered route with a route price: the segment's units on that route × its
    price (a surcharge on top of base and overage).

Then, over the invoice: ``discount`` (the account's percent of the subtotal, negative),
``tax`` (the account's rate × (subtotal − discount)), and ``credit`` (the
organization's credit balance, up to the amount due; the rest carries forward).

Rounding: every line amount is rounded on its own to the currency's minor unit with
``ROUND_HALF_EVEN`` (:func:`baryon.commerce.money.round_money`), then totals are sums
of rounded lines, so the printed lines always add up to the printed total. A prorated
base line is rounded once, from the exact ratio (seconds ÷ seconds, never a rounded
fraction of a day). All arithmetic runs in :func:`baryon.commerce.money.exact`: a
float anywhere raises ``FloatOperation``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from baryon.commerce.money import exact, round_money

__all__ = ["Bill", "Line", "Segment", "compute_bill", "prorate"]

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
_QUANTITY_PLACES = Decimal("0.000001")


@dataclass(frozen=True)
class Segment:
    """One subscription's share of a billing period.

    Attributes
    ----------
    plan_name : str
    quota : int
        Units per period of the plan.
    allows_overage : bool
        Whether units beyond the quota are billed (the plan's ``overage`` feature).
    monthly_price : Decimal
        Of the price version in force for the period.
    overage_price : Decimal or None
    route_prices : mapping of str to Decimal
        Price per unit by route template.
    starts_at, ends_at : datetime
        The segment, already clipped to the period (``starts_at < ends_at``).
    trial_ends_at : datetime or None
        Seconds before it are not charged the base price.
    route_units : mapping of str to int
        Units used in the segment by route template.
    """

    plan_name: str
    quota: int
    allows_overage: bool
    monthly_price: Decimal
    overage_price: Decimal | None
    route_prices: Mapping[str, Decimal]
    starts_at: datetime
    ends_at: datetime
    trial_ends_at: datetime | None = None
    route_units: Mapping[str, int] = field(default_factory=dict)

    @property
    def units(self) -> int:
        """Units used in the segment (every route)."""
        return sum(self.route_units.values())


@dataclass(frozen=True)
class Line:
    """One line of an invoice.

    Attributes
    ----------
    kind : str
        ``base``, ``trial``, ``usage``, ``overage``, ``route``, ``discount``, ``tax``
        or ``credit``.
    description : str
    quantity : Decimal
        Units, or the prorated share of a period (6 places, for display).
    unit_price : Decimal or None
    amount : Decimal
        Rounded to the minor unit (negative for discount and credit).
    units : int
        Usage units the line counts (``usage`` lines only; else 0).
    plan_name, route : str or None
    starts_at, ends_at : datetime or None
    """

    kind: str
    description: str
    quantity: Decimal
    unit_price: Decimal | None
    amount: Decimal
    units: int = 0
    plan_name: str | None = None
    route: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (money as exact strings)."""
        return {
            "kind": self.kind,
            "description": self.description,
            "quantity": str(self.quantity),
            "unit_price": None if self.unit_price is None else str(self.unit_price),
            "amount": str(self.amount),
            "units": self.units,
            "plan": self.plan_name,
            "route": self.route,
            "starts_at": None if self.starts_at is None else self.starts_at.isoformat(),
            "ends_at": None if self.ends_at is None else self.ends_at.isoformat(),
        }


@dataclass(frozen=True)
class Bill:
    """What an invoice holds: lines and totals, all in ``currency``.

    Attributes
    ----------
    currency : str
    lines : tuple of Line
    units : int
        Usage units of the period (sum of the ``usage`` lines).
    subtotal : Decimal
        Sum of base, trial, overage and route lines.
    discount : Decimal
        Positive amount taken off the subtotal.
    tax_rate : Decimal
        Percent.
    tax : Decimal
    credit_applied : Decimal
        Positive amount of credit used.
    total : Decimal
        ``subtotal - discount + tax - credit_applied`` (never negative).
    """

    currency: str
    lines: tuple[Line, ...]
    units: int
    subtotal: Decimal
    discount: Decimal
    tax_rate: Decimal
    tax: Decimal
    credit_applied: Decimal
    total: Decimal

    def summary(self) -> dict[str, Any]:
        """Return the bill in brief, money as exact strings: what ``GET /v1/usage``,
        ``GET /v1/org`` and the console show as the billing period's charge so far.

        Returns
        -------
        dict
            ``monthly`` (base lines), ``overage_units`` (int), ``overage``, ``routes``
            (route lines), ``subtotal``, ``discount``, ``tax``, ``credit_applied``,
            ``total`` and ``currency``: the sums of this bill's lines, so they equal
            what the period's invoice will hold if no more usage comes.
        """

        zero = round_money(_ZERO, self.currency)

        def amount(kind: str) -> Decimal:
            return sum((x.amount for x in self.lines if x.kind == kind), zero)

        return {
            "monthly": str(amount("base")),
            "overage_units": int(sum(x.quantity for x in self.lines if x.kind == "overage")),
            "overage": str(amount("overage")),
            "routes": str(amount("route")),
            "subtotal": str(self.subtotal),
            "discount": str(self.discount),
            "tax": str(self.tax),
            "credit_applied": str(self.credit_applied),
            "total": str(self.total),
            "currency": self.currency,
        }


def prorate(amount: Decimal, seconds: int, period_seconds: int, currency: str) -> Decimal:
    """Return ``amount x seconds / period_seconds`` rounded half to even to the minor unit.

    Parameters
    ----------
    amount : Decimal
        The price of a whole period.
    seconds, period_seconds : int
        Charged seconds and the period's length (``0 <= seconds <= period_seconds``,
        ``period_seconds > 0``).
    currency : str

    Raises
    ------
    ValueError
        Seconds out of range.
    """
    if period_seconds <= 0 or not 0 <= seconds <= period_seconds:
        raise ValueError(f"cannot prorate {seconds} s of a {period_seconds} s period")
    with exact():
        if seconds == period_seconds:
            return round_money(amount, currency)
        return round_money(amount * Decimal(seconds) / Decimal(period_seconds), currency)


def _seconds(a: datetime, b: datetime) -> int:
    return max(0, int((b - a).total_seconds()))


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S")


def _segment_lines(
    seg: Segment, before: int, period_seconds: int, currency: str
) -> tuple[list[Line], int]:
    """Lines of one segment and the period's units up to its end."""
    lines: list[Line] = []
    span = _seconds(seg.starts_at, seg.ends_at)
    trial_end = seg.trial_ends_at
    trial = 0 if trial_end is None else _seconds(seg.starts_at, min(trial_end, seg.ends_at))
    charged = span - trial
    window = f"{_stamp(seg.starts_at)} to {_stamp(seg.ends_at)}"
    if trial:
        lines.append(
            Line(
                "trial", f"{seg.plan_name} plan, trial ({trial:,} s)",
                Decimal(trial) / Decimal(period_seconds), _ZERO, round_money(_ZERO, currency),
                plan_name=seg.plan_name, starts_at=seg.starts_at,
                ends_at=min(trial_end, seg.ends_at) if trial_end else None,
            )
        )  # fmt: skip
    if charged or not trial:
        share = Decimal(charged) / Decimal(period_seconds)
        lines.append(
            Line(
                "base",
                f"{seg.plan_name} plan, {window} ({charged:,} of {period_seconds:,} s)",
                share.quantize(_QUANTITY_PLACES), seg.monthly_price,
                prorate(seg.monthly_price, charged, period_seconds, currency),
                plan_name=seg.plan_name, starts_at=seg.starts_at, ends_at=seg.ends_at,
            )
        )  # fmt: skip
    units = seg.units
    lines.append(
        Line(
            "usage", f"{units:,} units used on the {seg.plan_name} plan (quota {seg.quota:,})",
            Decimal(units), _ZERO, round_money(_ZERO, currency), units=units,
            plan_name=seg.plan_name, starts_at=seg.starts_at, ends_at=seg.ends_at,
        )
    )  # fmt: skip
    upto = before + units
    if seg.allows_overage and seg.overage_price is not None:
        over = max(0, upto - max(seg.quota, before))
        if over:
            lines.append(
                Line(
                    "overage", f"{over:,} units over the quota of {seg.quota:,}",
                    Decimal(over), seg.overage_price,
                    round_money(seg.overage_price * over, currency), plan_name=seg.plan_name,
                    starts_at=seg.starts_at, ends_at=seg.ends_at,
                )
            )  # fmt: skip
    for route, price in sorted(seg.route_prices.items()):
        used = seg.route_units.get(route, 0)
        if used:
            lines.append(
                Line(
                    "route", f"{used:,} units on {route}", Decimal(used), price,
                    round_money(price * used, currency), plan_name=seg.plan_name, route=route,
                    starts_at=seg.starts_at, ends_at=seg.ends_at,
                )
            )  # fmt: skip
    return lines, upto


def compute_bill(
    segments: Sequence[Segment],
    *,
    period_start: datetime,
    period_end: datetime,
    currency: str,
    tax_rate: Decimal = _ZERO,
    discount_percent: Decimal = _ZERO,
    credit_available: Decimal = _ZERO,
) -> Bill:
    """Return the lines and totals of one billing period (see the module docstring).

    Parameters
    ----------
    segments : sequence of Segment
        In time order, inside ``[period_start, period_end)``, not overlapping.
    period_start, period_end : datetime
    currency : str
    tax_rate : Decimal
        Percent, ``>= 0`` (``Decimal("20")`` is 20 %).
    discount_percent : Decimal
        Percent of the subtotal taken off, 0–100.
    credit_available : Decimal
        The organization's credit balance (``>= 0``); what the amount due does not use
        carries forward.

    Returns
    -------
    Bill

    Raises
    ------
    ValueError
        An empty or reversed period, overlapping segments, negative rates or credit.
    decimal.FloatOperation
        A float reached the arithmetic.
    """
    period_seconds = _seconds(period_start, period_end)
    if period_seconds <= 0:
        raise ValueError("the period is empty")
    if tax_rate < 0 or not _ZERO <= discount_percent <= _HUNDRED or credit_available < 0:
        raise ValueError("tax rate, discount and credit must be 0 or more (discount <= 100)")
    with exact():
        lines: list[Line] = []
        used = 0
        last_end = period_start
        for seg in segments:
            if seg.starts_at < last_end or seg.ends_at > period_end:
                raise ValueError("segments must be in order, inside the period, not overlapping")
            last_end = seg.ends_at
            seg_lines, used = _segment_lines(seg, used, period_seconds, currency)
            lines.extend(seg_lines)
        subtotal = sum((line.amount for line in lines), round_money(_ZERO, currency))
        discount = round_money(subtotal * discount_percent / _HUNDRED, currency)
        if discount:
            lines.append(
                Line("discount", f"discount {discount_percent}%", discount_percent, None, -discount)
            )
        tax = round_money((subtotal - discount) * tax_rate / _HUNDRED, currency)
        if tax_rate:
            lines.append(Line("tax", f"tax {tax_rate}%", tax_rate, None, tax))
        due = subtotal - discount + tax
        credit = round_money(min(credit_available, due), currency)
        if credit:
            lines.append(Line("credit", "credit applied", credit, None, -credit))
        return Bill(
            currency=currency,
            lines=tuple(lines),
            units=used,
            subtotal=subtotal,
            discount=discount,
            tax_rate=tax_rate,
            tax=tax,
            credit_applied=credit,
            total=due - credit,
        )
