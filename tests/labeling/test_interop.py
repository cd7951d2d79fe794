"""Label Studio, CSV and JSONL export and import: round trips, validation, policy."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from interopkit import annotate, make_queue, migrated_template, open_copy, set_consensus, snapshot
from sqlalchemy import func, select

from baryon.core.audit import AuditEvent
from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.core.errors import InvalidInput
from baryon.core.scope import SYSTEM
from baryon.labeling._interop_formats import annotator_from_label_studio, label_studio_user_id
from baryon.labeling.annotation import review_task
from baryon.labeling.interop import (
    FORMATS,
    export_labels,
    import_consensus,
    import_labels,
    label_config,
)
from baryon.labeling.tables import AnnotationRow, LabelingQueueRow, LabelingTaskRow
from baryon.workspace import Workspace


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return migrated_template(tmp_path_factory.mktemp("template"))


@pytest.fixture
def ws(template: Path, settings: Settings, clock: FixedClock) -> Iterator[Workspace]:
    with open_copy(template, settings, clock) as workspace:
        yield workspace


def _fill(ws: Workspace, clock: FixedClock, *, reviewed: bool = False) -> None:
    """Queue ``reviews``: five tasks covering done, review, skipped, open, a suggestion;
    ``reviewed``: two more an admin decided in review (one after a tie, one unlabeled)."""
    with ws.db.session(SYSTEM) as s:
        q = make_queue(s, clock)
        t1 = annotate(s, q, clock, "good film", {"u_ann": "pos", "u_bob": "pos"},
                      suggested="pos", confidence=0.55)  # fmt: skip
        t2 = annotate(s, q, clock, "meh", {"u_ann": "pos", "u_bob": "neg"}, suggested="neg")
        t3 = annotate(s, q, clock, "?!", {"u_ann": None, "u_bob": None})
        annotate(s, q, clock, "unseen", {}, suggested="neg", confidence=0.51)
        t5 = annotate(s, q, clock, "bad plot", {"u_bob": "neg"})
        set_consensus(s, t1, "pos")
        set_consensus(s, t2, None, status="review")
        set_consensus(s, t5, "neg")
        set_consensus(s, t3, None, status="skipped")
        if not reviewed:
            return
        t6 = annotate(s, q, clock, "so so", {"u_ann": "pos", "u_bob": "neg"})
        t7 = annotate(s, q, clock, "plain", {})
        for task_id, label in ((t6, "neg"), (t7, "pos")):
            review_task(s, task_id, label=label, actor="admin", clock=clock)


def _import(ws: Workspace, clock: FixedClock, data: bytes, fmt: str, **kw: Any) -> dict[str, Any]:
    with ws.db.session(SYSTEM) as s:
        queue = s.scalars(select(LabelingQueueRow).where(LabelingQueueRow.name == "copy")).one()
        return import_labels(s, queue, data, format=fmt, clock=clock, actor="test", **kw).to_dict()


def _count(ws: Workspace, table: type) -> int:
    with ws.db.session(SYSTEM) as s:
        return int(s.scalar(select(func.count()).select_from(table)) or 0)


@pytest.mark.parametrize("fmt", FORMATS)
def test_import_labels_round_trip_keeps_inputs_labels_and_annotators(
    ws: Workspace, clock: FixedClock, fmt: str
) -> None:
    _fill(ws, clock, reviewed=True)
    with ws.db.session(SYSTEM) as s:
        source = s.scalars(select(LabelingQueueRow).where(LabelingQueueRow.name == "reviews")).one()
        data = export_labels(s, source, format=fmt)
        before = snapshot(s, source)
        make_queue(s, clock, name="copy")
    report = _import(ws, clock, data, fmt, may_review=True)
    assert report["bad"] == 0
    assert (report["tasks"], report["created"], report["annotations"]) == (7, 7, 9)
    with ws.db.session(SYSTEM) as s:
        copy = s.scalars(select(LabelingQueueRow).where(LabelingQueueRow.name == "copy")).one()
        after = snapshot(s, copy)
    assert set(after) == set(before)
    for text, (status, label, _resolution, suggestion, anns) in before.items():
        got = after[text]
        assert got[4] == anns, text  # same annotators, statuses, labels, seconds
        assert got[3] == suggestion, text  # the model's suggestion and version
        assert (got[0], got[1]) == (status, label), text
    # imported consensus: one label is "import", two agreeing labels "majority"
    assert after["bad plot"][2] == "import"
    assert after["good film"][2] == "majority"
    # QA 13 #3: the admin's review decisions come back as they were (not to review again)
    assert after["so so"][:3] == before["so so"][:3] == ("done", "neg", "review")
    assert after["plain"][:3] == before["plain"][:3] == ("done", "pos", "review")
    assert (report["done"], report["review"], report["skipped"]) == (4, 1, 1)
    assert report["reviewed"] == 2
    again = _import(ws, clock, data, fmt, may_review=True)  # nothing changes the second time
    assert (again["created"], again["annotations"], again["reviewed"]) == (0, 0, 0)
    assert (again["unchanged"], again["done"]) == (9, 4)


@pytest.mark.parametrize("fmt", FORMATS)
def test_import_labels_review_decision_needs_the_review_permission_or_agreement(
    ws: Workspace, clock: FixedClock, fmt: str
) -> None:
    with ws.db.session(SYSTEM) as s:
        q = make_queue(s, clock)
        task_id = annotate(s, q, clock, "so so", {"u_ann": "pos", "u_bob": "neg"})
        review_task(s, task_id, label="neg", actor="admin", clock=clock)
        data = export_labels(s, q, format=fmt)
        copy = make_queue(s, clock, name="copy")
        decided = annotate(s, copy, clock, "so so", {})
        review_task(s, decided, label="pos", actor="admin", clock=clock)
        make_queue(s, clock, name="empty")
    with pytest.raises(InvalidInput) as caught:  # the copy's admin decided otherwise
        _import(ws, clock, data, fmt, may_review=True)
    (bad,) = caught.value.details["bad_tasks"]
    assert "an admin's review decided 'pos'" in bad["reasons"][0]
    with ws.db.session(SYSTEM) as s:
        empty = s.scalars(select(LabelingQueueRow).where(LabelingQueueRow.name == "empty")).one()
        report = import_labels(s, empty, data, format=fmt, clock=clock, actor="dev", dry_run=True)
    (bad,) = report.bad_tasks  # a developer's import may not decide as an admin
    assert "needs the labeling:review permission" in bad.reasons[0]


def test_export_labels_label_studio_has_data_predictions_and_choices(
    ws: Workspace, clock: FixedClock
) -> None:
    _fill(ws, clock)
    with ws.db.session(SYSTEM) as s:
        q = s.scalars(select(LabelingQueueRow)).one()
        tasks = json.loads(export_labels(s, q, format="label-studio"))
        only_done = json.loads(export_labels(s, q, format="label-studio", status="done"))
    first = tasks[0]
    assert first["data"] == {"text": "good film"}
    assert first["predictions"] == [
        {
            "model_version": "sentiment:3",
            "score": 0.55,
            "result": [{"from_name": "label", "to_name": "text", "type": "choices",
                        "value": {"choices": ["pos"]}}],
        }
    ]  # fmt: skip
    ann = first["annotations"][0]
    assert ann["result"][0]["value"] == {"choices": ["pos"]}
    assert ann["completed_by"] == label_studio_user_id(ann["created_username"])
    assert ann["was_cancelled"] is False
    assert ann["lead_time"] == 2.5
    skipped = tasks[2]["annotations"][0]
    assert (skipped["was_cancelled"], skipped["result"]) == (True, [])
    assert [t["data"]["text"] for t in only_done] == ["good film", "bad plot"]


def test_export_labels_csv_is_one_row_per_annotation(ws: Workspace, clock: FixedClock) -> None:
    _fill(ws, clock)
    with ws.db.session(SYSTEM) as s:
        q = s.scalars(select(LabelingQueueRow)).one()
        lines = export_labels(s, q, format="csv").decode().splitlines()
    assert lines[0] == (
        "task_id,text,task_status,consensus,resolution,suggested_label,confidence,"
        "model_version,annotator,status,label,skip_reason,seconds"
    )
    assert len(lines) == 1 + 2 + 2 + 2 + 1 + 1
    assert lines[1].split(",")[1:] == [
        "good film", "done", "pos", "majority", "pos", "0.55", "3", "u_ann", "submitted", "pos",
        "", "2.5",
    ]  # fmt: skip


def test_import_labels_label_studio_export_of_label_studio(
    ws: Workspace, clock: FixedClock
) -> None:
    tasks = [
        {"id": 11, "data": {"text": "great", "extra": 1},
         "annotations": [
             {"id": 1, "completed_by": 1, "result": [_choice("pos")], "was_cancelled": False,
              "lead_time": 4.0},
             {"id": 2, "completed_by": {"id": 2, "email": "b@x.io"}, "result": [_choice("pos")]},
             {"id": 3, "completed_by": 3, "result": [_choice("neg")]},
         ],
         "predictions": [{"model_version": "v7", "score": 0.8, "result": [_choice("neg")]}]},
        {"id": 12, "data": {"text": "awful"},
         "annotations": [{"id": 4, "completed_by": 1, "result": [_choice("neg")]}]},
        {"id": 13, "data": {"text": "so-so"},
         "annotations": [{"completed_by": 1, "result": [_choice("neg")]},
                         {"completed_by": 2, "result": [_choice("pos")]}]},
        {"id": 14, "data": {"text": "unlabeled"}},
    ]  # fmt: skip
    with ws.db.session(SYSTEM) as s:
        make_queue(s, clock, name="copy", overlap=3)
    report = _import(ws, clock, json.dumps(tasks).encode(), "label-studio")
    assert (report["created"], report["annotations"], report["done"], report["review"]) == (
        4, 6, 2, 1,
    )  # fmt: skip
    with ws.db.session(SYSTEM) as s:
        q = s.scalars(select(LabelingQueueRow).where(LabelingQueueRow.name == "copy")).one()
        got = snapshot(s, q)
        sources = set(s.scalars(select(LabelingTaskRow.source)))
    assert got["great"] == (
        "done", "pos", "majority", ("neg", 0.8, None),
        {"ls:1": ("submitted", "pos", 4.0), "ls:2": ("submitted", "pos", None),
         "ls:3": ("submitted", "neg", None)},
    )  # fmt: skip
    assert got["awful"][:3] == ("done", "neg", "import")
    assert got["so-so"][:3] == ("review", None, None)  # a tie goes to review
    assert got["unlabeled"][:2] == ("open", None)
    assert sources == {"import"}


def _choice(label: str, from_name: str = "label") -> dict[str, Any]:
    return {"from_name": from_name, "to_name": "text", "type": "choices",
            "value": {"choices": [label]}}  # fmt: skip


def test_import_labels_bad_tasks_are_reported_and_nothing_is_imported(
    ws: Workspace, clock: FixedClock
) -> None:
    def one(result: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"completed_by": 1, "result": result}]

    tasks = [
        {"data": {"text": "fine"}, "annotations": one([_choice("pos")])},
        {"data": {"text": "a"}, "annotations": one([_choice("pos", "sentiment")])},
        {"data": {"text": "b"}, "annotations": [{"completed_by": 1}]},
        {"data": {"text": "c"}, "annotations": one([_choice("meh")])},
        {"id": 77, "data": {"body": "d"}},
        {"data": {"text": "e"}, "predictions": [{"result": [_choice("huh")]}]},
    ]  # fmt: skip
    with ws.db.session(SYSTEM) as s:
        make_queue(s, clock, name="copy")
    with pytest.raises(InvalidInput) as caught:
        _import(ws, clock, json.dumps(tasks).encode(), "label-studio")
    assert caught.value.code == "import_rejected"
    bad = {b["task"]: b for b in caught.value.details["bad_tasks"]}
    assert sorted(bad) == [2, 3, 4, 5, 6]
    assert bad[2]["reasons"] == ["annotation 1: unknown from_name 'sentiment' (expected 'label')"]
    assert bad[3]["reasons"] == ["annotation 1 has no result"]
    assert bad[4]["reasons"] == ["annotation 1: 'meh' is not one of the queue's classes"]
    assert (bad[5]["id"], bad[5]["reasons"]) == ("77", ["data has no 'text'"])
    assert bad[6]["reasons"] == ["prediction 1: 'huh' is not one of the queue's classes"]
    assert caught.value.details["bad"] == 5
    assert _count(ws, LabelingTaskRow) == 0
    assert _count(ws, AnnotationRow) == 0


def test_import_labels_label_studio_result_names_the_object_and_is_a_list(
    ws: Workspace, clock: FixedClock
) -> None:
    # QA 13 #13: a wrong to_name was accepted; a result that is an object was "empty"
    with ws.db.session(SYSTEM) as s:
        make_queue(s, clock, name="copy")
    other = {**_choice("pos"), "to_name": "other"}
    tasks = [
        {"data": {"text": "a"}, "annotations": [{"completed_by": 1, "result": [other]}]},
        {"data": {"text": "b"}, "annotations": [{"completed_by": 1, "result": {"x": 1}}]},
        {"data": {"text": ""}, "annotations": [{"completed_by": 1, "result": [_choice("pos")]}]},
    ]
    report = _import(ws, clock, json.dumps(tasks).encode(), "label-studio", dry_run=True)
    assert [b["reasons"] for b in report["bad_tasks"]] == [
        ["annotation 1: unknown to_name 'other' (expected 'text')"],
        ["annotation 1: result is not a list of results"],
        ["data: 'text' is empty"],
    ]
    named = _import(ws, clock, json.dumps(tasks[:1]).encode(), "label-studio", to_name="other")
    assert (named["bad"], named["done"]) == (0, 1)


def test_import_labels_inputs_the_model_could_not_take_are_bad_tasks(
    ws: Workspace, clock: FixedClock
) -> None:
    # QA 13 #11: a number as text and a text past max_text_chars were imported, then
    # left out by the flywheel (invalid_input) or refused by predict
    with ws.db.session(SYSTEM) as s:
        make_queue(s, clock, name="copy")
    lines = [
        {"input": {"text": "fine"}, "label": "pos"},
        {"input": {"text": 12345}, "label": "pos"},
        {"input": {"text": "x" * 101}, "label": "pos"},
        {"input": {"text": "   "}, "label": "pos"},
        {"input": {"text": None}, "label": "pos"},
    ]
    data = "".join(json.dumps(line) + "\n" for line in lines).encode()

    report = _import(ws, clock, data, "jsonl", dry_run=True, max_text_chars=100)

    reasons = {b["line"]: b["reasons"] for b in report["bad_tasks"]}
    assert reasons == {
        2: ["input: 'text' is not a text (got 12345)"],
        3: ["input: 'text' is longer than 100 characters (101)"],
        4: ["input: 'text' is empty"],
        5: ["input has no 'text'"],
    }
    assert report["created"] == 1


def test_import_labels_dry_run_reports_and_writes_nothing(ws: Workspace, clock: FixedClock) -> None:
    with ws.db.session(SYSTEM) as s:
        make_queue(s, clock, name="copy")
    good = b'{"input": {"text": "x"}, "label": "pos"}\n'
    bad = b'{"input": {"text": "y"}, "label": "zzz"}\n'
    report = _import(ws, clock, good + bad, "jsonl", dry_run=True)
    assert (report["dry_run"], report["bad"], report["bad_tasks"][0]["line"]) == (True, 1, 2)
    assert report["created"] == 1  # counts are of the good tasks
    assert report["done"] == 1
    assert _count(ws, LabelingTaskRow) == 0
    assert _count(ws, AuditEvent) == 0


def test_import_labels_again_changes_nothing_but_seen_count(
    ws: Workspace, clock: FixedClock
) -> None:
    with ws.db.session(SYSTEM) as s:
        make_queue(s, clock, name="copy")
    data = b"text,annotator,label\nhello,u1,pos\nhello,u2,pos\nbye,,neg\n"
    first = _import(ws, clock, data, "csv")
    again = _import(ws, clock, data, "csv")
    assert (first["created"], first["annotations"], first["unchanged"]) == (2, 3, 0)
    assert (again["created"], again["merged"], again["annotations"], again["unchanged"]) == (
        0, 2, 0, 3,
    )  # fmt: skip
    assert _count(ws, AnnotationRow) == 3
    with ws.db.session(SYSTEM) as s:
        got = snapshot(s, s.scalars(select(LabelingQueueRow)).one())
        seen = set(s.scalars(select(LabelingTaskRow.seen_count)))
        actions = list(s.scalars(select(AuditEvent.action)))
    assert got["bye"][4] == {"import": ("submitted", "neg", None)}
    assert seen == {2}
    assert actions == ["labeling.import", "labeling.import"]


def test_import_labels_conflicts_with_the_queue_are_bad_tasks(
    ws: Workspace, clock: FixedClock
) -> None:
    with ws.db.session(SYSTEM) as s:
        q = make_queue(s, clock, name="copy", overlap=2)
        annotate(s, q, clock, "held", {"u1": "pos"})
    lines = [
        {"input": {"text": "held"}, "annotations": [{"annotator": "u1", "label": "neg"}]},
        {"input": {"text": "full"}, "annotations": [
            {"annotator": f"u{n}", "label": "pos"} for n in range(3)]},
        {"input": {"text": "twice"}, "annotations": [
            {"annotator": "u1", "label": "pos"}, {"annotator": "u1", "label": "neg"}]},
        {"input": {"text": "dup"}, "label": "pos", "annotator": "u9"},
        {"input": {"text": "dup"}, "label": "neg", "annotator": "u9"},
    ]  # fmt: skip
    data = "".join(json.dumps(line) + "\n" for line in lines).encode()
    with pytest.raises(InvalidInput) as caught:
        _import(ws, clock, data, "jsonl")
    reasons = {b["task"]: b["reasons"] for b in caught.value.details["bad_tasks"]}
    assert reasons[1] == ["annotator 'u1' already answered this task differently (pos)"]
    assert reasons[2] == ["3 new annotation(s) but 2 free slot(s) (the queue's overlap is 2)"]
    assert reasons[3] == ["annotator 'u1' appears twice"]
    assert reasons[5] == ["the same input as task 4, where annotator 'u9' gave another answer"]
    assert 4 not in reasons


@pytest.mark.parametrize(
    ("fmt", "data", "code", "fragment"),
    [
        ("label-studio", b'[{"data": {"text": "x"}', "malformed_import", "line 1"),
        ("label-studio", b'{"data": 1} trailing', "malformed_import", "not valid JSON"),
        ("label-studio", b'"a string"', "malformed_import", "list of tasks"),
        # QA 13 #11: a top-level object was read as one task
        ("label-studio", b'{"data": {"text": "x"}}', "malformed_import", "put it in [ ]"),
        ("label-studio", b"[NaN]", "malformed_import", "NaN is not a JSON number"),
        ("label-studio", b"[" * 100_000, "malformed_import", "not valid JSON"),
        ("jsonl", b'{"input": {"text": "x"}}\n{oops\n', "malformed_import", "line 2"),
        ("csv", b"\xff\xfetext\n", "malformed_import", "not UTF-8"),
        ("csv", b"text,label\na,pos,extra\n", "malformed_import", "line 2 has 3 fields"),
        ("csv", b'text,label\n"a,pos\n', "malformed_import", "not valid CSV"),
        ("csv", b"body,label\na,pos\n", "malformed_import", "no 'text' column"),
        ("csv", b"text,text\na,b\n", "malformed_import", "repeats a column"),
        ("csv", b"  \n", "empty_import", "empty"),
        ("csv", b"text,label\n", "empty_import", "no task"),
        ("label-studio", b"[]", "empty_import", "no task"),
        ("xml", b"<a/>", "unknown_format", "label-studio"),
    ],
)
def test_import_labels_malformed_file_raises_named_error(
    ws: Workspace, clock: FixedClock, fmt: str, data: bytes, code: str, fragment: str
) -> None:
    with ws.db.session(SYSTEM) as s:
        make_queue(s, clock, name="copy")
    with pytest.raises(InvalidInput) as caught:
        _import(ws, clock, data, fmt)
    assert caught.value.code == code
    assert fragment in caught.value.message


def test_import_labels_keeps_a_review_decision(ws: Workspace, clock: FixedClock) -> None:
    with ws.db.session(SYSTEM) as s:
        q = make_queue(s, clock, name="copy", overlap=3)
        task = annotate(s, q, clock, "hard", {"u1": "pos", "u2": "neg"})
        set_consensus(s, task, "neg")
        s.get(LabelingTaskRow, task).resolution = "review"  # type: ignore[union-attr]
    _import(ws, clock, b'{"input": {"text": "hard"}, "label": "pos", "annotator": "u3"}', "jsonl")
    with ws.db.session(SYSTEM) as s:
        row = s.get(LabelingTaskRow, task)
        assert row is not None
        assert (row.status, row.label, row.resolution) == (
            "done",
            "neg",
            "review",
        )


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        (["a"], ("done", "a", "import", 1.0)),
        (["a", "a", "b"], ("done", "a", "majority", 2 / 3)),
        (["a", "b"], ("review", None, None, 0.5)),
        (["a", "a", "b", "c"], ("review", None, None, 0.5)),  # below min_agreement 0.6
    ],
)
def test_import_consensus_majority_tie_and_low_agreement(
    labels: list[str], expected: tuple[Any, ...]
) -> None:
    got = import_consensus(labels, skipped=0, overlap=2, min_agreement=0.6)
    assert got is not None
    assert (got.status, got.label, got.resolution, got.agreement) == pytest.approx(expected)


def test_import_consensus_skips_only() -> None:
    assert import_consensus([], skipped=1, overlap=2, min_agreement=0.5) is None
    skipped = import_consensus([], skipped=2, overlap=2, min_agreement=0.5)
    assert skipped is not None
    assert skipped.status == "skipped"


@pytest.mark.parametrize(
    ("completed_by", "username", "expected"),
    [
        (7, None, "ls:7"),
        ("7", None, "ls:7"),
        ({"id": 3, "email": "a@b.c"}, None, "ls:3"),
        (label_studio_user_id("user_42"), "user_42", "user_42"),  # Baryon's own export
        (5, "user_42", "ls:5"),  # a Label Studio user, whatever its name
        (None, None, None),
        (True, None, None),
        ({}, None, None),
        (1.5, None, None),
    ],
)
def test_annotator_from_label_studio_is_stable(
    completed_by: Any, username: Any, expected: str | None
) -> None:
    assert annotator_from_label_studio(completed_by, username) == expected


def test_annotator_from_label_studio_email_only_is_a_hash() -> None:
    got = annotator_from_label_studio({"email": "A@b.c"})
    assert got == annotator_from_label_studio({"email": "a@B.c "})
    assert got is not None
    assert got.startswith("ls:")
    assert len(got) == 35


def test_label_config_is_xml_with_one_choice_per_class(ws: Workspace, clock: FixedClock) -> None:
    with ws.db.session(SYSTEM) as s:
        q = make_queue(s, clock, classes=("neg", 'p"o<s'))
        config = label_config(q)
    root = ET.fromstring(config)
    assert root.find("Text").attrib == {"name": "text", "value": "$text"}  # type: ignore[union-attr]
    choices = root.find("Choices")
    assert choices is not None
    assert (choices.attrib["name"], choices.attrib["toName"]) == ("label", "text")
    assert [c.attrib["value"] for c in choices] == ["neg", 'p"o<s']


def test_export_labels_unknown_status_or_format_is_refused(
    ws: Workspace, clock: FixedClock
) -> None:
    with ws.db.session(SYSTEM) as s:
        q = make_queue(s, clock)
        with pytest.raises(InvalidInput) as bad_status:
            export_labels(s, q, format="csv", status="closed")
        with pytest.raises(InvalidInput) as bad_format:
            export_labels(s, q, format="xlsx")
    assert (bad_status.value.code, bad_format.value.code) == ("invalid_status", "unknown_format")


def test_export_labels_csv_input_field_clashing_with_a_column_is_refused(
    ws: Workspace, clock: FixedClock
) -> None:
    with ws.db.session(SYSTEM) as s:
        q = make_queue(s, clock)
        from baryon.labeling.queue import enqueue

        enqueue(s, q, input={"label": "x"}, source="import", reason="import", clock=clock)
        with pytest.raises(InvalidInput) as caught:
            export_labels(s, q, format="csv")
        assert json.loads(export_labels(s, q, format="jsonl"))["input"] == {"label": "x"}
    assert caught.value.code == "csv_column_clash"


def test_export_labels_label_studio_validates_with_the_sdk(
    ws: Workspace, clock: FixedClock
) -> None:
    """Label Studio's own SDK accepts the config and every exported task.

    label-studio-sdk is not a dependency (it pins numpy below the project's and brings
    OpenCV); this runs where it is installed.
    """
    pytest.importorskip("label_studio_sdk")
    from label_studio_sdk.label_interface import LabelInterface
    from label_studio_sdk.types import Annotation, Prediction

    _fill(ws, clock)
    with ws.db.session(SYSTEM) as s:
        q = s.scalars(select(LabelingQueueRow)).one()
        tasks = json.loads(export_labels(s, q, format="label-studio"))
        interface = LabelInterface(label_config(q))
    interface.validate()
    for task in tasks:
        assert all(task["data"].get(obj.value_name) for obj in interface.objects)
        for prediction in task["predictions"]:
            assert interface.validate_prediction(prediction, return_errors=True) == []
            Prediction.model_validate({**prediction, "task": task["id"]})
        for annotation in task["annotations"]:
            assert interface.validate_annotation(annotation)
            Annotation.model_validate(annotation)
    wrong = {"result": [_choice("meh")]}
    assert interface.validate_prediction(wrong, return_errors=True) != []
