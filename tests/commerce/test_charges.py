"""Invoice arithmetic on worked cases (every expected amount worked by hand below).

January 2026 has 31 days: 2,678,400 seconds. Prices: pro 49.00, big 990.00 (USD).
"""

from __future__ import annotations

import decimal
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from baryon.commerce.charges import Segment, compute_bill, prorate

JAN = datetime(2026, 1, 1, tzinfo=UTC)
FEB = datetime(2026, 2, 1, tzinfo=UTC)


def _seg(
    name: str, price: str, start: datetime, end: datetime, *, units: int = 0, quota: int = 1000,
    overage: str | None = None, routes: dict[str, int] | None = None,
    route_prices: dict[str, str] | None = None, trial_ends_at: datetime | None = None,
) -> Segment:  # fmt: skip
    return Segment(
        plan_name=name,
        quota=quota,
        allows_overage=overage is not None,
        monthly_price=Decimal(price),
        overage_price=None if overage is None else Decimal(overage),
        route_prices={r: Decimal(p) for r, p in (route_prices or {}).items()},
        starts_at=start,
        ends_at=end,
        trial_ends_at=trial_ends_at,
        route_units=routes if routes is not None else {"/v1/x": units},
    )


def _bill(*segments: Segment, **kw: Decimal):  # type: ignore[no-untyped-def]
    return compute_bill(segments, period_start=JAN, period_end=FEB, currency="USD", **kw)


def _amounts(bill, kind: str) -> list[Decimal]:  # type: ignore[no-untyped-def]
    return [line.amount for line in bill.lines if line.kind == kind]


def test_whole_period_charges_the_monthly_price_exactly() -> None:
    bill = _bill(_seg("pro", "49.00", JAN, FEB, units=7))
    assert _amounts(bill, "base") == [Decimal("49.00")]
    assert (bill.units, bill.subtotal, bill.total) == (7, Decimal("49.00"), Decimal("49.00"))


def test_plan_change_mid_month_prorates_by_the_second() -> None:
    mid = JAN + timedelta(days=15)  # 1,296,000 s on pro, 1,382,400 s on big
    bill = _bill(_seg("pro", "49.00", JAN, mid), _seg("big", "990.00", mid, FEB))
    # 49 x 15/31 = 23.709677... -> 23.71 ; 990 x 16/31 = 510.967741... -> 510.97
    assert _amounts(bill, "base") == [Decimal("23.71"), Decimal("510.97")]
    assert bill.total == Decimal("534.68")


def test_plan_change_after_day_one() -> None:
    day2 = JAN + timedelta(days=1)
    bill = _bill(_seg("pro", "49.00", JAN, day2), _seg("big", "990.00", day2, FEB))
    # 49 / 31 = 1.580645... -> 1.58 ; 990 x 30/31 = 958.064516... -> 958.06
    assert _amounts(bill, "base") == [Decimal("1.58"), Decimal("958.06")]


def test_plan_change_at_the_first_and_last_second() -> None:
    first = JAN + timedelta(seconds=1)
    bill = _bill(_seg("pro", "49.00", JAN, first), _seg("big", "990.00", first, FEB))
    # 49 / 2,678,400 = 0.0000183 -> 0.00 ; 990 x 2,678,399 / 2,678,400 = 989.99963 -> 990.00
    assert _amounts(bill, "base") == [Decimal("0.00"), Decimal("990.00")]
    last = FEB - timedelta(seconds=1)
    bill = _bill(_seg("pro", "49.00", JAN, last), _seg("big", "990.00", last, FEB))
    # 49 x 2,678,399 / 2,678,400 = 48.99998 -> 49.00 ; 990 / 2,678,400 = 0.00037 -> 0.00
    assert _amounts(bill, "base") == [Decimal("49.00"), Decimal("0.00")]


def test_overage_exactly_at_the_quota_boundary() -> None:
    at = _bill(_seg("pro", "49.00", JAN, FEB, units=100, quota=100, overage="0.50"))
    assert _amounts(at, "overage") == []
    one_over = _bill(_seg("pro", "49.00", JAN, FEB, units=101, quota=100, overage="0.50"))
    assert _amounts(one_over, "overage") == [Decimal("0.50")]
    assert one_over.total == Decimal("49.50")


