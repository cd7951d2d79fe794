"""Gathering consensus labels and trusted feedback after a watermark (no model needed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from baryon.commerce.orgs import create_org
from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.core.scope import SYSTEM
from baryon.flywheel.labels import FEEDBACK, Gathered, Watermark, gather
from baryon.labeling.queue import enqueue, ensure_queue
from baryon.labeling.tables import LabelingTaskRow
from baryon.tenancy.keys import revoke_key
from baryon.workspace import Workspace

from .cyclekit import feedback, label


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def ws(tmp_path: Path, clock: FixedClock) -> Iterator[Workspace]:
    workspace = Workspace.open(Settings(home=tmp_path / "home"), clock=clock)
    try:
        yield workspace
    finally:
        workspace.close()


def _gather(ws: Workspace, since: Watermark, model: str = "intent") -> Gathered:
    with ws.db.session(ws.scope) as session:
        return gather(session, model, since)


def test_gather_done_tasks_of_the_models_queues_oldest_first(
    ws: Workspace, clock: FixedClock
) -> None:
    ids = label(ws, clock, [("one", "a"), ("two", "b")])
    label(ws, clock, [("three", "a")], model="other-model")
    org_id = ws.scope.org_id
    assert org_id is not None
    with ws.db.session(ws.scope) as session:  # open and review tasks are not labels yet
        queue = ensure_queue(session, org_id=org_id, model_name="intent", classes=["a"],
                             clock=clock)  # fmt: skip
        enqueue(session, queue, input={"text": "open"}, source="prediction",
                reason="low_confidence", clock=clock)  # fmt: skip

    found = _gather(ws, Watermark())

    assert [g.ref for g in found.labels] == ids
    assert [g.source for g in found.labels] == ["queue:intent"] * 2
    assert found.watermark.labels is not None
    assert found.watermark.labels[1] == ids[-1]
    again = _gather(ws, found.watermark)
    assert again.labels == []
    assert again.watermark == found.watermark


def test_gather_same_done_at_is_ordered_by_task_id(ws: Workspace, clock: FixedClock) -> None:
    ids = label(ws, clock, [("one", "a"), ("two", "b"), ("three", "a")])
    with ws.db.session(ws.scope) as session:
        for task_id in ids:
            row = session.get(LabelingTaskRow, task_id)
            assert row is not None
            row.done_at = clock.now()  # one instant for all three
    first = sorted(ids)[0]
    with ws.db.session(ws.scope) as session:
        since = Watermark(labels=(clock.now(), first))
        found = gather(session, "intent", since)
    assert sorted(g.ref for g in found.labels) == sorted(ids)[1:]


def test_gather_feedback_trusted_roles_only_not_revoked(ws: Workspace, clock: FixedClock) -> None:
    feedback(ws, clock, [("dev", "a")], role="developer")
    feedback(ws, clock, [("owner", "a")], role="owner")
    feedback(ws, clock, [("annotator", "a")], role="annotator")
    revoked = feedback(ws, clock, [("revoked", "a")], role="admin")
    with ws.db.session(SYSTEM) as session:
        from baryon.predictions.tables import FeedbackRow

        row = session.get(FeedbackRow, revoked[0])
        assert row is not None
        revoke_key(session, row.key_id, clock=clock)

    found = _gather(ws, Watermark())

    texts = [g.input for g in found.labels]
    assert texts == ["dev", "owner"]
    assert {g.source for g in found.labels} == {FEEDBACK}
    assert found.skipped == {"untrusted_feedback": 2}
    assert found.examined == 4


def test_gather_feedback_per_input_mode_masked_learned_as_logged(
    ws: Workspace, clock: FixedClock
) -> None:
    feedback(ws, clock, [("card for ann@example.com", "a")], input_mode="masked")
    feedback(ws, clock, [("hashed text", "a")], input_mode="hashed")
    feedback(ws, clock, [("no text", "a")], input_mode="none")
    found = _gather(ws, Watermark())
    assert [g.input for g in found.labels] == ["card for [EMAIL]"]
    assert found.skipped == {"no_input": 2}


def test_gather_sees_only_its_own_organizations_labels(ws: Workspace, clock: FixedClock) -> None:
    label(ws, clock, [("operator's", "a")])
    with ws.db.session(SYSTEM) as session:
        other = create_org(session, name="other", clock=clock)
    view = ws.for_org(other.id)
    label(view, clock, [("other's", "b")])
    feedback(view, clock, [("other's feedback", "b")])
    mine = _gather(ws, Watermark())
    theirs = _gather(view, Watermark())
    assert [g.input for g in mine.labels] == [{"text": "operator's"}]
    assert [g.input for g in theirs.labels] == [
        {"text": "other's"},
        "other's feedback",
    ]


def test_watermark_round_trips_through_json() -> None:
    mark = Watermark(labels=(FixedClock().now(), "task_x"), feedback=None)
    assert Watermark.from_dict(mark.to_dict()) == mark
    assert Watermark.from_dict(None) == Watermark()
    assert Watermark.from_dict({"labels": {"at": "x"}}) == Watermark()
