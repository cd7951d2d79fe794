"""``baryon sentiment rules|channels|deliveries``: alert rules and where alerts go.

Commands::

    baryon sentiment rules add KIND THRESHOLD [--window 1h] [--ticker T] [--direction D]
                                              [--min-items N] [--baseline-windows N] [--name N]
    baryon sentiment rules list|enable|disable|remove [RULE] [--json]
    baryon sentiment rules test RULE [--since T] [--until T] [--json]
    baryon sentiment channels add webhook URL | email ADDRESS [--name N]
    baryon sentiment channels list|enable|disable|remove|test [CHANNEL] [--json]
    baryon sentiment deliveries list [--status dead] [--json]
    baryon sentiment deliveries redeliver DELIVERY

Like the other nouns they act on the operator organization, or on the global
``--org``'s. ``channels test`` and ``deliveries redeliver`` send at once, in this
process (a server's worker would otherwise), and print the outcome. See
``docs/alerts.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from baryon.cli._common import console, err_console, get_workspace, parse_time, print_json
from baryon.cli.train import cli_actor

if TYPE_CHECKING:
    from baryon.workspace import Workspace

__all__ = ["channels_app", "deliveries_app", "rules_app"]

rules_app = typer.Typer(no_args_is_help=True, help="The organization's sentiment alert rules.")
channels_app = typer.Typer(no_args_is_help=True, help="Where alerts are delivered.")
deliveries_app = typer.Typer(no_args_is_help=True, help="Deliveries and the dead-letter list.")

_JSON = typer.Option("--json", help="Print JSON.")
_RULE = typer.Argument(help="The rule's id (rule_…) or name.")
_CHANNEL = typer.Argument(help="The channel's id (chn_…) or name.")


def _org(ws: Workspace) -> str:
    from baryon.core.errors import InvalidInput

    if ws.scope.org_id is None:
        raise InvalidInput("alert rules belong to an organization")
    return ws.scope.org_id


def _rule_line(rule: dict[str, Any]) -> str:
    scope = f"${rule['ticker']}" if rule["ticker"] else "all items"
    side = "" if rule["direction"] == "both" else f" {rule['direction']}"
    state = "enabled" if rule["enabled"] else "disabled"
    return (
        f"{rule['id']}  {rule['name']}  {rule['kind']}{side} {rule['threshold']:g}  "
        f"{rule['window']}  {scope}  min {rule['min_items']}  {state}"
    )


def _say(text: str) -> None:
    console.print(text, markup=False, highlight=False, soft_wrap=True)


# ---------------------------------------------------------------------- rules
@rules_app.command("add")
def rules_add(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="index_crossing, index_change or volume_spike.")],
    threshold: Annotated[
        float, typer.Argument(help="Index level (0-1), change (0-2) or spike factor (>1).")
    ],
    window: Annotated[str, typer.Option("--window", help="1h or 1d.")] = "1h",
    ticker: Annotated[str | None, typer.Option("--ticker", help="Default: all items.")] = None,
    direction: Annotated[
        str, typer.Option("--direction", help="both, above, below, up or down.")
    ] = "both",
    min_items: Annotated[int, typer.Option("--min-items", help="Items a window needs.")] = 10,
    baseline_windows: Annotated[
        int | None, typer.Option("--baseline-windows", help="Volume spike: baseline windows.")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="Unique in the organization.")] = None,
    disabled: Annotated[bool, typer.Option("--disabled", help="Make it disabled.")] = False,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Make an alert rule (the organization's first one replaces the default rules)."""
    from baryon.solutions.sentiment.rules import check_rule, create_rule

    ws = get_workspace(ctx)
    spec = check_rule(
        kind=kind, threshold=threshold, window=window, ticker=ticker, direction=direction,
        min_items=min_items, baseline_windows=baseline_windows, name=name,
    )  # fmt: skip
    with ws.db.session(ws.scope) as session:
        made = create_rule(
            session, spec, org_id=_org(ws), actor=cli_actor(), clock=ws.clock,
            enabled=not disabled,
        ).to_dict()  # fmt: skip
    print_json(made) if as_json else _say(_rule_line(made))


@rules_app.command("list")
def rules_list(ctx: typer.Context, as_json: Annotated[bool, _JSON] = False) -> None:
    """List the organization's rules, by name."""
    from baryon.solutions.sentiment.rules import list_rules

    ws = get_workspace(ctx)
    with ws.db.session(ws.scope) as session:
        found = [r.to_dict() for r in list_rules(session)]
    if as_json:
        print_json(found)
    elif not found:
        _say("no rules: the default rules apply")
    else:
        for rule in found:
            _say(_rule_line(rule))


