"""``baryon score MODEL --dataset REF``: batch-score a dataset version into a new version.

See :mod:`baryon.predictions.scoring`. Prints the new version (``--json``: its summary).
"""

from __future__ import annotations

from typing import Annotated

import typer

from baryon.cli._common import console, get_workspace, print_json
from baryon.cli.train import cli_actor

__all__ = ["command"]


def command(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="Model name (OWNER/NAME for a shared one).")],
    dataset: Annotated[str, typer.Option("--dataset", help="Dataset NAME or NAME:VERSION.")],
    version: Annotated[
        int | None, typer.Option("--version", help="Model version (default: the champion).")
    ] = None,
    output: Annotated[
        str | None,
        typer.Option("--output", help="Dataset the scored version goes to (default: NAME-scored)."),
    ] = None,
    batch_rows: Annotated[
        int, typer.Option("--batch-rows", help="Rows per model pass (memory bound).")
    ] = 4096,
    as_json: Annotated[bool, typer.Option("--json", help="Print the new version as JSON.")] = False,
) -> None:
    """Score every row of a dataset version with MODEL: a new version with a prediction column."""
    from baryon.predictions.scoring import score_dataset

    scored = score_dataset(
        get_workspace(ctx),
        model,
        dataset,
        version=version,
        output=output,
        batch_rows=batch_rows,
        actor=cli_actor(),
    )
    if as_json:
        print_json({**scored.summary(), "lineage": scored.lineage})
        return
    facts = scored.lineage
    console.print(
        f"scored {scored.row_count} row(s) of {dataset} with "
        f"{facts.get('model')}:{facts.get('model_version')} -> [bold]{scored.ref}[/bold] "
        f"({scored.id})"
    )
