"""Issue 15's "done when": after the demo's tenant has used the API, ``baryon billing
close`` makes a correct PDF invoice for the demo organization and ``baryon billing
reconcile`` finds no difference.

The demo's ``tenant`` step (:meth:`baryon.demo.Demo.tenant`: organization ``demo`` on
plan ``pro`` with an admin key) runs a month in the past on a frozen clock, and the
demo key calls the metered API in process, as the demo's ``curl`` examples do: plain
requests, a batch, an ``Idempotency-Key`` replay (metered once) and refused requests
(not metered). Training the bundled solutions is left out (``tests/test_demo.py``
does it): the served models are the serving tests' small ones, and the metering path
is the real one. Then the operator's commands run on the real clock, when that month
has ended, exactly as docs/billing.md shows them.

The expected invoice is computed here, independently of ``baryon.commerce``: the
usage records read with plain SQL, times the prices the test set, rounded half to
even to the cent.
"""

from __future__ import annotations

import io
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import httpx
import pytest
from clikit import run
from serving.servingkit import PortalTransport, make_resolver  # tests/serving

from baryon.cli.demo import billing_commands
from baryon.commerce.accounts import set_billing_account
from baryon.commerce.orgs import get_org
from baryon.commerce.prices import update_plan
from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.core.scope import SYSTEM
from baryon.demo import DEMO_ORG, DEMO_PLAN, Demo
from baryon.serving.app import create_app
from baryon.workspace import Workspace

#: When the demo ran (a month that has ended whenever this test runs).
DEMO_AT = datetime(2026, 3, 5, 9, 30, tzinfo=UTC)
PREDICT = "/v1/models/{name}/predict"
ROUTE_PRICE = Decimal("0.0125")  # per unit on the predict route, set before the demo
TAX_RATE = Decimal("20")
CENT = Decimal("0.01")
DAY = timedelta(days=1)


@pytest.fixture
def demo_home(tmp_path: Path) -> Path:
    """The demo's tenant on a frozen clock in March 2026, after its API calls."""
    home = tmp_path / "home"
    clock = FixedClock(DEMO_AT)
    ws = Workspace.open(Settings(home=home), clock=clock)
    try:
        with ws.db.session(SYSTEM) as s:  # the operator prices the predict route
            update_plan(s, DEMO_PLAN, route_prices={PREDICT: str(ROUTE_PRICE)}, clock=clock)
        clock.advance(60)
        secret, new, _ = Demo(ws).tenant()
        assert new
        with ws.db.session(SYSTEM) as s:
            demo_id = get_org(s, DEMO_ORG).id
            set_billing_account(s, demo_id, tax_rate=str(TAX_RATE), clock=clock)
        app = create_app(ws.settings, workspace=ws, clock=clock, resolver=make_resolver())
        transport = PortalTransport(app)
        api = httpx.Client(
            base_url="http://demo", transport=transport,
            headers={"Authorization": f"Bearer {secret}"},
        )  # fmt: skip
        try:
            row = {"a": 1, "b": 2}
            for day in range(9):  # 9 requests of 1 to 9 inputs: 45 units
                clock.advance(86400)
                r = api.post("/v1/models/adder/predict", json={"inputs": [row] * (day + 1)})
                assert r.status_code == 200, r.text
            first = api.post(
                "/v1/models/sentiment/predict", json={"inputs": ["good", "bad", "fine"]},
                headers={"Idempotency-Key": "demo-retry-1"},
            )  # fmt: skip
            again = api.post(
                "/v1/models/sentiment/predict", json={"inputs": ["good", "bad", "fine"]},
                headers={"Idempotency-Key": "demo-retry-1"},
            )  # fmt: skip
            assert (first.status_code, again.json()) == (200, first.json())  # metered once
            assert api.post("/v1/models/nope/predict", json={"inputs": [row]}).status_code == 404
            bad = api.post("/v1/models/adder/predict", json={"inputs": [{"a": "x"}]})
            assert bad.status_code == 422
        finally:
            api.close()
            transport.shutdown()
    finally:
        ws.close()
    return home


def _usage_of_demo(home: Path) -> tuple[int, int, int]:
    """(all units, units on the predict route, records) of the demo org, by plain SQL."""
    db = sqlite3.connect(home / "baryon.db")
    try:
        (org_id,) = db.execute(
            "SELECT id FROM organizations WHERE name = ?", (DEMO_ORG,)
        ).fetchone()
        rows = db.execute(
            "SELECT endpoint, units FROM usage_records WHERE org_id = ?", (org_id,)
        ).fetchall()
    finally:
        db.close()
    return (
        sum(units for _, units in rows),
        sum(units for endpoint, units in rows if endpoint == PREDICT),
        len(rows),
    )


def test_billing_close_after_the_demo_makes_a_correct_pdf_invoice(
    demo_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pypdf import PdfReader

    home = ["--home", str(demo_home)]
    units, predict_units, records = _usage_of_demo(demo_home)
    assert (units, predict_units) == (48, 48)  # 45 + 3: the replay and refusals are free
    # the expected invoice, from the records and the prices (pro: 49.00 a month, quota
    # 100,000 without the overage feature; the predict route at 0.0125 a unit; tax 20 %)
    base = Decimal("49.00")
    route = (ROUTE_PRICE * predict_units).quantize(CENT, ROUND_HALF_EVEN)  # 0.60
    subtotal = base + route
    tax = (subtotal * TAX_RATE / 100).quantize(CENT, ROUND_HALF_EVEN)
    total = subtotal + tax

    code, out, err = run([*home, "billing", "close", "--period", "2026-03", "--json"], capsys)
    assert code == 0, err
    (invoice,) = [i for i in json.loads(out)["created"] if i["org_name"] == DEMO_ORG]
    assert invoice["status"] == "issued"
    assert invoice["units"] == units
    assert Decimal(invoice["subtotal"]) == subtotal
    assert Decimal(invoice["tax"]) == tax
    assert Decimal(invoice["total"]) == total == Decimal("59.52")
    assert invoice["period_start"].startswith("2026-03-05T09:31")

    pdf = tmp_path / "demo-invoice.pdf"
    code, out, err = run([*home, "invoices", "pdf", invoice["id"], "-o", str(pdf)], capsys)
    assert code == 0, err
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.read_bytes())).pages)
    for expected in (invoice["number"], DEMO_ORG, str(total), str(tax), str(route), "49.00"):
        assert expected in text, expected
    assert f"{units:,} units" in text

    code, out, err = run([*home, "billing", "reconcile", "--period", "2026-03"], capsys)
    assert code == 0, out + err
    assert out.strip().endswith("0 with a difference")

    # these are the commands the demo prints at its end
    with Workspace.open(Settings(home=demo_home), clock=FixedClock(DEMO_AT + DAY)) as ws:
        shown = billing_commands(ws)
    assert "billing close --period 2026-03\n" in shown
    assert "billing reconcile --period 2026-03" in shown
    assert "invoices pdf INVOICE_ID" in shown

    # closing the month again makes nothing new
    code, out, _ = run([*home, "billing", "close", "--period", "2026-03", "--json"], capsys)
    assert (code, json.loads(out)["created"]) == (0, [])
    assert records == 12  # 9 + 1 (the replay adds none) + the 2 refusals, at 0 units
