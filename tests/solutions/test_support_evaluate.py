"""``baryon models evaluate support-intent --data FILE`` on the Banking77 layout with oos rows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from supportkit import OOS, banking_rows, write_banking, write_clinc
from typer.testing import CliRunner

from baryon.cli.main import app, main
from baryon.core.config import Settings
from baryon.solutions.support.pipeline import MODEL_NAME, SupportPipeline
from baryon.workspace import Workspace


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with a tiny ``support-intent`` champion and its hand-off threshold."""
    base = tmp_path_factory.mktemp("support-evaluate")
    with Workspace.open(Settings(home=base / "home")) as ws:
        SupportPipeline(
            ws,
            params={"model": "logistic", "calibration": None},
            source=write_banking(base / "b.csv"),
            calibration=write_clinc(base / "v.csv", half=0),
            held_out=write_clinc(base / "t.csv", half=1),
        ).run()
    return base / "home"


def _file(path: Path, rows: list[tuple[str, str]]) -> Path:
    lines = ["text,category", *(f'"{t}",{c}' for t, c in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _expected(home: Path, rows: list[tuple[str, str]]) -> tuple[float, float]:
    """in_scope_accuracy and oos_recall by their definition (contracts.md)."""
    with Workspace.open(Settings(home=home)) as ws:
        loaded = ws.registry.load(MODEL_NAME)
        threshold = float(loaded.version.extra["handoff_threshold"])
        proba = loaded.estimator.predict_proba([t for t, _ in rows])
        classes = np.asarray(loaded.estimator.classes_)
    conf, pred = proba.max(axis=1), classes[proba.argmax(axis=1)]
    labels = np.array([c for _, c in rows])
    oos = labels == "oos"
    answered_right = (pred == labels) & (conf >= threshold)
    recall = float((conf < threshold)[oos].mean()) if oos.any() else float("nan")
    return float(answered_right[~oos].mean()), recall


def _evaluate(home: Path, data: Path) -> dict[str, object]:
    result = CliRunner().invoke(
        app, ["--home", str(home), "models", "evaluate", MODEL_NAME, "--data", str(data), "--json"]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output)  # type: ignore[no-any-return]


def test_evaluate_file_with_oos_rows_reports_in_scope_accuracy_and_oos_recall(
    home: Path, tmp_path: Path
) -> None:
    in_scope = banking_rows(per_intent=4, seed=3)
    wrong = [("where is my card delivery", "top_up_failed")]  # labelled wrong on purpose
    oos = [(text, "oos") for text in OOS[:8]]
    rows = in_scope + wrong + oos
    out = _evaluate(home, _file(tmp_path / "held-out.csv", rows))
    metrics = out["metrics"]
    assert isinstance(metrics, dict)
    in_scope_accuracy, oos_recall = _expected(home, rows)
    assert metrics["in_scope_accuracy"] == pytest.approx(in_scope_accuracy)
    assert metrics["oos_recall"] == pytest.approx(oos_recall)
    assert metrics["in_scope_accuracy"] <= 12 / 13  # the wrong row can never count
    assert metrics["oos_recall"] > 0.5  # the tiny model is unsure about unrelated queries
    report = out["report"]
    assert isinstance(report, dict)
    assert report["handoff"]["oos_rows"] == 8
    assert report["handoff"]["in_scope_rows"] == 13


def test_evaluate_file_without_oos_rows_has_null_oos_recall(home: Path, tmp_path: Path) -> None:
    rows = banking_rows(per_intent=3, seed=4)
    metrics = _evaluate(home, _file(tmp_path / "in-scope.csv", rows))["metrics"]
    assert isinstance(metrics, dict)
    assert metrics["oos_recall"] is None
    assert metrics["in_scope_accuracy"] == pytest.approx(_expected(home, rows)[0])


def test_evaluate_file_with_unknown_intent_fails_clearly(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _file(tmp_path / "bad.csv", [("where is my card", "pay_with_gold_bars")])
    with pytest.raises(SystemExit) as exit_:
        main(["--home", str(home), "models", "evaluate", MODEL_NAME, "--data", str(data)])
    assert exit_.value.code == 1
    assert capsys.readouterr().err.startswith("error[failed_validation]:")
