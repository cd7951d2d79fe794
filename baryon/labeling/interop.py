"""Label files in and out of a labeling queue: Label Studio JSON, CSV and JSONL.

Formats (:data:`FORMATS`)
-------------------------
``label-studio``
    A JSON list of Label Studio tasks: ``data`` (the task's input), ``predictions``
    (the model's suggestion: ``model_version`` ``NAME:N``, ``score`` its confidence)
    and ``annotations`` whose ``result`` holds one ``choices`` item
    (``from_name`` the Choices control, ``to_name`` the object, ``value.choices``
    one class). :func:`label_config` writes the matching labeling config.
``jsonl``
    One task per line: ``{"task_id", "input", "status", "consensus", "resolution",
    "agreement", "source", "suggested_label", "confidence", "model_version",
    "annotations": [{"annotator", "status", "label", "skip_reason", "seconds",
    "submitted_at"}]}``. On import only ``input`` is required; ``annotations`` (or a
    ``label`` with an optional ``annotator``) and the suggestion are read.
``csv``
    One row per annotation (an unlabeled task is one row without annotator):
    ``task_id``, the input fields, ``task_status``, ``consensus``, ``resolution``,
    ``suggested_label``, ``confidence``, ``model_version``, ``annotator``,
    ``status``, ``label``, ``skip_reason``, ``seconds``. On import, rows with the
    same input form one task; only the input columns are required. Cells are text:
    a numeric input comes back as a string (use ``jsonl`` for typed inputs).

Importing
---------
Every task of the file is checked first: the input fields are present (``data`` /
``input`` / columns), each annotation has a ``result`` with one ``choices`` item of
the expected ``from_name`` and a choice among the queue's classes, an annotator,
and no conflict with what the queue already holds. **All or nothing**: if any task
is bad, nothing is imported and :class:`~baryon.core.errors.InvalidInput`
``import_rejected`` lists every bad task and why (``details["bad_tasks"]``).
``dry_run`` checks without writing and returns the same report.

A good file's tasks go through :func:`baryon.labeling.queue.enqueue` (source and
reason ``import``; an input already on the queue is merged), each annotation becomes
an annotation row in a free slot, and tasks that got labels get a consensus
(:func:`import_consensus`). A task the file says an admin decided (status ``done``,
resolution ``review``, the label in ``consensus``; Label Studio: in ``meta``) keeps
that decision, if the importer may review (``may_review``) and no admin of the queue
decided it otherwise. Annotators: Label Studio's ``completed_by`` user *n*
becomes ``ls:n``; an annotation that Baryon exported comes back as its Baryon
annotator (see :func:`~baryon.labeling._interop_formats.annotator_from_label_studio`);
CSV and JSONL name annotators directly (a label without one is annotator
``import``). Re-importing a file changes nothing but ``seen_count``: annotations
already present are counted as ``unchanged``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any
from xml.sax.saxutils import quoteattr

from sqlalchemy import select
from sqlalchemy.orm import Session

from baryon.core.audit import record_audit
from baryon.core.clock import Clock
from baryon.core.errors import InvalidInput
from baryon.core.ids import new_id
from baryon.labeling._interop_formats import (
    CSV_COLUMNS,
    DEFAULT_MAX_TEXT_CHARS,
    ExportedAnnotation,
    ExportedTask,
    ParsedAnnotation,
    ParsedTask,
    Rules,
    read_csv,
    read_jsonl,
    read_label_studio,
    write_csv,
    write_jsonl,
    write_label_studio,
)
from baryon.labeling.consensus import majority_vote
from baryon.labeling.queue import enqueue
from baryon.labeling.tables import AnnotationRow, LabelingQueueRow, LabelingTaskRow
from baryon.predictions.log import hash_input

__all__ = [
    "DEFAULT_FROM_NAME",
    "FORMATS",
    "MEDIA_TYPES",
    "TASK_STATUSES",
    "BadTask",
    "ImportDecision",
    "ImportReport",
    "check_format",
    "export_labels",
    "format_for_path",
    "import_consensus",
    "import_labels",
    "label_config",
    "queue_input_fields",
]

#: File formats of import and export.
FORMATS: tuple[str, ...] = ("label-studio", "csv", "jsonl")
#: Media type of each format.
MEDIA_TYPES = {
    "label-studio": "application/json",
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/jsonl; charset=utf-8",
}
#: Name of the Choices control in Label Studio files (``from_name``).
DEFAULT_FROM_NAME = "label"
#: Task statuses an export can be limited to.
TASK_STATUSES: tuple[str, ...] = ("open", "review", "done", "skipped")
#: Bad tasks listed in a report at most (the count is always complete).
MAX_LISTED_BAD_TASKS = 1000
_CHUNK = 500
_SUFFIXES = {".json": "label-studio", ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}

_READERS: dict[str, Callable[[bytes, Rules], list[ParsedTask]]] = {
    "label-studio": read_label_studio,
    "csv": read_csv,
    "jsonl": read_jsonl,
}


def check_format(format: str) -> str:
    """Return ``format`` if it is one of :data:`FORMATS`.

    Raises
    ------
    InvalidInput
        ``unknown_format``.
    """
    if format not in FORMATS:
        raise InvalidInput(
            f"unknown format {format!r}: use {', '.join(FORMATS)}",
            code="unknown_format",
            details={"formats": list(FORMATS)},
        )
    return format


def format_for_path(path: PurePath, given: str | None = None) -> str:
    """``given`` (checked), else the format of ``path``'s suffix.

    ``.json`` is ``label-studio``, ``.csv`` ``csv``, ``.jsonl`` and ``.ndjson``
    ``jsonl``.

    Raises
    ------
    InvalidInput
        ``unknown_format``: ``given`` is not a format, or none is given and the
        suffix is unknown.
    """
    if given:
        return check_format(given)
    found = _SUFFIXES.get(path.suffix.lower())
    if found is None:
        raise InvalidInput(
            f"cannot tell the format of {path.name!r}: give one of {', '.join(FORMATS)}",
            code="unknown_format",
            details={"formats": list(FORMATS)},
        )
    return found


def queue_input_fields(session: Session, queue: LabelingQueueRow) -> tuple[str, ...]:
    """The input fields of ``queue``'s tasks: those of its newest task, else ``("text",)``."""
    task = LabelingTaskRow
    newest = session.scalars(
        select(task.input)
        .where(task.queue_id == queue.id)
        .order_by(task.created_at.desc(), task.id.desc())
        .limit(1)
    ).first()
    return tuple(newest) if newest else ("text",)


