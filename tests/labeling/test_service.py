"""Queues: create, list, progress, update; listing tasks; the label space of a model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from labelkit import CLAIM, add_task, as_org, make_queue, org_id
from sqlalchemy import select

from baryon.core.audit import AuditEvent
from baryon.core.clock import FixedClock
from baryon.core.errors import BaryonError, Forbidden, InvalidInput, ModelNotReady, NotFound
from baryon.core.scope import Scope
from baryon.labeling.annotation import claim_next, submit_label
from baryon.labeling.service import (
    list_queues,
    list_tasks,
    model_classes,
    queue_classes,
    queue_progress,
    update_queue,
)
from baryon.predictions.inference import ModelResolver, ServedModel
from baryon.workspace import Workspace


def code_of(fn: Any) -> str:
    with pytest.raises(BaryonError) as err:
        fn()
    return err.value.code


# ---------------------------------------------------------------------- create
def test_create_queue_lists_by_name_and_audits(ws: Workspace) -> None:
    made = make_queue(ws, name="zeta", classes=("b", "a"), overlap=2, min_agreement=0.6)
    make_queue(ws, name="alpha")
    assert made.classes == ["a", "b"]
    assert made.overlap == 2
    assert made.min_agreement == 0.6
    with as_org(ws) as s:
        assert [q.name for q in list_queues(s)] == ["alpha", "zeta"]
    with as_org(ws, "globex") as s:
        assert list_queues(s) == []
    with ws.db.session() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.object_id == made.id)).one()
    assert event.action == "labeling_queue.create"
    assert event.org_id == org_id(ws, "acme")
    assert event.details["overlap"] == 2


def test_create_queue_same_name_is_a_conflict_but_other_org_may(ws: Workspace) -> None:
    make_queue(ws)
    assert code_of(lambda: make_queue(ws)) == "queue_exists"
    assert make_queue(ws, org="globex").name == "q"


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"name": "no spaces"}, "invalid_queue_name"),
        ({"name": "-dash"}, "invalid_queue_name"),
        ({"classes": ()}, "invalid_classes"),
        ({"classes": ("a", "a")}, "invalid_classes"),
        ({"classes": ("a", " b")}, "invalid_classes"),
        ({"classes": ("a", "x" * 201)}, "invalid_classes"),
        ({"overlap": 0}, "invalid_overlap"),
        ({"overlap": 21}, "invalid_overlap"),
        ({"overlap": True}, "invalid_overlap"),
        ({"min_agreement": 1.5}, "invalid_min_agreement"),
        ({"min_agreement": float("nan")}, "invalid_min_agreement"),
        ({"min_agreement": True}, "invalid_min_agreement"),
    ],
)
def test_create_queue_bad_input_refused(ws: Workspace, kwargs: dict[str, Any], code: str) -> None:
    assert code_of(lambda: make_queue(ws, **kwargs)) == code
    with as_org(ws) as s:
        assert list_queues(s) == []


# -------------------------------------------------------------------- progress
def test_queue_progress_counts_tasks_and_each_annotators_work(
    ws: Workspace, clock: FixedClock
) -> None:
    make_queue(ws, overlap=2)
    first = add_task(ws, "first", priority=3)
    add_task(ws, "second", priority=2)
    add_task(ws, "third", priority=1)
    with as_org(ws) as s:
        claim_next(s, "q", annotator="u1", claim_seconds=CLAIM, clock=clock)
    clock.advance(10)
    for who in ("u1", "u2"):
        with as_org(ws) as s:
            submit_label(s, first, annotator=who, label="a", claim_seconds=CLAIM, clock=clock)
    with as_org(ws) as s:
        claim_next(s, "q", annotator="u3", claim_seconds=CLAIM, clock=clock)
        progress = queue_progress(s, "q", claim_seconds=CLAIM, clock=clock)
    assert progress.tasks == {"open": 2, "review": 0, "done": 1, "skipped": 0, "total": 3}
    by_who = {a.annotator: a for a in progress.annotators}
    assert (by_who["u1"].submitted, by_who["u1"].seconds_mean) == (1, 10.0)
    assert (by_who["u2"].submitted, by_who["u2"].seconds_mean) == (1, None)
    assert (by_who["u3"].claimed, by_who["u3"].submitted) == (1, 0)
    clock.advance(CLAIM + 1)
    with as_org(ws) as s:
        later = queue_progress(s, "q", claim_seconds=CLAIM, clock=clock)
    assert "u3" not in {a.annotator for a in later.annotators}  # its claim expired
    assert later.to_dict()["tasks"]["done"] == 1
    assert later.to_dict()["name"] == "q"


def test_queue_progress_unknown_queue_not_found(ws: Workspace, clock: FixedClock) -> None:
    make_queue(ws)
    with as_org(ws, "globex") as s:
        assert code_of(lambda: queue_progress(s, "q", claim_seconds=1, clock=clock)) == (
            "queue_not_found"
        )


# ---------------------------------------------------------------------- update
def test_update_queue_changes_fields_and_audits_only_changes(ws: Workspace) -> None:
    made = make_queue(ws)
    with as_org(ws) as s:
        out = update_queue(
            s, "q", overlap=3, min_agreement=0.8, instructions="Pick one", actor="t",
            clock=ws.clock,
        )  # fmt: skip
        same = update_queue(s, "q", overlap=3, actor="t", clock=ws.clock)
        cleared = update_queue(s, "q", instructions="", actor="t", clock=ws.clock)
    assert (out.overlap, out.min_agreement, out.instructions) == (3, 0.8, "Pick one")
    assert same == out
    assert cleared.instructions is None
    with ws.db.session() as s:
        actions = s.scalars(
            select(AuditEvent.details).where(
                AuditEvent.object_id == made.id, AuditEvent.action == "labeling_queue.update"
            )
        ).all()
    assert actions == [
        {"overlap": [1, 3], "min_agreement": [0.5, 0.8], "instructions": "changed"},
        {"instructions": "changed"},
    ]


def test_update_queue_lower_overlap_decides_tasks_with_enough_labels(ws: Workspace) -> None:
    make_queue(ws, overlap=3)
    agreed = add_task(ws, "agreed")
    split = add_task(ws, "split")
    waiting = add_task(ws, "waiting")
    with as_org(ws) as s:
        for task_id, labels in ((agreed, "aa"), (split, "ab"), (waiting, "a")):
            for n, label in enumerate(labels):
                submit_label(
                    s, task_id, annotator=f"u{n}", label=label, claim_seconds=CLAIM,
                    clock=ws.clock,
                )  # fmt: skip
        update_queue(s, "q", overlap=2, actor="t", clock=ws.clock)
        status = {t.id: (t.status, t.label) for t in list_tasks(s, "q")}
    assert status == {agreed: ("done", "a"), split: ("review", None), waiting: ("open", None)}


def test_update_queue_nothing_to_change_is_empty_update(ws: Workspace) -> None:
    # QA 13 #16: PATCH {} answered 200 (the iteration routes answer empty_update)
    make_queue(ws)
    with as_org(ws) as s:
        assert code_of(lambda: update_queue(s, "q", actor="t", clock=ws.clock)) == "empty_update"


def test_update_queue_bad_values_refused(ws: Workspace) -> None:
    make_queue(ws)
    with as_org(ws) as s:
        assert code_of(lambda: update_queue(s, "q", overlap=0, actor="t", clock=ws.clock)) == (
            "invalid_overlap"
        )
        assert code_of(
            lambda: update_queue(s, "q", instructions="x" * 10_001, actor="t", clock=ws.clock)
        ) == ("invalid_instructions")


# ----------------------------------------------------------------------- tasks
def test_list_tasks_orders_by_priority_then_age_and_filters_status(
    ws: Workspace, clock: FixedClock
) -> None:
    make_queue(ws)
    low = add_task(ws, "low", priority=0.2)
    clock.advance(1)
    high = add_task(ws, "high", priority=0.8)
    clock.advance(1)
    high_later = add_task(ws, "high later", priority=0.8)
    with as_org(ws) as s:
        assert [t.id for t in list_tasks(s, "q")] == [high, high_later, low]
        assert [t.id for t in list_tasks(s, "q", limit=1)] == [high]
        submit_label(s, low, annotator="u", label="a", claim_seconds=CLAIM, clock=clock)
        assert [t.id for t in list_tasks(s, "q", status="done")] == [low]
        assert code_of(lambda: list_tasks(s, "q", status="closed")) == "invalid_status"
        assert code_of(lambda: list_tasks(s, "q", limit=0)) == "invalid_limit"


# ---------------------------------------------------------------- label space
class _Proba:
    classes_ = np.array([0, 2, 1])


@dataclass
class _Resolver(ModelResolver):
    models: dict[str, ServedModel] = field(default_factory=dict)
    no_champion: set[str] = field(default_factory=set)

    def resolve(
        self, name: str, *, scope: Scope, version: int | None = None, alias: str = "champion"
    ) -> ServedModel:
        if name == "shared-read":
            raise Forbidden("shared for reading", code="predict_not_granted")
        if name in self.no_champion:
            raise ModelNotReady(f"model {name!r} has no champion")
        if name not in self.models:
            raise NotFound(f"no model {name!r}", code="model_not_found")
        return self.models[name]

    def readiness(self) -> dict[str, bool]:
        return {}


def _resolver() -> _Resolver:
    named = ServedModel(
        "mood", 1, "text_classification", _Proba(), extra={"label_names": {"0": "neg", "1": "pos"}}
    )
    plain = ServedModel("intent", 1, "classification", object(), classes=("card", "fee"))
    value = ServedModel("price", 1, "regression", object())
    return _Resolver({"mood": named, "intent": plain, "price": value}, {"draft"})


def test_model_classes_named_through_label_names_else_str() -> None:
    r = _resolver()
    assert model_classes(r.models["mood"]) == ["2", "neg", "pos"]
    assert model_classes(r.models["intent"]) == ["card", "fee"]
    assert model_classes(r.models["price"]) is None


def test_queue_classes_default_to_the_champions() -> None:
    scope = Scope.own("org_x")
    assert queue_classes(_resolver(), "intent", scope=scope) == ["card", "fee"]
    assert queue_classes(_resolver(), "intent", scope=scope, classes=["fee"]) == ["fee"]


def test_queue_classes_not_the_models_unknown_label() -> None:
    # QA 13 #2: a queue on model intent (card, fee) with class "refunds" was made, and
    # its labels were later left out by the flywheel
    scope = Scope.own("org_x")
    with pytest.raises(InvalidInput) as info:
        queue_classes(_resolver(), "intent", scope=scope, classes=["fee", "refunds"])
    assert info.value.code == "unknown_label"
    assert info.value.details["unknown"] == ["refunds"]
    assert info.value.details["classes"] == ["card", "fee"]
    named = queue_classes(_resolver(), "mood", scope=scope, classes=["pos"])  # a label name
    assert named == ["pos"]
    assert code_of(lambda: queue_classes(_resolver(), "mood", scope=scope, classes=["1"])) == (
        "unknown_label"
    )


def test_queue_classes_model_without_classes_needs_them_given() -> None:
    scope, r = Scope.own("org_x"), _resolver()
    assert code_of(lambda: queue_classes(r, "price", scope=scope)) == "no_model_classes"
    assert code_of(lambda: queue_classes(r, "draft", scope=scope)) == "no_model_classes"
    assert queue_classes(r, "draft", scope=scope, classes=["x"]) == ["x"]
    assert queue_classes(r, "price", scope=scope, classes=["cheap"]) == ["cheap"]
    assert code_of(lambda: queue_classes(r, "shared-read", scope=scope)) == "no_model_classes"
    assert queue_classes(r, "shared-read", scope=scope, classes=["x"]) == ["x"]


def test_queue_classes_unknown_model_not_found_even_with_classes() -> None:
    assert code_of(lambda: queue_classes(_resolver(), "nope", scope=Scope.own("o"))) == (
        "model_not_found"
    )
    assert code_of(
        lambda: queue_classes(_resolver(), "nope", scope=Scope.own("o"), classes=["a"])
    ) == ("model_not_found")
