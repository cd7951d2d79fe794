"""A flywheel cycle on a tiny intent model: new version, frozen test split, gate, report."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.core.errors import Conflict, InvalidInput, NotFound
from baryon.data.splits import TRAIN
from baryon.flywheel.cycle import run_cycle
from baryon.flywheel.records import get_cycle, list_cycles
from baryon.workspace import Workspace

from .cyclekit import (
    MODEL,
    counts,
    feedback,
    known_word_texts,
    label,
    later,
    make_intent_model,
    new_word_texts,
)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with the champion ``intent`` v1 (trained once per module)."""
    home = tmp_path_factory.mktemp("flywheel") / "home"
    ws = Workspace.open(Settings(home=home), clock=FixedClock())
    try:
        make_intent_model(ws, home.parent)
    finally:
        ws.close()
    return home


@pytest.fixture
def clock() -> FixedClock:
    """A clock an hour after the template's model was trained."""
    clock = FixedClock()
    clock.advance(3600)
    return clock


@pytest.fixture
def ws(template: Path, tmp_path: Path, clock: FixedClock) -> Iterator[Workspace]:
    """A copy of the template home."""
    home = tmp_path / "home"
    shutil.copytree(template, home)
    workspace = Workspace.open(Settings(home=home), clock=clock)
    try:
        yield workspace
    finally:
        workspace.close()


def test_run_cycle_new_labels_new_version_candidate_promoted_with_report(
    ws: Workspace, clock: FixedClock
) -> None:
    champion = ws.registry.get_version(MODEL, alias="champion")
    parent = ws.datasets.get_by_id(champion.dataset_version_id)
    label(ws, clock, new_word_texts(12))
    feedback(ws, clock, new_word_texts(4, start=400))

    cycle = run_cycle(ws, MODEL, actor="tester")

    assert cycle.status == "promoted"
    report = cycle.report
    assert report["decision"] == "promoted"
    assert report["rows_added"] == {"feedback": 4, "queue:intent": 12}
    assert report["metrics"]["champion"]["accuracy"] == pytest.approx(0.75)
    assert report["metrics"]["candidate"]["accuracy"] == pytest.approx(1.0)
    delta = report["metrics"]["delta"]["accuracy"]
    assert delta["value"] == pytest.approx(0.25)
    low, high = delta["ci95"]
    assert 0 < low <= 0.25 <= high <= 0.5  # 4 of 16 rows gained, none lost
    assert set(report["metrics"]["delta"]) == {"accuracy", "macro_f1"}
    assert set(report["timings"]) == {"gather", "dataset", "train", "evaluate", "gate"}
    assert report["seconds"] >= sum(report["timings"].values()) - 0.01
    assert "beats" in report["message"]
    assert report["gate"]["passed"] is True
    # the new version: parent + 16 rows in train, lineage naming parent and sources
    new = ws.datasets.get_by_id(str(cycle.dataset_version_id))
    assert (new.parent_id, new.operation, new.row_count) == (parent.id, "append", 76 + 16)
    lineage = new.lineage
    assert lineage["parent"] == {"id": parent.id, "ref": parent.ref}
    assert {s["source"]: s["rows"] for s in lineage["sources"]} == {
        "feedback": 4,
        "queue:intent": 12,
    }
    assert lineage["watermark"] == report["watermark"]
    # the candidate: the champion's recipe on the new version, now champion
    now = ws.registry.get_version(MODEL, alias="champion")
    assert (now.version, cycle.candidate_version, cycle.champion_version) == (2, 2, 1)
    run = ws.runs.get(str(cycle.run_id))
    old_run = ws.runs.get(champion.run_id)
    assert (run.kind, run.params, run.seed, run.target) == (
        old_run.kind, old_run.params, old_run.seed, old_run.target,
    )  # fmt: skip
    assert run.dataset_version_id == new.id
    assert now.extra["flywheel"]["cycle_id"] == cycle.id
    assert get_cycle(ws, cycle.id) == cycle
    assert [c.id for c in list_cycles(ws, model=MODEL)] == [cycle.id]