def _to_name(fields: Sequence[str]) -> str:
    return "text" if "text" in fields or not fields else fields[0]


def label_config(
    queue: LabelingQueueRow,
    *,
    input_fields: Sequence[str] = ("text",),
    from_name: str = DEFAULT_FROM_NAME,
) -> str:
    """The Label Studio labeling config (XML) matching :func:`export_labels`'s files.

    One ``<Text>`` object per input field and one single-choice ``<Choices>``
    control named ``from_name`` over the queue's classes.
    """
    fields = list(input_fields) or ["text"]
    objects = "".join(f"  <Text name={quoteattr(f)} value={quoteattr('$' + f)}/>\n" for f in fields)
    choices = "".join(f"    <Choice value={quoteattr(c)}/>\n" for c in queue.classes)
    return (
        "<View>\n"
        f"{objects}"
        f"  <Choices name={quoteattr(from_name)} toName={quoteattr(_to_name(fields))} "
        'choice="single" showInline="true">\n'
        f"{choices}"
        "  </Choices>\n"
        "</View>\n"
    )


# -------------------------------------------------------------------- export
def _exported(session: Session, queue: LabelingQueueRow, status: str | None) -> list[ExportedTask]:
    task = LabelingTaskRow
    query = select(task).where(task.queue_id == queue.id).order_by(task.created_at, task.id)
    if status is not None:
        query = query.where(task.status == status)
    tasks = session.scalars(query).all()
    ann = AnnotationRow
    by_task: dict[str, list[ExportedAnnotation]] = {}
    rows = session.scalars(
        select(ann)
        .where(ann.queue_id == queue.id, ann.status.in_(("submitted", "skipped")))
        .order_by(ann.task_id, ann.slot)
    ).all()
    for a in rows:
        by_task.setdefault(a.task_id, []).append(
            ExportedAnnotation(
                a.annotator, a.status, a.label, a.skip_reason, a.seconds, a.submitted_at
            )
        )
    return [
        ExportedTask(
            id=t.id,
            input=dict(t.input),
            status=t.status,
            label=t.label,
            resolution=t.resolution,
            agreement=t.agreement,
            source=t.source,
            suggested_label=t.suggested_label,
            confidence=t.confidence,
            model_version=t.model_version,
            annotations=by_task.get(t.id, []),
        )
        for t in tasks
    ]


