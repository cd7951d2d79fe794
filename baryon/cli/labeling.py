"""``baryon labeling``: labeling queues and annotation, on the server host.

Commands::

    baryon labeling queues [--json]
    baryon labeling create NAME --model MODEL [--class C ...] [--overlap K]
                           [--min-agreement X] [--instructions TEXT] [--json]
    baryon labeling show NAME [--json]
    baryon labeling update NAME [--overlap K] [--min-agreement X] [--instructions TEXT]
    baryon labeling tasks NAME [--status S] [--limit N] [--json]
    baryon labeling claim NAME [--as ANNOTATOR] [--json]
    baryon labeling submit TASK_ID LABEL [--as ANNOTATOR] [--seconds S] [--json]
    baryon labeling skip TASK_ID --reason TEXT [--as ANNOTATOR] [--json]
    baryon labeling review TASK_ID LABEL [--json]

They work on the workspace directly (no server, no key), as the organization of the
global ``--org NAME`` (or ``BARYON_ORG``), else the operator organization; the same
rules as the API (:mod:`baryon.labeling`). Without a key there is no user: the
annotator is ``--as`` (default ``cli:<os user>``). Creating and updating queues and
reviews are audited as ``cli:<os user>``.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from baryon.cli import labeling_io, labeling_sample
from baryon.cli._common import console, get_workspace, print_json
from baryon.cli.plans import cli_actor

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help="Labeling queues and annotation.")

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
Annotator = Annotated[
    str | None,
    typer.Option("--as", help="Who annotates (default: cli:<os user>)."),
]


def _annotator(value: str | None) -> str:
    """The annotator id: ``--as``, else ``cli:<os user>`` (at most 40 characters)."""
    from baryon.core.errors import InvalidInput

    who = cli_actor() if value is None else value.strip()
    if not who or len(who) > 40:
        raise InvalidInput("--as is 1 to 40 characters", code="invalid_annotator")
    return who


def _task_line(task: dict[str, Any]) -> str:
    suggestion = task["suggested_label"]
    if suggestion is not None and task["confidence"] is not None:
        suggestion = f"{suggestion} ({task['confidence']:.2f})"
    return f"{task['id']}  {task['status']}  suggestion {suggestion}  input {task['input']}"


@app.command("queues")
def queues_cmd(ctx: typer.Context, as_json: AsJson = False) -> None:
    """The organization's labeling queues."""
    from baryon.labeling.service import list_queues

    ws = get_workspace(ctx)
    with ws.db.session(ws.scope) as session:
        queues = [q.to_dict() for q in list_queues(session)]
    if as_json:
        print_json(queues)
        return
    table = Table("name", "model", "classes", "overlap", "min agreement")
    for q in queues:
        table.add_row(
            q["name"], q["model"], str(len(q["classes"])), str(q["overlap"]),
            f"{q['min_agreement']:g}",
        )  # fmt: skip
    console.print(table)


