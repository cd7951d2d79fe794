"""``baryon invoices list|show|pdf|issue|pay|void|reissue``: invoices (operators).

With the global ``--org`` the list shows that organization's invoices only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from baryon.cli._common import console, get_workspace, print_json, write_output
from baryon.cli.plans import cli_actor

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help="Invoices.")

_ID = typer.Argument(help="Invoice id (inv_...).")


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    org: Annotated[str | None, typer.Option("--org", help="Organization name or id.")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="draft, issued, paid or void.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List invoices, newest period first."""
    from baryon.commerce.invoices import list_invoices
    from baryon.commerce.orgs import get_org
    from baryon.core.scope import SYSTEM

    ws = get_workspace(ctx)
    with ws.db.session(SYSTEM) as session:
        org_id = None if org is None else get_org(session, org).id
        invoices = list_invoices(session, org_id=org_id, status=status, limit=limit)
    if as_json:
        print_json([i.to_dict() for i in invoices])
        return
    from rich.table import Column, Table

    # ids are what show, pdf and void take: never cut (other columns wrap instead)
    table = Table(
        Column("number", no_wrap=True), Column("id", no_wrap=True), "organization", "period",
        "state", "units", "total",
    )  # fmt: skip
    for i in invoices:
        table.add_row(
            i.number_text or "-", i.id, i.org_name,
            f"{i.period_start.date()} to {i.period_end.date()}", i.status, f"{i.units:,}",
            f"{i.total} {i.currency}",
        )  # fmt: skip
    console.print(table)


@app.command("show")
def show_cmd(
    ctx: typer.Context,
    invoice_id: Annotated[str, _ID],
    html: Annotated[bool, typer.Option("--html", help="Print the HTML document.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show one invoice: lines and totals."""
    from baryon.commerce.invoices import get_invoice
    from baryon.core.scope import SYSTEM

    ws = get_workspace(ctx)
    with ws.db.session(SYSTEM) as session:
        inv = get_invoice(session, invoice_id)
    if as_json:
        print_json(inv.to_dict())
        return
    if html:
        from baryon.commerce.documents import invoice_html

        typer.echo(invoice_html(inv))
        return
    typer.echo(
        f"{inv.number_text or 'draft'} ({inv.status}) {inv.org_name}, "
        f"{inv.period_start.isoformat()} to {inv.period_end.isoformat()}, {inv.units:,} units"
    )
    from rich.table import Table

    table = Table("line", "quantity", "unit price", f"amount ({inv.currency})")
    for line in inv.lines:
        price = "" if line.unit_price is None else str(line.unit_price)
        table.add_row(line.description, str(line.quantity), price, str(line.amount))
    console.print(table)
    typer.echo(
        f"subtotal {inv.subtotal}, discount {inv.discount}, tax {inv.tax} "
        f"({inv.tax_rate}%), credit {inv.credit_applied}, total {inv.total} {inv.currency}"
    )


@app.command("pdf")
def pdf_cmd(
    ctx: typer.Context,
    invoice_id: Annotated[str, _ID],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File (default INV-NNNNNN.pdf).")
    ] = None,
) -> None:
    """Write an invoice as a PDF file."""
    from baryon.commerce.documents import invoice_pdf
    from baryon.commerce.invoices import get_invoice
    from baryon.core.scope import SYSTEM

    ws = get_workspace(ctx)
    with ws.db.session(SYSTEM) as session:
        inv = get_invoice(session, invoice_id)
    path = output or Path(f"{inv.number_text or inv.id}.pdf")
    write_output(path, invoice_pdf(inv))
    typer.echo(f"Wrote {path} ({inv.number_text or 'draft'}, total {inv.total} {inv.currency})")


def _change(ctx: typer.Context, action: str, invoice_id: str, **kw: str) -> None:
    from baryon.commerce import invoices
    from baryon.core.scope import SYSTEM

    ws = get_workspace(ctx)
    do = getattr(invoices, f"{action}_invoice")
    with ws.db.session(SYSTEM) as session:
        inv = do(session, invoice_id, actor=cli_actor(), clock=ws.clock, **kw)
    typer.echo(
        f"{inv.number_text or 'draft'} {inv.id} is {inv.status} (total {inv.total} {inv.currency})"
    )


@app.command("issue")
def issue_cmd(ctx: typer.Context, invoice_id: Annotated[str, _ID]) -> None:
    """Issue a draft: give it the next invoice number."""
    _change(ctx, "issue", invoice_id)


@app.command("pay")
def pay_cmd(ctx: typer.Context, invoice_id: Annotated[str, _ID]) -> None:
    """Mark an issued invoice paid."""
    _change(ctx, "pay", invoice_id)


@app.command("void")
def void_cmd(
    ctx: typer.Context,
    invoice_id: Annotated[str, _ID],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the audit log).")],
) -> None:
    """Void a draft or issued invoice (its credit is given back; its number stays used)."""
    _change(ctx, "void", invoice_id, reason=reason)


@app.command("reissue")
def reissue_cmd(ctx: typer.Context, invoice_id: Annotated[str, _ID]) -> None:
    """Invoice a void invoice's period again, as it stands now, with a new number."""
    _change(ctx, "reissue", invoice_id)