def export_labels(
    session: Session,
    queue: LabelingQueueRow,
    *,
    format: str,
    status: str | None = None,
    from_name: str = DEFAULT_FROM_NAME,
) -> bytes:
    """A file of ``queue``'s tasks with their annotations (claims left out).

    Parameters
    ----------
    format : str
        One of :data:`FORMATS`.
    status : str, optional
        Only tasks with this status (:data:`TASK_STATUSES`).
    from_name : str
        Label Studio's Choices control name.

    Returns
    -------
    bytes
        UTF-8 text in the format's media type (:data:`MEDIA_TYPES`), tasks oldest
        first.

    Raises
    ------
    InvalidInput
        ``unknown_format``, ``invalid_status``, or ``csv_column_clash`` (an input
        field named like one of the CSV format's own columns).
    """
    check_format(format)
    if status is not None and status not in TASK_STATUSES:
        raise InvalidInput(
            f"unknown task status {status!r}: use {', '.join(TASK_STATUSES)}",
            code="invalid_status",
        )
    tasks = _exported(session, queue, status)
    fields: dict[str, None] = {}
    for t in tasks:
        fields.update(dict.fromkeys(t.input))
    names = tuple(fields) or queue_input_fields(session, queue)
    rules = Rules(frozenset(queue.classes), names, from_name, queue.model_name)
    if format == "label-studio":
        return write_label_studio(tasks, rules, _to_name(names))
    if format == "csv":
        return write_csv(tasks, names)
    return write_jsonl(tasks)


# ----------------------------------------------------------------- consensus
@dataclass(frozen=True)
class ImportDecision:
    """What a task becomes: ``status`` and, when ``done``, its label and resolution."""

    status: str
    label: str | None
    resolution: str | None
    agreement: float | None


def import_consensus(
    labels: Sequence[str], *, skipped: int, overlap: int, min_agreement: float
) -> ImportDecision | None:
    """The consensus of a task's labels after an import; ``None``: leave it as it is.

    One label is the consensus (resolution ``import``); several are decided by the
    labeling core's majority vote (:func:`baryon.labeling.consensus.majority_vote`:
    resolution ``majority``, or ``review`` on a tie or low agreement). A task
    without labels whose skips fill the queue's overlap is ``skipped``.

    Parameters
    ----------
    labels : sequence of str
        Every submitted label of the task.
    skipped : int
        Skips of the task.
    overlap : int
        The queue's annotators per task.
    min_agreement : float
        In [0, 1].
    """
    if not labels:
        return ImportDecision("skipped", None, None, None) if skipped >= overlap else None
    if len(labels) == 1:
        return ImportDecision("done", labels[0], "import", 1.0)
    vote = majority_vote(labels, min_agreement=min_agreement)
    if not vote.accepted:
        return ImportDecision("review", None, None, vote.agreement)
    return ImportDecision("done", vote.label, "majority", vote.agreement)


# -------------------------------------------------------------------- import
@dataclass(frozen=True)
class BadTask:
    """A task an import refused: its position in the file and why."""

    task: int
    id: str | None
    line: int | None
    reasons: list[str]

    def to_dict(self) -> dict[str, Any]:
        """``{"task", "id", "line", "reasons"}``."""
        return {"task": self.task, "id": self.id, "line": self.line, "reasons": self.reasons}


