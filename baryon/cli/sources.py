"""``baryon sources add|list|show|run|remove``: an organization's data sources.

Commands::

    baryon sources add NAME --kind feed --url URL [--dataset D] [--config JSON]
                       [--auth bearer|basic|header] [--auth-header H]
                       [--secret-env VAR | --secret-ref NAME] [--every 15m | --cron EXPR]
    baryon sources list [--json]
    baryon sources show NAME [--runs 10] [--json]
    baryon sources run NAME [--json]
    baryon sources remove NAME

A credential is never typed on the command line (it would stay in the shell's history):
``--secret-env VAR`` reads it from an environment variable and stores it encrypted;
``--secret-ref NAME`` names an entry of ``BARYON_SOURCE_SECRETS``. ``--every`` or
``--cron`` also makes a ``source_run`` schedule (``source-NAME``) that a worker fires.
See ``docs/sources.md``.
"""

from __future__ import annotations

import json
import os
from typing import Annotated, Any

import typer

from baryon.cli._common import console, get_workspace, print_json
from baryon.cli.train import cli_actor
from baryon.core.errors import InvalidInput

__all__ = ["app", "print_run"]

app = typer.Typer(no_args_is_help=True, help="Data sources: HTTP APIs, feeds and a crawler.")

_JSON = typer.Option("--json", help="Print JSON.")


