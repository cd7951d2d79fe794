"""The ``baryon`` command line: global options, error handling, noun sub-apps.

Every error that reaches :func:`main` prints one line ``error[<code>]: <message>``
on stderr and exits with status 1; ``--debug`` (or ``BARYON_DEBUG=1``) shows the
traceback instead. Usage errors (an unknown option or command, a missing option, a
value of the wrong type) print the same one line with code ``usage`` and exit with
status 2, for every command at once: they are handled here, not per command.
"""

from __future__ import annotations

import importlib
import sys
from typing import Annotated

import typer

from baryon import __version__
from baryon.cli._common import CliState, get_workspace, print_json
from baryon.core.errors import BaryonError

__all__ = ["app", "main"]

app = typer.Typer(
    name="baryon",
    help="Baryon: raw data to a metered AI API, and a data flywheel that keeps improving it.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

#: (module under baryon.cli, command name, help). Mounted if the module exists.
_NOUNS: tuple[tuple[str, str, str], ...] = (
    ("data", "data", "Ingest, clean, split and inspect datasets."),
    ("sources", "sources", "Data sources: HTTP APIs, feeds and a crawler, on schedules."),
    ("train", "train", "Train a model on a dataset version (a tracked run)."),
    ("tune", "tune", "Hyperparameter search: every trial a tracked run, the best gated."),
    ("score", "score", "Batch-score a dataset version with a model into a new version."),
    ("runs", "runs", "List and inspect training runs."),
    ("federated", "federated", "Federated learning across data silos (Flower)."),
    ("models", "models", "Registry: model versions, evaluation, promotion gate."),
    ("serve", "serve", "Serve the HTTP API."),
    ("worker", "worker", "Run background jobs until SIGTERM or SIGINT."),
    ("jobs", "jobs", "List, inspect and cancel background jobs."),
    ("iterations", "iterations", "Iterations: time boxes with metric goals and a Kanban board."),
    ("flywheel", "flywheel", "The data flywheel: new labels → new version → retrain → gate."),
    ("plans", "plans", "Subscription plans."),
    ("orgs", "orgs", "Organizations (tenants)."),
    ("keys", "keys", "API keys."),
    ("grants", "grants", "Share models and datasets with other organizations."),
    ("audit", "audit", "The tamper-evident audit log: list, export, verify."),
    ("encryption", "encryption", "Encryption at rest of sensitive datasets: key rotation."),
    ("usage", "usage", "Usage records of an organization."),
    ("billing", "billing", "Close billing periods into invoices, reconcile, export usage."),
    ("invoices", "invoices", "Invoices: list, show, PDF, issue, pay, void, reissue."),
    ("licence", "licence", "On-premises licences: keygen, issue, verify, install, show."),
    ("support", "support", "Customer-service assistant."),
    ("sentiment", "sentiment", "Financial news sentiment and topic monitor."),
    ("labeling", "labeling", "Labeling queues and annotation."),
    ("demo", "demo", "Run the whole demo on the bundled real data."),
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"baryon {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    home: Annotated[
        str | None,
        typer.Option("--home", help="Workspace directory (default: $BARYON_HOME or ~/.baryon)."),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")] = False,
    org: Annotated[
        str | None,
        typer.Option(
            "--org",
            envvar="BARYON_ORG",
            help="Act as this organization (name or id): its datasets, runs and models "
            "(default: the workspace's operator organization).",
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """Baryon command line."""
    ctx.obj = CliState(home=home, debug=debug, org=org)


@app.command("init")
def init_cmd(
    ctx: typer.Context,
    home: Annotated[
        str | None, typer.Option("--home", help="Workspace directory to initialise.")
    ] = None,
) -> None:
    """Create (or upgrade) a workspace: home directory, database schema, artifact store."""
    ws = get_workspace(ctx, home)
    typer.echo(f"Workspace ready at {ws.settings.home} (schema {ws.db.schema_version()})")


@app.command("info")
def info_cmd(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the workspace: home, database URL (no password), schema version, counts."""
    info = get_workspace(ctx).info()
    if as_json:
        print_json(info)
        return
    from rich.table import Table

    from baryon.cli._common import console

    console.print(f"[bold]home[/bold]            {info['home']}")
    console.print(f"[bold]database[/bold]        {info['database_url']}")
    console.print(f"[bold]artifacts[/bold]       {info['artifact_root']}")
    console.print(
        f"[bold]schema[/bold]          {info['schema_version']} (code {info['schema_head']})"
    )
    table = Table("object", "count")
    for name, count in info["counts"].items():
        table.add_row(name, str(count))
    console.print(table)


def _mount_nouns() -> None:
    for module_name, command, help_text in _NOUNS:
        try:
            module = importlib.import_module(f"baryon.cli.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"baryon.cli.{module_name}":
                continue  # that part of Baryon is not built yet
            raise
        if hasattr(module, "app"):
            app.add_typer(module.app, name=command, help=help_text)
        elif hasattr(module, "command"):
            app.command(command, help=help_text)(module.command)


_mount_nouns()


def _one_line(text: str) -> str:
    """Join a message's lines (library messages, e.g. PyYAML's, can span several)."""
    return " ".join(line.strip() for line in str(text).splitlines() if line.strip())


def _click_exceptions() -> tuple[type[Exception], type[Exception]]:
    """Return the ``UsageError`` and ``NoArgsIsHelpError`` classes of the click Typer runs on.

    Typer raises the exceptions of the click it ships with (vendored in some versions),
    so they are looked up from one of its public exceptions rather than imported from
    ``click``.
    """
    exceptions = importlib.import_module(typer.BadParameter.__module__)
    return exceptions.UsageError, exceptions.NoArgsIsHelpError


def _usage_message(exc: Exception) -> str:
    """One line for a click usage error: its message and where the help is."""
    message = _one_line(exc.format_message()) if hasattr(exc, "format_message") else str(exc)
    message = message.rstrip(".")
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        message = f"{message} (see '{ctx.command_path} --help')"
    return message


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; print one line per error (traceback only with ``--debug``).

    Exit status: 0 on success, 1 for an error, 2 for a usage error
    (``error[usage]: ...``), 130 when interrupted. A command group called with no
    arguments prints its help (exit status 2, as click does).
    """
    import os

    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("BARYON_DEBUG", "").lower() in ("1", "true")
    usage_error, no_args_is_help = _click_exceptions()
    try:
        status = app(args=args, prog_name="baryon", standalone_mode=False)
        # click answers a typer.Exit raised inside a command with its exit code (it
        # raises only outside one): exit with it rather than 0
        if isinstance(status, int) and not isinstance(status, bool) and status:
            sys.exit(status)
    except no_args_is_help as exc:
        exc.show()  # type: ignore[attr-defined]  # the group's help, as asked for
        sys.exit(2)
    except usage_error as exc:
        typer.echo(f"error[usage]: {_usage_message(exc)}", err=True)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(130)
    except BaryonError as exc:
        if debug:
            raise
        typer.echo(f"error[{exc.code}]: {_one_line(exc.message)}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:
        if debug:
            raise
        typer.echo(
            f"error[internal_error]: {type(exc).__name__}: {_one_line(str(exc))} "
            "(run with --debug for details)",
            err=True,
        )
        sys.exit(1)
