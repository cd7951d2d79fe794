"""``baryon iterations create|list|show|add|move|close``: time boxes with metric goals.

They act as the workspace's organization: the global ``--org NAME`` (or
``BARYON_ORG``), else the operator organization. Dates on the command line are
``YYYY-MM-DD`` (a whole day in UTC: ``--starts`` at its first instant, ``--ends`` at its
last) or ISO 8601 datetimes with a time zone (``2026-12-21T17:00:00+01:00``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from baryon.cli._common import console, get_workspace, print_json
from baryon.core.errors import InvalidInput

if TYPE_CHECKING:
    from baryon.flywheel.iterations import Iteration

__all__ = ["app", "parse_when"]

app = typer.Typer(
    no_args_is_help=True, help="Iterations: time boxes with metric goals and a Kanban board."
)

_Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]
_Iteration = Annotated[str, typer.Argument(help="The iteration's name or id (it_...).")]


def parse_when(text: str, *, end: bool = False) -> datetime:
    """Read a command-line date or datetime.

    ``YYYY-MM-DD`` is a whole day in UTC: its first instant, or with ``end`` its last
    (``23:59:59.999999``). A datetime must carry its time zone.

    Raises
    ------
    InvalidInput
        ``invalid_datetime``.
    """
    value = text.strip()
    try:
        day = date.fromisoformat(value)
    except ValueError:
        day = None
    if day is not None and len(value) == 10:
        return datetime.combine(day, time.max if end else time.min, tzinfo=UTC)
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise InvalidInput(
            f"invalid date {value[:40]!r}: write YYYY-MM-DD or an ISO 8601 datetime with a "
            "time zone (2026-12-21T17:00:00+01:00)",
            code="invalid_datetime",
        )
    return when


def _actor() -> str:
    from baryon.cli.train import cli_actor

    return cli_actor()


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def _day(value: datetime) -> str:
    return value.isoformat(timespec="minutes").replace("+00:00", "Z")


def _linked(item: dict[str, Any]) -> str:
    """One line about the object an item links to."""
    linked = item["linked"]
    if item["kind"] == "task":
        return ""
    if linked is None:
        return f"{item['ref']} (gone)"
    if item["kind"] == "labeling":
        p = linked["progress"]
        return f"{linked['name']}: {p['done']}/{p['total']} done, {p['review']} in review"
    if item["kind"] == "run":
        metrics = ", ".join(f"{k}={_fmt(v)}" for k, v in list(linked["metrics"].items())[:2])
        return f"{item['ref']} {linked['status']} {metrics}".rstrip()
    return f"{item['ref']} {linked['status']}"


def _print_iteration(shown: Iteration) -> None:
    from rich.markup import escape
    from rich.table import Column, Table

    data = shown.to_dict()
    console.print(
        f"[bold]{shown.name}[/bold] ({shown.id})  {shown.status}  "
        f"{_day(shown.starts_at)} → {_day(shown.ends_at)}",
        highlight=False,
    )
    board = Table(
        *(Column(f"{st} ({len(items)})", overflow="fold") for st, items in data["items"].items()),
        show_lines=True,
    )
    cells = {
        state: [
            f"[bold]{escape(i['title'])}[/bold]\n{i['kind']} · {escape(i['owner'] or 'unassigned')}"
            + (f"\n{escape(_linked(i))}" if _linked(i) else "")
            + f"\n[dim]{i['id']}[/dim]"
            for i in items
        ]
        for state, items in data["items"].items()
    }
    rows = max((len(c) for c in cells.values()), default=0)
    for n in range(rows):
        board.add_row(*(c[n] if n < len(c) else "" for c in cells.values()))
    console.print(board)
    if not shown.goals:
        console.print("no goals")
        return
    goals = Table(
        "goal", "value", "met", "trajectory (flywheel cycles in the time box)", highlight=False
    )
    for g in shown.goals:
        spec = f"{g.goal.model} {g.goal.metric} {g.goal.op} {g.goal.target:g}"
        path = " → ".join(f"{_fmt(p.value)} ({p.status})" for p in g.trajectory)
        version = f" (v{g.champion_version})" if g.champion_version is not None else ""
        goals.add_row(
            spec, _fmt(g.value) + version, "yes" if g.met else "no", path or "no cycles yet"
        )
    console.print(goals)
    if shown.status == "closed":
        console.print(
            f"closed {_day(shown.closed_at or shown.ends_at)}: "
            f"{shown.summary.get('met', 0)} of {shown.summary.get('total', 0)} goals met",
            highlight=False,
        )


@app.command("create")
def create_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Unique in the organization.")],
    ends: Annotated[str, typer.Option("--ends", help="End: YYYY-MM-DD (that whole day) or ISO.")],
    starts: Annotated[
        str | None, typer.Option("--starts", help="Start: YYYY-MM-DD or ISO (default: now).")
    ] = None,
    goal: Annotated[
        list[str] | None,
        typer.Option("--goal", help="'MODEL METRIC>=TARGET' (or <=); repeatable."),
    ] = None,
    as_json: _Json = False,
) -> None:
    """Create an iteration: a time box with metric goals on the models' test splits."""
    from baryon.flywheel.iterations import create_iteration, parse_goal

    goals = [parse_goal(text) for text in goal or []]
    starts_at = None if starts is None else parse_when(starts)
    ends_at = parse_when(ends, end=True)
    ws = get_workspace(ctx)
    with ws.db.session(ws.scope) as session:
        made = create_iteration(
            session, org_id=str(ws.scope.org_id), name=name, starts_at=starts_at,
            ends_at=ends_at, goals=goals, actor=_actor(), clock=ws.clock,
        )  # fmt: skip
    if as_json:
        print_json(made.to_dict())
        return
    _print_iteration(made)


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option("--status", help="open or closed.")] = None,
    as_json: _Json = False,
) -> None:
    """List iterations, newest time box first, with their items per state."""
    from baryon.flywheel.iterations import list_iterations

    ws = get_workspace(ctx)
    with ws.db.session(ws.scope) as session:
        found = list_iterations(session, status=status)
    if as_json:
        print_json([i.to_dict() for i in found])
        return
    from rich.table import Table

    table = Table("name", "status", "starts", "ends", "goals", "todo", "doing", "done")
    for i in found:
        table.add_row(
            i.name, i.status, i.starts_at.date().isoformat(), i.ends_at.date().isoformat(),
            str(len(i.goals)),
            *(str(i.counts[state]) for state in ("todo", "doing", "done")),
        )  # fmt: skip
    console.print(table)


