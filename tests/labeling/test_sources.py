"""Task sources: unsure predictions and feedback that disagrees; feedback label checks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from labelkit import as_org, org_id
from sqlalchemy import select

from baryon.core.errors import InvalidInput
from baryon.labeling.sources import (
    Scored,
    check_feedback_label,
    label_space,
    labeling_threshold,
    queue_disagreement,
    queue_unsure,
    scored_outputs,
    select_unsure,
    task_input,
    unsure_outputs,
)
from baryon.labeling.tables import LabelingQueueRow, LabelingTaskRow
from baryon.predictions.inference import ServedModel
from baryon.predictions.log import log_prediction
from baryon.workspace import Workspace


class _Clf:
    classes_ = np.array(["neg", "pos"])


TEXT = ServedModel("mood", 3, "text_classification", _Clf())
TABLE = ServedModel("risk", 2, "classification", _Clf(), feature_columns=("a", "b"))
VALUE = ServedModel("price", 1, "regression", object(), feature_columns=("a", "b"))


def _out(label: str, p: float) -> dict[str, Any]:
    other = "neg" if label == "pos" else "pos"
    return {"label": label, "probabilities": {label: p, other: 1 - p}}


def _tasks(ws: Workspace, org: str = "acme") -> list[LabelingTaskRow]:
    with as_org(ws, org) as s:
        rows = s.scalars(select(LabelingTaskRow).order_by(LabelingTaskRow.priority.desc())).all()
        s.expunge_all()
        return list(rows)


def _queue(ws: Workspace, name: str) -> LabelingQueueRow:
    with as_org(ws) as s:
        row = s.scalars(select(LabelingQueueRow).where(LabelingQueueRow.name == name)).one()
        s.expunge(row)
        return row


def _low(
    ws: Workspace, model: ServedModel, inputs: list[Any], outputs: list[Any], **kw: Any
) -> list[str]:
    kw = {"input_mode": "full", "default_threshold": 0.5, **kw}
    unsure = unsure_outputs(model, inputs, outputs, **kw)
    with as_org(ws) as s:
        return queue_unsure(
            s, model, unsure, prediction_id="pred_1", org_id=org_id(ws, "acme"), clock=ws.clock
        )


# ---------------------------------------------------------------- low confidence
def test_task_input_names_text_rows_and_lists() -> None:
    assert task_input("hi") == {"text": "hi"}
    assert task_input({"a": 1}) == {"a": 1}
    assert task_input([1, 2], ("a", "b")) == {"a": 1, "b": 2}
    assert task_input([1, 2]) == {"values": [1, 2]}
    assert task_input(17) is None


def test_task_input_empty_or_blank_text_is_not_labeled() -> None:
    assert task_input("") is None
    assert task_input(" \n\t") is None
    assert task_input({"text": "  "}) is None
    assert task_input({"text": " x "}) == {"text": " x "}


def test_queue_unsure_empty_and_blank_texts_not_queued(ws: Workspace) -> None:
    # QA 13 #10: {"text": ""} predicted below the threshold was queued for labeling
    ids = _low(ws, TEXT, ["", "   ", "unsure"], [_out("neg", 0.45)] * 3)
    assert len(ids) == 1
    assert [t.input for t in _tasks(ws)] == [{"text": "unsure"}]
    blank = [Scored({"text": " "}, "neg", 0.1), Scored({"text": "ok"}, "neg", 0.1)]
    picked = select_unsure(TEXT, blank, input_mode="full", default_threshold=0.5)
    assert [s.input for s in picked] == [{"text": "ok"}]


def test_labeling_threshold_from_the_version_else_default() -> None:
    assert labeling_threshold({"labeling_threshold": 0.8}, 0.5) == 0.8
    assert labeling_threshold({}, 0.5) == 0.5
    assert labeling_threshold({"labeling_threshold": True}, 0.5) == 0.5
    assert labeling_threshold({"labeling_threshold": 3}, 0.5) == 0.5


def test_scored_outputs_skips_outputs_without_probabilities() -> None:
    got = scored_outputs(TEXT, ["a", "b"], [_out("pos", 0.6), {"label": "neg"}])
    assert got == [Scored({"text": "a"}, "pos", 0.6)]


def test_queue_unsure_queues_only_unsure_outputs_with_priority(ws: Workspace) -> None:
    ids = _low(
        ws, TEXT, ["sure", "unsure"], [_out("pos", 0.9), _out("neg", 0.55)], default_threshold=0.6
    )
    assert len(ids) == 1
    (task,) = _tasks(ws)
    assert task.input == {"text": "unsure"}
    assert task.suggested_label == "neg"
    assert task.confidence == 0.55
    assert task.priority == pytest.approx(0.45)
    assert (task.source, task.reason, task.prediction_id, task.model_version) == (
        "prediction", "low_confidence", "pred_1", 3,
    )  # fmt: skip
    queue = _queue(ws, "mood")
    assert (queue.model_name, queue.classes, queue.overlap) == ("mood", ["neg", "pos"], 1)


def test_queue_unsure_version_threshold_wins(ws: Workspace) -> None:
    strict = ServedModel(
        "mood", 4, "text_classification", _Clf(), extra={"labeling_threshold": 0.95}
    )
    assert len(_low(ws, strict, ["x"], [_out("pos", 0.9)])) == 1
    assert _low(ws, TEXT, ["y"], [_out("pos", 0.9)]) == []


def test_queue_unsure_same_input_twice_is_one_task_seen_twice(ws: Workspace) -> None:
    _low(ws, TABLE, [[1, 2]], [_out("pos", 0.45)])
    _low(ws, TABLE, [{"b": 2, "a": 1}], [_out("pos", 0.4)])
    (task,) = _tasks(ws)
    assert task.input == {"a": 1, "b": 2}
    assert task.seen_count == 2
    assert task.priority == pytest.approx(0.6)  # the larger of the two


@pytest.mark.parametrize("mode", ["hashed", "none"])
def test_queue_unsure_inputs_not_kept_queues_nothing(ws: Workspace, mode: str) -> None:
    assert _low(ws, TEXT, ["x"], [_out("pos", 0.51)], input_mode=mode) == []
    assert _tasks(ws) == []


def test_select_unsure_only_below_the_threshold_in_full_mode() -> None:
    scored = [Scored({"text": "a"}, "pos", 0.4), Scored({"text": "b"}, "pos", 0.5)]
    assert select_unsure(TEXT, scored, input_mode="full", default_threshold=0.5) == scored[:1]
    assert select_unsure(TEXT, scored, input_mode="none", default_threshold=0.5) == []


def test_select_unsure_masked_mode_masks_the_inputs_it_returns() -> None:
    scored = [
        Scored({"text": "mail ann@example.com"}, "pos", 0.4),
        Scored({"text": "b"}, "pos", 0.9),
    ]
    assert select_unsure(TEXT, scored, input_mode="masked", default_threshold=0.5) == [
        Scored({"text": "mail [EMAIL]"}, "pos", 0.4)
    ]
    assert scored[0].input == {"text": "mail ann@example.com"}  # not modified


def test_queue_unsure_given_classes_name_the_queue(ws: Workspace) -> None:
    with as_org(ws) as s:
        queue_unsure(
            s, TEXT, [Scored({"text": "t"}, "Bearish", 0.4)], prediction_id=None,
            org_id=org_id(ws, "acme"), clock=ws.clock, classes=["Bearish", "Bullish", "Neutral"],
        )  # fmt: skip
    assert _queue(ws, "mood").classes == ["Bearish", "Bullish", "Neutral"]


# ---------------------------------------------------------------------- feedback
def _log(
    ws: Workspace, model: ServedModel, inputs: list[Any], outputs: list[Any], mode: str = "full"
) -> str:
    with as_org(ws) as s:
        log_prediction(
            s, prediction_id="pred_fb", org_id=org_id(ws, "acme"), key_id="key_x",
            model_name=model.name, model_version=model.version, variant="champion",
            request_id=None, input_mode=mode, inputs=inputs, outputs=outputs, flags=[],
            latency_ms=1.0, at=ws.clock.now(),
        )  # fmt: skip
    return "pred_fb"


def _check(ws: Workspace, model: ServedModel | None, label: Any, item: int = 0) -> None:
    with as_org(ws) as s:
        check_feedback_label(s, model, prediction_id="pred_fb", item=item, label=label)


def test_check_feedback_label_not_a_class_refused(ws: Workspace) -> None:
    _log(ws, TEXT, ["x"], [_out("pos", 0.9)])
    _check(ws, TEXT, "neg")
    with pytest.raises(InvalidInput) as err:
        _check(ws, TEXT, "maybe")
    assert err.value.code == "unknown_label"
    assert err.value.details["classes"] == ["neg", "pos"]


def test_check_feedback_label_from_the_logged_output_when_the_model_is_gone(ws: Workspace) -> None:
    _log(ws, TEXT, ["x"], [_out("pos", 0.9)])
    _check(ws, None, "pos")
    with pytest.raises(InvalidInput):
        _check(ws, None, "maybe")


def test_check_feedback_label_regression_needs_a_number(ws: Workspace) -> None:
    _log(ws, VALUE, [[1, 2]], [{"value": 3.0}])
    _check(ws, VALUE, 3.5)
    _check(ws, None, 3)
    for bad in ("high", True):
        with pytest.raises(InvalidInput) as err:
            _check(ws, VALUE, bad)
        assert err.value.code == "label_not_numeric"


def test_check_feedback_label_unknown_label_space_or_item_not_checked(ws: Workspace) -> None:
    _log(ws, TEXT, ["x"], [{"items": ["i1"]}])
    _check(ws, None, "anything")
    _check(ws, TEXT, "pos", item=5)  # add_feedback refuses the item itself


def test_label_space_names_raw_classes_through_label_names() -> None:
    named = ServedModel(
        "s", 1, "text_classification", _Clf(), extra={"label_names": {"neg": "Bearish"}}
    )
    space = label_space(named, {"label": "neg", "probabilities": {"neg": 0.6, "pos": 0.4}})
    assert space is not None
    assert space.classes == {"Bearish", "pos"}
    assert space.canonical("neg") == "Bearish"


def _disagree(ws: Workspace, model: ServedModel | None, label: Any) -> str | None:
    with as_org(ws) as s:
        return queue_disagreement(
            s, model, prediction_id="pred_fb", item=0, label=label, org_id=org_id(ws, "acme"),
            clock=ws.clock,
        )  # fmt: skip


def test_queue_disagreement_queues_the_item_with_the_prediction_as_suggestion(
    ws: Workspace,
) -> None:
    _log(ws, TABLE, [[1, 2]], [_out("pos", 0.9)])
    assert _disagree(ws, TABLE, "pos") is None
    task_id = _disagree(ws, TABLE, "neg")
    (task,) = _tasks(ws)
    assert task.id == task_id
    assert task.input == {"a": 1, "b": 2}
    assert (task.source, task.reason, task.suggested_label, task.confidence, task.priority) == (
        "feedback", "disagreement", "pos", 0.9, 1.0,
    )  # fmt: skip
    assert _queue(ws, "risk").classes == ["neg", "pos"]


def test_queue_disagreement_support_output_intent_is_the_prediction(ws: Workspace) -> None:
    model = ServedModel("support-intent", 1, "text_classification", _Clf())
    _log(ws, model, ["card?"], [{"intent": "pos", "confidence": 0.3, "handoff": True}])
    assert _disagree(ws, model, "neg") is not None
    (task,) = _tasks(ws)
    assert (task.suggested_label, task.confidence) == ("pos", 0.3)


def test_queue_disagreement_needs_the_kept_input_and_a_class_label(ws: Workspace) -> None:
    _log(ws, TEXT, ["x"], [_out("pos", 0.9)], mode="hashed")
    assert _disagree(ws, TEXT, "neg") is None
    assert _tasks(ws) == []
