"""``baryon labeling sample QUEUE DATASET``: queue the rows a model is least sure of.

Scores a dataset version with the champion of the queue's model and puts the ``n``
most uncertain rows on the queue (:mod:`baryon.labeling.sampling`). :func:`sample`
is the command; the ``labeling`` group (:mod:`baryon.cli.labeling`) mounts it.
"""

from __future__ import annotations

from typing import Annotated

import typer

from baryon.cli._common import console, get_workspace, print_json

__all__ = ["sample"]


def sample(
    ctx: typer.Context,
    queue: Annotated[str, typer.Argument(help="Labeling queue name.")],
    dataset: Annotated[str, typer.Argument(help="Dataset reference (NAME, NAME:N).")],
    strategy: Annotated[
        str,
        typer.Option("--strategy", help="least_confidence, margin, entropy or random."),
    ] = "margin",
    n: Annotated[int, typer.Option("--n", "-n", help="Tasks to queue (1 to 1000).")] = 50,
    diversity: Annotated[
        bool, typer.Option("--diversity", help="Cluster candidates: not one question n times.")
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    max_rows: Annotated[
        int, typer.Option("--max-rows", help="Most rows scored (1 to 100000).")
    ] = 10_000,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Score DATASET with QUEUE's champion and queue the N rows it is least sure of."""
    from baryon.cli.train import cli_actor
    from baryon.labeling.sampling import sample_for_labeling

    ws = get_workspace(ctx)
    result = sample_for_labeling(
        ws, queue, dataset, strategy=strategy, n=n, diversity=diversity, seed=seed,
        max_rows=max_rows, actor=cli_actor(),
    )  # fmt: skip
    out = result.to_dict()
    if as_json:
        print_json(out)
        return
    from rich.table import Table
    from rich.text import Text

    console.print(
        f"Queued {out['enqueued']} of {out['requested']} on {out['queue']} "
        f"from {out['dataset']} ({out['strategy']}{', diverse' if out['diversity'] else ''}; "
        f"{out['model']} v{out['model_version']}): {out['rows_scored']} rows scored, "
        f"{out['already_queued']} already queued, {out['in_test_split']} in the test split",
        markup=False,
        highlight=False,
    )
    table = Table("task", "score", "suggestion", "confidence", "input")
    for task in out["tasks"]:
        text = str(task["input"].get("text", task["input"]))
        table.add_row(
            task["task_id"],
            f"{task['score']:.3f}",
            Text(task["suggested_label"]),  # user data: never read as markup
            f"{task['confidence']:.3f}",
            Text(text if len(text) <= 60 else text[:57] + "..."),
        )
    console.print(table)
