"""Tests of baryon.training.evaluate with estimators fitted by hand (known answers)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

from baryon.core.errors import InvalidInput, ValidationFailed
from baryon.training.evaluate import (
    evaluate_classifier,
    evaluate_file,
    evaluate_recommender,
    evaluate_regressor,
    task_data,
)
from baryon.training.trainer import Trainer
from baryon.workspace import Workspace

MakeDataset = Callable[..., Any]


class _Fixed:
    """A classifier whose probabilities are given row by row (known metrics)."""

    def __init__(self, classes: list[str], proba: list[list[float]]) -> None:
        self.classes_ = np.array(classes, dtype=object)
        self._proba = np.array(proba)

    def predict_proba(self, X: object) -> np.ndarray:
        return self._proba

    def predict(self, X: object) -> np.ndarray:
        return self.classes_[self._proba.argmax(axis=1)]


def test_evaluate_classifier_known_confusion_and_accuracy() -> None:
    model = _Fixed(["a", "b"], [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    ev = evaluate_classifier(model, None, ["a", "b", "b", "b"])
    assert ev.metrics["accuracy"] == pytest.approx(0.75)
    assert ev.report["confusion_matrix"] == {"labels": ["a", "b"], "matrix": [[1, 0], [1, 2]]}
    assert ev.report["per_class"]["a"]["precision"] == pytest.approx(0.5)
    assert ev.report["per_class"]["b"]["recall"] == pytest.approx(2 / 3)
    expected_loss = -np.mean(np.log([0.9, 0.8, 0.4, 0.7]))
    assert ev.metrics["log_loss"] == pytest.approx(expected_loss)
    assert 0 <= ev.metrics["ece"] <= 1
    assert set(ev.metrics) == {"accuracy", "macro_f1", "log_loss", "ece"}


def test_evaluate_classifier_unseen_label_refused() -> None:
    model = _Fixed(["a", "b"], [[0.9, 0.1], [0.2, 0.8]])
    with pytest.raises(ValidationFailed) as info:
        evaluate_classifier(model, None, ["a", "zzz"])
    assert info.value.details["check"] == "unseen_label"


def test_evaluate_classifier_handoff_scores_in_scope_and_oos() -> None:
    # rows: in-scope right & confident, in-scope right but unsure (hand-off = wrong),
    # oos handed off, oos answered confidently
    model = _Fixed(["a", "b"], [[0.9, 0.1], [0.55, 0.45], [0.5, 0.5], [0.95, 0.05]])
    ev = evaluate_classifier(model, None, ["a", "a", "oos", "oos"], handoff_threshold=0.6)
    assert ev.metrics["in_scope_accuracy"] == pytest.approx(0.5)
    assert ev.metrics["oos_recall"] == pytest.approx(0.5)
    assert ev.metrics["accuracy"] == pytest.approx(1.0)  # in-scope rows only
    assert ev.report["handoff"]["oos_rows"] == 2


def test_evaluate_classifier_numeric_labels_from_text_file_aligned() -> None:
    X = np.array([[0.0], [0.1], [1.0], [1.1]])
    model = LogisticRegression().fit(X, [0, 0, 1, 1])
    ev = evaluate_classifier(model, X, pd.Series(["0", "0", "1", "1"]))
    assert ev.metrics["accuracy"] == pytest.approx(1.0)


def test_evaluate_regressor_perfect_fit_and_constant_truth() -> None:
    X = np.arange(6, dtype=float).reshape(-1, 1)
    y = 2 * X.ravel() + 1
    model = LinearRegression().fit(X, y)
    ev = evaluate_regressor(model, X, y)
    assert ev.metrics["rmse"] == pytest.approx(0, abs=1e-9)
    assert ev.metrics["r2"] == pytest.approx(1.0)
    constant = evaluate_regressor(model, X[:2], [5.0, 5.0])
    assert np.isnan(constant.metrics["r2"])
    assert "r2_note" in constant.report
    assert constant.to_dict()["metrics"]["r2"] is None


class _Ranker:
    """Recommends a fixed list to everyone (minus each user's seen items)."""

    items_ = np.array(["i1", "i2", "i3", "i4"], dtype=object)

    def __init__(self, seen: dict[str, set[str]]) -> None:
        self.seen = seen

    def recommend(
        self, users: list[str], n: int = 10, filter_seen: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        ids = np.full((len(users), n), None, dtype=object)
        for row, user in enumerate(users):
            ranked = [i for i in self.items_ if i not in self.seen.get(user, set())][:n]
            ids[row, : len(ranked)] = ranked
        return ids, np.zeros((len(users), n))

    def is_cold(self, users: list[str]) -> np.ndarray:
        return np.zeros(len(users), dtype=bool)


def test_evaluate_recommender_protocol_threshold_and_training_exclusion() -> None:
    train = pd.DataFrame({"user": ["u1", "u2"], "item": ["i1", "i2"]})
    test = pd.DataFrame(
        {
            "user": ["u1", "u1", "u2", "u3"],
            "item": ["i2", "i1", "i4", "i1"],  # (u1, i1) repeats a training row
            "rating": [5, 5, 5, 2],  # u3's only item is not relevant: u3 skipped
        }
    )
    ev = evaluate_recommender(_Ranker({"u1": {"i1"}, "u2": {"i2"}}), test, train=train, k=2)
    # u1: list [i2, i3], relevant {i2} -> ndcg 1, precision 1/2
    # u2: list [i1, i3], relevant {i4} -> 0
    assert ev.metrics["ndcg_at_2"] == pytest.approx(0.5)
    assert ev.metrics["precision_at_2"] == pytest.approx(0.25)
    assert ev.metrics["hit_rate_at_2"] == pytest.approx(0.5)
    assert ev.report["n_users"] == 2
    assert ev.report["dropped_training_interactions"] == 1
    assert ev.metrics["catalogue_coverage"] == pytest.approx(3 / 4)


def test_task_data_drops_rows_without_target_and_selects_columns() -> None:
    frame = pd.DataFrame({"x": [1, 2, 3], "z": [0, 0, 0], "y": ["a", None, "b"]})
    data = task_data(frame, "classification", feature_columns=["x"], target="y")
    assert list(data.X.columns) == ["x"]
    assert data.y is not None
    assert data.y.tolist() == ["a", "b"]
    assert data.dropped == 1


def test_task_data_missing_column_named() -> None:
    with pytest.raises(InvalidInput) as info:
        task_data(pd.DataFrame({"x": [1]}), "regression", feature_columns=["x", "w"], target="y")
    assert info.value.code == "missing_column"
    assert info.value.details["missing"] == ["w", "y"]


def test_evaluate_file_handoff_threshold_from_version_extra(
    workspace: Workspace, make_dataset: MakeDataset, tmp_path: Path
) -> None:
    texts = ["refund my card please", "card refund now", "where is my parcel", "parcel late"]
    frame = pd.DataFrame(
        {"body": texts * 10, "intent": ["refund", "refund", "delivery", "delivery"] * 10}
    )
    make_dataset("tickets", frame, roles={"body": "text", "intent": "label"})
    run = Trainer(workspace).train(
        "text_classifier", dataset="tickets", register="support", extra={"handoff_threshold": 0.99}
    )
    assert run.status == "succeeded", run.error
    assert workspace.registry.get_version("support").extra == {"handoff_threshold": 0.99}
    external = pd.DataFrame(
        {
            "message": ["refund my card please", "parcel late", "what is the weather"],
            "intent": ["refund", "delivery", "oos"],
        }
    )
    external.to_csv(tmp_path / "ext.csv", index=False)
    version, ev = evaluate_file(
        workspace.registry, "support", tmp_path / "ext.csv", roles={"message": "text"}
    )
    assert version.version == 1
    # expected values from the model's own probabilities and the contract's formulas
    model = workspace.registry.load("support").estimator
    texts = external["message"].tolist()
    confidence = model.predict_proba(texts).max(axis=1)
    right = model.predict(texts) == external["intent"].to_numpy()
    handed_off = confidence < 0.99
    assert ev.metrics["in_scope_accuracy"] == pytest.approx(
        float(np.mean((right & ~handed_off)[:2]))
    )
    assert ev.metrics["oos_recall"] == pytest.approx(float(handed_off[2]))
    assert ev.metrics["accuracy"] == pytest.approx(float(np.mean(right[:2])))
    assert ev.report["handoff"] == {
        "threshold": 0.99,
        "oos_label": "oos",
        "oos_rows": 1,
        "in_scope_rows": 2,
        "handed_off": int(handed_off.sum()),
    }


def test_evaluate_file_unknown_label_without_handoff_refused(
    workspace: Workspace, make_dataset: MakeDataset, tmp_path: Path
) -> None:
    frame = pd.DataFrame({"body": ["refund card", "parcel late"] * 10, "intent": ["r", "d"] * 10})
    make_dataset("t", frame, roles={"body": "text", "intent": "label"})
    Trainer(workspace).train("text_classifier", dataset="t", register="m").raise_for_status()
    pd.DataFrame({"body": ["hi"], "intent": ["oos"]}).to_csv(tmp_path / "x.csv", index=False)
    with pytest.raises(ValidationFailed) as info:
        evaluate_file(workspace.registry, "m", tmp_path / "x.csv")
    assert info.value.details["check"] == "unseen_label"