def print_run(run: dict[str, Any]) -> None:
    """Print a source run (fetched / new / duplicate / failed and the reasons)."""
    version = f"  version {run['version_id']}" if run["version_id"] else ""
    console.print(
        f"{run['id']}  {run['status']}  fetched {run['fetched']}, new {run['new']}, "
        f"duplicate {run['duplicate']}, failed {run['failed']}{version}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    if run["error_code"]:
        console.print(f"  error[{run['error_code']}]: {run['error']}", markup=False, soft_wrap=True)
    for failure in run["report"].get("failures", [])[:20]:
        console.print(
            f"  skipped {failure['where']}: {failure['code']} ({failure['reason']})",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    notes = run["report"].get("notes") or []
    if notes:
        console.print(f"  notes: {', '.join(notes)}", markup=False)


def _config(text: str | None) -> dict[str, Any]:
    if text is None:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        raise InvalidInput("--config is a JSON object", code="invalid_source_config") from None
    if not isinstance(value, dict):
        raise InvalidInput("--config is a JSON object", code="invalid_source_config")
    return value


def _auth(
    kind: str | None, header: str | None, secret_env: str | None, secret_ref: str | None
) -> dict[str, Any] | None:
    if kind is None:
        if secret_env or secret_ref or header:
            raise InvalidInput("--auth names the auth type", code="invalid_auth")
        return None
    auth: dict[str, Any] = {"type": kind}
    if header:
        auth["header"] = header
    if secret_env:
        value = os.environ.get(secret_env)
        if not value:
            raise InvalidInput(
                f"the environment variable {secret_env} is not set", code="invalid_auth"
            )
        auth["secret"] = value
    if secret_ref:
        auth["secret_ref"] = secret_ref
    return auth


@app.command("add")
def add_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The source's name (unique in the organization).")],
    kind: Annotated[str, typer.Option("--kind", help="http_api, feed or crawl.")],
    url: Annotated[str, typer.Option("--url", help="The start URL (http or https).")],
    dataset: Annotated[
        str | None, typer.Option("--dataset", help="Dataset its runs add to (default NAME).")
    ] = None,
    config: Annotated[
        str | None, typer.Option("--config", help="The kind's options as a JSON object.")
    ] = None,
    auth: Annotated[
        str | None, typer.Option("--auth", help="http_api auth: bearer, basic or header.")
    ] = None,
    auth_header: Annotated[
        str | None, typer.Option("--auth-header", help="The header of --auth header.")
    ] = None,
    secret_env: Annotated[
        str | None,
        typer.Option("--secret-env", help="Read the credential from this environment variable."),
    ] = None,
    secret_ref: Annotated[
        str | None, typer.Option("--secret-ref", help="Name of a BARYON_SOURCE_SECRETS entry.")
    ] = None,
    every: Annotated[
        str | None, typer.Option("--every", help="Also run it every 15m, 1h, 1d ...")
    ] = None,
    cron: Annotated[
        str | None, typer.Option("--cron", help="Also run it on a cron expression (UTC).")
    ] = None,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Add a source (and, with --every or --cron, its schedule)."""
    from baryon.connectors.jobs import SOURCE_RUN, source_schedule_kinds
    from baryon.connectors.sources import add_source, remove_source
    from baryon.jobs.schedules import create_schedule, plan_schedule

    ws = get_workspace(ctx)
    actor = cli_actor()
    made = add_source(
        ws, name=name, kind=kind, url=url, dataset=dataset, config=_config(config),
        auth=_auth(auth, auth_header, secret_env, secret_ref), actor=actor,
    )  # fmt: skip
    schedule = None
    if every is not None or cron is not None:
        try:
            spec = plan_schedule(
                ws, source_schedule_kinds(), kind=SOURCE_RUN, payload={"source": name},
                every=every, cron=cron,
            )  # fmt: skip
            with ws.db.session(ws.scope) as session:
                schedule = create_schedule(
                    session, spec, org_id=ws.scope.org_id or "", actor=actor, clock=ws.clock
                ).to_dict()
        except Exception:
            remove_source(ws, name, actor=actor)  # nothing half-made
            raise
    if as_json:
        print_json({**made, "schedule": schedule})
        return
    console.print(f"{made['id']}  {made['name']}  {made['kind']}  {made['url']}", markup=False)
    if schedule is not None:
        from baryon.cli.schedules import when

        console.print(f"schedule {schedule['name']}: {when(schedule)}", markup=False)


@app.command("list")
def list_cmd(ctx: typer.Context, as_json: Annotated[bool, _JSON] = False) -> None:
    """The organization's sources and their last runs."""
    from baryon.connectors.sources import list_sources

    sources = list_sources(get_workspace(ctx))
    if as_json:
        print_json(sources)
        return
    if not sources:
        console.print("no sources (add one with: baryon sources add NAME --kind feed --url URL)")
    for source in sources:
        last = source["last_run"]
        state = "never run" if last is None else (
            f"last {last['status']} {last['finished_at']}: new {last['new']}"
        )  # fmt: skip
        console.print(
            f"{source['name']:<24} {source['kind']:<9} {source['url']}  {state}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


@app.command("show")
def show_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The source.")],
    runs: Annotated[int, typer.Option("--runs", min=0, max=500, help="Latest runs shown.")] = 10,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """A source (never its credential) and its latest runs."""
    from baryon.connectors.sources import get_source

    source = get_source(get_workspace(ctx), name, runs=runs)
    if as_json:
        print_json(source)
        return
    console.print(
        f"{source['id']}  {source['name']}  {source['kind']}  {source['url']}", markup=False
    )
    console.print(f"dataset   {source['dataset']}", markup=False)
    console.print(f"config    {json.dumps(source['config'])}", markup=False, highlight=False)
    if source["auth"]:
        console.print(f"auth      {source['auth']['type']} (stored, not shown)", markup=False)
    for run in source["runs"]:
        print_run(run)


@app.command("run")
def run_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The source.")],
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Run a source now; print its report. A failed run exits 1."""
    from baryon.connectors.sources import run_source
    from baryon.solutions.sentiment.subscriptions import sentiment_sinks

    run = run_source(
        get_workspace(ctx), name, actor=cli_actor(), trigger="cli", sinks=sentiment_sinks()
    )
    if as_json:
        print_json(run)
    else:
        print_run(run)
    if run["status"] != "succeeded":
        raise typer.Exit(1)


@app.command("remove")
def remove_cmd(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The source.")]
) -> None:
    """Remove a source and its runs (its dataset versions and schedules stay)."""
    from baryon.connectors.sources import remove_source

    remove_source(get_workspace(ctx), name, actor=cli_actor())
    console.print(f"removed source {name}", markup=False)
