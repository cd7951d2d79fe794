"""``baryon usage --org ORG``: an organization's usage and current billing period."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

import typer

from baryon.cli._common import console, get_workspace, parse_time, print_json

__all__ = ["command"]


def command(
    ctx: typer.Context,
    org: Annotated[str, typer.Option("--org", help="Organization name or id.")],
    start: Annotated[
        str | None, typer.Option("--start", help="From (ISO, UTC); default period start.")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--end", help="Until, exclusive; default period end.")
    ] = None,
    group_by: Annotated[str, typer.Option("--group-by", help="endpoint, key or day.")] = "endpoint",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show an organization's usage records, grouped, and its current billing period."""
    from baryon.commerce.metering import period_report, usage_report
    from baryon.commerce.orgs import active_subscription, get_org

    ws = get_workspace(ctx)
    now = ws.clock.now()
    with ws.db.session() as session:
        found = get_org(session, org)
        sub = active_subscription(session, found.id)
        if sub is not None:
            lo, hi = sub.period(now)
        else:
            lo, hi = now - timedelta(days=31), now + timedelta(seconds=1)
        lo = parse_time(start, "--start") or lo
        hi = parse_time(end, "--end") or hi
        groups = usage_report(session, found.id, start=lo, end=hi, group_by=group_by)
        period = None if sub is None else period_report(session, sub, now)
    report: dict[str, Any] = {
        "org": found.name,
        "org_id": found.id,
        "start": lo.isoformat(),
        "end": hi.isoformat(),
        "group_by": group_by,
        "groups": groups,
        "period": period,
    }
    if as_json:
        print_json(report)
        return
    if period is not None:
        typer.echo(
            f"{found.name}: plan {period['plan']}, {period['used']} of {period['quota']} "
            f"units used this period ({period['start'][:10]} to {period['end'][:10]}), "
            f"charge so far {period['charge']['total']}"
        )
    from rich.table import Table

    table = Table(group_by, "requests", "units", "errors")
    for g in groups:
        table.add_row(str(g["group"]), str(g["requests"]), str(g["units"]), str(g["errors"]))
    console.print(table)
