"""Helpers shared by the CLI's noun modules: workspace access and output."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from baryon.core.config import Settings
from baryon.core.jsonvalues import dumps
from baryon.workspace import Workspace

__all__ = [
    "READ_ONLY_COMMANDS",
    "CliState",
    "command_name",
    "console",
    "err_console",
    "get_settings",
    "get_workspace",
    "parse_time",
    "print_json",
    "write_output",
]

console = Console()
err_console = Console(stderr=True)


@dataclass
class CliState:
    """What the global options decided; stored on the Typer context as ``obj``."""

    home: Path | str | None = None
    debug: bool = False
    org: str | None = None
    workspace: Workspace | None = field(default=None, repr=False)


def _state(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    return root.obj


def global_org(ctx: typer.Context) -> str | None:
    """The global ``--org`` as given (a name or id), or ``None``."""
    return _state(ctx).org


def get_settings(ctx: typer.Context, home: Path | str | None = None) -> Settings:
    """Build :class:`Settings` once, from the environment and the global ``--home``."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from baryon.core.errors import InvalidHome, InvalidInput

    state = _state(ctx)
    chosen = home if home is not None else state.home
    if chosen is not None and not str(chosen).strip():
        raise InvalidHome("--home is empty; give a directory")
    chosen = None if chosen is None else Path(chosen)
    try:
        settings = Settings(home=chosen) if chosen is not None else Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"BARYON_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
            for err in exc.errors()
        )
        raise InvalidInput(f"invalid setting: {problems}", code="invalid_setting") from None
    except SettingsError as exc:  # an environment value that is not JSON where JSON is read
        raise InvalidInput(f"invalid setting: {exc}", code="invalid_setting") from None
    return settings


#: Commands that change nothing in the workspace, or must run on a read-only install:
#: the others are refused there (``licence_read_only``). ``serve`` checks each request
#: itself; ``support ask`` and ``sentiment analyze`` are serving, which keeps answering;
#: ``licence install`` is how a renewed licence lifts it; ``billing account`` checks when
#: it is asked to change something.
READ_ONLY_COMMANDS = frozenset(
    {
        "init", "info", "usage", "serve",
        "data list", "data show", "data history", "data export",
        "runs list", "runs show", "runs compare",
        "models list", "models show",
        "jobs list", "jobs show", "jobs schedules list", "jobs schedules show",
        "iterations list", "iterations show",
        "flywheel list", "flywheel show",
        "plans list", "plans prices",
        "orgs list", "orgs show",
        "keys list",
        "grants list",
        "audit list", "audit export", "audit verify",
        "billing preview", "billing reconcile", "billing export-stripe", "billing account",
        "invoices list", "invoices show", "invoices pdf",
        "licence keygen", "licence issue", "licence verify", "licence install", "licence show",
        "support ask", "sentiment analyze",
        "labeling queues", "labeling show", "labeling tasks", "labeling agreement",
        "labeling export",
    }
)  # fmt: skip


def command_name(ctx: typer.Context) -> str:
    """The command being run, without the program name (``"orgs create"``)."""
    return ctx.command_path.split(" ", 1)[1] if " " in ctx.command_path else ""


def get_workspace(ctx: typer.Context, home: Path | str | None = None) -> Workspace:
    """Open (and migrate) the workspace named by ``--home`` / ``BARYON_HOME``.

    The workspace is opened once per command and closed when the command ends. With
    the global ``--org`` it is that organization's view (its datasets, runs and
    models, and those shared with it); otherwise the operator organization's.

    On an install whose licence is read-only (expired, grace period over) a command
    that is not in :data:`READ_ONLY_COMMANDS` is refused before it does anything.

    Raises
    ------
    LicenceError
        ``licence_read_only``, or the installed licence is broken.
    """
    state = _state(ctx)
    if state.workspace is None:
        opened = Workspace.open(get_settings(ctx, home))
        ctx.find_root().call_on_close(opened.close)
        state.workspace = opened if state.org is None else opened.for_org(state.org)
        if command_name(ctx) not in READ_ONLY_COMMANDS:
            state.workspace.require_writable()
    return state.workspace


def print_json(obj: Any) -> None:
    """Print ``obj`` as indented JSON on stdout (no colour, no wrapping).

    Values follow the one policy of :mod:`baryon.core.jsonvalues` (NaN/inf as null,
    datetimes ISO 8601 UTC, Decimals and paths as strings, NumPy values as Python).
    """
    typer.echo(dumps(obj, indent=2).decode("utf-8"))


def parse_time(text: str | None, name: str) -> datetime | None:
    """Parse an option's ISO 8601 date or time (``2026-01-31``, ``2026-01-31T12:00+02:00``).

    A time without a zone is UTC. Returns ``None`` for ``None``.

    Raises
    ------
    InvalidInput
        Code ``invalid_time``, naming the option ``name``.
    """
    from baryon.core.errors import InvalidInput

    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"{name} must be an ISO date or time such as 2026-01-31, got {text!r}",
            code="invalid_time",
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def write_output(path: Path, data: bytes) -> Path:
    """Write ``data`` to the file ``path`` a command was given (``-o``), whole or not at all.

    The bytes go to a hidden file beside ``path``, renamed over it once complete, so a
    failed write leaves no partial file (and an existing one untouched).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    InvalidInput
        ``invalid_path``: its folder does not exist, it is a folder, or the system
        refuses the write (the reason named, e.g. "Permission denied").
    """
    import os
    import secrets

    from baryon.core.errors import InvalidInput

    path = Path(path).expanduser()
    if not path.parent.is_dir():
        raise InvalidInput(f"folder {path.parent} does not exist", code="invalid_path")
    if path.is_dir():
        raise InvalidInput(f"{path} is a folder; give a file name", code="invalid_path")
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    try:
        partial.write_bytes(data)
        os.replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise InvalidInput(f"cannot write {path}: {exc.strerror}", code="invalid_path") from None
    return path
