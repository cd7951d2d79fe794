"""``baryon billing close|preview|reconcile|account|credit|export-stripe`` (operators).

Billing spans every organization, so these commands act on the whole workspace
(``--org`` narrows a run to one organization).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from baryon.cli._common import get_workspace, print_json, write_output
from baryon.cli.plans import cli_actor

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help="Billing runs: close periods, reconcile, export.")

_PERIOD = typer.Option("--period", help="Month YYYY-MM: the periods starting in it.")
_ORG = typer.Option("--org", help="Only this organization (name or id).")


@app.command("close")
def close_cmd(
    ctx: typer.Context,
    period: Annotated[str | None, _PERIOD] = None,
    org: Annotated[str | None, _ORG] = None,
    draft: Annotated[bool, typer.Option("--draft", help="Leave drafts (no numbers).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Invoice every organization's ended billing periods (default: all not yet invoiced).

    Closing a period twice makes nothing new; a month that has not started is refused.
    """
    from baryon.commerce.billing import close_billing

    ws = get_workspace(ctx)
    report = close_billing(
        ws.db, period=period, org=org, issue=not draft, actor=cli_actor(), clock=ws.clock
    )
    if as_json:
        print_json(report.to_dict())
        return
    for inv in report.created:
        typer.echo(
            f"{inv.number_text or 'draft'} {inv.id} {inv.org_name} "
            f"{inv.period_start.date()} to {inv.period_end.date()}: {inv.units} units, "
            f"total {inv.total} {inv.currency}"
        )
    typer.echo(
        f"{len(report.created)} invoice(s) made, {len(report.existing)} already invoiced, "
        f"{len(report.open)} period(s) not ended yet"
    )


@app.command("preview")
def preview_cmd(
    ctx: typer.Context,
    org: Annotated[str, typer.Argument(help="Organization name or id.")],
    pdf: Annotated[Path | None, typer.Option("--pdf", help="Also write it as a PDF.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the invoice the current billing period would get with the usage so far
    (writes nothing; no number)."""
    from baryon.commerce.invoices import preview_invoice
    from baryon.commerce.orgs import get_org
    from baryon.core.scope import SYSTEM

    ws = get_workspace(ctx)
    with ws.db.session(SYSTEM) as session:
        inv = preview_invoice(session, get_org(session, org).id, ws.clock.now())
    if pdf is not None:
        from baryon.commerce.documents import invoice_pdf

        write_output(pdf, invoice_pdf(inv))
    if as_json:
        print_json(inv.to_dict())
        return
    typer.echo(
        f"{inv.org_name}, {inv.period_start.date()} to {inv.period_end.date()} so far: "
        f"{inv.units:,} units, total {inv.total} {inv.currency}"
        + ("" if pdf is None else f" (wrote {pdf})")
    )


@app.command("reconcile")
def reconcile_cmd(
    ctx: typer.Context,
    period: Annotated[str | None, _PERIOD] = None,
    org: Annotated[str | None, _ORG] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Check every invoice's units against the usage records; exit 1 on any difference."""
    from baryon.commerce.billing import reconcile

    ws = get_workspace(ctx)
    checked = reconcile(ws.db, period=period, org=org, clock=ws.clock)
    bad = [d for d in checked if d.difference != 0]
    if as_json:
        print_json({"checked": len(checked), "differences": [d.to_dict() for d in bad]})
    else:
        for d in bad:
            typer.echo(
                f"{d.number or d.invoice_id} {d.org} {d.period_start.date()}: invoice "
                f"{d.invoice_units} units, usage records {d.usage_units} "
                f"(difference {d.difference:+d})"
            )
        typer.echo(f"{len(checked)} invoice(s) checked, {len(bad)} with a difference")
    if bad:
        raise typer.Exit(1)


@app.command("account")
def account_cmd(
    ctx: typer.Context,
    org: Annotated[str, typer.Argument(help="Organization name or id.")],
    tax_rate: Annotated[str | None, typer.Option("--tax-rate", help="Percent, e.g. 20.")] = None,
    discount: Annotated[
        str | None, typer.Option("--discount", help="Percent off the subtotal.")
    ] = None,
    stripe_customer: Annotated[
        str | None, typer.Option("--stripe-customer", help="Stripe customer id (cus_...).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show an organization's billing settings, or change them (audited)."""
    from baryon.commerce.accounts import billing_account, credit_balance, set_billing_account
    from baryon.commerce.orgs import active_subscription, get_org
    from baryon.core.scope import SYSTEM

    ws = get_workspace(ctx)
    with ws.db.session(SYSTEM) as session:
        found = get_org(session, org)
        if tax_rate is None and discount is None and stripe_customer is None:
            account = billing_account(session, found.id)
        else:
            ws.require_writable()  # "billing account" is a read command until it changes
            account = set_billing_account(
                session, found.id, tax_rate=tax_rate, discount_percent=discount,
                stripe_customer_id=stripe_customer, actor=cli_actor(), clock=ws.clock,
            )  # fmt: skip
        sub = active_subscription(session, found.id)
        currency = sub.plan.currency if sub is not None else "USD"
        credit = credit_balance(session, found.id, currency)
    out = {**account.to_dict(), "credit": str(credit), "currency": currency}
    if as_json:
        print_json(out)
        return
    typer.echo(
        f"{found.name}: tax {account.tax_rate}%, discount {account.discount_percent}%, "
        f"credit {credit} {currency}, Stripe customer {account.stripe_customer_id or '-'}"
    )


@app.command("credit")
def credit_cmd(
    ctx: typer.Context,
    org: Annotated[str, typer.Argument(help="Organization name or id.")],
    amount: Annotated[str, typer.Argument(help="Amount in the plan's currency, e.g. 25.00.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the audit log).")],
) -> None:
    """Grant an organization credit; the next invoices use it, the rest carries forward."""
    from baryon.commerce.accounts import grant_credit
    from baryon.commerce.orgs import get_org
    from baryon.core.scope import SYSTEM

    ws = get_workspace(ctx)
    with ws.db.session(SYSTEM) as session:
        found = get_org(session, org)
        balance = grant_credit(
            session, found.id, amount, reason=reason, actor=cli_actor(), clock=ws.clock
        )
    typer.echo(f"{found.name}: credit balance {balance}")


@app.command("export-stripe")
def export_stripe_cmd(
    ctx: typer.Context,
    period: Annotated[str | None, _PERIOD] = None,
    org: Annotated[str | None, _ORG] = None,
    event_name: Annotated[
        str, typer.Option("--event-name", help="The Stripe meter's event name.")
    ] = "baryon_units",
) -> None:
    """Print usage as Stripe meter events, one JSON object a line (re-exporting is
    idempotent: each event's identifier is its usage record's id)."""
    import json

    from baryon.commerce.stripe_export import meter_events

    ws = get_workspace(ctx)
    export = meter_events(ws.db, period=period, org=org, event_name=event_name, clock=ws.clock)
    count = 0
    for event in export.events:
        typer.echo(json.dumps(event, separators=(",", ":"), sort_keys=True))
        count += 1
    for name in export.skipped:
        typer.echo(
            f"warning: {name} has usage but no Stripe customer id "
            f"(baryon billing account {name} --stripe-customer cus_...): skipped",
            err=True,
        )
    typer.echo(f"{count} meter event(s)", err=True)
