"""``baryon grants list|create|revoke``: share models and datasets with other organizations.

They act as the workspace's organization: the global ``--org NAME`` (or
``BARYON_ORG``), else the operator organization.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from baryon.cli._common import console, get_workspace, print_json
from baryon.cli.plans import cli_actor

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help="Share models and datasets (grants).")


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Grants the organization gave and received."""
    from baryon.tenancy.grants import list_grants

    ws = get_workspace(ctx)
    with ws.db.session(ws.scope) as session:
        found = list_grants(session, str(ws.scope.org_id))
    out = {side: [g.to_dict() for g in grants] for side, grants in found.items()}
    if as_json:
        print_json(out)
        return
    table = Table("id", "side", "owner", "object", "grantee", "permission", "created")
    for side, grants in out.items():
        for g in grants:
            table.add_row(
                g["id"],
                side,
                g["owner"],
                f"{g['object_type']} {g['object_name']}",
                g["grantee"],
                g["permission"],
                g["created_at"][:19],
            )
    console.print(table)


@app.command("create")
def create_cmd(
    ctx: typer.Context,
    object_type: Annotated[str, typer.Argument(help="model or dataset.")],
    name: Annotated[str, typer.Argument(help="The object's name in your organization.")],
    grantee: Annotated[
        str, typer.Option("--to", help="Organization name or id, or '*' for every organization.")
    ],
    permission: Annotated[
        str, typer.Option("--permission", help="read, or predict (models only).")
    ] = "read",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Give another organization read or predict on one of your models or datasets."""
    from baryon.tenancy.grants import create_grant

    ws = get_workspace(ctx)
    with ws.db.session(ws.scope) as session:
        grant = create_grant(
            session,
            owner_org_id=str(ws.scope.org_id),
            object_type=object_type,
            object_name=name,
            grantee=grantee,
            permission=permission,
            actor=cli_actor(),
            clock=ws.clock,
        )
    if as_json:
        print_json(grant.to_dict())
        return
    console.print(
        f"{grant.id}: {grant.grantee} may {grant.permission} {grant.object_type} "
        f"{grant.owner}/{grant.object_name}"
    )


@app.command("revoke")
def revoke_cmd(
    ctx: typer.Context,
    grant_id: Annotated[str, typer.Argument(help="The grant's id (grant_...).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Revoke one of your grants (effective on the next request)."""
    from baryon.tenancy.grants import revoke_grant

    ws = get_workspace(ctx)
    with ws.db.session(ws.scope) as session:
        grant = revoke_grant(
            session, owner_org_id=str(ws.scope.org_id), grant_id=grant_id, actor=cli_actor()
        )
    if as_json:
        print_json(grant.to_dict())
        return
    console.print(f"revoked {grant.id}")