@pytest.mark.parametrize(
    ("units_over", "expected"),
    # 0.0010 per unit: 5 -> 0.005 (half, to even 0.00); 15 -> 0.015 (to even 0.02);
    # 25 -> 0.025 (to even 0.02); 35 -> 0.035 (to even 0.04); 6 -> 0.006 (0.01)
    [(5, "0.00"), (15, "0.02"), (25, "0.02"), (35, "0.04"), (6, "0.01")],
)
def test_half_cents_round_half_to_even(units_over: int, expected: str) -> None:
    bill = _bill(_seg("p", "0.00", JAN, FEB, units=10 + units_over, quota=10, overage="0.0010"))
    assert _amounts(bill, "overage") == [Decimal(expected)]


def test_overage_counts_the_quota_over_the_whole_period() -> None:
    mid = JAN + timedelta(days=15)
    # 150 units on a quota of 100 (50 over), then 100 units on a quota of 1000: the
    # period's 250 stay under 1000, nothing more over.
    up = _bill(
        _seg("small", "0", JAN, mid, units=150, quota=100, overage="0.01"),
        _seg("large", "0", mid, FEB, units=100, quota=1000, overage="0.01"),
    )
    assert [line.quantity for line in up.lines if line.kind == "overage"] == [Decimal(50)]
    # 900 units on a quota of 1000, then 100 on a quota of 100: all 100 were over.
    down = _bill(
        _seg("large", "0", JAN, mid, units=900, quota=1000, overage="0.01"),
        _seg("small", "0", mid, FEB, units=100, quota=100, overage="0.01"),
    )
    assert [line.quantity for line in down.lines if line.kind == "overage"] == [Decimal(100)]
    assert down.units == 1000


def test_route_prices_discount_and_tax() -> None:
    seg = _seg(
        "p", "100.00", JAN, FEB, routes={"/v1/support/answer": 1234, "/v1/x": 5},
        route_prices={"/v1/support/answer": "0.002"},
    )  # fmt: skip
    bill = _bill(seg, tax_rate=Decimal("20"), discount_percent=Decimal("10"))
    assert _amounts(bill, "route") == [Decimal("2.47")]  # 1234 x 0.002 = 2.468
    assert bill.subtotal == Decimal("102.47")
    assert bill.discount == Decimal("10.25")  # 10.247 -> 10.25
    assert bill.tax == Decimal("18.44")  # 20% of 92.22 = 18.444
    assert bill.total == Decimal("110.66")
    assert sum(line.amount for line in bill.lines) == bill.total


def test_trial_seconds_are_not_charged() -> None:
    bill = _bill(_seg("pro", "31.00", JAN, FEB, trial_ends_at=JAN + timedelta(days=14)))
    # 31 x 17/31 = 17.00 charged; 14 days of trial at 0
    assert _amounts(bill, "base") == [Decimal("17.00")]
    assert _amounts(bill, "trial") == [Decimal("0.00")]


def test_credit_bigger_than_the_bill_leaves_zero() -> None:
    bill = _bill(_seg("pro", "49.00", JAN, FEB), credit_available=Decimal("60.00"))
    assert (bill.credit_applied, bill.total) == (Decimal("49.00"), Decimal("0.00"))


def test_zero_decimal_currency_rounds_to_whole_units() -> None:
    seg = _seg("yen", "1000", JAN, JAN + timedelta(days=10))
    bill = compute_bill([seg], period_start=JAN, period_end=FEB, currency="JPY")
    assert _amounts(bill, "base") == [Decimal("323")]  # 1000 x 10/31 = 322.58 -> 323


def test_a_float_never_passes_as_money() -> None:
    seg = Segment(
        plan_name="p", quota=1, allows_overage=True, monthly_price=49.0,  # type: ignore[arg-type]
        overage_price=Decimal("0.5"), route_prices={}, starts_at=JAN, ends_at=FEB,
        route_units={"/v1/x": 3},
    )  # fmt: skip
    with pytest.raises((TypeError, decimal.FloatOperation)):
        _bill(seg)
    with pytest.raises(decimal.FloatOperation):
        _bill(_seg("p", "1", JAN, FEB), credit_available=0.5)  # type: ignore[arg-type]


def test_prorate_refuses_out_of_range_seconds() -> None:
    with pytest.raises(ValueError, match="prorate"):
        prorate(Decimal(1), 5, 4, "USD")
