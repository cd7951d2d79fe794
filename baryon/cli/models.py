"""``baryon models list|show|promote|rollback|evaluate|register``: the model registry."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from baryon.cli._common import console, get_workspace, print_json
from baryon.cli.train import cli_actor, parse_assignments

__all__ = ["app"]

app = typer.Typer(
    no_args_is_help=True, help="Registry: model versions, evaluation, promotion gate."
)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List registered models with their latest version and aliases."""
    models = get_workspace(ctx).registry.list_models()
    if as_json:
        print_json([m.to_dict() for m in models])
        return
    from rich.table import Table

    table = Table("model", "task", "primary metric", "latest", "champion", "challenger")
    for m in models:
        table.add_row(
            m.name,
            m.task,
            m.primary_metric,
            str(m.latest_version),
            _fmt(m.aliases.get("champion")),
            _fmt(m.aliases.get("challenger")),
        )
    console.print(table)


@app.command("show")
def show_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Model name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show a model: every version with its test metric and aliases, and alias history."""
    registry = get_workspace(ctx).registry
    versions = registry.list_versions(name)
    history = registry.alias_history(name)
    if as_json:
        print_json(
            {
                "name": name,
                "versions": [v.to_dict() for v in versions],
                "alias_history": [h.to_dict() for h in history],
            }
        )
        return
    from rich.table import Column, Table

    table = Table(
        "version",
        "kind",
        Column("run", no_wrap=True),
        "dataset version",
        "primary metric",
        "aliases",
        "created",
    )
    for v in versions:
        table.add_row(
            str(v.version),
            v.kind,
            v.run_id,
            v.dataset_version_id,
            f"{v.primary_metric}={_fmt(v.primary_value)}",
            ", ".join(v.aliases) or "-",
            v.created_at.strftime("%Y-%m-%d %H:%M:%S"),
        )
    console.print(table)
    moves = Table("#", "alias", "action", "from", "to", "who", "when", "forced", "why")
    for h in history:
        moves.add_row(
            str(h.seq),
            h.alias,
            h.action,
            _fmt(h.from_version),
            _fmt(h.to_version),
            h.actor,
            h.at.strftime("%Y-%m-%d %H:%M:%S"),
            "yes" if h.forced else "",
            h.reason,
        )
    console.print(moves)


@app.command("promote")
def promote_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[int, typer.Argument(help="Version to make champion.")],
    min_delta: Annotated[
        float, typer.Option("--min-delta", help="Required gain of the primary metric.")
    ] = 0.0,
    force: Annotated[
        bool, typer.Option("--force", help="Promote even if the gate refuses (audited).")
    ] = False,
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded).")] = "",
    on: Annotated[
        str | None,
        typer.Option("--on", help="Compare both on this dataset NAME[:VERSION]'s test split."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Make VERSION champion if it beats the champion by --min-delta on the same test split."""
    move = get_workspace(ctx).promotion.promote(
        name,
        version,
        min_delta=min_delta,
        force=force,
        actor=cli_actor(),
        reason=reason,
        evaluation_dataset=on,
    )
    if as_json:
        print_json(move.to_dict())
        return
    if not move.changed:
        console.print(f"{name}:{version} already is the champion")
        return
    gate = move.gate or {}
    console.print(
        f"{name} champion: v{_fmt(move.from_version)} -> v{move.to_version}"
        + (" [bold red](forced)[/bold red]" if move.forced else "")
    )
    if gate.get("message"):
        console.print(gate["message"], markup=False)


@app.command("rollback")
def rollback_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Model name.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded).")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Move champion back to the version that held it before."""
    move = get_workspace(ctx).promotion.rollback(name, actor=cli_actor(), reason=reason)
    if as_json:
        print_json(move.to_dict())
        return
    console.print(f"{name} champion: v{_fmt(move.from_version)} -> v{move.to_version}")


@app.command("evaluate")
def evaluate_cmd(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="NAME, NAME@ALIAS or NAME:VERSION.")],
    data: Annotated[Path, typer.Option("--data", help="Labelled file to evaluate on.")],
    role: Annotated[
        list[str] | None,
        typer.Option("--role", help="Column role override col=role (text, label, ...)."),
    ] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="File format.")] = None,
    delimiter: Annotated[str | None, typer.Option("--delimiter", help="CSV delimiter.")] = None,
    encoding: Annotated[str | None, typer.Option("--encoding", help="Text encoding.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Evaluate a registered model on an external labelled file."""
    from baryon.training.evaluate import evaluate_file

    roles = parse_assignments(role, option="--role")
    version, evaluation = evaluate_file(
        get_workspace(ctx).registry,
        ref,
        data,
        roles=roles,
        format=fmt,
        delimiter=delimiter,
        encoding=encoding,
    )
    if as_json:
        print_json(
            {"model": version.name, "version": version.version, "data": str(data)}
            | evaluation.to_dict()
        )
        return
    from rich.table import Table

    console.print(f"{version.name}:{version.version} ({evaluation.task}) on {data}", markup=False)
    table = Table("metric", "value")
    for name, value in evaluation.metrics.items():
        table.add_row(name, _fmt(value))
    console.print(table)


@app.command("register")
def register_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Model name.")],
    file: Annotated[Path, typer.Argument(help="A .skops file of a fitted scikit-learn estimator.")],
    dataset: Annotated[
        str, typer.Option("--dataset", help="Dataset NAME or NAME@VERSION with a split.")
    ],
    target: Annotated[str, typer.Option("--target", help="Target column.")],
    task: Annotated[
        str | None,
        typer.Option("--task", help="classification, regression or text_classification."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Register a scikit-learn model trained elsewhere; measured on the test split, challenger."""
    from baryon.training.external import read_model_file, register_external_model

    ws = get_workspace(ctx)
    payload = read_model_file(file, max_bytes=ws.settings.max_model_bytes)
    made = register_external_model(
        ws, name, payload, dataset=dataset, target=target, task=task, actor=cli_actor()
    )
    mv = made.version
    if as_json:
        print_json({"created": made.created, "run": made.run.to_dict(), "version": mv.to_dict()})
        return
    from rich.table import Table

    table = Table("metric", "value")
    for metric, value in mv.metrics.items():
        table.add_row(metric, _fmt(value))
    console.print(table)
    state = "registered" if made.created else "already registered"
    console.print(
        f"{state} as {mv.name}:{mv.version} ({', '.join(mv.aliases) or 'no alias'}), "
        f"run {made.run.id}",
        markup=False,
    )
