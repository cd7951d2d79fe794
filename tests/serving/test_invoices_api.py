"""Invoices over HTTP and the SDK: JSON, PDF and HTML; another organization's is a 404."""

from __future__ import annotations

import io

import pytest
from fastapi import FastAPI
from servingkit import ClientFactory, PortalTransport, Tenants

from baryon.client import Client
from baryon.commerce.billing import close_billing
from baryon.commerce.invoices import Invoice
from baryon.core.clock import FixedClock
from baryon.core.errors import NotFound
from baryon.workspace import Workspace


@pytest.fixture
def invoices(ws: Workspace, clock: FixedClock, tenants: Tenants) -> dict[str, Invoice]:
    clock.advance(31 * 86400)
    report = close_billing(ws.db, period="2026-01", clock=clock)
    return {i.org_name: i for i in report.created}


def test_owner_reads_own_invoices_as_json_pdf_and_html(
    api: ClientFactory, tenants: Tenants, invoices: dict[str, Invoice]
) -> None:
    from pypdf import PdfReader

    acme = invoices["acme"]
    owner = api(tenants.keys["acme:owner"])
    listed = owner.get("/v1/invoices").json()
    assert [i["id"] for i in listed] == [acme.id]
    one = owner.get(f"/v1/invoices/{acme.id}")
    assert one.status_code == 200
    assert (one.json()["total"], one.json()["number"]) == ("10.00", acme.number_text)
    assert one.json() == listed[0]  # one spelling of times and amounts (list and show)
    pdf = owner.get(f"/v1/invoices/{acme.id}", headers={"Accept": "application/pdf"})
    assert pdf.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "10.00" in text
    assert str(acme.number_text) in text
    html = owner.get(f"/v1/invoices/{acme.id}", headers={"Accept": "text/html"})
    assert html.headers["content-type"].startswith("text/html")
    assert "<strong>10.00</strong>" in html.text


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        ("", "application/json"),
        ("*/*", "application/json"),
        ("text/*", "text/html"),
        ("application/pdf;q=0.5, text/html", "text/html"),
        ("text/html;q=0.2, application/pdf;q=0.9", "application/pdf"),
        ("image/png, application/*;q=0.1", "application/json"),
    ],
)
def test_invoice_accept_header_is_negotiated(
    api: ClientFactory, tenants: Tenants, invoices: dict[str, Invoice], accept: str, media: str
) -> None:
    r = api(tenants.keys["acme:owner"]).get(
        f"/v1/invoices/{invoices['acme'].id}", headers={"Accept": accept}
    )
    assert (r.status_code, r.headers["content-type"].split(";")[0]) == (200, media)


@pytest.mark.parametrize("accept", ["image/png", "text/csv, image/*", "application/pdf;q=0"])
def test_invoice_in_a_media_type_not_offered_is_406(
    api: ClientFactory, tenants: Tenants, invoices: dict[str, Invoice], accept: str
) -> None:
    r = api(tenants.keys["acme:owner"]).get(
        f"/v1/invoices/{invoices['acme'].id}", headers={"Accept": accept}
    )
    assert (r.status_code, r.json()["code"]) == (406, "not_acceptable")


def test_other_org_invoice_is_404_and_lists_are_own(
    api: ClientFactory, tenants: Tenants, invoices: dict[str, Invoice]
) -> None:
    globex = api(tenants.keys["globex:owner"])
    for accept in ("application/json", "application/pdf", "text/html"):
        r = globex.get(f"/v1/invoices/{invoices['acme'].id}", headers={"Accept": accept})
        assert (r.status_code, r.json()["code"]) == (404, "invoice_not_found")
    assert [i["id"] for i in globex.get("/v1/invoices").json()] == [invoices["globex"].id]


def test_invoices_need_owner_or_admin(
    api: ClientFactory, tenants: Tenants, invoices: dict[str, Invoice]
) -> None:
    r = api(tenants.keys["acme:developer"]).get("/v1/invoices")
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")
    bad = api(tenants.keys["acme:owner"]).get("/v1/invoices", params={"status": "late"})
    assert bad.status_code == 422


def test_sdk_invoices(app: FastAPI, tenants: Tenants, invoices: dict[str, Invoice]) -> None:
    transport = PortalTransport(app)
    try:
        with Client(
            "http://testserver", api_key=tenants.keys["acme:admin"], transport=transport
        ) as client:
            (listed,) = client.invoices()
            assert listed.id == invoices["acme"].id
            assert client.invoice(listed.id).total == "10.00"
            assert client.invoice_pdf(listed.id).startswith(b"%PDF")
            with pytest.raises(NotFound):
                client.invoice(invoices["globex"].id)
    finally:
        transport.shutdown()
