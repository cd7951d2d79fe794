"""``baryon sentiment``: score texts, write a held-out feed, replay a feed through the monitor.

Commands::

    baryon sentiment analyze "TEXT" ["TEXT" ...] [--json]
    baryon sentiment feed OUT.jsonl [--n 200] [--interval 60]
    baryon sentiment replay FILE.jsonl [--speed N] [--window 1h] [--min-items 10] [--json]
    baryon sentiment rules add|list|enable|disable|test|remove ...
    baryon sentiment channels add|list|enable|disable|test|remove ...
    baryon sentiment deliveries list|redeliver ...
    baryon sentiment subscribe FEED_URL (--every 5m | --cron EXPR) [--tickers AAPL,MSFT]
                               [--name NAME] [--no-run] [--json]

``replay`` reads a JSON Lines feed of ``{"id", "published_at", "source", "text",
"tickers"}`` items, scores them with the champions of ``sentiment`` and ``topic``, and
plays them through an in-memory monitor in time order, printing each alert as it
fires. Nothing is stored. ``--speed 0`` (the default) plays as fast as possible;
``--speed 60`` plays an hour of feed time in a minute.

``rules``, ``channels`` and ``deliveries``: :mod:`baryon.cli.alerts`.
``subscribe`` makes a feed source whose new items the monitor scores and indexes, and
a schedule that runs it (a worker fires it: ``baryon serve`` or ``baryon worker``);
unless ``--no-run`` it also runs once now. See ``docs/sources.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from baryon.cli._common import console, err_console, get_workspace, print_json
from baryon.cli.alerts import channels_app, deliveries_app, rules_app

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help="Financial news sentiment and topic monitor.")
app.add_typer(rules_app, name="rules")
app.add_typer(channels_app, name="channels")
app.add_typer(deliveries_app, name="deliveries")


@app.command("analyze")
def analyze_cmd(
    ctx: typer.Context,
    texts: Annotated[list[str], typer.Argument(help="Texts to score.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Sentiment (Bearish / Bullish / Neutral) and topic of each text."""
    from baryon.solutions.sentiment.service import SentimentScorer

    scorer = SentimentScorer.from_workspace(get_workspace(ctx))
    results = scorer.analyze(texts)
    if as_json:
        print_json(
            {
                "model_version": scorer.sentiment.version,
                "topic_model_version": None if scorer.topic is None else scorer.topic.version,
                "results": [r.to_dict() for r in results],
            }
        )
        return
    for text, r in zip(texts, results, strict=True):
        topic = "" if r.topic is None else f"  topic {r.topic} ({r.topic_probability:.2f})"
        console.print(
            f"{r.label:<8} {r.probabilities[r.label]:.2f}{topic}  {text}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


@app.command("feed")
def feed_cmd(
    ctx: typer.Context,
    out: Annotated[Path, typer.Argument(help="JSON Lines file to write.")],
    n: Annotated[int, typer.Option("--n", min=1, help="Number of items.")] = 200,
    interval: Annotated[
        float, typer.Option("--interval", min=0.001, help="Seconds between items.")
    ] = 60.0,
) -> None:
    """Write held-out (test split) news items as a dated feed, with SYNTHETIC timestamps.

    The texts are real held-out tweets; their times are made up: one item every
    ``--interval`` seconds, the last one now.
    """
    from baryon.solutions.sentiment.pipeline import SentimentPipeline, write_feed

    items = SentimentPipeline(get_workspace(ctx)).held_out_feed(n, interval_seconds=interval)
    write_feed(items, out)
    err_console.print(
        f"wrote {len(items)} held-out items to {out} "
        f"(synthetic timestamps, one every {interval:g} s)",
        soft_wrap=True,
    )


@app.command("replay")
def replay_cmd(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="JSON Lines feed of news items.")],
    speed: Annotated[
        float,
        typer.Option("--speed", min=0.0, help="Feed seconds per real second (0: no waiting)."),
    ] = 0.0,
    window: Annotated[str, typer.Option("--window", help="Rule window: 1h or 1d.")] = "1h",
    min_items: Annotated[
        int, typer.Option("--min-items", min=1, help="Items a window needs before a rule fires.")
    ] = 10,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON summary at the end.")
    ] = False,
) -> None:
    """Replay a dated feed through the monitor and print alerts as they fire."""
    from baryon.solutions.sentiment.monitor import IndexChange, IndexCrossing, VolumeSpike
    from baryon.solutions.sentiment.service import SentimentScorer, read_feed, replay

    ws = get_workspace(ctx)
    rules = (
        IndexCrossing(window=window, min_items=min_items),
        IndexChange(window=window, min_items=min_items),
        VolumeSpike(window=window, min_items=min_items),
    )
    items = read_feed(file, max_text_chars=ws.settings.max_text_chars)
    scorer = SentimentScorer.from_workspace(ws)

    def show(alert: Any, by_id: dict[str, Any]) -> None:
        if as_json:
            return
        causes = ", ".join(alert.item_ids[:3]) + (" ..." if alert.item_count > 3 else "")
        console.print(
            f"{alert.fired_at.isoformat()}  ALERT  {alert.message}  "
            f"[{alert.item_count} items: {causes}]",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )

    summary = replay(items, scorer, rules=rules, speed=speed, on_alert=show)
    if as_json:
        print_json(
            {
                "items": summary.items,
                "duplicates": summary.duplicates,
                "labels": summary.labels,
                "alerts": [a.to_dict() for a in summary.alerts],
                "index": None if summary.index is None else summary.index.to_dict(),
            }
        )
        return
    idx = summary.index
    mood = "n/a" if idx is None or idx.index is None else f"{idx.index:+.2f}"
    band = "" if idx is None else f" [{idx.low:+.2f}, {idx.high:+.2f}], n={idx.n}"
    err_console.print(
        f"replayed {summary.items} items ({summary.duplicates} duplicate ids skipped): "
        f"{summary.labels}; {len(summary.alerts)} alerts; last {window} mood index {mood}{band}",
        soft_wrap=True,
    )


