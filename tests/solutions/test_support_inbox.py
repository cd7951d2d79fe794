"""Tests of baryon.solutions.support.inbox: answer, close, send to labeling, per org."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from baryon.commerce.orgs import create_org
from baryon.core.audit import AuditEvent
from baryon.core.clock import FixedClock
from baryon.core.errors import Conflict, InvalidInput, NotFound
from baryon.core.scope import SYSTEM, Scope
from baryon.labeling.tables import LabelingTaskRow
from baryon.solutions.support.inbox import (
    answer_handoff,
    close_handoff,
    count_handoffs,
    get_handoff,
    send_to_labeling,
)
from baryon.solutions.support.service import list_handoffs
from baryon.solutions.support.tables import SupportHandoffRow
from baryon.workspace import Workspace


def _handoff(
    org_id: str, n: int, clock: FixedClock, text: str | None = "where is my card"
) -> SupportHandoffRow:
    return SupportHandoffRow(
        prediction_id=f"pred_{n:026d}", org_id=org_id, conversation_id="c1",
        model_name="support-intent", model_version=1, intent="card_arrival",
        confidence=0.3, reason="low_confidence", text=text, text_hash=None,
        status="open", created_at=clock.now() + timedelta(minutes=n),
    )  # fmt: skip


@pytest.fixture
def orgs(workspace: Workspace) -> tuple[str, str]:
    clock = FixedClock()
    with workspace.db.session(SYSTEM) as s:
        acme = create_org(s, name="acme", plan="free", clock=clock).id
        globex = create_org(s, name="globex", plan="free", clock=clock).id
        s.add_all([_handoff(acme, n, clock) for n in range(3)])
        s.add(_handoff(acme, 3, clock, text=None))
        s.add(_handoff(globex, 9, clock))
    return acme, globex


def test_answer_then_close_is_stored_audited_and_final(
    workspace: Workspace, orgs: tuple[str, str]
) -> None:
    acme, _ = orgs
    clock = FixedClock()
    pid = f"pred_{1:026d}"
    with workspace.db.session(Scope.own(acme)) as s:
        answered = answer_handoff(
            s, acme, pid, answer="  It ships today. ", actor="key:k", clock=clock
        )
        assert (answered["answer"], answered["answered_by"], answered["status"]) == (
            "It ships today.", "key:k", "open",
        )  # fmt: skip
        closed = close_handoff(s, acme, pid, actor="key:k", clock=clock)
        assert closed["status"] == "closed"
        assert closed["closed_at"] == clock.now()
        assert count_handoffs(s, acme, status="open") == 3
        page = list_handoffs(s, acme, status="open", limit=2, offset=1)
        assert [h["prediction_id"] for h in page] == [f"pred_{2:026d}", f"pred_{0:026d}"]
        with pytest.raises(Conflict) as closed_err:
            answer_handoff(s, acme, pid, answer="again", actor="key:k", clock=clock)
        assert closed_err.value.code == "handoff_closed"
        with pytest.raises(Conflict):
            close_handoff(s, acme, pid, actor="key:k", clock=clock)
    with workspace.db.session(SYSTEM) as s:
        actions = s.scalars(select(AuditEvent.action).where(AuditEvent.object_id == pid)).all()
    assert actions == ["support.handoff.answer", "support.handoff.close"]


@pytest.mark.parametrize(
    ("answer", "code"), [("   ", "empty_answer"), ("x" * 10_001, "answer_too_long")]
)
def test_bad_answers_are_refused_and_nothing_is_written(
    workspace: Workspace, orgs: tuple[str, str], answer: str, code: str
) -> None:
    acme, _ = orgs
    pid = f"pred_{0:026d}"
    with workspace.db.session(Scope.own(acme)) as s:
        with pytest.raises(InvalidInput) as err:
            answer_handoff(s, acme, pid, answer=answer, actor="k", clock=FixedClock())
        assert err.value.code == code
        assert get_handoff(s, acme, pid)["answer"] is None


def test_send_to_labeling_queues_the_text_once_with_the_guess(
    workspace: Workspace, orgs: tuple[str, str]
) -> None:
    acme, _ = orgs
    clock = FixedClock()
    pid = f"pred_{0:026d}"
    with workspace.db.session(Scope.own(acme)) as s:
        task_id = send_to_labeling(
            s, acme, pid, classes=["card_arrival", "refund"], actor="k", clock=clock
        )
        again = send_to_labeling(
            s, acme, pid, classes=["card_arrival", "refund"], actor="k", clock=clock
        )
        assert again == task_id
        task = s.get(LabelingTaskRow, task_id)
        assert task is not None
        assert (task.input, task.suggested_label, task.priority, task.seen_count) == (
            {"text": "where is my card"}, "card_arrival", 1.0, 2,
        )  # fmt: skip
        assert get_handoff(s, acme, pid)["labeling_task_id"] == task_id
        with pytest.raises(InvalidInput) as err:
            send_to_labeling(s, acme, f"pred_{3:026d}", classes=["x"], actor="k", clock=clock)
        assert err.value.code == "no_text"


def test_another_organizations_handoff_is_not_found(
    workspace: Workspace, orgs: tuple[str, str]
) -> None:
    acme, globex = orgs
    with workspace.db.session(Scope.own(acme)) as s:
        for call in (
            lambda: get_handoff(s, acme, f"pred_{9:026d}"),
            lambda: answer_handoff(
                s, acme, f"pred_{9:026d}", answer="hi", actor="k", clock=FixedClock()
            ),
            lambda: get_handoff(s, globex, f"pred_{0:026d}"),
        ):
            with pytest.raises(NotFound) as err:
                call()
            assert err.value.code == "handoff_not_found"
