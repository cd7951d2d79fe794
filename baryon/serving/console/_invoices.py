"""Invoices: the organization's list, and each one's PDF.

Domain calls, as the ``/v1/invoices`` routes: :func:`baryon.commerce.invoices.list_invoices`
and :func:`~baryon.commerce.invoices.get_invoice` in the organization's own scope
(another organization's invoice is the 404 page), the PDF by
:func:`baryon.commerce.documents.invoice_pdf`. Both need ``invoices:read`` (owners and
admins), like the API.
"""

from __future__ import annotations

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from baryon.commerce.invoices import get_invoice, list_invoices
from baryon.serving.console._app import Page, render
from baryon.serving.console._auth import ConsoleUser, console_require, console_state

__all__ = ["router"]

router = APIRouter()
#: Invoices per page of the list.
PAGE_SIZE = 50
#: Most invoices listed (the API's own cap).
_MOST = 1000


@router.get("/invoices", include_in_schema=False)
def invoices(
    request: Request,
    page: int = Query(1, ge=1, le=100_000),
    user: ConsoleUser = console_require("invoices:read"),
) -> Response:
    """The organization's invoices, newest period first, with their PDFs."""
    state = console_state(request)
    principal = user.principal
    with state.transaction(principal.own_scope) as session:
        found = list_invoices(session, org_id=principal.org_id, limit=_MOST)
    pager = Page(page, PAGE_SIZE, len(found))
    return render(
        request, "invoices.html", user, title="Invoices", nav="invoices",
        invoices=found[pager.offset : pager.offset + PAGE_SIZE], page=pager,
    )  # fmt: skip


@router.get("/invoices/{invoice_id}.pdf", include_in_schema=False)
def invoice_pdf_file(
    request: Request,
    invoice_id: str = Path(max_length=40),
    user: ConsoleUser = console_require("invoices:read"),
) -> Response:
    """One invoice of the organization as a PDF document (a download)."""
    from baryon.commerce.documents import invoice_pdf

    state = console_state(request)
    with state.transaction(user.principal.own_scope) as session:
        invoice = get_invoice(session, invoice_id)
    name = invoice.number_text or invoice.id
    return Response(
        invoice_pdf(invoice),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{name}.pdf"',
            "Cache-Control": "no-store",
        },
    )
