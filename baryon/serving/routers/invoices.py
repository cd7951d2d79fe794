"""The caller's organization's invoices: ``GET /v1/invoices``, ``GET /v1/invoices/{id}``.

``GET /v1/invoices/{id}`` answers JSON, or the PDF document with
``Accept: application/pdf``, or the HTML document with ``Accept: text/html``.
Another organization's invoice is a 404.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.responses import Response

from baryon.commerce.invoices import get_invoice, list_invoices
from baryon.core.jsonvalues import dumps
from baryon.serving.auth import Principal, require
from baryon.serving.billing_schemas import InvoiceOut
from baryon.serving.deps import AppState, get_state
from baryon.serving.openapi import PROBLEMS

__all__ = ["router"]

router = APIRouter(prefix="/v1/invoices", tags=["invoices"], responses=PROBLEMS)

_DOCUMENTS = {
    200: {
        "content": {
            "application/json": {},
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            "text/html": {"schema": {"type": "string"}},
        },
        "description": "The invoice: JSON, PDF or HTML by the Accept header.",
    }
}


@router.get("", response_model=list[InvoiceOut])
def get_invoices(
    status: Literal["draft", "issued", "paid", "void"] | None = Query(None),
    limit: int = Query(100, ge=1, le=1000),
    principal: Principal = require("invoices:read"),
    state: AppState = Depends(get_state),
) -> list[dict[str, Any]]:
    """The organization's invoices, newest period first."""
    with state.transaction(principal.own_scope) as session:
        found = list_invoices(session, org_id=principal.org_id, status=status, limit=limit)
        return [i.to_dict() for i in found]


def _wants(request: Request) -> str:
    accept = request.headers.get("accept", "")
    for media in (m.split(";")[0].strip().lower() for m in accept.split(",")):
        if media in ("application/pdf", "text/html", "application/json"):
            return media
    return "application/json"


@router.get("/{invoice_id}", response_model=InvoiceOut, responses=_DOCUMENTS)  # type: ignore[arg-type]
def get_one_invoice(
    request: Request,
    invoice_id: str = Path(max_length=40),
    principal: Principal = require("invoices:read"),
    state: AppState = Depends(get_state),
) -> Response:
    """One invoice of the organization (404 for another organization's)."""
    with state.transaction(principal.own_scope) as session:
        invoice = get_invoice(session, invoice_id)
    media = _wants(request)
    name = invoice.number_text or invoice.id
    if media == "application/pdf":
        from baryon.commerce.documents import invoice_pdf

        return Response(
            invoice_pdf(invoice),
            media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="{name}.pdf"'},
        )
    if media == "text/html":
        from baryon.commerce.documents import invoice_html

        return Response(invoice_html(invoice), media_type="text/html; charset=utf-8")
    return Response(dumps(invoice.to_dict()), media_type="application/json")