def test_run_cycle_new_rows_never_enter_the_frozen_test_split(
    ws: Workspace, clock: FixedClock
) -> None:
    champion = ws.registry.get_version(MODEL, alias="champion")
    parent = ws.datasets.get_by_id(champion.dataset_version_id)
    test_before = parent.to_pandas(split="test")
    # labels of two inputs that ARE test rows, and of six new inputs
    in_test = [(str(t), str(i)) for t, i in test_before[["text", "intent"]].head(2).values]
    label(ws, clock, [*in_test, *new_word_texts(6)])

    cycle = run_cycle(ws, MODEL)

    assert cycle.report["skipped"] == {"in_test_split": 2}
    assert cycle.report["rows_added"] == {"queue:intent": 6}
    new = ws.datasets.get_by_id(str(cycle.dataset_version_id))
    # the test split is exactly the parent's: same rows, same order, same values
    pd.testing.assert_frame_equal(new.to_pandas(split="test"), test_before)
    codes = new.split_codes()
    np.testing.assert_array_equal(codes[: parent.row_count], parent.split_codes())
    assert (codes[parent.row_count :] == TRAIN).all()
    assert len(codes) == parent.row_count + 6
    assert cycle.report["test_split"]["rows"] == len(test_before)


def test_run_cycle_twice_with_nothing_new_changes_nothing(ws: Workspace, clock: FixedClock) -> None:
    label(ws, clock, new_word_texts(8))
    first = run_cycle(ws, MODEL)
    assert first.status == "promoted"
    before = counts(ws)

    again = run_cycle(ws, MODEL)

    assert again.status == "nothing_new"
    assert again.report["decision"] == "nothing_new"
    assert (again.dataset_version_id, again.run_id, again.candidate_version) == (None,) * 3
    after = counts(ws)
    assert after == {**before, "cycles": before["cycles"] + 1}  # only the cycle's record
    assert ws.registry.get_version(MODEL, alias="champion").version == 2


def test_run_cycle_tie_kept_then_same_labels_nothing_new(ws: Workspace, clock: FixedClock) -> None:
    label(ws, clock, known_word_texts(6))  # the champion knows these words already

    kept = run_cycle(ws, MODEL)

    assert kept.status == "kept"
    assert kept.report["metrics"]["delta"]["accuracy"]["value"] == 0.0
    assert kept.report["gate"]["passed"] is False
    assert "a tie does not promote" in kept.report["message"]
    assert ws.registry.get_version(MODEL, alias="champion").version == 1
    before = counts(ws)
    again = run_cycle(ws, MODEL)  # nothing arrived since: not tried twice
    assert again.status == "nothing_new"
    assert kept.id in again.report["message"]
    assert counts(ws) == {**before, "cycles": before["cycles"] + 1}
    # a new label after the kept cycle: every label since the champion's data is used
    later(clock)
    label(ws, clock, new_word_texts(8))
    third = run_cycle(ws, MODEL)
    assert third.report["rows_added"] == {"queue:intent": 14}
    assert third.status == "promoted"


def test_run_cycle_after_kept_new_labels_all_left_out_nothing_new(
    ws: Workspace, clock: FixedClock
) -> None:
    # QA 13 #1: a kept cycle's labels plus one label the cycle drops (a class the
    # model does not have) must not retrain on the very same rows
    tried = known_word_texts(6)
    label(ws, clock, tried)
    kept = run_cycle(ws, MODEL)
    assert kept.status == "kept"
    before = counts(ws)
    later(clock)
    label(ws, clock, [("refunds please now", "refunds")])  # unknown_label
    label(ws, clock, tried[:1], queue="second-queue")  # the same input, the same label
    champion = ws.registry.get_version(MODEL, alias="champion")
    test_row = ws.datasets.get_by_id(champion.dataset_version_id).to_pandas(split="test").iloc[0]
    label(ws, clock, [(str(test_row["text"]), str(test_row["intent"]))])  # in_test_split

    again = run_cycle(ws, MODEL)

    assert again.status == "nothing_new", again.report.get("message")
    assert kept.id in again.report["message"]
    assert again.report["skipped"] == {"duplicate": 1, "in_test_split": 1, "unknown_label": 1}
    assert again.report["rows_added"] == {}
    assert counts(ws) == {**before, "cycles": before["cycles"] + 1}
    # a label that does add a row is tried
    later(clock)
    label(ws, clock, new_word_texts(8))
    assert run_cycle(ws, MODEL).status == "promoted"


