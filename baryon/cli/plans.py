"""``baryon plans list|create``: subscription plans (operators)."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from baryon.cli._common import console, get_workspace, print_json

__all__ = ["app", "cli_actor"]

app = typer.Typer(no_args_is_help=True, help="Subscription plans.")


def cli_actor() -> str:
    """The audit actor of a CLI command: ``cli:<os user>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry (some containers)
        return "cli:unknown"


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List every plan, cheapest first."""
    from baryon.commerce.plans import list_plans

    ws = get_workspace(ctx)
    with ws.db.session() as session:
        plans = list_plans(session)
    if as_json:
        print_json([p.to_dict() for p in plans])
        return
    from rich.table import Table

    table = Table("plan", "quota / period", "rate / min", "monthly", "overage / req", "features")
    for p in plans:
        table.add_row(
            p.name,
            f"{p.quota:,}",
            f"{p.rate_per_minute:,}",
            str(p.monthly_price),
            "-" if p.overage_price is None else str(p.overage_price),
            ", ".join(p.features) or "-",
        )
    console.print(table)


@app.command("create")
def create_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Plan name (lower case, e.g. 'team').")],
    quota: Annotated[int, typer.Option("--quota", help="Requests per billing period (>= 0).")],
    rate: Annotated[int, typer.Option("--rate", help="Requests per minute per key (>= 0).")],
    price: Annotated[str, typer.Option("--price", help="Monthly price, e.g. 19.00.")] = "0",
    overage_price: Annotated[
        str | None, typer.Option("--overage-price", help="Price per request over the quota.")
    ] = None,
    feature: Annotated[
        list[str] | None,
        typer.Option("--feature", help="Feature flag (repeatable): traffic_split, overage."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create a plan. Quota and rate must be whole numbers, 0 or more (0 admits nothing)."""
    from baryon.commerce.plans import create_plan

    ws = get_workspace(ctx)
    with ws.db.session() as session:
        plan = create_plan(
            session,
            name=name,
            quota=quota,
            rate_per_minute=rate,
            monthly_price=price,
            overage_price=overage_price,
            features=feature or [],
            actor=cli_actor(),
            clock=ws.clock,
        )
    if as_json:
        print_json(plan.to_dict())
        return
    typer.echo(
        f"Created plan {plan.name}: {plan.quota} requests per period, "
        f"{plan.rate_per_minute} per minute, {plan.monthly_price} per month"
    )
