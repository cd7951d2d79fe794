"""``baryon demo``: train every solution on the bundled real data, then serve them."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from baryon.cli._common import console, err_console, get_workspace, print_json
from baryon.ml.encoders import INSTALL_HINT, nlp_available
from baryon.solutions.sentiment.pipeline import KIND, default_kind

__all__ = ["billing_commands", "command", "flywheel_summary"]


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def curl_examples(base: str, key: str) -> str:
    """Ready-to-paste requests for the four solutions' routes."""
    auth = f'-H "Authorization: Bearer {key}"'
    json_h = '-H "Content-Type: application/json"'
    return "\n".join(
        [
            "# customer-service assistant",
            f"curl -s {auth} {json_h} -X POST {base}/v1/support/answer \\",
            """  -d '{"text": "I still have not received my new card, what should I do?"}'""",
            "# financial sentiment and topic",
            f"curl -s {auth} {json_h} -X POST {base}/v1/sentiment/analyze \\",
            """  -d '{"texts": ["$AAPL beats estimates, shares jump 5% after hours"]}'""",
            f'curl -s {auth} "{base}/v1/sentiment/index?window=1h"',
            f"curl -s {auth} {base}/v1/sentiment/alerts",
            "# wine recommendations (a known user, then an unknown one)",
            f'curl -s {auth} "{base}/v1/recommendations/1356810?n=5"',
            f'curl -s {auth} "{base}/v1/recommendations/no-such-user?n=5"',
            "# concrete compressive strength (MPa) through the generic predict route",
            f"curl -s {auth} {json_h} -X POST {base}/v1/models/concrete-strength/predict \\",
            """  -d '{"inputs": [{"cement": 540, "blast_furnace_slag": 0, "fly_ash": 0, """
            """"water": 162, "superplasticizer": 2.5, "coarse_aggregate": 1040, """
            """"fine_aggregate": 676, "age_days": 28}]}'""",
            "# usage of the demo organization",
            f'curl -s {auth} "{base}/v1/usage?group_by=endpoint"',
        ]
    )


def billing_commands(ws: Any) -> str:
    """The operator's commands that invoice the demo organization (docs/billing.md).

    Parameters
    ----------
    ws : Workspace
        The demo's workspace, after :meth:`baryon.demo.Demo.tenant`.

    Returns
    -------
    str
        Lines ready to paste: the running period's preview now, and once the period
        has ended, ``billing close`` for the month it started in, the PDF and
        ``billing reconcile``; empty when the demo organization has no subscription.
    """
    from baryon.commerce.orgs import active_subscription, get_org
    from baryon.core.scope import SYSTEM
    from baryon.demo import DEMO_ORG

    with ws.db.session(SYSTEM) as session:
        sub = active_subscription(session, get_org(session, DEMO_ORG).id)
    if sub is None:
        return ""
    start, end = sub.period(ws.clock.now())
    home = f"baryon --home {ws.settings.home}"
    month = start.strftime("%Y-%m")
    return "\n".join(
        [
            f"# billing of the {DEMO_ORG} organization (docs/billing.md)",
            f"{home} billing preview {DEMO_ORG} --pdf {DEMO_ORG}-preview.pdf  # this period so far",
            f"# once its period has ended ({end:%Y-%m-%d %H:%M} UTC):",
            f"{home} billing close --period {month}",
            f"{home} invoices list --org {DEMO_ORG}",
            f"{home} invoices pdf INVOICE_ID -o {DEMO_ORG}-invoice.pdf",
            f"{home} billing reconcile --period {month}",
        ]
    )


def _wide() -> Console:
    """The stdout console, at least 140 columns wide when it is not a terminal."""
    if console.is_terminal:
        return console
    return Console(width=max(console.width, 140))


