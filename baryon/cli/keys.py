"""``baryon keys create|list|revoke``: API keys of an organization."""

from __future__ import annotations

from typing import Annotated

import typer

from baryon.cli._common import console, err_console, get_workspace, print_json
from baryon.cli.plans import cli_actor

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help="API keys.")


@app.command("create")
def create_cmd(
    ctx: typer.Context,
    org: Annotated[str, typer.Option("--org", help="Organization name or id.")],
    role: Annotated[
        str, typer.Option("--role", help="owner, admin, developer, annotator or viewer.")
    ],
    name: Annotated[str, typer.Option("--name", help="A label for the key.")] = "",
    expires: Annotated[
        str | None, typer.Option("--expires", help="Lifetime such as 30d, 12h, 2w.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Make a key and print it. It is shown this once: only its hash is kept."""
    from baryon.commerce.orgs import get_org
    from baryon.tenancy.keys import create_key, parse_duration

    ws = get_workspace(ctx)
    expires_at = None if expires is None else ws.clock.now() + parse_duration(expires)
    with ws.db.session() as session:
        found = get_org(session, org)
        created = create_key(
            session,
            org_id=found.id,
            role=role,
            name=name,
            expires_at=expires_at,
            actor=cli_actor(),
            clock=ws.clock,
        )
    if as_json:
        print_json({**created.key.to_dict(ws.clock.now()), "secret": created.secret})
        return
    typer.echo(created.secret)
    err_console.print(
        f"[bold]{created.key.role}[/bold] key {created.key.id} for {found.name}"
        + (f", expires {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else "")
        + ". Store it now: it is not shown again."
    )


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    org: Annotated[str, typer.Option("--org", help="Organization name or id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List an organization's keys (prefix and status; never the secret)."""
    from baryon.commerce.orgs import get_org
    from baryon.tenancy.keys import list_keys

    ws = get_workspace(ctx)
    now = ws.clock.now()
    with ws.db.session() as session:
        keys = list_keys(session, get_org(session, org).id)
    if as_json:
        print_json([k.to_dict(now) for k in keys])
        return
    from rich.table import Table

    table = Table("key", "prefix", "role", "name", "status", "expires", "last used")
    for k in keys:
        table.add_row(
            k.id,
            k.prefix + "...",
            k.role,
            k.name or "-",
            k.status(now),
            f"{k.expires_at:%Y-%m-%d %H:%M}" if k.expires_at else "-",
            f"{k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "never",
        )
    console.print(table)


@app.command("revoke")
def revoke_cmd(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(help="The key's id (key_...).")],
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Revoke even the organization's last active owner or admin key "
            "(recover with: baryon keys create --org ORG --role owner).",
        ),
    ] = False,
) -> None:
    """Revoke a key: it stops working at once.

    The organization's last active owner or admin key is refused
    (``error[last_admin]``) unless ``--force``.
    """
    from baryon.tenancy.keys import revoke_key

    ws = get_workspace(ctx)
    with ws.db.session() as session:
        key = revoke_key(session, key_id, force=force, actor=cli_actor(), clock=ws.clock)
    typer.echo(f"Revoked {key.id} ({key.prefix}...)")