@dataclass
class ImportReport:
    """What an import did (or, with ``dry_run`` or bad tasks, would have done).

    ``tasks`` and ``bad`` count the whole file; the other counts are what its good
    tasks alone give (a file with a bad task imports nothing).

    Attributes
    ----------
    format : str
    tasks : int
        Tasks in the file.
    created : int
        New tasks on the queue.
    merged : int
        Tasks whose input was already on the queue or earlier in the file.
    annotations : int
        Annotations added (labels and skips).
    unchanged : int
        Annotations already on the queue (same annotator, same label).
    done, review, skipped : int
        Queue tasks of the file in each status after the import.
    reviewed : int
        Tasks given the admin's review decision the file carries (counted in
        ``done`` too).
    dry_run : bool
    bad_tasks : list of BadTask
        At most :data:`MAX_LISTED_BAD_TASKS`; ``bad`` counts all.
    bad : int
    """

    format: str
    tasks: int = 0
    created: int = 0
    merged: int = 0
    annotations: int = 0
    unchanged: int = 0
    done: int = 0
    review: int = 0
    skipped: int = 0
    reviewed: int = 0
    dry_run: bool = False
    bad: int = 0
    bad_tasks: list[BadTask] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "format": self.format,
            "tasks": self.tasks,
            "created": self.created,
            "merged": self.merged,
            "annotations": self.annotations,
            "unchanged": self.unchanged,
            "done": self.done,
            "review": self.review,
            "skipped": self.skipped,
            "reviewed": self.reviewed,
            "dry_run": self.dry_run,
            "bad": self.bad,
            "bad_tasks": [b.to_dict() for b in self.bad_tasks],
        }


@dataclass
class _Group:
    """The tasks of one file that share an input: one queue task."""

    first: ParsedTask
    digest: str
    annotations: list[ParsedAnnotation] = field(default_factory=list)
    new: list[ParsedAnnotation] = field(default_factory=list)
    existing: LabelingTaskRow | None = None
    reviewed: str | None = None


def _same(a: ParsedAnnotation, b: ParsedAnnotation) -> bool:
    return a.label == b.label


def _groups(tasks: Sequence[ParsedTask]) -> dict[str, _Group]:
    groups: dict[str, _Group] = {}
    for task in tasks:
        if task.input is None:
            continue
        seen: dict[str, ParsedAnnotation] = {}
        for a in task.annotations:
            if a.annotator in seen:
                task.problems.append(f"annotator {a.annotator!r} appears twice")
            seen[a.annotator] = a
        digest = hash_input(task.input)
        group = groups.setdefault(digest, _Group(task, digest))
        if task.reviewed is not None:
            if group.reviewed not in (None, task.reviewed):
                task.problems.append(
                    f"the same input as task {group.first.position}, where an admin's review "
                    f"decided {group.reviewed!r}"
                )
            group.reviewed = group.reviewed or task.reviewed
        mine = {a.annotator: a for a in group.annotations}
        for a in task.annotations:
            before = mine.get(a.annotator)
            if before is None:
                group.annotations.append(a)
                mine[a.annotator] = a
            elif group.first is not task and not _same(a, before):
                task.problems.append(
                    f"the same input as task {group.first.position}, where annotator "
                    f"{a.annotator!r} gave another answer"
                )
    return groups


def _load_existing(
    session: Session, queue: LabelingQueueRow, groups: dict[str, _Group]
) -> dict[str, list[AnnotationRow]]:
    task, ann = LabelingTaskRow, AnnotationRow
    digests = list(groups)
    for start in range(0, len(digests), _CHUNK):
        chunk = digests[start : start + _CHUNK]
        for row in session.scalars(
            select(task).where(task.queue_id == queue.id, task.input_hash.in_(chunk))
        ):
            groups[row.input_hash].existing = row
    ids = [g.existing.id for g in groups.values() if g.existing is not None]
    out: dict[str, list[AnnotationRow]] = {}
    for start in range(0, len(ids), _CHUNK):
        for a in session.scalars(select(ann).where(ann.task_id.in_(ids[start : start + _CHUNK]))):
            out.setdefault(a.task_id, []).append(a)
    return out


def _reviewed_in_queue(group: _Group) -> str | None:
    existing = group.existing
    if existing is not None and existing.status == "done" and existing.resolution == "review":
        return existing.label
    return None


