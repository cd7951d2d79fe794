"""``baryon flywheel run|schedule|list|show``: the data flywheel of a classifier.

``run MODEL`` queues one cycle as a ``flywheel`` job for a worker (``baryon serve``'s
in-process one, or ``baryon worker``) and returns its ids; with ``--wait`` this
process runs that job itself and prints the report when it ends (no worker needed;
the cycle is checked against the model's other cycles like any job).
``schedule MODEL --every 1d`` (or ``--cron "0 3 * * *"``) has the workers queue one
at each due time (manage it with ``baryon jobs schedules``). Like the other
nouns it acts on the operator organization, or on the global ``--org``'s. See
``docs/flywheel.md``.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from baryon.cli._common import console, err_console, get_workspace, print_json
from baryon.cli.train import cli_actor

__all__ = ["app", "print_cycle"]

app = typer.Typer(
    no_args_is_help=True,
    help="Run the data flywheel of a classifier: new labels → new version → retrain → gate.",
)


def _queue(ws: Any) -> Any:
    from baryon.jobs import JobQueue

    return JobQueue(ws.db, ws.clock)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def _signed(value: Any) -> str:
    return "-" if value is None else f"{float(value):+.4f}"


def print_cycle(cycle: dict[str, Any]) -> None:
    """Print a cycle (:meth:`~baryon.flywheel.jobs.CycleState.to_dict`) for people."""
    from rich.markup import escape
    from rich.table import Table

    report = cycle.get("report") or {}
    console.print(
        f"cycle [bold]{cycle['id']}[/bold]  {escape(cycle['model'])}  "
        f"status [bold]{cycle['status']}[/bold]"
        + (f"  (job {cycle['job_id']})" if cycle.get("job_id") else "")
    )
    if cycle["status"] in ("queued", "running"):
        if cycle.get("stage"):
            console.print(f"stage {cycle['stage']} {cycle.get('progress') or 0:.0f}%")
        return
    error = report.get("error")
    if error:
        console.print(f"error[{error.get('code')}]: {escape(str(error.get('message')))}")
        return
    rows = report.get("rows_added") or {}
    added = ", ".join(f"{source} {n}" for source, n in rows.items()) or "none"
    console.print(f"rows added: {escape(added)}")
    skipped = report.get("skipped") or {}
    if skipped:
        console.print("left out: " + ", ".join(f"{k} {v}" for k, v in skipped.items()))
    dataset = report.get("dataset")
    if dataset:
        console.print(f"dataset {dataset['parent']} → {dataset['new']} (test split frozen)")
    metrics = report.get("metrics")
    if metrics:
        table = Table(
            "metric (frozen test split)", "champion", "candidate", "delta", "95 % interval"
        )
        deltas = metrics.get("delta") or {}
        for name, value in (metrics.get("champion") or {}).items():
            delta = deltas.get(name) or {}
            low_high = delta.get("ci95")
            table.add_row(
                name,
                _fmt(value),
                _fmt((metrics.get("candidate") or {}).get(name)),
                _signed(delta.get("value")) if delta else "-",
                f"[{low_high[0]:+.4f}, {low_high[1]:+.4f}]" if low_high else "-",
            )
        console.print(table)
    console.print(f"decision: [bold]{report.get('decision', '-')}[/bold]")
    if report.get("message"):
        console.print(escape(str(report["message"])))


@app.command("run")
def run_cmd(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="A classifier with a champion.")],
    wait: Annotated[
        bool,
        typer.Option("--wait", help="Run the cycle here and now and print its report."),
    ] = False,
    iteration: Annotated[
        str | None,
        typer.Option("--iteration", help="The iteration (name or it_…) it counts towards."),
    ] = None,
    min_delta: Annotated[
        float, typer.Option("--min-delta", help="Required gain at the gate (a tie never wins).")
    ] = 0.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Run one flywheel cycle of MODEL: queued for a worker, or here with --wait."""
    from baryon.flywheel.jobs import prepare_cycle, run_cycle_here, submit_cycle

    ws = get_workspace(ctx)
    recipe = prepare_cycle(ws, model, min_delta=min_delta)
    if not wait:
        state = submit_cycle(
            ws, _queue(ws), recipe, actor=cli_actor(), iteration_id=iteration,
            min_delta=min_delta, trigger="cli",
        )  # fmt: skip
        if as_json:
            print_json(state.to_dict())
            return
        print_cycle(state.to_dict())
        console.print(
            f"a worker runs it (baryon serve or baryon worker); "
            f"follow it with: baryon flywheel show {state.cycle.id}",
            markup=False,
        )
        return
    said: list[str] = []

    def progress(stage: str, percent: float) -> None:
        if not as_json and (not said or said[-1] != stage):
            said.append(stage)
            err_console.print(f"{percent:3.0f}% {stage}", highlight=False)

    data = run_cycle_here(
        ws, _queue(ws), recipe, actor=cli_actor(), iteration_id=iteration,
        min_delta=min_delta, trigger="cli", progress=progress,
    ).to_dict()  # fmt: skip
    if as_json:
        print_json(data)
    else:
        print_cycle(data)


