"""``baryon train KIND --dataset NAME[:VERSION] ...``: one tracked training run.

Prints the run (id, status, test metrics, registered version). A run that ends
``failed_validation`` or ``failed`` prints one line ``error[<code>]: <reason>`` on stderr
and exits 1 (with ``--json`` the run is printed on stdout first).

With ``--background`` the same checks run, then the run is queued as a ``train`` job
for a worker (``baryon serve``'s, or ``baryon worker``) and the command returns at once
with the run's and the job's ids.
"""

from __future__ import annotations

import getpass
from typing import Annotated, Any

import typer

from baryon.cli._common import console, get_workspace, print_json
from baryon.core.errors import InvalidInput
from baryon.core.jsonvalues import loads

__all__ = ["cli_actor", "command", "parse_assignments", "parse_params"]


def cli_actor() -> str:
    """Return the actor recorded for CLI actions: ``cli:<os user>`` (``cli`` if unknown)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry in some containers
        return "cli"


def parse_assignments(items: list[str] | None, *, option: str) -> dict[str, str]:
    """Split ``["a=1", "b=x"]`` into ``{"a": "1", "b": "x"}``.

    Raises
    ------
    InvalidInput
        An item without ``=`` or with an empty key (code ``invalid_option``).
    """
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"{option} {item!r}: expected key=value", code="invalid_option")
        out[key.strip()] = value
    return out


def parse_params(items: list[str] | None) -> dict[str, Any]:
    """Parse ``--param key=value`` items; values are JSON literals when they parse.

    ``max_depth=3`` gives 3, ``alpha=0.1`` 0.1, ``hidden_layer_sizes=[64,32]`` a list,
    ``early_stopping=true`` True, ``solver=adam`` the string ``"adam"``.

    Raises
    ------
    InvalidInput
        ``invalid_option`` (an item without ``=``), ``too_deep`` (a value nesting
        arrays or objects deeper than :data:`baryon.core.jsonvalues.MAX_DEPTH`).
    """
    params: dict[str, Any] = {}
    for key, raw in parse_assignments(items, option="--param").items():
        try:
            params[key] = loads(raw, what=f"--param {key}")
        except InvalidInput:  # too_deep: refused, not read as a string
            raise
        except ValueError:  # not JSON: the text itself
            params[key] = raw
    return params


def command(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="Model kind, e.g. decision_tree, text_classifier.")],
    dataset: Annotated[
        str, typer.Option("--dataset", help="Dataset NAME or NAME:VERSION (needs a split).")
    ],
    target: Annotated[
        str | None,
        typer.Option("--target", help="Target column (default: the label/rating column)."),
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", help="Estimator parameter key=value (JSON literal); repeatable."),
    ] = None,
    register: Annotated[
        str | None, typer.Option("--register", help="Register the model under this name.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 42,
    cv_folds: Annotated[
        int, typer.Option("--cv-folds", help="Cross-validation folds on the train split (0: none).")
    ] = 0,
    missing: Annotated[
        str,
        typer.Option(
            "--missing",
            help="At prediction time, a null or absent feature is refused (strict) or filled "
            "in with the training median / most frequent value and flagged (impute).",
        ),
    ] = "strict",
    background: Annotated[
        bool,
        typer.Option("--background", help="Queue it as a job for a worker; return at once."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run as JSON.")] = False,
) -> None:
    """Train KIND on a dataset version: a tracked run with honest test-split metrics."""
    from baryon.training.trainer import Trainer

    ws = get_workspace(ctx)
    trainer = Trainer(ws, actor=cli_actor())
    spec = trainer.resolve(
        kind,
        dataset,
        target=target,
        params=parse_params(param),
        seed=seed,
        cv_folds=cv_folds,
        register=register,
        missing=missing,
    )
    if background:
        from baryon.jobs import JobQueue
        from baryon.training.jobs import submit_training

        _print_submitted(submit_training(trainer, JobQueue(ws.db, ws.clock), spec), as_json)
        return
    run = trainer.execute(trainer.start(spec).id, spec)
    if as_json:
        print_json(run.to_dict())
    else:
        _print_run_summary(run)
    run.raise_for_status()


def _print_submitted(submitted: Any, as_json: bool) -> None:
    if as_json:
        print_json(submitted.to_dict())
        return
    run = submitted.run
    console.print(
        f"run [bold]{run.id}[/bold]  {run.kind} on {run.dataset_ref}  status [bold]queued[/bold]"
        f"  (job {submitted.job.id})"
    )
    console.print(f"follow it with: baryon runs show {run.id}", markup=False)


def _print_run_summary(run: Any) -> None:
    from rich.table import Table

    console.print(
        f"run [bold]{run.id}[/bold]  {run.kind} on {run.dataset_ref}  "
        f"status [bold]{run.status}[/bold]"
    )
    if run.status != "succeeded":
        return
    table = Table("metric (test split)", "value")
    for name, value in run.metrics.items():
        if name.startswith(("validation_", "cv_")) or name == "fit_seconds":
            continue
        table.add_row(name, "n/a" if value is None else f"{value:.4f}")
    console.print(table)
    registered = run.extra.get("registered")
    if registered:
        console.print(f"registered as {registered['name']}:{registered['version']}")