def _check_review(group: _Group, may_review: bool) -> None:
    if group.reviewed is None:
        return
    decided = _reviewed_in_queue(group)
    if decided is not None and decided != group.reviewed:
        group.first.problems.append(
            f"an admin's review decided {decided!r} for this task already (the file says "
            f"{group.reviewed!r})"
        )
    elif decided is None and not may_review:
        group.first.problems.append(
            f"carries an admin's review decision ({group.reviewed!r}): importing it needs "
            "the labeling:review permission (owner, admin)"
        )


def _check_against_queue(
    group: _Group, held: list[AnnotationRow], overlap: int, report: ImportReport
) -> None:
    by_annotator = {a.annotator: a for a in held}
    for a in group.annotations:
        ex = by_annotator.get(a.annotator)
        if ex is None:
            group.new.append(a)
        elif ex.status == "claimed":
            group.first.problems.append(f"annotator {a.annotator!r} holds a claim on this task")
        elif ex.label == a.label and (ex.status == "skipped") == (a.label is None):
            report.unchanged += 1
        else:
            group.first.problems.append(
                f"annotator {a.annotator!r} already answered this task differently "
                f"({ex.label if ex.status == 'submitted' else 'skipped'})"
            )
    free = overlap - len(held)
    if len(group.new) > free:
        group.first.problems.append(
            f"{len(group.new)} new annotation(s) but {max(free, 0)} free slot(s) "
            f"(the queue's overlap is {overlap})"
        )


def _consensus_for(
    group: _Group, held: list[AnnotationRow], queue: LabelingQueueRow
) -> ImportDecision | None:
    if _reviewed_in_queue(group) is not None:
        return None  # an admin decided this task
    labels = [a.label for a in held if a.status == "submitted" and a.label is not None]
    labels += [a.label for a in group.new if a.label is not None]
    if group.reviewed is not None:  # the admin's decision the file carries
        agreement = majority_vote(labels, min_agreement=1.0).agreement if labels else None
        return ImportDecision("done", group.reviewed, "review", agreement)
    if not group.new:
        return None
    skipped = sum(a.status == "skipped" for a in held) + sum(a.label is None for a in group.new)
    return import_consensus(
        labels, skipped=skipped, overlap=queue.overlap, min_agreement=queue.min_agreement
    )