def _rule_write(ctx: typer.Context, rule: str, verb: str, as_json: bool) -> None:
    from baryon.solutions.sentiment.rules import remove_rule, set_rule_enabled

    ws = get_workspace(ctx)
    with ws.db.session(ws.scope) as session:
        if verb == "remove":
            done = remove_rule(session, rule, actor=cli_actor(), clock=ws.clock)
        else:
            on = verb == "enable"
            done = set_rule_enabled(session, rule, on, actor=cli_actor(), clock=ws.clock)
        shown = done.to_dict()
    if as_json:
        print_json(shown)
    else:
        _say(("removed " if verb == "remove" else "") + _rule_line(shown))


@rules_app.command("enable")
def rules_enable(
    ctx: typer.Context, rule: Annotated[str, _RULE], as_json: Annotated[bool, _JSON] = False
) -> None:
    """Enable a rule."""
    _rule_write(ctx, rule, "enable", as_json)


@rules_app.command("disable")
def rules_disable(
    ctx: typer.Context, rule: Annotated[str, _RULE], as_json: Annotated[bool, _JSON] = False
) -> None:
    """Disable a rule: it fires no more until enabled."""
    _rule_write(ctx, rule, "disable", as_json)


@rules_app.command("remove")
def rules_remove(
    ctx: typer.Context, rule: Annotated[str, _RULE], as_json: Annotated[bool, _JSON] = False
) -> None:
    """Remove a rule (its past alerts stay)."""
    _rule_write(ctx, rule, "remove", as_json)


@rules_app.command("test")
def rules_test(
    ctx: typer.Context,
    rule: Annotated[str, _RULE],
    since: Annotated[
        str | None, typer.Option("--since", help="Start (ISO time; default 7 days ago).")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="End (ISO time; default now).")
    ] = None,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """When the rule would have fired over the stored items (writes nothing)."""
    from baryon.solutions.sentiment.rules import backtest_rule, default_test_span, get_rule

    ws = get_workspace(ctx)
    start, end = default_test_span(ws.clock.now())
    start = parse_time(since, "--since") or start
    end = parse_time(until, "--until") or end
    with ws.db.session(ws.scope) as session:
        shown = get_rule(session, rule)
        fired = backtest_rule(session, shown.id, start=start, end=end)
    if as_json:
        print_json(
            {
                "rule": shown.to_dict(),
                "start": start,
                "end": end,
                "fired": [a.to_dict() for a in fired],
            }
        )
        return
    for alert in fired:
        _say(f"would have fired at {alert.fired_at.isoformat()}  {alert.message}")
    err_console.print(
        f"{shown.name}: {len(fired)} firings from {start.isoformat()} to {end.isoformat()}",
        soft_wrap=True,
    )


# ------------------------------------------------------------------- channels
def _channel_line(channel: dict[str, Any]) -> str:
    state = "enabled" if channel["enabled"] else "disabled"
    return f"{channel['id']}  {channel['name']}  {channel['kind']}  {channel['target']}  {state}"


@channels_app.command("add")
def channels_add(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="webhook or email.")],
    target: Annotated[str, typer.Argument(help="The http(s) URL or the e-mail address.")],
    name: Annotated[str | None, typer.Option("--name", help="Unique in the organization.")] = None,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Make a channel; a webhook's signing secret is printed this once."""
    from baryon.solutions.sentiment.delivery import create_channel

    ws = get_workspace(ctx)
    with ws.db.session(ws.scope) as session:
        channel, secret = create_channel(
            session, kind=kind, target=target, name=name, org_id=_org(ws), actor=cli_actor(),
            clock=ws.clock, settings=ws.settings,
        )  # fmt: skip
    if as_json:
        print_json({"channel": channel.to_dict(), "secret": secret})
        return
    _say(_channel_line(channel.to_dict()))
    if secret is not None:
        _say(f"signing secret (shown once, keep it): {secret}")


@channels_app.command("list")
def channels_list(ctx: typer.Context, as_json: Annotated[bool, _JSON] = False) -> None:
    """List the organization's channels (never their secrets)."""
    from baryon.solutions.sentiment.delivery import list_channels

    ws = get_workspace(ctx)
    with ws.db.session(ws.scope) as session:
        found = [c.to_dict() for c in list_channels(session)]
    if as_json:
        print_json(found)
    elif not found:
        _say("no channels: alerts are stored but not delivered")
    else:
        for channel in found:
            _say(_channel_line(channel))


