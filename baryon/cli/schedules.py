"""``baryon jobs schedules list|show|pause|resume|remove``: an organization's job schedules.

Schedules are made by the noun whose work they run (``baryon flywheel schedule MODEL
--every 1d``). Like the other nouns these commands act on the operator organization,
or on the global ``--org``'s; a schedule is named by its id or its name. See
``docs/jobs.md#schedules``.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from baryon.cli._common import console, get_workspace, print_json
from baryon.cli.train import cli_actor

__all__ = ["app", "print_schedule", "when"]

app = typer.Typer(no_args_is_help=True, help="List, show, pause, resume and remove job schedules.")

_REF = typer.Argument(help="The schedule's id (sch_…) or name.")
_JSON = typer.Option("--json", help="Print JSON.")


def when(schedule: dict[str, Any]) -> str:
    """``every 15m`` or ``cron 0 3 * * * (UTC)``."""
    if schedule["every"] is not None:
        return f"every {schedule['every']}"
    return f"cron {schedule['cron']} (UTC)"


def print_schedule(schedule: dict[str, Any]) -> None:
    """Print a schedule (:meth:`~baryon.jobs.schedules.Schedule.to_dict`) for people."""
    state = "paused" if schedule["paused"] else f"next {schedule['next_run_at']}"
    console.print(
        f"{schedule['id']}  {schedule['name']}  {schedule['kind']}  {when(schedule)}  {state}",
        markup=False,
    )
    console.print(f"payload   {schedule['payload']}", markup=False)
    if schedule.get("description"):
        console.print(f"about     {schedule['description']}", markup=False)
    last = schedule["last_outcome"]
    if last is not None:
        job = f" job {schedule['last_job_id']}" if schedule["last_job_id"] else ""
        console.print(f"last      {schedule['last_run_at']} {last}{job}", markup=False)
    if schedule["last_error_code"]:
        console.print(
            f"why       error[{schedule['last_error_code']}]: {schedule['last_error']}",
            markup=False,
        )
    console.print(
        f"counts    {schedule['run_count']} enqueued, {schedule['skip_count']} skipped or "
        f"failed, {schedule['missed_count']} missed while no worker ran",
        markup=False,
    )


def _write(ctx: typer.Context, verb: str, ref: str) -> dict[str, Any]:
    from baryon.jobs import schedules

    ws = get_workspace(ctx)
    action = {
        "pause": schedules.pause_schedule,
        "resume": schedules.resume_schedule,
        "remove": schedules.remove_schedule,
    }[verb]
    with ws.db.session(ws.scope) as session:
        return action(session, ref, actor=cli_actor(), clock=ws.clock).to_dict()


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    kind: Annotated[str | None, typer.Option("--kind", help="Only this kind.")] = None,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """List the organization's schedules, by name."""
    from baryon.jobs.schedules import list_schedules

    ws = get_workspace(ctx)
    with ws.db.session(ws.scope) as session:
        found = [s.to_dict() for s in list_schedules(session, kind=kind)]
    if as_json:
        print_json(found)
        return
    if not found:
        console.print("no schedules")
        return
    from rich.table import Column, Table

    table = Table(Column("name", no_wrap=True), "kind", "when", "next (UTC)", "last")
    for s in found:
        table.add_row(
            s["name"],
            s["kind"],
            when(s),
            "paused" if s["paused"] else s["next_run_at"][:16].replace("T", " "),
            s["last_outcome"] or "-",
        )
    console.print(table)


@app.command("show")
def show_cmd(
    ctx: typer.Context,
    schedule: Annotated[str, _REF],
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Show one schedule: when it fires next and what its last firing did."""
    from baryon.jobs.schedules import get_schedule

    ws = get_workspace(ctx)
    with ws.db.session(ws.scope) as session:
        shown = get_schedule(session, schedule).to_dict()
    if as_json:
        print_json(shown)
    else:
        print_schedule(shown)


@app.command("pause")
def pause_cmd(
    ctx: typer.Context,
    schedule: Annotated[str, _REF],
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Pause a schedule: it fires no more until resumed."""
    done = _write(ctx, "pause", schedule)
    if as_json:
        print_json(done)
    else:
        typer.echo(f"Paused {done['name']} ({done['id']})")


@app.command("resume")
def resume_cmd(
    ctx: typer.Context,
    schedule: Annotated[str, _REF],
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Resume a paused schedule from its next due time after now (no catching up)."""
    done = _write(ctx, "resume", schedule)
    if as_json:
        print_json(done)
        return
    typer.echo(f"Resumed {done['name']} ({done['id']}); next run {done['next_run_at']}")


@app.command("remove")
def remove_cmd(
    ctx: typer.Context,
    schedule: Annotated[str, _REF],
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Remove a schedule (the jobs it enqueued are left as they are)."""
    done = _write(ctx, "remove", schedule)
    if as_json:
        print_json(done)
    else:
        typer.echo(f"Removed {done['name']} ({done['id']})")