@app.command("create")
def create_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The queue's name (unique in the organization).")],
    model: Annotated[str, typer.Option("--model", help="The registered model it labels for.")],
    classes: Annotated[
        list[str] | None,
        typer.Option(
            "--class",
            help="A label annotators may give, one of the model champion's classes "
            "(repeat; default: all of them).",
        ),
    ] = None,
    overlap: Annotated[int, typer.Option("--overlap", help="Annotators per task.")] = 1,
    min_agreement: Annotated[
        float,
        typer.Option("--min-agreement", help="Least share of labels the majority needs."),
    ] = 0.5,
    instructions: Annotated[
        str | None, typer.Option("--instructions", help="Shown with each claimed task.")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Create a labeling queue for a model."""
    from baryon.labeling.service import create_queue, queue_classes
    from baryon.predictions.inference import RegistryModelResolver

    ws = get_workspace(ctx)
    labels = queue_classes(RegistryModelResolver(ws), model, scope=ws.scope, classes=classes)
    with ws.db.session(ws.scope) as session:
        queue = create_queue(
            session, org_id=str(ws.scope.org_id), name=name, model_name=model, classes=labels,
            overlap=overlap, min_agreement=min_agreement, instructions=instructions,
            actor=cli_actor(), clock=ws.clock,
        )  # fmt: skip
    if as_json:
        print_json(queue.to_dict())
        return
    console.print(
        f"Created queue {queue.name} for {queue.model}: {len(queue.classes)} classes, "
        f"overlap {queue.overlap}, min agreement {queue.min_agreement:g}"
    )


@app.command("show")
def show_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The queue's name.")],
    as_json: AsJson = False,
) -> None:
    """A queue's progress: tasks by status, work per annotator."""
    from baryon.labeling.service import queue_progress

    ws = get_workspace(ctx)
    with ws.db.session(ws.scope) as session:
        progress = queue_progress(
            session, name, claim_seconds=ws.settings.labeling_claim_seconds, clock=ws.clock
        ).to_dict()
    if as_json:
        print_json(progress)
        return
    console.print(
        f"[bold]{progress['name']}[/bold] for {progress['model']} · overlap "
        f"{progress['overlap']} · min agreement {progress['min_agreement']:g}"
    )
    console.print("classes: " + ", ".join(progress["classes"]), markup=False)
    counts = progress["tasks"]
    console.print("tasks: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    table = Table("annotator", "labeled", "skipped", "claimed", "mean seconds")
    for a in progress["annotators"]:
        mean = "" if a["seconds_mean"] is None else f"{a['seconds_mean']:.1f}"
        table.add_row(
            a["annotator"], str(a["submitted"]), str(a["skipped"]), str(a["claimed"]), mean
        )
    console.print(table)


@app.command("update")
def update_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The queue's name.")],
    overlap: Annotated[int | None, typer.Option("--overlap")] = None,
    min_agreement: Annotated[float | None, typer.Option("--min-agreement")] = None,
    instructions: Annotated[
        str | None, typer.Option("--instructions", help="Empty clears them.")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Change a queue's overlap, min agreement or instructions."""
    from baryon.labeling.service import update_queue

    ws = get_workspace(ctx)
    with ws.db.session(ws.scope) as session:
        queue = update_queue(
            session, name, overlap=overlap, min_agreement=min_agreement,
            instructions=instructions, actor=cli_actor(), clock=ws.clock,
        )  # fmt: skip
    if as_json:
        print_json(queue.to_dict())
        return
    console.print(f"{queue.name}: overlap {queue.overlap}, min agreement {queue.min_agreement:g}")


@app.command("tasks")
def tasks_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The queue's name.")],
    status: Annotated[
        str | None, typer.Option("--status", help="open, review, done or skipped.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit")] = 50,
    as_json: AsJson = False,
) -> None:
    """A queue's tasks, highest priority then oldest first."""
    from baryon.labeling.service import list_tasks

    ws = get_workspace(ctx)
    with ws.db.session(ws.scope) as session:
        tasks = [t.to_dict() for t in list_tasks(session, name, status=status, limit=limit)]
    if as_json:
        print_json(tasks)
        return
    table = Table("id", "status", "source", "priority", "suggestion", "label", "input")
    for t in tasks:
        table.add_row(
            t["id"], t["status"], t["source"], f"{t['priority']:.2f}",
            str(t["suggested_label"]), str(t["label"] or ""), str(t["input"])[:60],
        )  # fmt: skip
    console.print(table)


@app.command("claim")
def claim_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The queue's name.")],
    annotator: Annotator = None,
    as_json: AsJson = False,
) -> None:
    """Claim the next task to label (prints nothing to do when there is none)."""
    from baryon.labeling.annotation import claim_next

    ws = get_workspace(ctx)
    with ws.db.session(ws.scope) as session:
        claim = claim_next(
            session, name, annotator=_annotator(annotator),
            claim_seconds=ws.settings.labeling_claim_seconds, clock=ws.clock,
        )  # fmt: skip
    if as_json:
        print_json(None if claim is None else claim.to_dict())
        return
    if claim is None:
        console.print("nothing to label in this queue now")
        return
    console.print(_task_line(claim.task.to_dict()), markup=False)
    console.print("classes: " + ", ".join(claim.classes), markup=False)
    if claim.instructions:
        console.print(claim.instructions, markup=False)
    console.print(f"claimed until {claim.expires_at.isoformat()}")


@app.command("submit")
def submit_cmd(
    ctx: typer.Context,
    task_id: Annotated[str, typer.Argument(help="The task's id (task_...).")],
    label: Annotated[str, typer.Argument(help="One of the queue's classes.")],
    annotator: Annotator = None,
    seconds: Annotated[
        float | None, typer.Option("--seconds", help="Time spent (default: since the claim).")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Give your label for a task."""
    from baryon.labeling.annotation import submit_label

    ws = get_workspace(ctx)
    with ws.db.session(ws.scope) as session:
        out = submit_label(
            session, task_id, annotator=_annotator(annotator), label=label, seconds=seconds,
            claim_seconds=ws.settings.labeling_claim_seconds, clock=ws.clock,
        )  # fmt: skip
    if as_json:
        print_json(out.to_dict())
        return
    task = out.task
    decided = f" → {task.label} ({task.resolution})" if task.status == "done" else ""
    console.print(f"labeled {task.id} {label}; task {task.status}{decided}", markup=False)


@app.command("skip")
def skip_cmd(
    ctx: typer.Context,
    task_id: Annotated[str, typer.Argument(help="The task's id (task_...).")],
    reason: Annotated[str, typer.Option("--reason", help="Why you skip it.")],
    annotator: Annotator = None,
    as_json: AsJson = False,
) -> None:
    """Skip a task, saying why (it is never offered to you again)."""
    from baryon.labeling.annotation import skip_task

    ws = get_workspace(ctx)
    with ws.db.session(ws.scope) as session:
        out = skip_task(
            session, task_id, annotator=_annotator(annotator), reason=reason,
            max_skips=ws.settings.labeling_max_skips, clock=ws.clock,
        )  # fmt: skip
    if as_json:
        print_json(out.to_dict())
        return
    console.print(f"skipped {out.task.id}; task {out.task.status}")


@app.command("review")
def review_cmd(
    ctx: typer.Context,
    task_id: Annotated[str, typer.Argument(help="The task's id (task_...).")],
    label: Annotated[str, typer.Argument(help="The final label (one of the queue's classes).")],
    as_json: AsJson = False,
) -> None:
    """Set the final label of a task (an admin's decision)."""
    from baryon.labeling.annotation import review_task

    ws = get_workspace(ctx)
    with ws.db.session(ws.scope) as session:
        task = review_task(session, task_id, label=label, actor=cli_actor(), clock=ws.clock)
    if as_json:
        print_json(task.to_dict())
        return
    console.print(f"{task.id} done: {task.label} (review)")


# Agreement, label files (baryon/cli/labeling_io.py) and active learning
# (baryon/cli/labeling_sample.py) belong to the same group.
app.command("agreement")(labeling_io.agreement)
app.command("export")(labeling_io.export)
app.command("import")(labeling_io.import_)
app.command("sample")(labeling_sample.sample)
