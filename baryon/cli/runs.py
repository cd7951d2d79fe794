"""``baryon runs list|show|cancel|compare``: tracked training runs.

Runs trained in the background (``baryon train --background``, ``POST /v1/runs``) show
their job's stage and progress; ``cancel`` stops them.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from baryon.cli._common import console, get_workspace, print_json

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help="List, inspect, cancel and compare training runs.")


def _queue(ws: Any) -> Any:
    from baryon.jobs import JobQueue

    return JobQueue(ws.db, ws.clock)


def _status(state: Any) -> str:
    """``running fit 30%`` for a run whose job is under way, else the status."""
    run = state.run
    text = str(run.status)
    if run.finished or state.job is None:
        return text
    if state.stage:
        text += f" {state.stage} {state.progress:.0f}%"
    return text + (" (cancel requested)" if state.cancel_requested else "")


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
    from baryon.training.jobs import run_states

    ws = get_workspace(ctx)
    runs = ws.runs.list(status=status, kind=kind, dataset=dataset, limit=limit)
    states = run_states(ws, _queue(ws), runs)
    if as_json:
        print_json([state.to_dict() for state in states])
        return
    from rich.table import Column, Table

    table = Table(
        Column("run", no_wrap=True),
        "kind",
        "dataset",
        "status",
        Column("primary metric", no_wrap=True),
    )
    for state in states:
        r = state.run
        table.add_row(r.id, r.kind, r.dataset_ref, _status(state), _primary(r))
    console.print(table)


@app.command("show")
def show_cmd(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="Run id (run_...).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show one run: status, stage and progress, params, data, metrics, history, artifacts."""
    from baryon.training.jobs import run_state

    ws = get_workspace(ctx)
    state = run_state(ws, _queue(ws), run_id)
    run = state.run
    if as_json:
        print_json(state.to_dict())
        return
    from rich.table import Table

    console.print(
        f"[bold]{run.id}[/bold]  {run.kind} ({run.task})  status [bold]{run.status}[/bold]"
    )
    if state.job is not None:
        job = state.job
        stage = f"stage {state.stage or '-'} {state.progress:.0f}%"
        cancel = "  cancel requested" if state.cancel_requested else ""
        console.print(
            f"job       {job.id} ({job.status}, attempt {job.attempts} of {job.max_attempts})"
            f"  {stage}{cancel}",
            markup=False,
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
    registered = run.extra.get("registered")
    if registered:
        console.print(f"registered as {registered['name']}:{registered['version']}", markup=False)
    refused = run.extra.get("registration_error")
    if refused:
        console.print(
            f"registration refused: error[{refused['code']}]: {refused['message']}", markup=False
        )


@app.command("cancel")
def cancel_cmd(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="Run id (run_...).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Cancel a background run: a queued one at once, a running one at its next stage."""
    from baryon.cli.train import cli_actor
    from baryon.training.jobs import cancel_training

    ws = get_workspace(ctx)
    state = cancel_training(ws, _queue(ws), run_id, actor=cli_actor())
    if as_json:
        print_json(state.to_dict())
    elif state.run.status == "cancelled":
        console.print(f"run {run_id} cancelled", markup=False)
    else:
        console.print(f"run {run_id}: cancel requested; it stops at its next stage", markup=False)


@app.command("compare")
def compare_cmd(
    ctx: typer.Context,
    run_ids: Annotated[list[str], typer.Argument(help="2 to 5 run ids (run_...).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Compare 2 to 5 runs side by side: parameters (* where they differ) and metrics."""
    from baryon.training.compare import compare_runs

    comparison = compare_runs(get_workspace(ctx).runs, run_ids)
    if as_json:
        print_json(comparison.to_dict())
        return
    from rich.table import Column, Table

    table = Table(Column("", no_wrap=True), *[Column(r.id, no_wrap=True) for r in comparison.runs])
    table.add_row("status", *[r.status for r in comparison.runs])
    for row in comparison.params:
        name = f"{row.name} *" if row.differs else row.name
        table.add_row(name, *[_fmt(v) for v in row.values])
    table.add_section()
    for row in comparison.metrics:
        table.add_row(row.name, *[_fmt(v) for v in row.values])
    console.print(table)
    if comparison.differing_params:
        console.print(f"differ: {', '.join(comparison.differing_params)}", markup=False)