def test_run_cycle_next_cycle_starts_at_the_new_champions_watermark(
    ws: Workspace, clock: FixedClock
) -> None:
    label(ws, clock, new_word_texts(8))
    assert run_cycle(ws, MODEL).status == "promoted"
    later(clock)
    label(ws, clock, known_word_texts(4, start=500))

    second = run_cycle(ws, MODEL)

    assert second.report["gathered"]["labels"] == 4  # not the 8 the champion holds
    assert second.report["rows_added"] == {"queue:intent": 4}
    assert second.champion_version == 2


def test_run_cycle_trusts_only_developer_feedback_with_kept_inputs(
    ws: Workspace, clock: FixedClock
) -> None:
    feedback(ws, clock, new_word_texts(2), role="annotator")
    feedback(ws, clock, new_word_texts(2, start=600), role="viewer")
    feedback(ws, clock, new_word_texts(3, start=700), input_mode="hashed")
    feedback(ws, clock, [(t, "no-such-intent") for t, _ in new_word_texts(2, start=800)])
    feedback(ws, clock, new_word_texts(5, start=900), role="admin")

    cycle = run_cycle(ws, MODEL)

    assert cycle.report["rows_added"] == {"feedback": 5}
    assert cycle.report["skipped"] == {
        "untrusted_feedback": 4,
        "no_input": 3,
        "unknown_label": 2,
    }


def test_run_cycle_same_input_labelled_twice_kept_once_consensus_wins(
    ws: Workspace, clock: FixedClock
) -> None:
    pairs = new_word_texts(4)
    feedback(ws, clock, [(pairs[0][0], "b" if pairs[0][1] == "a" else "a")])
    label(ws, clock, pairs)
    label(ws, clock, pairs[:1], queue="second-queue")

    cycle = run_cycle(ws, MODEL)

    assert cycle.report["skipped"] == {"duplicate": 2}
    assert sum(cycle.report["rows_added"].values()) == 4
    new = ws.datasets.get_by_id(str(cycle.dataset_version_id))
    added = new.to_pandas().tail(4)
    assert dict(zip(added["text"], added["intent"], strict=True))[pairs[0][0]] == pairs[0][1]


def test_run_cycle_without_labels_nothing_new(ws: Workspace) -> None:
    before = counts(ws)
    cycle = run_cycle(ws, MODEL)
    assert (cycle.status, cycle.report["rows_added"]) == ("nothing_new", {})
    assert counts(ws) == {**before, "cycles": before["cycles"] + 1}


def test_run_cycle_unknown_model_no_champion_regressor_named_errors(
    ws: Workspace, clock: FixedClock, tmp_path: Path
) -> None:
    from baryon.training.trainer import Trainer

    before = counts(ws)
    with pytest.raises(NotFound) as info:
        run_cycle(ws, "no-such-model")
    assert info.value.code == "model_not_found"
    frame = pd.DataFrame({"x": np.arange(20.0), "y": np.arange(20.0) * 2})
    frame.to_csv(tmp_path / "reg.csv", index=False)
    ws.datasets.ingest(tmp_path / "reg.csv", name="reg", roles={"y": "label"})
    ws.datasets.split("reg", strategy="random", seed=0)
    Trainer(ws).train("linear_regression", "reg", register="reg").raise_for_status()
    with pytest.raises(InvalidInput) as info:
        run_cycle(ws, "reg")
    assert info.value.code == "not_a_classifier"
    with ws.registry.aliases(MODEL) as aliases:
        aliases.move("champion", None, action="test", actor="test", reason="no champion")
    with pytest.raises(Conflict) as info:
        run_cycle(ws, MODEL)
    assert info.value.code == "no_champion"
    with pytest.raises(InvalidInput) as info:
        run_cycle(ws, "reg", min_delta=-1)
    assert info.value.code == "invalid_min_delta"
    after = counts(ws)
    assert after["cycles"] == before["cycles"]  # refused before anything was recorded