@app.command("schedule")
def schedule_cmd(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="A classifier with a champion.")],
    every: Annotated[
        str | None, typer.Option("--every", help="Interval: 30m, 6h, 1d (at least 60 s).")
    ] = None,
    cron: Annotated[
        str | None,
        typer.Option("--cron", help='5-field cron expression in UTC, e.g. "0 3 * * *".'),
    ] = None,
    min_delta: Annotated[
        float, typer.Option("--min-delta", help="Required gain at the gate (a tie never wins).")
    ] = 0.0,
    name: Annotated[
        str | None, typer.Option("--name", help="Schedule name (default flywheel-MODEL).")
    ] = None,
    paused: Annotated[bool, typer.Option("--paused", help="Make it paused.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Run a flywheel cycle of MODEL on a schedule: --every INTERVAL or --cron EXPR."""
    from baryon.cli.schedules import print_schedule
    from baryon.flywheel.schedules import flywheel_schedule_kinds
    from baryon.jobs.schedules import create_schedule, plan_schedule

    ws = get_workspace(ctx)
    spec = plan_schedule(
        ws, flywheel_schedule_kinds(), kind="flywheel", every=every, cron=cron, name=name,
        payload={"model": model, "min_delta": min_delta},
    )  # fmt: skip
    org_id = ws.scope.org_id
    assert org_id is not None  # a CLI workspace is an organization's view
    with ws.db.session(ws.scope) as session:
        made = create_schedule(
            session, spec, org_id=org_id, actor=cli_actor(), clock=ws.clock, paused=paused
        ).to_dict()
    if as_json:
        print_json(made)
        return
    print_schedule(made)
    console.print(
        "a worker queues each cycle (baryon serve or baryon worker); "
        f"manage it with: baryon jobs schedules show {made['name']}",
        markup=False,
    )


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    model: Annotated[str | None, typer.Option("--model", help="Only this model's.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many cycles.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List flywheel cycles, newest first."""
    from baryon.flywheel.jobs import cycle_states
    from baryon.flywheel.records import list_cycles

    ws = get_workspace(ctx)
    states = cycle_states(ws, _queue(ws), list_cycles(ws, model=model, limit=limit))
    if as_json:
        print_json([s.to_dict() for s in states])
        return
    if not states:
        console.print("no flywheel cycles")
        return
    from rich.table import Column, Table

    table = Table(Column("cycle", no_wrap=True), "model", "status", "rows", "Δ accuracy", "when")
    for state in states:
        data = state.to_dict()
        report = data["report"]
        delta = ((report.get("metrics") or {}).get("delta") or {}).get("accuracy") or {}
        table.add_row(
            data["id"],
            data["model"],
            data["status"],
            str(sum((report.get("rows_added") or {}).values())),
            _signed(delta.get("value")) if delta else "-",
            state.cycle.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    console.print(table)


@app.command("show")
def show_cmd(
    ctx: typer.Context,
    cycle_id: Annotated[str, typer.Argument(help="The cycle id (fw_…).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show one flywheel cycle and its report."""
    from baryon.flywheel.jobs import cycle_state

    ws = get_workspace(ctx)
    data = cycle_state(ws, _queue(ws), cycle_id).to_dict()
    if as_json:
        print_json(data)
    else:
        print_cycle(data)
