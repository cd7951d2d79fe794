"""Reading and writing label files: Label Studio JSON, CSV and JSONL.

Private to :mod:`baryon.labeling.interop`, which documents the formats. Readers turn a
file into :class:`ParsedTask` objects, each with the problems found in it (a bad task
is reported, never raised); a file that cannot be read at all raises
``malformed_import``. Writers turn :class:`ExportedTask` objects into bytes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from baryon.core.errors import InvalidInput
from baryon.core.ids import canonical_int
from baryon.core.jsonvalues import dumps, loads, to_jsonable

#: Annotator of a CSV row or JSONL line that gives a label but no annotator.
ANONYMOUS_ANNOTATOR = "import"
#: Longest annotator id (the ``annotations.annotator`` column).
MAX_ANNOTATOR_CHARS = 40
#: Columns of the CSV format that are not input fields.
CSV_COLUMNS = (
    "task_id", "task_status", "consensus", "resolution", "suggested_label", "confidence",
    "model_version", "annotator", "status", "label", "skip_reason", "seconds",
)  # fmt: skip
_LS_PREFIX = "ls:"


@dataclass
class ParsedAnnotation:
    """One annotation read from a file: a label, or a skip (``label`` None)."""

    annotator: str
    label: str | None
    skip_reason: str | None = None
    seconds: float | None = None


@dataclass
class ParsedTask:
    """One task read from a file, with what is wrong with it (``problems``)."""

    position: int
    ref: str | None = None
    line: int | None = None
    input: dict[str, Any] | None = None
    suggested_label: str | None = None
    confidence: float | None = None
    model_version: int | None = None
    annotations: list[ParsedAnnotation] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    reviewed: str | None = None
    """The final label an admin gave in review (status ``done``, resolution ``review``)."""


#: Longest text of an input field when the caller gives no limit (``Settings.max_text_chars``).
DEFAULT_MAX_TEXT_CHARS = 10_000
#: The input field of text models: its value must be a non-blank text.
TEXT_FIELD = "text"


@dataclass(frozen=True)
class Rules:
    """What a task must satisfy: the queue's classes, input fields and LS control, and the
    longest text an input may hold (characters)."""

    classes: frozenset[str]
    input_fields: tuple[str, ...]
    from_name: str
    model_name: str
    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS
    to_name: str | None = None
    """The object a result must name (Label Studio ``to_name``); ``None``: not checked."""


@dataclass
class ExportedAnnotation:
    """One annotation to write."""

    annotator: str
    status: str
    label: str | None
    skip_reason: str | None
    seconds: float | None
    submitted_at: Any


@dataclass
class ExportedTask:
    """One task to write, with its annotations."""

    id: str
    input: dict[str, Any]
    status: str
    label: str | None
    resolution: str | None
    agreement: float | None
    source: str
    suggested_label: str | None
    confidence: float | None
    model_version: int | None
    annotations: list[ExportedAnnotation]


def malformed(message: str, **details: Any) -> InvalidInput:
    """The error of a file that cannot be read at all."""
    return InvalidInput(message, code="malformed_import", details=details)


# --------------------------------------------------------------- annotators
def label_studio_user_id(annotator: str) -> int:
    """A stable positive integer for ``annotator``: Label Studio's ``completed_by``.

    The first 48 bits of the SHA-256 of the annotator id (below 2**53, so exact in
    JavaScript), plus one.
    """
    return int(hashlib.sha256(annotator.encode()).hexdigest()[:12], 16) + 1


def annotator_from_label_studio(completed_by: Any, created_username: Any = None) -> str | None:
    """Baryon's annotator id for a Label Studio annotation; ``None`` when there is none.

    * an annotation Baryon exported carries the Baryon annotator in
      ``created_username`` and ``completed_by == label_studio_user_id(it)``: that
      annotator comes back;
    * otherwise Label Studio's user: ``ls:<id>`` for ``completed_by`` as an integer
      (or ``{"id": ...}``, the older export form), ``ls:<sha256 of the email>[:32]``
      for ``{"email": ...}`` without an id.
    """
    if isinstance(completed_by, dict):
        if "id" in completed_by:
            completed_by = completed_by["id"]
        elif isinstance(completed_by.get("email"), str) and completed_by["email"]:
            digest = hashlib.sha256(completed_by["email"].strip().lower().encode()).hexdigest()
            return _LS_PREFIX + digest[:32]
        else:
            return None
    if isinstance(completed_by, bool) or completed_by is None:
        return None
    completed_by = canonical_int(completed_by)  # "12" is user 12; "012", " 12", "١٢" are not
    if completed_by is None:
        return None
    if (
        isinstance(created_username, str)
        and 0 < len(created_username) <= MAX_ANNOTATOR_CHARS
        and label_studio_user_id(created_username) == completed_by
    ):
        return created_username
    return f"{_LS_PREFIX}{completed_by}"


# ------------------------------------------------------------------- common
def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise malformed(
            f"the file is not UTF-8 text (byte {exc.start})", position=exc.start
        ) from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _loads(text: str, *, line: int | None = None) -> Any:
    try:
        return loads(text, what="the file", parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        where = {"line": line or exc.lineno, "column": exc.colno}
        raise malformed(
            f"not valid JSON at line {where['line']}, column {exc.colno}: {exc.msg}", **where
        ) from None
    except ValueError as exc:  # a NaN, or too_deep: an import is all or nothing, one code
        where = {} if line is None else {"line": line}
        raise malformed(f"not valid JSON: {exc}", **where) from None


def _check_input(
    task: ParsedTask, data: Any, rules: Rules, what: str, *, empty_is_missing: bool = False
) -> None:
    """Take the task's input from ``data``: every input field, present and usable.

    A field is missing when absent or ``null`` (or an empty CSV cell:
    ``empty_is_missing``); the ``text`` field must be a text with something in it; no
    text may be longer than ``rules.max_text_chars`` (what the model would refuse to
    predict).
    """
    if not isinstance(data, dict):
        task.problems.append(f"{what} is not an object")
        return
    missing = [
        f
        for f in rules.input_fields
        if data.get(f) is None or (empty_is_missing and data.get(f) == "")
    ]
    if missing:
        task.problems.append(f"{what} has no {', '.join(repr(f) for f in missing)}")
        return
    bad = len(task.problems)
    for name in rules.input_fields:
        value = data[name]
        if name == TEXT_FIELD and not isinstance(value, str):
            task.problems.append(f"{what}: {name!r} is not a text (got {value!r:.40})")
        elif isinstance(value, str) and not value.strip():
            task.problems.append(f"{what}: {name!r} is empty")
        elif isinstance(value, str) and len(value) > rules.max_text_chars:
            task.problems.append(
                f"{what}: {name!r} is longer than {rules.max_text_chars} characters ({len(value)})"
            )
    if len(task.problems) == bad:
        task.input = {f: data[f] for f in rules.input_fields}


def _check_label(task: ParsedTask, label: Any, rules: Rules, what: str) -> str | None:
    if not isinstance(label, str) or label not in rules.classes:
        task.problems.append(f"{what}: {label!r} is not one of the queue's classes")
        return None
    return label


def _seconds(task: ParsedTask, value: Any, what: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    if isinstance(value, bool) or not 0.0 <= seconds < float("inf"):
        task.problems.append(f"{what}: time spent {value!r} is not a number of seconds ≥ 0")
        return None
    return seconds


def _confidence(task: ParsedTask, value: Any, what: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        score = float(value)
    except (TypeError, ValueError):
        score = -1.0
    if isinstance(value, bool) or not 0.0 <= score <= 1.0:
        task.problems.append(f"{what}: score {value!r} is not in [0, 1]")
        return None
    return score


def _annotator(task: ParsedTask, value: Any, what: str) -> str | None:
    if value is None or value == "":
        return ANONYMOUS_ANNOTATOR
    if not isinstance(value, str) or len(value) > MAX_ANNOTATOR_CHARS:
        task.problems.append(
            f"{what}: the annotator must be text of at most {MAX_ANNOTATOR_CHARS} characters"
        )
        return None
    return value


def _review_of(
    task: ParsedTask, status: Any, resolution: Any, consensus: Any, rules: Rules, what: str
) -> None:
    """Read an admin's review decision: status ``done``, resolution ``review``, consensus."""
    if status != "done" or resolution != "review":
        return
    label = _check_label(task, consensus, rules, f"{what} consensus (an admin's review decision)")
    if label is None:
        return
    if task.reviewed is not None and task.reviewed != label:
        task.problems.append(
            f"{what}: review decisions {task.reviewed!r} and {label!r} for the same task"
        )
        return
    task.reviewed = label


