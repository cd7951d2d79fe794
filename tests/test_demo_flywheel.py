"""The demo's flywheel step on tiny data (the full demo's tests are slow: tests/test_demo.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flywheel.cyclekit import PARAMS, intent_frame

from baryon.cli.demo import flywheel_summary
from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.demo import SUPPORT_MODEL, Demo
from baryon.workspace import Workspace


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    """A home whose ``support-intent`` is the tiny intent model, with a validation split."""
    from baryon.training.trainer import Trainer

    clock = FixedClock()
    workspace = Workspace.open(Settings(home=tmp_path / "home"), clock=clock)
    path = tmp_path / "intents.csv"
    intent_frame().drop(columns=["ts"]).to_csv(path, index=False)
    workspace.datasets.ingest(path, name="intents", roles={"text": "text", "intent": "label"})
    split = workspace.datasets.split(
        "intents", strategy="stratified", test_size=0.25, validation_size=0.25, seed=0
    )
    Trainer(workspace).train(
        "text_classifier", split.ref, params=PARAMS, register=SUPPORT_MODEL, seed=0
    ).raise_for_status()
    clock.advance(3600)
    try:
        yield workspace
    finally:
        workspace.close()


def test_demo_flywheel_simulated_annotator_one_cycle_then_changes_nothing(
    ws: Workspace,
) -> None:
    champion = ws.registry.get_version(SUPPORT_MODEL, alias="champion")
    validation = ws.datasets.get_by_id(champion.dataset_version_id).to_pandas(split="validation")

    first = Demo(ws).flywheel(questions=None)

    # the tiny model's intents have no answer template: every question is handed off
    assert first["questions"] == first["handed_off"] == first["labelled"] == len(validation)
    assert first["simulated_annotator"] is True
    assert first["reused"] is False
    cycle = first["cycle"]
    assert cycle["status"] in ("promoted", "kept")
    assert cycle["report"]["trigger"] == "demo"
    assert cycle["report"]["rows_added"] == {f"queue:{SUPPORT_MODEL}": len(validation)}
    assert cycle["report"]["overlap"] == {"validation": len(validation)}
    summary = flywheel_summary(first)
    assert "SIMULATED annotator" in summary
    assert "no person labelled anything" in summary
    assert "test split frozen" in summary

    before = ws.db.table_counts()
    artifacts = set(ws.artifacts.digests())
    again = Demo(ws).flywheel(questions=None)

    assert ws.db.table_counts() == before  # not even an audit event
    assert set(ws.artifacts.digests()) == artifacts
    assert again["reused"] is True
    assert again["cycle"]["id"] == cycle["id"]
    assert again["labelled"] == first["labelled"]
    assert "earlier run of the demo" in flywheel_summary(again)


def test_demo_flywheel_sample_of_questions_is_seeded(ws: Workspace) -> None:
    result = Demo(ws).flywheel(questions=5)
    assert (result["questions"], result["labelled"]) == (5, 5)


def test_demo_flywheel_without_the_model_is_skipped(tmp_path: Path) -> None:
    with Workspace.open(Settings(home=tmp_path / "empty")) as empty:
        result = Demo(empty).flywheel()
        assert result == {"skipped": f"no {SUPPORT_MODEL} champion"}
        assert "skipped" in flywheel_summary(result)