def _channel_write(ctx: typer.Context, channel: str, verb: str, as_json: bool) -> None:
    from baryon.solutions.sentiment.delivery import remove_channel, set_channel_enabled

    ws = get_workspace(ctx)
    with ws.db.session(ws.scope) as session:
        if verb == "remove":
            done = remove_channel(session, channel, actor=cli_actor(), clock=ws.clock)
        else:
            on = verb == "enable"
            done = set_channel_enabled(session, channel, on, actor=cli_actor(), clock=ws.clock)
        shown = done.to_dict()
    if as_json:
        print_json(shown)
    else:
        _say(("removed " if verb == "remove" else "") + _channel_line(shown))


@channels_app.command("enable")
def channels_enable(
    ctx: typer.Context, channel: Annotated[str, _CHANNEL], as_json: Annotated[bool, _JSON] = False
) -> None:
    """Enable a channel."""
    _channel_write(ctx, channel, "enable", as_json)


@channels_app.command("disable")
def channels_disable(
    ctx: typer.Context, channel: Annotated[str, _CHANNEL], as_json: Annotated[bool, _JSON] = False
) -> None:
    """Disable a channel: it receives no new alert."""
    _channel_write(ctx, channel, "disable", as_json)


@channels_app.command("remove")
def channels_remove(
    ctx: typer.Context, channel: Annotated[str, _CHANNEL], as_json: Annotated[bool, _JSON] = False
) -> None:
    """Remove a channel and its deliveries."""
    _channel_write(ctx, channel, "remove", as_json)


def _send_now(ws: Workspace, delivery_id: str, job_id: str | None, as_json: bool) -> None:
    """Run the delivery's job here and print the outcome; exit 1 when it is dead."""
    from baryon.jobs import JobQueue, Worker
    from baryon.solutions.sentiment.delivery import alert_handlers, get_delivery

    queue = JobQueue(ws.db, ws.clock)
    if job_id is not None:
        Worker(ws, alert_handlers(), queue=queue).run_job(job_id)
    with ws.db.session(ws.scope) as session:
        shown = get_delivery(session, delivery_id).to_dict()
    if as_json:
        print_json(shown)
    else:
        code = shown["last_error_code"]
        why = f"  error[{code}]: {shown['last_error']}" if code else ""
        _say(
            f"{shown['id']}  {shown['event']}  {shown['status']}, {shown['attempts']} attempts{why}"
        )
    if shown["status"] == "dead":
        raise typer.Exit(1)


@channels_app.command("test")
def channels_test(
    ctx: typer.Context, channel: Annotated[str, _CHANNEL], as_json: Annotated[bool, _JSON] = False
) -> None:
    """Send a test alert to the channel now (with the retries of a real alert)."""
    from baryon.jobs import JobQueue
    from baryon.solutions.sentiment.delivery import send_test

    ws = get_workspace(ctx)
    with ws.db.session(ws.scope) as session:
        made = send_test(
            session, JobQueue(ws.db, ws.clock), channel, actor=cli_actor(), clock=ws.clock
        )
    _send_now(ws, made.id, made.job_id, as_json)


# ----------------------------------------------------------------- deliveries
@deliveries_app.command("list")
def deliveries_list(
    ctx: typer.Context,
    status: Annotated[
        str | None, typer.Option("--status", help="pending, delivered or dead.")
    ] = None,
    channel: Annotated[str | None, typer.Option("--channel", help="One channel's.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500)] = 50,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """List deliveries, newest first (``--status dead``: the dead-letter list)."""
    from baryon.solutions.sentiment.delivery import list_deliveries

    ws = get_workspace(ctx)
    with ws.db.session(ws.scope) as session:
        found = [
            d.to_dict()
            for d in list_deliveries(session, status=status, channel=channel, limit=limit)
        ]
    if as_json:
        print_json(found)
        return
    if not found:
        _say("no deliveries")
    for d in found:
        why = f"  error[{d['last_error_code']}]" if d["last_error_code"] else ""
        _say(
            f"{d['id']}  {d['created_at'][:19]}  {d['event']}  {d['status']}  "
            f"{d['attempts']} attempts  channel {d['channel_id']}{why}"
        )


@deliveries_app.command("redeliver")
def deliveries_redeliver(
    ctx: typer.Context,
    delivery: Annotated[str, typer.Argument(help="The delivery's id (dlv_…).")],
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Send a dead delivery again now, with fresh attempts."""
    from baryon.jobs import JobQueue
    from baryon.solutions.sentiment.delivery import redeliver

    ws = get_workspace(ctx)
    with ws.db.session(ws.scope) as session:
        again = redeliver(
            session, JobQueue(ws.db, ws.clock), delivery, actor=cli_actor(), clock=ws.clock
        )
    _send_now(ws, again.id, again.job_id, as_json)
