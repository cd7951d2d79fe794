"""The console's invoices page: the organization's invoices and their PDFs, owners and
admins only, another organization's invoice a 404."""

from __future__ import annotations

import io

from consolekit import Tenants, sign_in
from fastapi.testclient import TestClient

from baryon.commerce.billing import close_billing
from baryon.commerce.metering import record_usage
from baryon.core.clock import FixedClock
from baryon.core.scope import SYSTEM
from baryon.workspace import Workspace


def _invoice_each(ws: Workspace, clock: FixedClock, tenants: Tenants) -> dict[str, str]:
    """A month of usage for acme (12 units) and none for globex, then the close."""
    with ws.db.session(SYSTEM) as s:
        record_usage(
            s, org_id=tenants.org_ids["acme"], key_id=None, endpoint="/v1/support/answer",
            units=12, status=200, latency_ms=1.0, period_start=clock.now(), clock=clock,
        )  # fmt: skip
    clock.advance(32 * 86400)
    made = close_billing(ws.db, clock=clock).created
    return {inv.org_name: inv.id for inv in made}


def test_invoices_page_lists_the_orgs_invoices_with_their_pdf(
    client: TestClient, tenants: Tenants, ws: Workspace, clock: FixedClock
) -> None:
    from pypdf import PdfReader

    ids = _invoice_each(ws, clock, tenants)
    sign_in(client, tenants.keys["acme:admin"])
    page = client.get("/console/invoices")
    assert page.status_code == 200
    assert "INV-00000" in page.text
    assert "10.00" in page.text  # plan test: 10.00 a month, no overage
    assert ids["acme"] in page.text
    assert ids["globex"] not in page.text
    assert 'href="/console/invoices"' in client.get("/console/").text  # in the menu
    pdf = client.get(f"/console/invoices/{ids['acme']}.pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "acme" in text
    assert "12 units" in text
    other = client.get(f"/console/invoices/{ids['globex']}.pdf")
    assert other.status_code == 404
    assert "globex" not in other.text


def test_invoices_need_invoices_read(
    client: TestClient, tenants: Tenants, ws: Workspace, clock: FixedClock
) -> None:
    ids = _invoice_each(ws, clock, tenants)
    sign_in(client, tenants.keys["acme:developer"])
    assert client.get("/console/invoices").status_code == 403
    assert client.get(f"/console/invoices/{ids['acme']}.pdf").status_code == 403
    assert 'href="/console/invoices"' not in client.get("/console/").text
