"""The caller's organization's invoices: ``GET /v1/invoices``, ``GET /v1/invoices/{id}``.

``GET /v1/invoices/{id}`` answers JSON, or the PDF document with
``Accept: application/pdf``, or the HTML document with ``Accept: text/html`` (proactive
negotiation, RFC 9110 §12.5.1: quality values and ``*/*``, ``type/*`` are read; no
header, or ``*/*``, is JSON; an Accept header naming none of the three is a 406
``not_acceptable``).
Another organization's invoice is a 404.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from starlette.responses import Response

from baryon.commerce.invoices import get_invoice, list_invoices
from baryon.serving.auth import Principal, require
from baryon.serving.billing_schemas import InvoiceOut
from baryon.serving.deps import AppState, get_state
from baryon.serving.errors import PROBLEM_MEDIA_TYPE
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
    },
    406: {
        "description": "The Accept header names none of JSON, PDF and HTML (`not_acceptable`).",
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    },
}
#: What ``GET /v1/invoices/{id}`` can answer, the default first.
_OFFERED = ("application/json", "application/pdf", "text/html")


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


def _quality(params: list[str]) -> float:
    for param in params:
        name, _, value = param.partition("=")
        if name.strip() == "q":
            try:
                q = float(value)
            except ValueError:
                return 0.0
            return q if 0.0 <= q <= 1.0 else 0.0
    return 1.0


def _wants(request: Request) -> str:
    """The offered media type the Accept header prefers (ties: the header's order).

    Raises
    ------
    HTTPException
        406 when the header accepts none of :data:`_OFFERED`.
    """
    accept = request.headers.get("accept", "").strip()
    if not accept:
        return _OFFERED[0]
    best, best_q = None, 0.0
    for part in accept.split(","):
        media, *params = (p.strip().lower() for p in part.split(";"))
        q = _quality(params)
        for offered in _OFFERED:
            if media in (offered, "*/*", offered.split("/")[0] + "/*"):
                if q > best_q:
                    best, best_q = offered, q
                break
    if best is None:
        raise HTTPException(
            status_code=406, detail="an invoice is application/json, application/pdf or text/html"
        )
    return best


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
    # as the list answers it (its response model): one spelling of times and amounts
    body = InvoiceOut.model_validate(invoice.to_dict()).model_dump_json()
    return Response(body, media_type="application/json")