@app.command("show")
def show_cmd(ctx: typer.Context, iteration: _Iteration, as_json: _Json = False) -> None:
    """Show the Kanban board and each goal with its trajectory across flywheel cycles."""
    from baryon.flywheel.iterations import show_iteration

    ws = get_workspace(ctx)
    with ws.db.session(ws.scope) as session:
        shown = show_iteration(session, iteration)
    if as_json:
        print_json(shown.to_dict())
        return
    _print_iteration(shown)


@app.command("add")
def add_cmd(
    ctx: typer.Context,
    iteration: _Iteration,
    kind: Annotated[str, typer.Argument(help="labeling, run, flywheel or task.")],
    ref: Annotated[
        str | None, typer.Argument(help="The queue (lq_...), run (run_...) or cycle (fw_...).")
    ] = None,
    title: Annotated[str | None, typer.Option("--title", help="Required for a task.")] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="usr_... or a name.")] = None,
    state: Annotated[str, typer.Option("--state", help="todo, doing or done.")] = "todo",
    as_json: _Json = False,
) -> None:
    """Add a work item: a labeling queue, a run, a flywheel cycle, or a free-text task."""
    from baryon.flywheel.iterations import add_item

    ws = get_workspace(ctx)
    with ws.db.session(ws.scope) as session:
        item = add_item(
            session, iteration, kind=kind, ref=ref, title=title, owner=owner, state=state,
            actor=_actor(), clock=ws.clock,
        )  # fmt: skip
    if as_json:
        print_json(item.to_dict())
        return
    console.print(f"added {item.id} ({item.kind}, {item.state}): {item.title}", markup=False)


@app.command("move")
def move_cmd(
    ctx: typer.Context,
    iteration: _Iteration,
    item_id: Annotated[str, typer.Argument(help="The item's id (iti_...).")],
    state: Annotated[str | None, typer.Argument(help="todo, doing or done.")] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="Assign: usr_... or a name.")] = None,
    unassign: Annotated[bool, typer.Option("--unassign", help="Remove the owner.")] = False,
    title: Annotated[str | None, typer.Option("--title", help="Rename the item.")] = None,
    as_json: _Json = False,
) -> None:
    """Move an item to another Kanban state, and/or assign or rename it."""
    from baryon.flywheel.iterations import UNSET, update_item

    if unassign and owner is not None:
        raise InvalidInput("give --owner or --unassign, not both", code="invalid_owner")
    ws = get_workspace(ctx)
    with ws.db.session(ws.scope) as session:
        item = update_item(
            session, iteration, item_id,
            state=UNSET if state is None else state,
            owner=None if unassign else (UNSET if owner is None else owner),
            title=UNSET if title is None else title,
            actor=_actor(), clock=ws.clock,
        )  # fmt: skip
    if as_json:
        print_json(item.to_dict())
        return
    console.print(
        f"{item.id} is {item.state}, {item.owner or 'unassigned'}: {item.title}", markup=False
    )


@app.command("close")
def close_cmd(ctx: typer.Context, iteration: _Iteration, as_json: _Json = False) -> None:
    """Close an iteration: each goal's final value and whether it was met."""
    from baryon.flywheel.iterations import close_iteration

    ws = get_workspace(ctx)
    with ws.db.session(ws.scope) as session:
        closed = close_iteration(session, iteration, actor=_actor(), clock=ws.clock)
    if as_json:
        print_json(closed.to_dict())
        return
    _print_iteration(closed)