@app.command("subscribe")
def subscribe_cmd(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="An RSS or Atom feed URL.")],
    every: Annotated[
        str | None, typer.Option("--every", help="Fetch it every 5m, 1h, ... (at least 60 s).")
    ] = None,
    cron: Annotated[
        str | None, typer.Option("--cron", help="Or on a cron expression (UTC).")
    ] = None,
    tickers: Annotated[
        str | None, typer.Option("--tickers", help="Comma-separated tickers for every item.")
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Source name (default sentiment-<hash>).")
    ] = None,
    run_now: Annotated[bool, typer.Option("--run/--no-run", help="Also fetch it once now.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Subscribe the live monitor to a feed: its items are fetched, scored and indexed."""
    from baryon.cli.schedules import when
    from baryon.cli.sources import print_run
    from baryon.cli.train import cli_actor
    from baryon.connectors.sources import run_source
    from baryon.solutions.sentiment.subscriptions import sentiment_sinks, subscribe

    ws = get_workspace(ctx)
    actor = cli_actor()
    chosen = [t for t in (tickers or "").split(",") if t.strip()]
    made = subscribe(ws, url, every=every, cron=cron, tickers=chosen, name=name, actor=actor)
    run = None
    if run_now:
        run = run_source(
            ws, made["source"]["name"], actor=actor, trigger="cli", sinks=sentiment_sinks()
        )
    if as_json:
        print_json({**made, "run": run})
        return
    console.print(
        f"subscribed {made['source']['name']} to {made['source']['url']}: "
        f"{when(made['schedule'])} (schedule {made['schedule']['name']})",
        markup=False,
        soft_wrap=True,
    )
    if run is not None:
        print_run(run)
        sink = run["report"].get("sink") or {}
        if sink:
            console.print(
                f"  indexed {sink['accepted']} items, {len(sink['alerts'])} alerts fired",
                markup=False,
            )
