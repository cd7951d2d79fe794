"""``baryon audit list|export|verify``: the tamper-evident audit log.

Without the global ``--org`` these commands see every organization's events (the
operator's view); with it, that organization's only. ``verify`` always checks the
whole chain (it spans organizations) and exits 1 at the first bad event.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from baryon.cli._common import console, get_workspace, parse_time, print_json
from baryon.core.jsonvalues import dumps

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help="The tamper-evident audit log.")

_Actor = Annotated[
    str | None, typer.Option("--actor", help="Who acted: key:<id>, cli:<user>, system.")
]
_Action = Annotated[
    str | None,
    typer.Option("--action", help="An action (key.revoke), or a prefix ending in * (model.*)."),
]
_ObjectType = Annotated[
    str | None, typer.Option("--object-type", help="Kind of object (model, organization, ...).")
]
_ObjectId = Annotated[str | None, typer.Option("--object-id", help="The object's id.")]
_Since = Annotated[
    str | None, typer.Option("--since", help="From this ISO date or time (UTC if no zone).")
]
_Until = Annotated[str | None, typer.Option("--until", help="Before this ISO date or time.")]


def _filters(
    ctx: typer.Context,
    actor: str | None,
    action: str | None,
    object_type: str | None,
    object_id: str | None,
    since: str | None,
    until: str | None,
) -> dict[str, Any]:
    ws = get_workspace(ctx)
    scoped = getattr(ctx.find_root().obj, "org", None) is not None
    return {
        "org_id": ws.scope.org_id if scoped else None,
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "since": parse_time(since, "--since"),
        "until": parse_time(until, "--until"),
    }


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    actor: _Actor = None,
    action: _Action = None,
    object_type: _ObjectType = None,
    object_id: _ObjectId = None,
    since: _Since = None,
    until: _Until = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List audit events, newest first."""
    from baryon.core.audit import audit_event_dict, list_audit_events

    filters = _filters(ctx, actor, action, object_type, object_id, since, until)
    ws = get_workspace(ctx)
    with ws.db.session() as session:
        events = [
            audit_event_dict(e)
            for e in list_audit_events(session, **filters, limit=limit, newest_first=True)
        ]
    if as_json:
        print_json(events)
        return
    from rich.table import Table

    table = Table("#", "at (UTC)", "actor", "action", "object", "org")
    for e in events:
        table.add_row(
            str(e["seq"]),
            f"{e['at']:%Y-%m-%d %H:%M:%S}",
            e["actor"],
            e["action"],
            f"{e['object_type']}:{e['object_id']}",
            e["org_id"] or "-",
        )
    console.print(table)


@app.command("export")
def export_cmd(
    ctx: typer.Context,
    actor: _Actor = None,
    action: _Action = None,
    object_type: _ObjectType = None,
    object_id: _ObjectId = None,
    since: _Since = None,
    until: _Until = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here (default: stdout).")
    ] = None,
) -> None:
    """Write matching events as JSON Lines, oldest first, each with its chain value."""
    from baryon.core.audit import audit_event_dict, iter_audit_events

    filters = _filters(ctx, actor, action, object_type, object_id, since, until)
    ws = get_workspace(ctx)
    count = 0
    with ws.db.session() as session:
        out = sys.stdout.buffer if output is None else output.open("wb")
        try:
            for event in iter_audit_events(session, **filters):
                out.write(dumps(audit_event_dict(event, chain=True)) + b"\n")
                count += 1
        finally:
            if output is None:
                out.flush()
            else:
                out.close()
    if output is not None:
        typer.echo(f"Wrote {count} audit events to {output}", err=True)


@app.command("verify")
def verify_cmd(
    ctx: typer.Context,
    anchor: Annotated[
        list[str] | None,
        typer.Option(
            "--anchor",
            help="SEQ:CHAIN printed by an earlier verify; that event must still be there "
            "(repeatable).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Recompute the whole chain; name the first edited, deleted, inserted or moved event.

    Exits 1 when the chain is broken.
    """
    from baryon.core.audit import parse_anchor, verify_audit_chain

    anchors = tuple(parse_anchor(a) for a in anchor or [])
    ws = get_workspace(ctx)
    with ws.db.session() as session:
        report = verify_audit_chain(session, anchors=anchors)
    if as_json:
        print_json(report.to_dict())
        if not report.ok:
            raise typer.Exit(1)
        return
    report.raise_if_broken()
    noun = "event" if report.events == 1 else "events"
    typer.echo(
        f"audit chain ok: {report.events} {noun}; head {report.head_seq}:{report.head_chain} "
        "(keep it as an --anchor)"
    )