def _print_details(details: dict[str, Any]) -> None:
    """The tabular R²/RMSE table and the support hand-off trade-off."""
    tabular = details.get("tabular") or {}
    if tabular.get("table"):
        t = Table(title="concrete-strength: test R² / RMSE (gradient descent vs closed form)")
        for col in ("model", "test R²", "test RMSE (MPa)", "registered"):
            t.add_column(col)
        for row in tabular["table"]:
            r2, rmse = row.get("test_r2"), row.get("test_rmse")
            t.add_row(
                str(row["model"]),
                "—" if r2 is None else f"{r2:.4f}",
                "—" if rmse is None else f"{rmse:.3f}",
                "yes" if row.get("registered") else "",
            )
        _wide().print(t)
    handoff = (details.get("support") or {}).get("handoff") or {}
    point = handoff.get("at_threshold") or {}
    if point:
        console.print(
            f"Support hand-off threshold {handoff['threshold']:.3f} (rule {handoff['rule']}, "
            f"calibrated on CLINC150 validation): in-scope accuracy "
            f"{point['in_scope_accuracy']:.3f}, out-of-scope recall {point['oos_recall']:.3f}, "
            f"in-scope hand-off rate {point['in_scope_handoff_rate']:.3f}."
        )


def flywheel_summary(flywheel: dict[str, Any]) -> str:
    """One paragraph on the demo's flywheel cycle, saying plainly the annotator is simulated."""
    if not flywheel or "skipped" in flywheel:
        return f"Flywheel: skipped ({flywheel.get('skipped', 'not run')})."
    cycle = flywheel.get("cycle") or {}
    report = cycle.get("report") or {}
    text = (
        f"Flywheel of {flywheel.get('model')} with a SIMULATED annotator: "
        f"{flywheel.get('questions')} held-out questions (its validation split, never "
        f"trained on) were asked of the support assistant; {flywheel.get('handed_off')} "
        f"were handed off and queued for labeling, and a simulated annotator labelled "
        f"{flywheel.get('labelled')} of them with the dataset's own intents — no person "
        f"labelled anything. "
    )
    if report.get("error"):
        return text + f"Cycle {cycle.get('id')} failed: {report['error'].get('message')}."
    text += f"Cycle {cycle.get('id')}: {report.get('decision', cycle.get('status'))}"
    dataset = report.get("dataset")
    metrics = report.get("metrics")
    if dataset and metrics:
        delta = metrics["delta"]["accuracy"]
        low, high = delta["ci95"]
        text += (
            f"; {sum((report.get('rows_added') or {}).values())} rows added "
            f"({dataset['parent']} → {dataset['new']}, test split frozen), retrained with the "
            f"champion's recipe; accuracy on the frozen test split "
            f"{metrics['champion']['accuracy']:.4f} → {metrics['candidate']['accuracy']:.4f} "
            f"({delta['value']:+.4f}, 95 % interval [{low:+.4f}, {high:+.4f}]"
            + ("; it contains 0: this test split cannot tell the two apart" if low <= 0 <= high
               else "")
            + ")"
        )  # fmt: skip
    message = report.get("message")
    text += f". {message}" if message else "."
    if flywheel.get("reused"):
        text += " (Cycle from an earlier run of the demo, not run again.)"
    return text


