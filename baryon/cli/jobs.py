"""``baryon jobs list|show|cancel``: background jobs of every organization (operator view).

``baryon jobs schedules ...`` (:mod:`baryon.cli.schedules`) manages an organization's
job schedules.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from baryon.cli import schedules
from baryon.cli._common import console, get_workspace, print_json
from baryon.cli.plans import cli_actor

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help="List, inspect and cancel background jobs.")
app.add_typer(schedules.app, name="schedules")


def _queue(ctx: typer.Context) -> Any:
    from baryon.jobs import JobQueue

    ws = get_workspace(ctx)
    return ws, JobQueue(ws.db, ws.clock)


def _org_id(ws: Any, org: str | None) -> str | None:
    if org is None:
        return None
    from baryon.commerce.orgs import get_org

    with ws.db.session() as session:
        return get_org(session, org).id


def _progress(job: Any) -> str:
    if job.status != "running":
        return "-"
    return f"{job.stage or '-'} {job.progress:.0f}%"


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    org: Annotated[str | None, typer.Option("--org", help="Only this organization.")] = None,
    status: Annotated[str | None, typer.Option("--status", help="Only this status.")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="Only this kind.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many jobs.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List jobs, newest first."""
    ws, queue = _queue(ctx)
    jobs = queue.list(org_id=_org_id(ws, org), status=status, kind=kind, limit=limit)
    if as_json:
        print_json([j.to_dict() for j in jobs])
        return
    from rich.table import Column, Table

    table = Table(Column("job", no_wrap=True), "kind", "status", "progress", "attempts", "error")
    for j in jobs:
        table.add_row(
            j.id,
            j.kind,
            j.status,
            _progress(j),
            f"{j.attempts}/{j.max_attempts}",
            j.error_code or "",
        )
    console.print(table)


@app.command("show")
def show_cmd(
    ctx: typer.Context,
    job_id: Annotated[str, typer.Argument(help="Job id (job_...).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show one job: status, stage, progress, attempts, lease, error, result."""
    _, queue = _queue(ctx)
    job = queue.get(job_id, org_id=None)
    if as_json:
        print_json(job.to_dict())
        return
    console.print(f"[bold]{job.id}[/bold]  {job.kind}  status [bold]{job.status}[/bold]")
    if job.error_code:
        console.print(f"error[{job.error_code}]: {job.error}", markup=False)
    console.print(f"org       {job.org_id}", markup=False)
    console.print(f"stage     {job.stage or '-'}  progress {job.progress:.0f}%", markup=False)
    console.print(f"attempts  {job.attempts} of {job.max_attempts}", markup=False)
    if job.lease_owner:
        expires = job.lease_expires_at.isoformat() if job.lease_expires_at else "-"
        console.print(f"lease     {job.lease_owner} until {expires}", markup=False)
    if job.cancel_requested:
        console.print("cancel    requested", markup=False)
    for label, value in (
        ("created", job.created_at),
        ("started", job.started_at),
        ("ended", job.ended_at),
    ):
        console.print(f"{label:<9} {value.isoformat() if value else '-'}", markup=False)
    console.print(f"payload   {job.payload}", markup=False)
    if job.result is not None:
        console.print(f"result    {job.result}", markup=False)


@app.command("cancel")
def cancel_cmd(
    ctx: typer.Context,
    job_id: Annotated[str, typer.Argument(help="Job id (job_...).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Cancel a job: a queued job at once, a running one at its handler's next check."""
    _, queue = _queue(ctx)
    job = queue.cancel(job_id, org_id=None, actor=cli_actor())
    if as_json:
        print_json(job.to_dict())
        return
    if job.status == "cancelled":
        typer.echo(f"Cancelled {job.id}")
    else:
        typer.echo(
            f"Cancel requested for {job.id} ({job.status}); its handler stops at its next check"
        )
