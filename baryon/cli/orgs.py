"""``baryon orgs create|list|show|update|subscribe``: organizations (tenants)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from baryon.cli._common import console, get_workspace, print_json
from baryon.cli.plans import cli_actor

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help="Organizations (tenants).")


def _detail(ws: Any, org_id: str) -> dict[str, Any]:
    from baryon.commerce.metering import org_detail

    with ws.db.session() as session:
        return org_detail(session, org_id, ws.clock.now())


@app.command("create")
def create_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Organization name (lower case, e.g. 'acme').")],
    plan: Annotated[str, typer.Option("--plan", help="Plan to subscribe to.")] = "free",
    operator: Annotated[
        bool, typer.Option("--operator", help="Operator org: its admins manage the platform.")
    ] = False,
    inputs: Annotated[
        str,
        typer.Option(
            "--inputs", help="Prediction log inputs: full, masked (PII masked), hashed or none."
        ),
    ] = "masked",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create an organization subscribed to a plan."""
    from baryon.commerce.licences import check_org_cap
    from baryon.commerce.orgs import create_org

    ws = get_workspace(ctx)
    with ws.db.session() as session:
        check_org_cap(session, ws.licence)
        org = create_org(
            session,
            name=name,
            plan=plan,
            operator=operator,
            prediction_inputs=inputs,
            actor=cli_actor(),
            clock=ws.clock,
        )
    if as_json:
        print_json(_detail(ws, org.id))
        return
    typer.echo(f"Created organization {org.name} ({org.id}) on plan {plan}")


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List organizations with their plans."""
    from baryon.commerce.orgs import active_subscription, list_orgs

    ws = get_workspace(ctx)
    with ws.db.session() as session:
        rows = []
        for org in list_orgs(session):
            sub = active_subscription(session, org.id)
            rows.append({**org.to_dict(), "plan": None if sub is None else sub.plan.name})
    if as_json:
        print_json(rows)
        return
    from rich.table import Table

    table = Table("organization", "id", "plan", "operator", "inputs", "created")
    for r in rows:
        table.add_row(
            r["name"],
            r["id"],
            r["plan"] or "-",
            "yes" if r["operator"] else "",
            r["prediction_inputs"],
            r["created_at"][:19],
        )
    console.print(table)


@app.command("show")
def show_cmd(
    ctx: typer.Context,
    org: Annotated[str, typer.Argument(help="Organization name or id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show an organization, its plan and the current billing period."""
    from baryon.commerce.orgs import get_org

    ws = get_workspace(ctx)
    with ws.db.session() as session:
        found = get_org(session, org)
    detail = _detail(ws, found.id)
    if as_json:
        print_json(detail)
        return
    period = detail["period"]
    typer.echo(f"{found.name} ({found.id})")
    if period is None:
        typer.echo("  no active plan")
        return
    typer.echo(f"  plan      {period['plan']}")
    typer.echo(f"  period    {period['start'][:10]} to {period['end'][:10]}")
    typer.echo(f"  used      {period['used']} of {period['quota']} ({period['remaining']} left)")
    typer.echo(f"  charge    {period['charge']['total']}")


@app.command("update")
def update_cmd(
    ctx: typer.Context,
    org: Annotated[str, typer.Argument(help="Organization name or id.")],
    inputs: Annotated[
        str | None,
        typer.Option(
            "--inputs",
            help="How the prediction log keeps inputs from now on: full, masked, hashed, none.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Change an organization's settings (audited)."""
    from baryon.commerce.orgs import get_org, update_org

    ws = get_workspace(ctx)
    with ws.db.session() as session:
        found = get_org(session, org)
        updated = update_org(
            session, found.id, prediction_inputs=inputs, actor=cli_actor(), clock=ws.clock
        )
    if as_json:
        print_json(_detail(ws, found.id))
        return
    typer.echo(f"{updated.name}: prediction inputs {updated.prediction_inputs}")


@app.command("subscribe")
def subscribe_cmd(
    ctx: typer.Context,
    org: Annotated[str, typer.Argument(help="Organization name or id.")],
    plan: Annotated[str, typer.Argument(help="Plan name.")],
) -> None:
    """Move an organization to another plan (its billing period carries over)."""
    from baryon.commerce.orgs import get_org, subscribe

    ws = get_workspace(ctx)
    with ws.db.session() as session:
        found = get_org(session, org)
        sub = subscribe(session, found.id, plan, actor=cli_actor(), clock=ws.clock)
    typer.echo(f"{found.name} is now on plan {sub.plan.name}")