def command(
    ctx: typer.Context,
    home: Annotated[
        str | None, typer.Option("--home", help="Workspace directory (default: BARYON_HOME).")
    ] = None,
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Stop after training; do not start the server.")
    ] = False,
    port: Annotated[
        int | None, typer.Option("--port", help="Port to serve on (default BARYON_PORT, 8000).")
    ] = None,
    results_md: Annotated[
        Path | None,
        typer.Option("--results-md", help="Also write the results table as markdown here."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
) -> None:
    """Run the whole demo on the bundled real data, then serve it on 127.0.0.1."""
    from baryon.demo import Demo, results_markdown

    ws = get_workspace(ctx, home)
    host = "127.0.0.1"
    port = ws.settings.port if port is None else port
    if not no_serve and not _port_free(host, port):
        from baryon.core.errors import Conflict

        raise Conflict(
            f"port {port} on {host} is in use; pass --port or --no-serve", code="port_in_use"
        )
    err_console.print(f"Baryon demo in {ws.settings.home}")
    with Progress(
        TextColumn("{task.description:<12}"),
        BarColumn(),
        TextColumn("{task.fields[step]}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
        disable=not err_console.is_terminal,
    ) as bar:
        tasks: dict[str, TaskID] = {}
        said: dict[str, str] = {}

        def progress(solution: str, message: str, fraction: float) -> None:
            if solution not in tasks:
                tasks[solution] = bar.add_task(solution, total=1.0, step="")
            bar.update(tasks[solution], completed=max(0.0, min(1.0, fraction)), step=message)
            if not err_console.is_terminal and said.get(solution) != message:
                said[solution] = message  # a log line per step when there is no live bar
                err_console.print(f"{solution:<12} {message}", highlight=False)

        result = Demo(ws, progress=progress).run()

    if as_json:
        print_json(result.to_dict())
    else:
        table = Table(title="Results on held-out test splits")
        columns = ("solution", "model", "metric", "Baryon", "baseline", "reference", "target")
        for col in (*columns, "met"):
            table.add_column(col)
        for r in result.rows:
            table.add_row(
                r.solution,
                r.model,
                r.metric,
                f"[{'green' if r.met else 'red'}]{r.value:.3f}[/]",
                f"{r.baseline_value:.3f} ({r.baseline})",
                r.reference or "—",
                r.target,
                "yes" if r.met else "[red]no[/]",
            )
        _wide().print(table)
        if not nlp_available():
            console.print(
                "Text models are TF-IDF only: the nlp extra is not installed "
                f"({escape(INSTALL_HINT)}); with it, support, sentiment and topic use a "
                "pretrained "
                "encoder and meet their targets."
            )
        elif default_kind() != KIND:
            console.print(
                "Sentiment and topic are TF-IDF models here: this CPU has no native "
                "bfloat16, so fine-tuning the pretrained encoder would take tens of "
                "minutes. SentimentPipeline(ws, kind='transformer_classifier').run() "
                "fine-tunes it anyway (docs/solutions/sentiment.md)."
            )
        _print_details(result.details)
        feed = result.feed
        console.print(
            f"Sentiment monitor: replayed {feed.get('items')} held-out news items (test split, "
            f"shuffled) at a fixed SYNTHETIC arrival rate (one every "
            f"{feed.get('interval_seconds', 60):.0f} s); "
            f"{feed.get('accepted')} new, {feed.get('duplicates')} already stored, "
            f"{feed.get('alerts')} alerts fired."
        )
        console.print(flywheel_summary(result.flywheel), markup=False, highlight=False)
    if results_md is not None:
        results_md.write_text(results_markdown(result.rows, result.seconds))
    key_note = (
        "created now — shown once here" if result.api_key_new else "reused from an earlier run"
    )
    err_console.print(
        f"Organization [bold]{result.org}[/bold] on plan pro; API key ({key_note}), "
        f"also kept in {result.api_key_file} (mode 0600):"
    )
    typer.echo(result.api_key or "")
    typer.echo(billing_commands(ws))
    err_console.print(f"Demo finished in {result.seconds:.0f} s.")
    if no_serve:
        return
    import uvicorn

    from baryon.serving._http import server_options
    from baryon.serving.app import create_app

    base = f"http://{host}:{port}"
    typer.echo(curl_examples(base, result.api_key or "<key>"))
    err_console.print(
        f"Serving on {base} (docs at {base}/docs); web console at {base}/console/ "
        "(sign in with the API key above); Ctrl-C to stop."
    )
    app = create_app(ws.settings, workspace=ws)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        server_header=False,
        **server_options(ws.settings),
    )
