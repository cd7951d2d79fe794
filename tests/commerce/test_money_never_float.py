"""Money never passes through a float, on the whole path from a plan to a PDF invoice.

``tests/commerce/test_charges.py`` checks the arithmetic alone; here every step a
billing run takes (prices read back from the database, proration, overage, route
prices, discount, tax, credit, the invoice's rows, its JSON, HTML and PDF, the usage
page's charge) runs under a decimal context that traps ``FloatOperation``: a float
turned into a ``Decimal`` or compared with one anywhere on the way raises, and the
test fails. A float handed to a money column or a money parser is refused.
"""

from __future__ import annotations

import decimal
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from baryon.commerce.accounts import grant_credit, set_billing_account
from baryon.commerce.billing import close_billing, reconcile
from baryon.commerce.documents import invoice_html, invoice_pdf
from baryon.commerce.invoices import preview_invoice
from baryon.commerce.metering import period_report, record_usage
from baryon.commerce.orgs import active_subscription, create_org, subscribe
from baryon.commerce.plans import create_plan
from baryon.commerce.tables import DecimalText
from baryon.core.clock import FixedClock
from baryon.core.errors import InvalidInput
from baryon.core.scope import SYSTEM
from baryon.workspace import Workspace

JAN = datetime(2026, 1, 1, tzinfo=UTC)


def _floats_trapped() -> decimal.localcontext:  # type: ignore[type-arg]
    ctx = decimal.Context(prec=50)
    ctx.traps[decimal.FloatOperation] = True
    return decimal.localcontext(ctx)


def test_a_billing_run_end_to_end_never_mixes_a_float(
    workspace: Workspace, clock: FixedClock
) -> None:
    with _floats_trapped():
        assert decimal.getcontext().traps[decimal.FloatOperation]
        with pytest.raises(decimal.FloatOperation):  # the trap is live in this block
            Decimal(0.1)  # noqa: RUF032 - the float is the point
        with workspace.db.session(SYSTEM) as s:
            create_plan(
                s, name="team", quota=10, rate_per_minute=60, monthly_price="49.99",
                overage_price="0.0125", features=["overage"], clock=clock,
                route_prices={"/v1/support/answer": "0.0035"},
            )  # fmt: skip
            create_plan(s, name="big", quota=100, rate_per_minute=60, monthly_price="990.00",
                        clock=clock)  # fmt: skip
            org = create_org(s, name="acme", plan="team", clock=clock)
            set_billing_account(s, org.id, tax_rate="19.6", discount_percent="7.5", clock=clock)
            grant_credit(s, org.id, "3.33", reason="goodwill", clock=clock)
        for day, units in enumerate((4, 9, 13)):
            with workspace.db.session(SYSTEM) as s:
                record_usage(
                    s, org_id=org.id, key_id=None, endpoint="/v1/support/answer", units=units,
                    status=200, latency_ms=1.5, period_start=JAN,
                    clock=FixedClock(JAN + timedelta(days=day, hours=7)),
                )  # fmt: skip
        clock.advance(13 * 86400 + 3601)  # a plan change mid-period: prorated by the second
        with workspace.db.session(SYSTEM) as s:
            subscribe(s, org.id, "big", clock=clock)
            sub = active_subscription(s, org.id)
            assert sub is not None
            so_far = period_report(s, sub, clock.now())["charge"]
            preview = preview_invoice(s, org.id, clock.now())
        clock.advance(20 * 86400)
        (invoice,) = close_billing(workspace.db, period="2026-01", clock=clock).created
        assert [d.difference for d in reconcile(workspace.db, period="2026-01", clock=clock)] == [0]
        html, pdf, as_json = invoice_html(invoice), invoice_pdf(invoice), invoice.to_dict()
    assert so_far["total"] == str(preview.total) == str(invoice.total)
    assert all(isinstance(v, Decimal) for v in (invoice.subtotal, invoice.tax, invoice.total))
    assert all(isinstance(line.amount, Decimal) for line in invoice.lines)
    assert invoice.units == 26
    assert str(invoice.total) in html
    assert pdf.startswith(b"%PDF")
    assert as_json["total"] == str(invoice.total)


def test_a_float_is_refused_by_money_columns_and_parsers(
    workspace: Workspace, clock: FixedClock
) -> None:
    with pytest.raises(TypeError, match="must be a Decimal"):
        DecimalText().process_bind_param(49.99, None)  # type: ignore[arg-type]
    with workspace.db.session(SYSTEM) as s:
        with pytest.raises(InvalidInput):
            create_plan(s, name="f", quota=1, rate_per_minute=1, monthly_price=49.99,  # type: ignore[arg-type]
                        clock=clock)  # fmt: skip
        org = create_org(s, name="acme", clock=clock)
        with pytest.raises(InvalidInput):
            grant_credit(s, org.id, 0.1, reason="float", clock=clock)  # type: ignore[arg-type]
        with pytest.raises(InvalidInput):
            set_billing_account(s, org.id, tax_rate=19.6, clock=clock)  # type: ignore[arg-type]
