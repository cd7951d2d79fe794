"""``baryon runs list|show``: tracked training runs."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from baryon.cli._common import console, get_workspace, print_json

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help="List and inspect training runs.")


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def _primary(run: Any) -> str:
    from baryon.training.gates import PRIMARY_METRICS

    metric = PRIMARY_METRICS.get(run.task)
    if metric is None or metric not in run.metrics:
        return "-"
    return f"{metric}={_fmt(run.metrics[metric])}"


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option("--status", help="Only this status.")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="Only this model kind.")] = None,
    dataset: Annotated[str | None, typer.Option("--dataset", help="Only this dataset.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many runs.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List runs, newest first."""
    runs = get_workspace(ctx).runs.list(status=status, kind=kind, dataset=dataset, limit=limit)
    if as_json:
        print_json([r.to_dict() for r in runs])
        return
    from rich.table import Column, Table

    table = Table(
        Column("run", no_wrap=True),
        "kind",
        "dataset",
        "status",
        Column("primary metric", no_wrap=True),
    )
    for r in runs:
        table.add_row(r.id, r.kind, r.dataset_ref, r.status, _primary(r))
    console.print(table)


@app.command("show")
def show_cmd(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="Run id (run_...).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show one run: params, data, status, metrics, per-step history, artifacts."""
    run = get_workspace(ctx).runs.get(run_id)
    if as_json:
        print_json(run.to_dict())
        return
    from rich.table import Table

    console.print(
        f"[bold]{run.id}[/bold]  {run.kind} ({run.task})  status [bold]{run.status}[/bold]"
    )
    if run.error:
        console.print(f"error[{run.error_code}]: {run.error}", markup=False)
    console.print(f"dataset   {run.dataset_ref} ({run.dataset_version_id})", markup=False)
    console.print(f"target    {run.target or '-'}", markup=False)
    console.print(f"params    {run.params}  seed {run.seed}  cv_folds {run.cv_folds}", markup=False)
    console.print(
        f"started   {run.started_at.isoformat()}  duration {_fmt(run.duration_seconds)} s"
    )
    if run.metrics:
        table = Table("metric", "value")
        for name, value in run.metrics.items():
            table.add_row(name, _fmt(value))
        console.print(table)
    for name, values in run.history.items():
        last = _fmt(values[-1]) if values else "-"
        console.print(f"history   {name}: {len(values)} steps, last {last}", markup=False)
    for name, digest in run.artifacts.items():
        console.print(f"artifact  {name}: {digest[:16]}…", markup=False)
