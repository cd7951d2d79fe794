"""``baryon plans list|create|update|archive|prices``: subscription plans (operators)."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from baryon.cli._common import console, get_workspace, print_json

__all__ = ["app", "cli_actor", "parse_route_prices", "parse_unit_weights"]

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


def parse_route_prices(values: list[str]) -> dict[str, object]:
    """Turn ``--route-price ROUTE=PRICE`` options into ``{ROUTE: "PRICE"}``.

    The prices are checked by :func:`baryon.commerce.plans.check_route_prices`.

    Raises
    ------
    InvalidInput
        Code ``invalid_price``: no ``=`` or a route given twice.
    """
    from baryon.core.errors import InvalidInput

    out: dict[str, object] = {}
    for value in values:
        route, sep, price = value.rpartition("=")
        route = route.strip()
        if not sep or not route or route in out:
            raise InvalidInput(
                f"--route-price takes ROUTE=PRICE once per route (e.g. "
                f"/v1/support/answer=0.002), got {value!r}",
                code="invalid_price",
            )
        out[route] = price.strip()
    return out


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    archived: Annotated[
        bool, typer.Option("--archived", help="Also list plans no longer offered.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List every plan on offer, cheapest first."""
    from baryon.commerce.plans import list_plans

    ws = get_workspace(ctx)
    with ws.db.session() as session:
        plans = list_plans(session, include_archived=archived)
    if as_json:
        print_json([p.to_dict() for p in plans])
        return
    from rich.table import Column, Table

    table = Table(
        Column("plan", no_wrap=True), "units / period", "rate / min",
        Column("monthly", no_wrap=True), "overage / unit", "trial", "features",
    )  # fmt: skip
    for p in plans:
        table.add_row(
            p.name + (" (archived)" if p.archived_at is not None else ""),
            f"{p.quota:,}",
            f"{p.rate_per_minute:,}",
            f"{p.monthly_price} {p.currency}",
            "-" if p.overage_price is None else str(p.overage_price),
            f"{p.trial_days} d" if p.trial_days else "-",
            ", ".join(p.features) or "-",
        )
    console.print(table)
    for p in plans:
        for route, weight in p.unit_weights.items():
            console.print(
                f"{p.name}: {weight} units per input on {route}", highlight=False, markup=False
            )
        for route, price in p.route_prices.items():
            console.print(
                f"{p.name}: {price} {p.currency} per unit on {route}", highlight=False, markup=False
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
    currency: Annotated[str, typer.Option("--currency", help="ISO 4217 code.")] = "USD",
    trial_days: Annotated[
        int, typer.Option("--trial-days", help="Days without the base price (0-366).")
    ] = 0,
    route_price: Annotated[
        list[str] | None,
        typer.Option(
            "--route-price",
            help="ROUTE=PRICE (repeatable): price per unit on a metered route, on top "
            "of the base and overage.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create a plan. Quota and rate must be whole numbers, 0 or more; a quota of 0
    only with --feature overage (every unit billed as overage).

    A metered request costs one unit per input times the route's unit weight.
    """
    from baryon.commerce.plans import create_plan

    weights = parse_unit_weights(unit_weight or [])
    prices = parse_route_prices(route_price or [])
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
            currency=currency,
            trial_days=trial_days,
            route_prices=prices,
            actor=cli_actor(),
            clock=ws.clock,
        )
    if as_json:
        print_json(plan.to_dict())
        return
    weighted = "".join(f", {route} x{w}" for route, w in plan.unit_weights.items())
    typer.echo(
        f"Created plan {plan.name}: {plan.quota} units per period, "
        f"{plan.rate_per_minute} requests per minute, {plan.monthly_price} {plan.currency} "
        f"per month{weighted}"
    )


@app.command("update")
def update_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Plan name or id.")],
    quota: Annotated[int | None, typer.Option("--quota", help="Units per period.")] = None,
    rate: Annotated[int | None, typer.Option("--rate", help="Requests per minute.")] = None,
    price: Annotated[str | None, typer.Option("--price", help="Monthly price.")] = None,
    overage_price: Annotated[
        str | None, typer.Option("--overage-price", help="Price per unit over the quota.")
    ] = None,
    no_overage_price: Annotated[
        bool, typer.Option("--no-overage-price", help="Remove the overage price.")
    ] = False,
    feature: Annotated[
        list[str] | None, typer.Option("--feature", help="Feature flags (replace the set).")
    ] = None,
    unit_weight: Annotated[
        list[str] | None, typer.Option("--unit-weight", help="ROUTE=N (replace the set).")
    ] = None,
    route_price: Annotated[
        list[str] | None, typer.Option("--route-price", help="ROUTE=PRICE (replace the set).")
    ] = None,
    trial_days: Annotated[int | None, typer.Option("--trial-days", help="Trial days.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Change a plan. Limits, features, weights and trial apply at once; a price change
    is a new price version, in force from each organization's next billing period."""
    from baryon.commerce.prices import update_plan
    from baryon.core.errors import InvalidInput

    changes: dict[str, object] = {}
    if overage_price is not None and no_overage_price:
        raise InvalidInput(
            "give --overage-price or --no-overage-price, not both", code="invalid_price"
        )
    if overage_price is not None or no_overage_price:
        changes["overage_price"] = overage_price
    ws = get_workspace(ctx)
    with ws.db.session() as session:
        plan = update_plan(
            session,
            name,
            quota=quota,
            rate_per_minute=rate,
            monthly_price=price,
            features=feature,
            unit_weights=None if unit_weight is None else parse_unit_weights(unit_weight),
            route_prices=None if route_price is None else parse_route_prices(route_price),
            trial_days=trial_days,
            actor=cli_actor(),
            clock=ws.clock,
            **changes,
        )
    if as_json:
        print_json(plan.to_dict())
        return
    typer.echo(
        f"Plan {plan.name}: {plan.quota} units per period, {plan.rate_per_minute} requests "
        f"per minute, {plan.monthly_price} {plan.currency} per month (price version "
        f"{plan.price_version})"
    )


@app.command("archive")
def archive_cmd(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="Plan name or id.")]
) -> None:
    """Stop offering a plan; organizations on it keep it."""
    from baryon.commerce.prices import archive_plan

    ws = get_workspace(ctx)
    with ws.db.session() as session:
        plan = archive_plan(session, name, actor=cli_actor(), clock=ws.clock)
    typer.echo(f"Archived plan {plan.name}")


@app.command("prices")
def prices_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Plan name or id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show a plan's price versions (each in force from the first period after it)."""
    from baryon.commerce.plans import get_plan
    from baryon.commerce.prices import list_price_versions

    ws = get_workspace(ctx)
    with ws.db.session() as session:
        plan = get_plan(session, name)
        versions = list_price_versions(session, plan.id)
    if as_json:
        print_json([v.to_dict() for v in versions])
        return
    from rich.table import Table

    table = Table("version", "since", "monthly", "overage / unit", "route prices")
    for v in versions:
        table.add_row(
            str(v.version),
            v.created_at.isoformat(timespec="seconds"),
            f"{v.monthly_price} {plan.currency}",
            "-" if v.overage_price is None else str(v.overage_price),
            ", ".join(f"{r}={p}" for r, p in v.route_prices.items()) or "-",
        )
    console.print(table)
