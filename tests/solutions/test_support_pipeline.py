"""The support pipeline on tiny data: datasets, run, calibration, registry, idempotency."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from supportkit import banking_rows, write_banking, write_clinc

from baryon.core.errors import InvalidInput, ValidationFailed
from baryon.solutions.support.pipeline import (
    BANK_DOMAINS,
    MODEL_NAME,
    SupportPipeline,
    SupportResult,
)
from baryon.workspace import Workspace

FAST = {"cv": 2}


def _pipeline(ws: Workspace, tmp_path: Path, **kwargs: object) -> SupportPipeline:
    return SupportPipeline(
        ws,
        source=write_banking(tmp_path / "banking.csv"),
        calibration=write_clinc(tmp_path / "val.csv", half=0),
        held_out=write_clinc(tmp_path / "train.csv", half=1),
        params=kwargs.pop("params", FAST),  # type: ignore[arg-type]
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
def result(workspace: Workspace, tmp_path: Path) -> SupportResult:
    return _pipeline(workspace, tmp_path).run()


def test_run_registers_promoted_champion_with_handoff_threshold(
    workspace: Workspace, result: SupportResult
) -> None:
    assert (result.version, result.champion, result.created) == (1, 1, True)
    mv = workspace.registry.get_version(MODEL_NAME, alias="champion")
    assert mv.kind == "text_classifier"
    assert sorted(mv.classes or []) == ["card_arrival", "lost_or_stolen_card", "top_up_failed"]
    assert mv.extra["handoff_threshold"] == result.handoff.threshold
    assert 0 <= mv.extra["out_of_scope_threshold"] <= mv.extra["handoff_threshold"] <= 1
    assert mv.extra["handoff_rule"] == "balanced"
    assert mv.run_id == result.run_id
    # words of each intent are disjoint: the tiny test split is classified perfectly
    assert result.accuracy == 1.0
    assert result.meets_target
    assert result.baseline["accuracy"] == pytest.approx(1 / 3, abs=0.1)


def test_run_splits_banking77_seeded_70_10_20(result: SupportResult) -> None:
    assert result.dataset == "banking77:3"  # ingest, clean, split
    assert result.rows == {"train": 42, "validation": 6, "test": 12}


def test_run_stores_handoff_report_artifact_with_trade_off(
    workspace: Workspace, result: SupportResult
) -> None:
    report = json.loads(workspace.runs.artifact(result.run_id, "handoff"))
    assert report["calibration"]["threshold"] == result.handoff.threshold
    assert report["calibration"]["in_scope_rows"] == 6  # Banking77 validation split
    assert report["calibration"]["oos_rows"] == 10  # half of the oos/travel queries
    assert len(report["calibration"]["curve"]) >= 20
    assert report["held_out"]["in_scope_rows"] == 12
    assert report["held_out"]["oos_rows"] == 10
    assert "clinc150-train:1" in report["held_out"]["sources"]["out_of_scope"]
    assert result.handoff.oos_recall == pytest.approx(
        report["calibration"]["at_threshold"]["oos_recall"]
    )


def test_run_twice_creates_nothing_new(
    workspace: Workspace, tmp_path: Path, result: SupportResult
) -> None:
    before = workspace.db.table_counts()
    again = _pipeline(workspace, tmp_path).run()
    assert workspace.db.table_counts() == before
    assert (again.version, again.created, again.run_id) == (1, False, result.run_id)
    assert again.handoff == result.handoff
    assert again.held_out == result.held_out
    assert again.metrics == result.metrics


def test_run_new_params_trains_a_challenger_through_the_gate(
    workspace: Workspace, tmp_path: Path, result: SupportResult
) -> None:
    second = _pipeline(workspace, tmp_path, params={"cv": 2, "C": 0.5}).run()
    assert (second.version, second.created) == (2, True)
    champion = workspace.registry.get_version(MODEL_NAME, alias="champion")
    assert second.champion == champion.version
    moves = [(m.alias, m.action) for m in workspace.registry.alias_history(MODEL_NAME)]
    assert ("champion", "promote") in moves or second.notes


def test_run_reports_progress_in_order(workspace: Workspace, tmp_path: Path) -> None:
    seen: list[float] = []
    _pipeline(workspace, tmp_path).run(progress=lambda message, fraction: seen.append(fraction))
    assert seen == sorted(seen)
    assert (seen[0], seen[-1]) == (0.0, 1.0)


def test_out_of_scope_keeps_oos_and_non_bank_domains() -> None:
    frame = pd.DataFrame(
        {
            "text": ["a", "b", "c", "d"],
            "intent": ["oos", "balance", "report_lost_card", "book_flight"],
            "domain": ["oos", "banking", "credit_cards", "travel"],
        }
    )
    assert BANK_DOMAINS == ("banking", "credit_cards")
    assert SupportPipeline.out_of_scope(frame)["text"].tolist() == ["a", "d"]


def test_run_single_intent_source_fails_validation(workspace: Workspace, tmp_path: Path) -> None:
    rows = [(t, "card_arrival") for t, _ in banking_rows()]
    pipeline = _pipeline(workspace, tmp_path)
    pipeline.source = write_banking(tmp_path / "one.csv", rows)
    with pytest.raises((ValidationFailed, InvalidInput)):
        pipeline.run()
    with pytest.raises(LookupError):
        workspace.registry.get_version(MODEL_NAME)


def test_pipeline_unknown_rule_refused_before_any_work(
    workspace: Workspace, tmp_path: Path
) -> None:
    with pytest.raises(InvalidInput) as err:
        _pipeline(workspace, tmp_path, rule="best")
    assert err.value.code == "invalid_handoff_rule"
    assert workspace.datasets.list() == []


@pytest.mark.parametrize("target", [0.0, 1.5, float("nan")])
def test_pipeline_bad_target_oos_recall_refused_before_any_work(
    workspace: Workspace, tmp_path: Path, target: float
) -> None:
    with pytest.raises(InvalidInput) as err:
        _pipeline(workspace, tmp_path, rule="target_oos_recall", target_oos_recall=target)
    assert err.value.code == "invalid_input"
    assert workspace.datasets.list() == []
