"""``baryon labeling agreement|export|import``: agreement report and label files.

The functions :func:`agreement`, :func:`export` and :func:`import_` are the commands;
the ``labeling`` group (:mod:`baryon.cli.labeling`) mounts them. They act as the
workspace's organization: the global ``--org NAME`` (or ``BARYON_ORG``), else the
operator organization.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from baryon.cli._common import console, err_console, get_workspace, print_json, write_output
from baryon.cli.plans import cli_actor

__all__ = ["agreement", "export", "import_"]

_QUEUE = Annotated[str, typer.Argument(help="The labeling queue's name.")]
_JSON = Annotated[bool, typer.Option("--json", help="Print JSON.")]
_FROM_NAME = Annotated[
    str, typer.Option("--from-name", help="Label Studio's Choices control name.")
]


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def agreement(ctx: typer.Context, queue: _QUEUE, as_json: _JSON = False) -> None:
    """Inter-annotator agreement of a queue: kappas, alpha, per annotator."""
    from baryon.labeling.agreement import load_ratings
    from baryon.labeling.queue import get_queue

    ws = get_workspace(ctx)
    with ws.db.session(ws.scope) as session:
        found = get_queue(session, queue)
        name, ratings = found.name, load_ratings(session, found)
    out = {"queue": name, **ratings.report().to_dict()}
    if as_json:
        print_json(out)
        return
    console.print(
        f"[bold]{name}[/bold]: {out['annotations']} label(s) by {out['annotators']} "
        f"annotator(s) on {out['tasks']} task(s), {out['shared_tasks']} with two or more"
    )
    table = Table("measure", "value", "tasks", "note")
    table.add_row("percent agreement", _num(out["percent_agreement"]), str(out["shared_tasks"]), "")
    for key, title in (
        ("cohen_kappa", "Cohen's kappa"),
        ("fleiss_kappa", "Fleiss' kappa"),
        ("krippendorff_alpha", "Krippendorff's alpha"),
    ):
        m = out[key]
        table.add_row(title, _num(m["value"]), str(m["items"]), m["note"] or "")
    console.print(table)
    people = Table("annotator", "labels", "skips", "mean pairwise κ", "vs consensus", "note")
    for a in out["per_annotator"]:
        people.add_row(
            a["annotator"], str(a["annotations"]), str(a["skipped"]),
            _num(a["mean_pairwise_kappa"]),
            f"{_num(a['consensus_agreement'])} of {a['consensus_tasks']}", a["note"] or "",
        )  # fmt: skip
    console.print(people)


def export(
    ctx: typer.Context,
    queue: _QUEUE,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write here (default: standard output).")
    ] = None,
    format: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="label-studio, csv or jsonl (default: from --out's suffix, else label-studio).",
        ),
    ] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="Only tasks with this status.")
    ] = None,
    from_name: _FROM_NAME = "label",
    label_config: Annotated[
        Path | None,
        typer.Option("--label-config", help="Also write the Label Studio labeling config here."),
    ] = None,
) -> None:
    """Export a queue's tasks, annotations and suggestions as a label file."""
    from baryon.labeling.interop import export_labels, format_for_path, queue_input_fields
    from baryon.labeling.interop import label_config as make_config
    from baryon.labeling.queue import get_queue

    fmt = format or (format_for_path(out, None) if out and out.suffix else "label-studio")
    ws = get_workspace(ctx)
    with ws.db.session(ws.scope) as session:
        found = get_queue(session, queue)
        data = export_labels(session, found, format=fmt, status=status, from_name=from_name)
        config = make_config(
            found, input_fields=queue_input_fields(session, found), from_name=from_name
        )
    if label_config is not None:
        write_output(label_config, config.encode())
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    write_output(out, data)
    err_console.print(f"wrote {len(data)} bytes to {out}")


def import_(
    ctx: typer.Context,
    queue: _QUEUE,
    path: Annotated[Path, typer.Argument(help="The file (.json, .csv, .jsonl).")],
    format: Annotated[
        str | None, typer.Option("--format", help="label-studio, csv or jsonl (default: suffix).")
    ] = None,
    from_name: _FROM_NAME = "label",
    to_name: Annotated[
        str | None,
        typer.Option(
            "--to-name",
            help="Label Studio's object name in results (default: text, else the first "
            "input field).",
        ),
    ] = None,
    input_field: Annotated[
        list[str] | None,
        typer.Option("--input-field", help="An input field (repeatable; default: the queue's)."),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and report only.")] = False,
    as_json: _JSON = False,
) -> None:
    """Import a Label Studio export, CSV or JSONL file into a queue (all or nothing)."""
    from baryon.core.errors import InvalidFile, InvalidInput
    from baryon.labeling.interop import format_for_path, import_labels
    from baryon.labeling.queue import get_queue

    fmt = format_for_path(path, format)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidFile(f"cannot read {path}: {exc.strerror}", code="file_not_found") from None
    ws = get_workspace(ctx)
    try:
        with ws.db.session(ws.scope) as session:
            found = get_queue(session, queue)
            report = import_labels(
                session, found, data, format=fmt, clock=ws.clock, actor=cli_actor(),
                from_name=from_name, to_name=to_name, input_fields=input_field or None,
                dry_run=dry_run,
                may_review=True,  # the command line acts as the organization
                max_text_chars=ws.settings.max_text_chars,
            )  # fmt: skip
            out = {"queue": found.name, **report.to_dict()}
    except InvalidInput as exc:
        if exc.code == "import_rejected":
            _print_bad(exc.details, as_json)
        raise
    if as_json:
        print_json(out)
    else:
        _print_summary(out, dry_run)
    if out["bad"]:  # a dry run of a file that an import would refuse: exit non-zero too
        if not as_json:
            _print_bad(out, False)
        raise InvalidInput(
            f"{out['bad']} of {out['tasks']} task(s) are bad; an import of this file would "
            "import nothing",
            code="import_rejected",
        )


def _print_summary(out: dict[str, Any], dry_run: bool) -> None:
    good = out["tasks"] - out["bad"]
    reviewed = f" ({out['reviewed']} by an admin's review)" if out["reviewed"] else ""
    counts = (
        f"{out['created']} new, {out['merged']} merged, {out['annotations']} annotation(s) "
        f"added, {out['unchanged']} already there; {out['done']} done{reviewed}, "
        f"{out['review']} to review, {out['skipped']} skipped"
    )
    if not dry_run:
        console.print(f"imported {out['tasks']} task(s) into {out['queue']}: {counts}")
    elif not out["bad"]:
        console.print(f"would import {out['tasks']} task(s) into {out['queue']}: {counts}")
    else:
        console.print(
            f"would import nothing into {out['queue']}: {out['bad']} of {out['tasks']} "
            f"task(s) are bad; the {good} good task(s) alone would give: {counts}"
        )


def _print_bad(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(report)
        return
    table = Table("task", "id", "line", "why", title=f"{report.get('bad', 0)} bad task(s)")
    for bad in report.get("bad_tasks", []):
        table.add_row(
            str(bad["task"]), bad["id"] or "", "" if bad["line"] is None else str(bad["line"]),
            "; ".join(bad["reasons"]),
        )  # fmt: skip
    err_console.print(table)
