"""``baryon federated run``: train one model across silos with Flower; rows never move.

Runs in the foreground: a Flower SuperLink and one SuperNode per silo start on
loopback, the rounds run, and the model is registered (see docs/federated.md). With
``--background`` the run is queued as a ``federated`` job for a worker instead.
Acts as the global ``--org`` (or the operator organization).
"""

from __future__ import annotations

from typing import Annotated

import typer

from baryon.cli._common import get_workspace, print_json
from baryon.cli.train import _print_run_summary, _print_submitted, cli_actor, parse_params

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help="Federated learning across data silos (Flower).")


@app.command("run")
def run_cmd(
    ctx: typer.Context,
    model: Annotated[str, typer.Option("--model", help="Register the model under this name.")],
    kind: Annotated[
        str, typer.Option("--kind", help="hashed_text_classifier or linear_regression_gd.")
    ],
    silos: Annotated[
        str,
        typer.Option("--silos", help="Comma-separated dataset references, e.g. a,acme/b:2,c."),
    ],
    rounds: Annotated[int, typer.Option("--rounds", help="Federated rounds.")] = 5,
    strategy: Annotated[
        str, typer.Option("--strategy", help="fedavg, fedprox, fedmedian or fedtrimmedavg.")
    ] = "fedavg",
    dp_clip: Annotated[
        float | None, typer.Option("--dp-clip", help="DP: L2 clipping norm of each update.")
    ] = None,
    dp_noise: Annotated[
        float | None, typer.Option("--dp-noise", help="DP: Gaussian noise multiplier σ.")
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", help="Hyper-parameter key=value (e.g. local_epochs=3)."),
    ] = None,
    target: Annotated[str | None, typer.Option("--target", help="Target column.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 42,
    background: Annotated[
        bool, typer.Option("--background", help="Queue it as a job for a worker.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run as JSON.")] = False,
) -> None:
    """Train one model across silos (dataset versions); each silo's rows stay in its process."""
    from baryon.federated import FederatedTrainer

    ws = get_workspace(ctx)
    trainer = FederatedTrainer(ws, actor=cli_actor())
    spec = trainer.resolve(
        model,
        kind,
        [s.strip() for s in silos.split(",") if s.strip()],
        rounds=rounds,
        strategy=strategy,
        params=parse_params(param),
        seed=seed,
        dp_clip=dp_clip,
        dp_noise=dp_noise,
        target=target,
    )
    if background:
        from baryon.federated.jobs import submit_federated
        from baryon.jobs import JobQueue

        _print_submitted(submit_federated(trainer, JobQueue(ws.db, ws.clock), spec), as_json)
        return
    run = trainer.train(spec)
    if as_json:
        print_json(run.to_dict())
    else:
        _print_run_summary(run)
    run.raise_for_status()
