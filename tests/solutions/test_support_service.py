"""The support service: text checks, decisions, hand-off queues, champion loading."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sqlalchemy import select
from supportkit import write_banking, write_clinc

from baryon.core.clock import FixedClock
from baryon.core.errors import BaryonError, InvalidInput, ModelNotReady
from baryon.core.scope import OPERATOR_ORG_ID, SYSTEM
from baryon.labeling.tables import LabelingTaskRow
from baryon.predictions.log import hash_input
from baryon.solutions.bundled import SupportAnswers, load_answers
from baryon.solutions.support.pipeline import SupportPipeline
from baryon.solutions.support.service import (
    DEFAULT_THRESHOLD,
    IntentModel,
    SupportService,
    check_conversation_id,
    check_text,
    decide,
    queue_turn,
)
from baryon.solutions.support.tables import SupportHandoffRow
from baryon.workspace import Workspace

ANSWERS = SupportAnswers(answers={"a": "Answer A.", "b": "Answer B."}, handoff="A human.")


class Fixed:
    """Returns the same probabilities for every text (classes a, b, c)."""

    classes_ = np.array(["a", "b", "c"])

    def __init__(self, proba: list[float]) -> None:
        self.proba = proba

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        return np.array([self.proba] * len(texts))


class Broken:
    classes_ = np.array(["a", "b"])

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        raise RuntimeError("internal detail")


def _model(proba: list[float], **extra: Any) -> IntentModel:
    return IntentModel("support-intent", 3, Fixed(proba), extra)


# ------------------------------------------------------------------ checks
@pytest.mark.parametrize(
    ("text", "code"),
    [("", "empty_text"), (" \t\n", "empty_text"), ("x" * 11, "text_too_long"),
     (None, "invalid_input"), (42, "invalid_input")],
)  # fmt: skip
def test_check_text_bad_input_raises(text: Any, code: str) -> None:
    with pytest.raises(InvalidInput) as err:
        check_text(text, max_chars=10)
    assert err.value.code == code


def test_check_text_normalises_nfc_and_strips() -> None:
    assert check_text("  cafe\u0301 ", max_chars=10) == "caf\u00e9"


@pytest.mark.parametrize("value", ["", "  ", "x" * 201, 7])
def test_check_conversation_id_bad_value_raises(value: Any) -> None:
    with pytest.raises(InvalidInput) as err:
        check_conversation_id(value)
    assert err.value.code == "invalid_conversation_id"


def test_check_conversation_id_none_and_valid_pass() -> None:
    assert check_conversation_id(None) is None
    assert check_conversation_id("conv-1") == "conv-1"


# ------------------------------------------------------------------ decide
@pytest.mark.parametrize(
    ("proba", "answer", "handoff", "reason"),
    [
        ([0.9, 0.05, 0.05], "Answer A.", False, None),
        ([0.6, 0.3, 0.1], "Answer A.", False, None),  # exactly at the threshold: answered
        ([0.5, 0.3, 0.2], "A human.", True, "low_confidence"),
        ([0.4, 0.3, 0.3], "A human.", True, "out_of_scope"),
        ([0.05, 0.05, 0.9], "A human.", True, "no_answer"),  # 'c' has no template
    ],
)
def test_decide_answers_or_hands_off_with_reason(
    proba: list[float], answer: str, handoff: bool, reason: str | None
) -> None:
    model = _model(proba, handoff_threshold=0.6, out_of_scope_threshold=0.45)
    d = decide(model, "hello", ANSWERS)
    assert (d.answer, d.handoff, d.handoff_reason) == (answer, handoff, reason)
    assert d.intent == ["a", "b", "c"][int(np.argmax(proba))]
    assert d.confidence == pytest.approx(max(proba))
    assert (d.model_name, d.model_version) == ("support-intent", 3)


def test_decide_without_threshold_in_extra_uses_default() -> None:
    assert DEFAULT_THRESHOLD == 0.5
    assert decide(_model([0.55, 0.45, 0.0]), "x", ANSWERS).handoff is False
    d = decide(_model([0.45, 0.3, 0.25]), "x", ANSWERS)
    assert (d.handoff, d.handoff_reason) == (True, "low_confidence")


def test_decide_model_failure_is_prediction_failed_without_internals() -> None:
    with pytest.raises(BaryonError) as err:
        decide(IntentModel("support-intent", 1, Broken(), {}), "x", ANSWERS)
    assert err.value.code == "prediction_failed"
    assert "internal detail" not in err.value.message


# ------------------------------------------------------------------ queue
def test_queue_turn_answered_turn_writes_nothing(workspace: Workspace) -> None:
    d = decide(_model([0.9, 0.1, 0.0]), "x", ANSWERS)
    with workspace.db.session(SYSTEM) as s:
        queued = queue_turn(
            s, d, prediction_id="pred_1", org_id=OPERATOR_ORG_ID, conversation_id=None,
            input_mode="full", clock=FixedClock(),
        )  # fmt: skip
        assert queued is None
        assert s.scalars(select(SupportHandoffRow)).all() == []


def test_queue_turn_same_text_reuses_open_task(workspace: Workspace, clock: FixedClock) -> None:
    d = decide(_model([0.5, 0.3, 0.2], handoff_threshold=0.6), "lost?", ANSWERS)
    ids = []
    for n in range(3):
        clock.advance(1)
        with workspace.db.session(SYSTEM) as s:
            ids.append(queue_turn(s, d, prediction_id=f"pred_{n}", org_id=OPERATOR_ORG_ID,
                                  conversation_id="c", input_mode="full", clock=clock))  # fmt: skip
    assert ids[0] is not None
    assert ids == [ids[0]] * 3
    with workspace.db.session(SYSTEM) as s:
        [task] = s.scalars(select(LabelingTaskRow)).all()
        assert (task.seen_count, task.prediction_id, task.input) == (3, "pred_0", {"text": "lost?"})
        assert task.input_hash == hash_input({"text": "lost?"})
        assert task.updated_at > task.created_at
        assert len(s.scalars(select(SupportHandoffRow)).all()) == 3


# ------------------------------------------------------------------ service
@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """A workspace with a tiny ``support-intent`` champion (trained once for the module).

    Plain logistic probabilities: temperature scaling on perfectly separable tiny data
    would make every confidence 1.0.
    """
    from baryon.core.config import Settings

    base = tmp_path_factory.mktemp("support-service")
    ws = Workspace.open(Settings(home=base / "home"))
    SupportPipeline(
        ws,
        params={"model": "logistic", "calibration": None},
        source=write_banking(base / "b.csv"),
        calibration=write_clinc(base / "v.csv", half=0),
        held_out=write_clinc(base / "t.csv", half=1),
    ).run()
    return ws


def test_service_answer_known_intent_uses_bundled_template(home: Workspace) -> None:
    reply = SupportService(home).answer("help, lost my card on the train")
    assert reply["intent"] == "lost_or_stolen_card"
    assert reply["handoff"] is False
    assert reply["answer"] == load_answers().answers["lost_or_stolen_card"]
    assert reply["prediction_id"].startswith("pred_")
    assert (reply["model"], reply["model_version"]) == ("support-intent", 1)
    assert set(reply) == {"intent", "confidence", "answer", "handoff", "handoff_reason",
                          "prediction_id", "model", "model_version"}  # fmt: skip


def test_service_answer_unrelated_text_is_handed_off_and_queued(home: Workspace) -> None:
    text = "quantum chromodynamics lecture"
    reply = SupportService(home).answer(f"  {text} ", conversation_id="c9")
    assert (reply["handoff"], reply["handoff_reason"]) == (True, "out_of_scope")
    assert reply["answer"] == load_answers().handoff
    with home.db.session(SYSTEM) as s:
        row = s.get(SupportHandoffRow, reply["prediction_id"])
        assert row is not None
        assert (row.org_id, row.conversation_id, row.text) == (OPERATOR_ORG_ID, "c9", text)
        task = s.scalars(
            select(LabelingTaskRow).where(LabelingTaskRow.input_hash == hash_input({"text": text}))
        ).one()
        assert (task.org_id, task.suggested_label) == (OPERATOR_ORG_ID, reply["intent"])


def test_service_answer_bad_text_raises(home: Workspace) -> None:
    service = SupportService(home)
    with pytest.raises(InvalidInput) as err:
        service.answer("   ")
    assert err.value.code == "empty_text"
    with pytest.raises(InvalidInput) as err:
        service.answer("x" * (home.settings.max_text_chars + 1))
    assert err.value.code == "text_too_long"
    with pytest.raises(InvalidInput):
        service.answer("lost my card", conversation_id="")


def test_service_without_model_raises_model_not_ready(workspace: Workspace) -> None:
    with pytest.raises(ModelNotReady) as err:
        SupportService(workspace).answer("where is my card")
    assert "baryon demo" in err.value.message


def test_service_other_model_name_is_used(home: Workspace) -> None:
    with pytest.raises(ModelNotReady):
        SupportService(home, model_name="no-such-model").answer("card")


def test_service_decide_writes_nothing(home: Workspace) -> None:
    before = home.db.table_counts()
    decision = SupportService(home).decide("quantum chromodynamics")
    assert decision.handoff is True
    assert home.db.table_counts() == before