def test_run_cycle_another_orgs_model_not_found(
    ws: Workspace, clock: FixedClock, tmp_path: Path
) -> None:
    from baryon.commerce.orgs import create_org
    from baryon.core.scope import SYSTEM
    from baryon.tenancy.grants import create_grant

    with ws.db.session(SYSTEM) as session:
        other = create_org(session, name="other", clock=clock)
        assert ws.scope.org_id is not None
        create_grant(
            session, owner_org_id=ws.scope.org_id, object_type="model", object_name=MODEL,
            grantee="other", permission="predict", actor="test", clock=clock,
        )  # fmt: skip
    view = ws.for_org(other.id)
    assert view.registry.get_version(MODEL, alias="champion").version == 1  # shared: visible
    with pytest.raises(NotFound) as info:
        run_cycle(view, MODEL)
    assert info.value.code == "model_not_found"


def test_run_cycle_counts_towards_an_open_iteration_refuses_a_closed_one(
    ws: Workspace, clock: FixedClock
) -> None:
    from baryon.flywheel.tables import IterationRow

    now = clock.now()
    org_id = ws.scope.org_id
    with ws.db.session(ws.scope) as session:
        for ident, status in (("it_open", "open"), ("it_closed", "closed")):
            session.add(
                IterationRow(
                    id=ident, org_id=org_id, name=f"{ident}_name", starts_at=now, ends_at=now,
                    goals=[], status=status, summary={}, created_at=now, closed_at=None,
                )
            )  # fmt: skip
    before = counts(ws)
    with pytest.raises(Conflict) as info:
        run_cycle(ws, MODEL, iteration_id="it_closed")
    assert info.value.code == "iteration_closed"
    with pytest.raises(NotFound) as missing:
        run_cycle(ws, MODEL, iteration_id="it_nope")
    assert missing.value.code == "iteration_not_found"
    assert counts(ws) == before
    with pytest.raises(Conflict) as by_name:  # a name works like an id (QA 13 #6)
        run_cycle(ws, MODEL, iteration_id="it_closed_name")
    assert by_name.value.code == "iteration_closed"
    cycle = run_cycle(ws, MODEL, iteration_id="it_open_name")
    assert cycle.iteration_id == "it_open"  # the id is recorded
    assert [c.id for c in list_cycles(ws, model=MODEL)] == [cycle.id]


def test_run_cycle_failure_midway_recorded_failed_with_the_code_and_raised(
    ws: Workspace, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from baryon.flywheel.cycle import FlywheelCycle

    def broken(*args: object, **kwargs: object) -> None:
        raise InvalidInput("the test split is gone", code="test_failure")

    monkeypatch.setattr(FlywheelCycle, "measure", broken)
    label(ws, clock, new_word_texts(6))

    with pytest.raises(InvalidInput) as info:
        run_cycle(ws, MODEL)

    assert info.value.code == "test_failure"
    (cycle,) = list_cycles(ws, model=MODEL)
    assert cycle.status == "failed"
    assert cycle.report["error"] == {"code": "test_failure", "message": "the test split is gone"}
    assert "decision" not in cycle.report
    assert cycle.dataset_version_id is not None  # what it made before failing is named
    assert ws.runs.get(str(cycle.run_id)).status == "succeeded"
    assert ws.registry.get_version(MODEL, alias="champion").version == 1
    monkeypatch.undo()
    retried = run_cycle(ws, MODEL)  # the same labels again: the same dataset version
    assert retried.dataset_version_id == cycle.dataset_version_id
    assert retried.status == "promoted"
