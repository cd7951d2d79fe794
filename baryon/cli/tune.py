"""``baryon tune KIND --dataset REF --search grid|random|tpe --trials N``: hyperparameter search.

Every trial is a tracked run (tagged with the session's ``tune_id``), compared on a
validation metric; the best run is registered with ``--register`` and offered to the
promotion gate (``--promote`` applies the gate). See :mod:`baryon.training.tuning`.
Prints a table of the trials, the best and the gate's decision (``--json``: the whole
session). When no trial succeeds the table is printed, then ``error[all_trials_failed]``.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from baryon.cli._common import console, get_workspace, print_json
from baryon.cli.train import cli_actor, parse_assignments

__all__ = ["command"]


def command(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="Model kind, e.g. decision_tree.")],
    dataset: Annotated[
        str, typer.Option("--dataset", help="Dataset NAME or NAME:VERSION (needs a split).")
    ],
    search: Annotated[
        str, typer.Option("--search", help="grid, random or tpe (Optuna, baryon[tune]).")
    ] = "random",
    trials: Annotated[int, typer.Option("--trials", help="Most trials (a grid must fit).")] = 10,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            help="Searched parameter NAME=SPEC: a,b,c (choices), lo..hi (range), "
            "log:lo..hi (log scale); repeatable. Default: the kind's default space.",
        ),
    ] = None,
    metric: Annotated[
        str | None,
        typer.Option(
            "--metric", help="Validation metric compared (default accuracy, rmse, ndcg_at_10)."
        ),
    ] = None,
    register: Annotated[
        str | None, typer.Option("--register", help="Register the best model under this name.")
    ] = None,
    promote: Annotated[
        bool,
        typer.Option("--promote", help="Promote the registered best through the gate."),
    ] = False,
    target: Annotated[
        str | None,
        typer.Option("--target", help="Target column (default: the label/rating column)."),
    ] = None,
    cv_folds: Annotated[
        int,
        typer.Option("--cv-folds", help="CV folds, compared when there are no validation rows."),
    ] = 0,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the search and every trial.")] = 42,
    as_json: Annotated[bool, typer.Option("--json", help="Print the session as JSON.")] = False,
) -> None:
    """Search KIND's hyperparameters: each trial a tracked run, the best through the gate."""
    from baryon.core.errors import BaryonError
    from baryon.training.trainer import Trainer
    from baryon.training.tuning import Tuner

    space = parse_assignments(param, option="--param")
    tuner = Tuner(Trainer(get_workspace(ctx), actor=cli_actor()))
    try:
        result = tuner.tune(
            kind,
            dataset,
            search=search,
            trials=trials,
            space=space or None,
            metric=metric,
            register=register,
            promote=promote,
            seed=seed,
            target=target,
            cv_folds=cv_folds,
        )
    except BaryonError as exc:
        if exc.code == "all_trials_failed":
            _print_failed(get_workspace(ctx), exc, as_json)
        raise
    if as_json:
        print_json(result.to_dict())
        return
    _print_tuning(result)


def _print_failed(ws: Any, exc: Any, as_json: bool) -> None:
    if as_json:
        return
    from rich.table import Table

    table = Table("run", "status", "error")
    for run_id in exc.details.get("runs", []):
        run = ws.runs.get(run_id)
        table.add_row(run.id, run.status, run.error or "")
    console.print(table)


def _print_tuning(result: Any) -> None:
    from rich.table import Table

    plan = result.plan
    console.print(
        f"tune [bold]{plan.tune_id}[/bold]  {plan.spec.kind} on {plan.spec.dataset.ref}  "
        f"{plan.search}, {len(result.trials)} trial(s), {plan.key} "
        f"({'lower' if plan.lower_is_better else 'higher'} is better)"
    )
    for note in plan.notes:
        console.print(f"note: {note}", markup=False)
    table = Table("trial", *plan.space, plan.key, "status", "run")
    for t in result.trials:
        best = result.best is not None and t.number == result.best.number
        table.add_row(
            f"{t.number}{' *' if best else ''}",
            *(_cell(t.params.get(n)) for n in plan.space),
            "n/a" if t.value is None else f"{t.value:.4f}",
            t.status,
            t.run_id,
        )
    console.print(table)
    best = result.best
    params = ", ".join(f"{k}={_cell(v)}" for k, v in best.params.items())
    console.print(
        f"best: trial {best.number} ({params}) {plan.key} {best.value:.4f} run {best.run_id}"
    )
    if result.registered:
        reg = result.registered
        console.print(f"registered as {reg['name']}:{reg['version']}", markup=False)
    gate = result.gate
    if gate:
        outcome = gate["outcome"]
        message = gate.get("message") or ""
        if outcome == "offered":
            verdict = "would pass" if gate.get("passed") else "would not pass"
            console.print(
                f"gate: {verdict} ({message}); promote with: baryon models promote "
                f"{result.registered['name']} {result.registered['version']}",
                markup=False,
            )
        else:
            console.print(f"gate: {outcome} ({message})", markup=False)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
