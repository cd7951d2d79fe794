"""``baryon plans list|create``: subscription plans (operators)."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from baryon.cli._common import console, get_workspace, print_json

__all__ = ["app", "cli_actor", "parse_unit_weights"]

app = typer.Typer(no_args_is_help=True, help="Subscription plans.")


def cli_actor() -> str:
    """The audit actor of a CLI command: ``cli:<os user>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry (some containers)
        return "cli:unknown"


def parse_unit_weights(values: list[str]) -> dict[str, object]:
    """Turn ``--unit-weight ROUTE=N`` options into ``{ROUTE: N}``.

    The weights themselves are checked by :func:`baryon.commerce.plans.check_unit_weights`.

    Raises
    ------
    InvalidInput
        Code ``invalid_unit_weight``: no ``=``, ``N`` not a whole number, or a route
        given twice.
    """
    from baryon.core.errors import InvalidInput

    out: dict[str, object] = {}
    for value in values:
        route, sep, number = value.rpartition("=")
        route = route.strip()
        if not sep or not route:
            raise InvalidInput(
                f"--unit-weight takes ROUTE=N (e.g. /v1/sentiment/analyze=2), got {value!r}",
                code="invalid_unit_weight",
            )
        try:
            weight = int(number.strip())
        except ValueError:
            raise InvalidInput(
                f"the unit weight of {route} must be a whole number, got {number!r}",
                code="invalid_unit_weight",
                details={"route": route},
            ) from None
        if route in out:
            raise InvalidInput(
                f"--unit-weight gives {route} twice", code="invalid_unit_weight",
                details={"route": route},
            )  # fmt: skip
        out[route] = weight
    return out


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

    table = Table("plan", "units / period", "rate / min", "monthly", "overage / unit", "features")
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
    for p in plans:
        for route, weight in p.unit_weights.items():
            console.print(
                f"{p.name}: {weight} units per input on {route}", highlight=False, markup=False
            )


@app.command("create")
def create_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Plan name (lower case, e.g. 'team').")],
    quota: Annotated[int, typer.Option("--quota", help="Units per billing period (>= 0).")],
    rate: Annotated[int, typer.Option("--rate", help="Requests per minute per key (>= 0).")],
    price: Annotated[str, typer.Option("--price", help="Monthly price, e.g. 19.00.")] = "0",
    overage_price: Annotated[
        str | None, typer.Option("--overage-price", help="Price per unit over the quota.")
    ] = None,
    feature: Annotated[
        list[str] | None,
        typer.Option("--feature", help="Feature flag (repeatable): traffic_split, overage."),
    ] = None,
    unit_weight: Annotated[
        list[str] | None,
        typer.Option(
            "--unit-weight",
            help="ROUTE=N (repeatable): units per input on a metered route, e.g. "
            "/v1/sentiment/analyze=2 (default 1).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create a plan. Quota and rate must be whole numbers, 0 or more (0 admits nothing).

    A metered request costs one unit per input times the route's unit weight.
    """
    from baryon.commerce.plans import create_plan

    weights = parse_unit_weights(unit_weight or [])
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
            unit_weights=weights,
            actor=cli_actor(),
            clock=ws.clock,
        )
    if as_json:
        print_json(plan.to_dict())
        return
    weighted = "".join(f", {route} x{w}" for route, w in plan.unit_weights.items())
    typer.echo(
        f"Created plan {plan.name}: {plan.quota} units per period, "
        f"{plan.rate_per_minute} requests per minute, {plan.monthly_price} per month{weighted}"
    )