def parse_model_version(value: Any, model_name: str) -> int | None:
    """The model version of a suggestion: ``NAME:N`` of the queue's model, or ``N``."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    if ":" in text:
        name, _, text = text.rpartition(":")
        if name != model_name:
            return None
    number = canonical_int(text)
    return number if number is not None and number >= 1 else None


# ------------------------------------------------------------ Label Studio
def _ls_choice(task: ParsedTask, result: Any, rules: Rules, what: str) -> str | None:
    """The one choice of a ``result`` list, checked; ``None`` with a problem if bad."""
    if not isinstance(result, list):
        task.problems.append(f"{what}: result is not a list of results")
        return None
    if not result:
        task.problems.append(f"{what} has an empty result")
        return None
    if len(result) > 1:
        task.problems.append(f"{what} has {len(result)} results; one choice is expected")
        return None
    item = result[0]
    if not isinstance(item, dict):
        task.problems.append(f"{what}: the result is not an object")
        return None
    if item.get("from_name") != rules.from_name:
        task.problems.append(
            f"{what}: unknown from_name {item.get('from_name')!r} (expected {rules.from_name!r})"
        )
        return None
    if rules.to_name is not None and item.get("to_name") != rules.to_name:
        task.problems.append(
            f"{what}: unknown to_name {item.get('to_name')!r} (expected {rules.to_name!r})"
        )
        return None
    if item.get("type") != "choices":
        task.problems.append(f"{what}: type {item.get('type')!r} is not 'choices'")
        return None
    value = item.get("value")
    choices = value.get("choices") if isinstance(value, dict) else None
    if not isinstance(choices, list) or len(choices) != 1:
        task.problems.append(f"{what}: value.choices must hold exactly one choice")
        return None
    return _check_label(task, choices[0], rules, what)


def _ls_annotation(task: ParsedTask, raw: Any, rules: Rules, n: int) -> None:
    what = f"annotation {n}"
    if not isinstance(raw, dict):
        task.problems.append(f"{what} is not an object")
        return
    annotator = annotator_from_label_studio(raw.get("completed_by"), raw.get("created_username"))
    if annotator is None:
        task.problems.append(f"{what} has no completed_by user")
    seconds = _seconds(task, raw.get("lead_time"), what)
    if "result" not in raw:
        task.problems.append(f"{what} has no result")
        return
    if raw.get("was_cancelled") is True:
        if annotator is not None:
            task.annotations.append(
                ParsedAnnotation(annotator, None, "cancelled in Label Studio", seconds)
            )
        return
    label = _ls_choice(task, raw["result"], rules, what)
    if annotator is not None and label is not None:
        task.annotations.append(ParsedAnnotation(annotator, label, None, seconds))


def _ls_prediction(task: ParsedTask, raw: Any, rules: Rules, n: int) -> None:
    what = f"prediction {n}"
    if not isinstance(raw, dict):
        task.problems.append(f"{what} is not an object")
        return
    if "result" not in raw:
        task.problems.append(f"{what} has no result")
        return
    label = _ls_choice(task, raw["result"], rules, what)
    score = _confidence(task, raw.get("score"), what)
    if label is not None and task.suggested_label is None:
        task.suggested_label = label
        task.confidence = score
        task.model_version = parse_model_version(raw.get("model_version"), rules.model_name)


def read_label_studio(data: bytes, rules: Rules) -> list[ParsedTask]:
    """Tasks of a Label Studio JSON export: a JSON list of task objects."""
    doc = _loads(_decode(data))
    if not isinstance(doc, list):
        hint = " (one task: put it in [ ])" if isinstance(doc, dict) else ""
        raise malformed(f"a Label Studio export is a JSON list of tasks{hint}")
    tasks = []
    for position, raw in enumerate(doc, start=1):
        task = ParsedTask(position)
        tasks.append(task)
        if not isinstance(raw, dict):
            task.problems.append("the task is not an object")
            continue
        meta = raw.get("meta")
        ref = raw.get("id")
        if ref is None and isinstance(meta, dict):
            ref = meta.get("baryon_task_id")
        task.ref = None if ref is None else str(ref)[:100]
        _check_input(task, raw.get("data"), rules, "data")
        if isinstance(meta, dict):
            _review_of(
                task, meta.get("status"), meta.get("resolution"), meta.get("consensus"), rules,
                "meta",
            )  # fmt: skip
        annotations = raw.get("annotations", [])
        predictions = raw.get("predictions", [])
        for key, value in (("annotations", annotations), ("predictions", predictions)):
            if not isinstance(value, list):
                task.problems.append(f"{key} is not a list")
        if isinstance(annotations, list):
            for n, item in enumerate(annotations, start=1):
                _ls_annotation(task, item, rules, n)
        if isinstance(predictions, list):
            for n, item in enumerate(predictions, start=1):
                _ls_prediction(task, item, rules, n)
    return tasks


def _ls_result(label: str, rules: Rules, to_name: str) -> list[dict[str, Any]]:
    return [
        {
            "from_name": rules.from_name,
            "to_name": to_name,
            "type": "choices",
            "value": {"choices": [label]},
        }
    ]


def write_label_studio(tasks: Sequence[ExportedTask], rules: Rules, to_name: str) -> bytes:
    """A Label Studio JSON export: a list of tasks with data, predictions, annotations.

    Task and annotation ``id`` are positions in this file (1, 2, ...), as Label Studio
    numbers its own; Baryon's task id is in ``meta.baryon_task_id``.
    """
    out = []
    numbers = itertools.count(1)
    for n, task in enumerate(tasks, start=1):
        item: dict[str, Any] = {
            "id": n,
            "data": dict(task.input),
            "meta": {
                "baryon_task_id": task.id,
                "status": task.status,
                "consensus": task.label,
                "resolution": task.resolution,
                "source": task.source,
            },
            "annotations": [
                {
                    "id": next(numbers),
                    "completed_by": label_studio_user_id(a.annotator),
                    "created_username": a.annotator,
                    "was_cancelled": a.status == "skipped",
                    "result": [] if a.label is None else _ls_result(a.label, rules, to_name),
                    "lead_time": a.seconds,
                    "created_at": a.submitted_at,
                    "updated_at": a.submitted_at,
                }
                for a in task.annotations
            ],
            "predictions": [],
        }
        if task.suggested_label is not None:
            prediction: dict[str, Any] = {
                "model_version": (
                    rules.model_name
                    if task.model_version is None
                    else f"{rules.model_name}:{task.model_version}"
                ),
                "result": _ls_result(task.suggested_label, rules, to_name),
            }
            if task.confidence is not None:
                prediction["score"] = task.confidence
            item["predictions"].append(prediction)
        out.append(item)
    return dumps(out)


# --------------------------------------------------------------------- JSONL
def _annotations_of(task: ParsedTask, raw: dict[str, Any], rules: Rules) -> None:
    has_list, has_label = "annotations" in raw, raw.get("label") not in (None, "")
    if has_list and has_label:
        task.problems.append("give annotations or a label, not both")
        return
    if has_label:
        annotator = _annotator(task, raw.get("annotator"), "label")
        label = _check_label(task, raw["label"], rules, "label")
        if annotator is not None and label is not None:
            task.annotations.append(ParsedAnnotation(annotator, label))
        return
    items = raw.get("annotations") or []
    if not isinstance(items, list):
        task.problems.append("annotations is not a list")
        return
    for n, item in enumerate(items, start=1):
        what = f"annotation {n}"
        if not isinstance(item, dict):
            task.problems.append(f"{what} is not an object")
            continue
        if not isinstance(item.get("annotator"), str) or not item["annotator"]:
            task.problems.append(f"{what} has no annotator")
            continue
        annotator = _annotator(task, item["annotator"], what)
        seconds = _seconds(task, item.get("seconds"), what)
        status = item.get("status", "submitted")
        if status == "skipped":
            reason = item.get("skip_reason")
            why = None if reason is None else str(reason)
            if annotator is not None:
                task.annotations.append(ParsedAnnotation(annotator, None, why, seconds))
            continue
        if status != "submitted":
            task.problems.append(f"{what}: status {status!r} is not submitted or skipped")
            continue
        if "label" not in item:
            task.problems.append(f"{what} has no label")
            continue
        label = _check_label(task, item["label"], rules, what)
        if annotator is not None and label is not None:
            task.annotations.append(ParsedAnnotation(annotator, label, None, seconds))


def _suggestion_of(task: ParsedTask, raw: dict[str, Any], rules: Rules) -> None:
    suggested = raw.get("suggested_label")
    if suggested in (None, ""):
        return
    task.suggested_label = _check_label(task, suggested, rules, "suggested_label")
    task.confidence = _confidence(task, raw.get("confidence"), "suggested_label")
    task.model_version = parse_model_version(raw.get("model_version"), rules.model_name)


def _lines(text: str) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            yield number, line


def read_jsonl(data: bytes, rules: Rules) -> list[ParsedTask]:
    """Tasks of a JSON Lines file, one task object per line (blank lines skipped)."""
    tasks = []
    for position, (number, line) in enumerate(_lines(_decode(data)), start=1):
        raw = _loads(line, line=number)
        task = ParsedTask(position, line=number)
        tasks.append(task)
        if not isinstance(raw, dict):
            task.problems.append("the line is not a JSON object")
            continue
        ref = raw.get("task_id", raw.get("id"))
        task.ref = None if ref is None else str(ref)[:100]
        _check_input(task, raw.get("input"), rules, "input")
        _review_of(
            task, raw.get("status"), raw.get("resolution"), raw.get("consensus"), rules, "task"
        )
        _suggestion_of(task, raw, rules)
        _annotations_of(task, raw, rules)
    return tasks


def write_jsonl(tasks: Sequence[ExportedTask]) -> bytes:
    """One JSON object per task and line."""
    lines = [
        dumps(
            {
                "task_id": t.id,
                "input": t.input,
                "status": t.status,
                "consensus": t.label,
                "resolution": t.resolution,
                "agreement": t.agreement,
                "source": t.source,
                "suggested_label": t.suggested_label,
                "confidence": t.confidence,
                "model_version": t.model_version,
                "annotations": [
                    {
                        "annotator": a.annotator,
                        "status": a.status,
                        "label": a.label,
                        "skip_reason": a.skip_reason,
                        "seconds": a.seconds,
                        "submitted_at": a.submitted_at,
                    }
                    for a in t.annotations
                ],
            }
        )
        for t in tasks
    ]
    return b"".join(line + b"\n" for line in lines)


# ----------------------------------------------------------------------- CSV
def _csv_rows(text: str) -> list[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows = []
    try:
        for row in reader:
            rows.append((reader.line_num, row))
    except csv.Error as exc:
        raise malformed(
            f"not valid CSV at line {reader.line_num}: {exc}", line=reader.line_num
        ) from None
    return rows


def read_csv(data: bytes, rules: Rules) -> list[ParsedTask]:
    """Tasks of a CSV file: one row per annotation, rows of one input form one task."""
    rows = _csv_rows(_decode(data))
    if not rows:
        return []
    _, header = rows[0]
    if len(set(header)) != len(header):
        raise malformed("the CSV header repeats a column name", line=1)
    missing = [f for f in rules.input_fields if f not in header]
    if missing:
        raise malformed(
            f"the CSV has no {', '.join(repr(f) for f in missing)} column "
            "(the queue's input fields)",
            line=1,
            missing=missing,
        )
    by_input: dict[str, ParsedTask] = {}
    tasks: list[ParsedTask] = []
    for number, values in rows[1:]:
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            raise malformed(
                f"line {number} has {len(values)} fields, the header {len(header)}", line=number
            )
        row = dict(zip(header, values, strict=True))
        probe = ParsedTask(len(tasks) + 1, line=number)
        _check_input(probe, row, rules, f"line {number}", empty_is_missing=True)
        key = json.dumps(probe.input, sort_keys=True) if probe.input is not None else f"#{number}"
        task = by_input.get(key)
        if task is None:
            task = probe
            task.ref = row.get("task_id") or None
            by_input[key] = task
            tasks.append(task)
            _suggestion_of(task, row, rules)
        _review_of(
            task, row.get("task_status"), row.get("resolution"), row.get("consensus"), rules,
            f"line {number}",
        )  # fmt: skip
        _csv_annotation(task, row, rules, number)
    return tasks


def _csv_annotation(task: ParsedTask, row: dict[str, str], rules: Rules, number: int) -> None:
    what = f"line {number}"
    status = row.get("status") or ""
    label = row.get("label") or ""
    if status == "skipped":
        annotator = _annotator(task, row.get("annotator"), what)
        seconds = _seconds(task, row.get("seconds"), what)
        if annotator is not None:
            task.annotations.append(
                ParsedAnnotation(annotator, None, row.get("skip_reason") or None, seconds)
            )
        return
    if status not in ("", "submitted"):
        task.problems.append(f"{what}: status {status!r} is not submitted or skipped")
        return
    if not label:
        if status == "submitted":
            task.problems.append(f"{what} has no label")
        return
    annotator = _annotator(task, row.get("annotator"), what)
    checked = _check_label(task, label, rules, what)
    seconds = _seconds(task, row.get("seconds"), what)
    if annotator is not None and checked is not None:
        task.annotations.append(ParsedAnnotation(annotator, checked, None, seconds))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return dumps(value).decode()
    return str(to_jsonable(value))


def write_csv(tasks: Sequence[ExportedTask], input_fields: Sequence[str]) -> bytes:
    """One row per annotation (one row without an annotator for an unlabeled task)."""
    clash = sorted(set(input_fields) & set(CSV_COLUMNS))
    if clash:
        raise InvalidInput(
            f"input field(s) {', '.join(clash)} clash with the CSV format's own columns: "
            "export as jsonl or label-studio",
            code="csv_column_clash",
            details={"fields": clash},
        )
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["task_id", *input_fields, *CSV_COLUMNS[1:]])
    for t in tasks:
        head = [t.id, *(_cell(t.input.get(f)) for f in input_fields)]
        task_cols = [t.status, t.label, t.resolution, t.suggested_label, t.confidence,
                     t.model_version]  # fmt: skip
        rows = [
            [a.annotator, a.status, a.label, a.skip_reason, a.seconds] for a in t.annotations
        ] or [[None, None, None, None, None]]
        for ann in rows:
            writer.writerow([*head, *(_cell(v) for v in (*task_cols, *ann))])
    return buffer.getvalue().encode()
