"""The tabular (concrete-strength) pipeline on tiny data with a known answer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from baryon.core.errors import InvalidInput
from baryon.solutions.tabular.pipeline import (
    MODEL_NAME,
    TARGET,
    TabularPipeline,
    TabularResult,
)
from baryon.training.evaluate import evaluate_file
from baryon.workspace import Workspace

FAST = {
    "linear_regression_gd": {},
    "linear_regression": {},
    "decision_tree": {"task": "regression", "max_depth": 3},
    "gradient_boosting": {"task": "regression", "max_iter": 30, "early_stopping": False},
}


def _source(path: Path, n: int = 80, seed: int = 0) -> Path:
    """Strength = 0.1 cement - 0.2 water + 5 + small noise: a linear answer."""
    rng = np.random.default_rng(seed)
    cement = rng.uniform(100, 500, n).round(1)
    water = rng.uniform(120, 250, n).round(1)
    age = rng.integers(1, 365, n)
    strength = 0.1 * cement - 0.2 * water + 5 + rng.normal(0, 0.01, n)
    frame = pd.DataFrame(
        {"id": range(n), "cement": cement, "water": water, "age_days": age, TARGET: strength}
    )
    frame = pd.concat([frame, frame.iloc[:5].assign(id=range(n, n + 5))])  # 5 duplicates
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return _source(tmp_path / "concrete.csv")


@pytest.fixture
def result(workspace: Workspace, source: Path) -> TabularResult:
    return TabularPipeline(workspace, candidates=FAST, source=source).run()


def test_run_linear_answer_linear_models_win_and_gd_matches_closed_form(
    result: TabularResult,
) -> None:
    assert result.best in ("linear_regression_gd", "linear_regression")
    for kind in ("linear_regression_gd", "linear_regression"):
        assert result.candidates[kind].test["r2"] > 0.999
    gap = result.gd_vs_closed_form
    assert gap["max_prediction_gap"] < 0.01  # MPa
    assert gap["r2_difference"] < 1e-6
    assert gap["gd_epochs"] > 0
    assert result.meets_target


def test_run_registers_best_as_champion(workspace: Workspace, result: TabularResult) -> None:
    mv = workspace.registry.get_version(MODEL_NAME, alias="champion")
    assert (result.version, result.champion, mv.version) == (1, 1, 1)
    assert mv.kind == result.best
    assert mv.task == "regression"
    assert mv.target == TARGET
    assert sorted(mv.feature_columns) == ["age_days", "cement", "water"]


def test_run_drops_duplicate_mixtures_before_splitting(result: TabularResult) -> None:
    assert result.dataset == "concrete:3"
    assert sum(result.rows.values()) == 80  # 85 rows, 5 duplicates


def test_table_has_every_model_then_mean_baseline(result: TabularResult) -> None:
    table = result.table()
    assert [r["model"] for r in table] == [*FAST, "mean (baseline)"]
    assert [r["registered"] for r in table].count(True) == 1
    assert table[-1]["test_r2"] == pytest.approx(result.baseline["r2"])
    assert result.baseline["r2"] < 0.1  # the mean explains nothing


def test_run_twice_creates_nothing_new(
    workspace: Workspace, source: Path, result: TabularResult
) -> None:
    before = workspace.db.table_counts()
    again = TabularPipeline(workspace, candidates=FAST, source=source).run()
    assert workspace.db.table_counts() == before
    assert not any(c.created for c in again.candidates.values())
    assert again.version == result.version
    assert again.table() == result.table()


def test_run_reports_progress_in_order(workspace: Workspace, source: Path) -> None:
    seen: list[float] = []
    TabularPipeline(workspace, candidates=FAST, source=source).run(
        progress=lambda message, fraction: seen.append(fraction)
    )
    assert seen == sorted(seen)
    assert (seen[0], seen[-1]) == (0.0, 1.0)


def test_evaluate_accepts_a_file_laid_out_like_the_source(
    workspace: Workspace, tmp_path: Path, result: TabularResult
) -> None:
    fresh = _source(tmp_path / "held-out.csv", n=30, seed=1)
    version, evaluation = evaluate_file(workspace.registry, MODEL_NAME, fresh)
    assert version.version == result.version
    assert evaluation.metrics["r2"] > 0.99
    assert evaluation.report["n_rows"] == 35


def test_pipeline_without_both_linear_solvers_is_refused(workspace: Workspace) -> None:
    with pytest.raises(InvalidInput) as err:
        TabularPipeline(workspace, candidates={"decision_tree": {}})
    assert err.value.code == "invalid_candidates"


def test_best_prefers_validation_r2_then_table_order() -> None:
    from baryon.solutions.tabular.pipeline import Candidate

    def c(kind: str, r2: float) -> Candidate:
        return Candidate(kind, "run_x", {}, {"r2": 0.0}, {"r2": r2}, 0.0, True)

    assert TabularPipeline.best({"a": c("a", 0.5), "b": c("b", 0.7)}) == "b"
    assert TabularPipeline.best({"a": c("a", 0.7), "b": c("b", 0.7)}) == "a"