def import_labels(
    session: Session,
    queue: LabelingQueueRow,
    data: bytes,
    *,
    format: str,
    clock: Clock,
    actor: str,
    from_name: str = DEFAULT_FROM_NAME,
    input_fields: Sequence[str] | None = None,
    dry_run: bool = False,
    may_review: bool = False,
    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS,
    to_name: str | None = None,
) -> ImportReport:
    """Import a label file into ``queue`` in the caller's transaction, all or nothing.

    Parameters
    ----------
    data : bytes
        The file (UTF-8; a byte-order mark is allowed).
    format : str
        One of :data:`FORMATS`.
    clock : Clock
    actor : str
        Who imports, for the audit event ``labeling.import``.
    from_name : str
        Label Studio's Choices control name in the file.
    input_fields : sequence of str, optional
        The fields a task's input is made of (default: :func:`queue_input_fields`);
        other fields of ``data`` are ignored.
    dry_run : bool
        Check only: nothing is written, bad tasks are reported, not raised.
    to_name : str, optional
        The object Label Studio results must name (default: ``text`` when it is an
        input field, else the first input field, as :func:`export_labels` writes).
    may_review : bool
        Whether the importer may make review decisions (``labeling:review``): a task
        the file says an admin decided (status ``done``, resolution ``review``) is
        ``done`` with that label and resolution; without this permission such a task
        is bad.
    max_text_chars : int
        Longest text an input field may hold, in characters
        (``Settings.max_text_chars``: what the model would refuse to predict).

    Returns
    -------
    ImportReport

    Raises
    ------
    InvalidInput
        ``unknown_format``; ``empty_import`` (no task in the file);
        ``malformed_import`` (not UTF-8, not JSON/CSV, not the format's shape;
        ``details`` has the line); ``import_rejected`` (some tasks are bad:
        ``details`` is the report, ``bad_tasks`` saying which and why; nothing was
        imported); ``invalid_input_fields``.
    """
    check_format(format)
    fields = tuple(input_fields) if input_fields else queue_input_fields(session, queue)
    if format == "csv" and set(fields) & set(CSV_COLUMNS):
        raise InvalidInput(
            "an input field is named like one of the CSV format's own columns",
            code="invalid_input_fields",
        )
    if not data.strip():
        raise InvalidInput("the file is empty", code="empty_import")
    rules = Rules(
        frozenset(queue.classes), fields, from_name, queue.model_name, max_text_chars,
        to_name or _to_name(fields),
    )  # fmt: skip
    tasks = _READERS[format](data, rules)
    if not tasks:
        raise InvalidInput("the file holds no task", code="empty_import")
    report = ImportReport(format=format, tasks=len(tasks), dry_run=dry_run)
    groups = _groups(tasks)
    held = _load_existing(session, queue, groups)
    for group in groups.values():
        _check_against_queue(
            group, held.get(group.existing.id, []) if group.existing else [], queue.overlap, report
        )
        _check_review(group, may_review)
    bad = [t for t in tasks if t.problems]
    report.bad = len(bad)
    report.bad_tasks = [
        BadTask(t.position, t.ref, t.line, list(t.problems)) for t in bad[:MAX_LISTED_BAD_TASKS]
    ]
    good = [g for g in groups.values() if not g.first.problems]  # counts: good tasks only
    report.created = sum(g.existing is None for g in good)
    report.merged = len(tasks) - len(bad) - report.created
    report.annotations = sum(len(g.new) for g in good)
    if bad and not dry_run:
        raise InvalidInput(
            f"{len(bad)} of {len(tasks)} task(s) are bad; nothing was imported",
            code="import_rejected",
            details=report.to_dict(),
        )
    for group in good:
        mine = held.get(group.existing.id, []) if group.existing else []
        decided = _consensus_for(group, mine, queue)
        before = group.existing.status if group.existing else "open"
        status = decided.status if decided else before
        if status in ("done", "review", "skipped"):
            setattr(report, status, getattr(report, status) + 1)
        if decided is not None and decided.resolution == "review":
            report.reviewed += 1
        if not dry_run:
            _write(session, queue, group, mine, decided, clock)
    if not dry_run:
        record_audit(
            session,
            actor=actor,
            action="labeling.import",
            object_type="labeling_queue",
            object_id=queue.id,
            org_id=queue.org_id,
            details={k: v for k, v in report.to_dict().items() if k != "bad_tasks"},
            clock=clock,
        )
    return report


def _write(
    session: Session,
    queue: LabelingQueueRow,
    group: _Group,
    held: list[AnnotationRow],
    decided: ImportDecision | None,
    clock: Clock,
) -> None:
    first = group.first
    assert first.input is not None
    task_id = enqueue(
        session,
        queue,
        input=first.input,
        source="import",
        reason="import",
        clock=clock,
        suggested_label=first.suggested_label,
        confidence=first.confidence,
        model_version=first.model_version,
    )
    now = clock.now()
    used = {a.slot for a in held}
    free = (s for s in range(queue.overlap) if s not in used)
    for a, slot in zip(group.new, free, strict=False):
        session.add(
            AnnotationRow(
                id=new_id("ann", clock),
                org_id=queue.org_id,
                task_id=task_id,
                queue_id=queue.id,
                slot=slot,
                annotator=a.annotator,
                status="submitted" if a.label is not None else "skipped",
                label=a.label,
                skip_reason=a.skip_reason,
                seconds=a.seconds,
                claimed_at=now,
                submitted_at=now,
            )
        )
    if decided is None:
        return
    row = session.get(LabelingTaskRow, task_id)
    assert row is not None
    changed = (row.status, row.label) != (decided.status, decided.label)
    row.status, row.label = decided.status, decided.label
    row.resolution, row.agreement = decided.resolution, decided.agreement
    if decided.status != "done":
        row.done_at = None
    elif changed or row.done_at is None:
        row.done_at = now
    row.updated_at = now
