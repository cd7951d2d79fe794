"""Invoice documents: HTML (Jinja2, every value escaped) and PDF (ReportLab).

Both show the same facts: number, state, organization, period, every line (quantity,
unit price, amount) and the totals with the currency. The PDF is built with
ReportLab's platypus (a table per invoice) in invariant mode, so the same invoice
gives the same bytes. Neither library is imported until a document is made.
"""

from __future__ import annotations

import io
from typing import Any

from baryon.commerce.invoices import Invoice
from baryon.core.errors import MissingDependency

__all__ = ["invoice_html", "invoice_pdf"]


def invoice_html(invoice: Invoice) -> str:
    """Return the invoice as a standalone HTML page (autoescaped: a name such as
    ``<script>`` prints as text).

    Raises
    ------
    MissingDependency
        Jinja2 is not installed.
    """
    try:
        import jinja2
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise MissingDependency("invoice HTML needs jinja2: pip install jinja2") from exc
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("baryon.commerce", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("invoice.html").render(invoice=invoice)


def _cells(invoice: Invoice) -> list[list[Any]]:
    rows: list[list[Any]] = [
        ["Description", "Quantity", "Unit price", f"Amount ({invoice.currency})"]
    ]
    for line in invoice.lines:
        rows.append(
            [
                line.description,
                str(line.quantity),
                "" if line.unit_price is None else str(line.unit_price),
                str(line.amount),
            ]
        )
    for label, value in (
        ("Subtotal", invoice.subtotal),
        ("Discount", invoice.discount),
        (f"Tax ({invoice.tax_rate}%)", invoice.tax),
        ("Credit applied", invoice.credit_applied),
        (f"Total ({invoice.currency})", invoice.total),
    ):
        rows.append([label, "", "", str(value)])
    return rows


def invoice_pdf(invoice: Invoice) -> bytes:
    """Return the invoice as a PDF document (A4).

    Raises
    ------
    MissingDependency
        ReportLab is not installed.
    """
    try:
        from reportlab.lib import colors
        from reportlab.lib.pagesizes import A4
        from reportlab.lib.styles import getSampleStyleSheet
        from reportlab.lib.units import mm
        from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise MissingDependency("invoice PDFs need reportlab: pip install reportlab") from exc
    from xml.sax.saxutils import escape

    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    title = f"Invoice {invoice.number_text or '(draft)'}"
    doc = SimpleDocTemplate(
        buffer, pagesize=A4, title=title, author="Baryon", invariant=1,
        leftMargin=18 * mm, rightMargin=18 * mm, topMargin=18 * mm, bottomMargin=18 * mm,
    )  # fmt: skip
    facts = [
        f"State: {invoice.status}",
        f"Organization: {invoice.org_name} ({invoice.org_id})",
        f"Billing period: {invoice.period_start.isoformat()} to {invoice.period_end.isoformat()}",
        f"Units used: {invoice.units:,}",
    ]
    if invoice.issued_at is not None:
        facts.append(f"Issued: {invoice.issued_at.isoformat()}")
    if invoice.replaces_id:
        facts.append(f"Replaces: {invoice.replaces_id}")
    if invoice.void_reason:
        facts.append(f"Void: {invoice.void_reason}")
    story: list[Any] = [Paragraph(escape(title), styles["Title"])]
    story += [Paragraph(escape(fact), styles["Normal"]) for fact in facts]
    story.append(Spacer(1, 6 * mm))
    body = styles["BodyText"]
    rows = [
        [Paragraph(escape(str(cell)), body) if i == 0 else cell for i, cell in enumerate(row)]
        for row in _cells(invoice)
    ]
    table = Table(rows, colWidths=[90 * mm, 25 * mm, 25 * mm, 34 * mm], repeatRows=1)
    n_totals = 5
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
                ("LINEABOVE", (0, -n_totals), (-1, -n_totals), 0.8, colors.black),
                ("FONTNAME", (0, -1), (-1, -1), "Helvetica-Bold"),
            ]
        )
    )
    story.append(table)
    doc.build(story)
    return buffer.getvalue()
