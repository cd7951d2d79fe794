"""Tests of baryon.training.trainer on tiny synthetic datasets made through ws.datasets."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pytest

from baryon.core.errors import InvalidInput, NotFound, ValidationFailed
from baryon.training.trainer import Trainer, TrainingSpec
from baryon.workspace import Workspace

MakeDataset = Callable[..., Any]


def _separable(n: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    return pd.DataFrame({"x1": x1, "x2": x2, "label": np.where(x1 > 0, "pos", "neg")})


def _linear(n: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    return pd.DataFrame({"x1": x1, "x2": x2, "y": 3 * x1 - 2 * x2 + 1})


ROLES_CLS = {"x1": "feature", "x2": "feature", "label": "label"}


# ------------------------------------------------------------------- succeeding
def test_train_classifier_measures_on_test_split_only(
    workspace: Workspace, make_dataset: MakeDataset
) -> None:
    ds = make_dataset("sep", _separable(), roles=ROLES_CLS)
    run = Trainer(workspace).train("decision_tree", dataset="sep", params={"max_depth": 2})
    assert run.status == "succeeded", run.error
    assert run.task == "classification"
    assert (run.target, run.feature_columns) == ("label", ["x1", "x2"])
    assert run.dataset_version_id == ds.id
    assert run.metrics["accuracy"] > 0.8
    assert {"macro_f1", "log_loss", "ece", "fit_seconds"} <= set(run.metrics)
    assert set(run.artifacts) == {"model", "manifest", "report", "confusion_matrix"}
    matrix = json.loads(workspace.runs.artifact(run.id, "confusion_matrix"))
    test_rows = ds.split["counts"]["test"]
    assert sum(map(sum, matrix["matrix"])) == test_rows  # the test split, not train
    report = workspace.runs.report(run.id)
    assert report["rows"] == {
        "train": ds.split["counts"]["train"],
        "validation": ds.split["counts"]["validation"],
        "test": test_rows,
    }
    assert set(report["test"]["per_class"]) == {"neg", "pos"}
    assert run.extra["classes"] == ["neg", "pos"]


def test_train_seed_becomes_random_state_and_is_recorded(
    workspace: Workspace, make_dataset: MakeDataset
) -> None:
    make_dataset("sep", _separable(), roles=ROLES_CLS)
    run = Trainer(workspace).train("decision_tree", dataset="sep", seed=11)
    assert run.seed == 11
    manifest = json.loads(workspace.runs.artifact(run.id, "manifest"))
    assert manifest["params"]["random_state"] == 11


def test_train_regression_default_target_is_last_numeric_feature(
    workspace: Workspace, make_dataset: MakeDataset
) -> None:
    roles = {"x1": "feature", "x2": "feature", "y": "feature"}
    make_dataset("lin", _linear(), roles=roles)
    run = Trainer(workspace).train("linear_regression", dataset="lin")
    assert run.status == "succeeded", run.error
    assert (run.task, run.target, run.feature_columns) == ("regression", "y", ["x1", "x2"])
    assert run.metrics["r2"] == pytest.approx(1.0)
    assert run.metrics["rmse"] == pytest.approx(0.0, abs=1e-6)


def test_train_explicit_target_wins_over_label_role(
    workspace: Workspace, make_dataset: MakeDataset
) -> None:
    frame = _linear()
    frame["label"] = np.where(frame["x1"] > 0, "a", "b")
    make_dataset("both", frame, roles={"label": "label", "y": "feature"})
    run = Trainer(workspace).train("linear_regression", dataset="both", target="x2")
    assert run.target == "x2"
    assert "label" not in run.feature_columns


def test_train_auto_kind_float_label_is_regression(
    workspace: Workspace, make_dataset: MakeDataset
) -> None:
    make_dataset("lin", _linear(), roles={"y": "label"})
    run = Trainer(workspace).train("decision_tree", dataset="lin")
    assert (run.status, run.task) == ("succeeded", "regression")
    assert "r2" in run.metrics


def test_train_text_classifier_uses_text_and_label_roles(
    workspace: Workspace, make_dataset: MakeDataset
) -> None:
    texts = ["refund my card please", "card refund now", "where is my parcel", "parcel late"]
    frame = pd.DataFrame(
        {"body": texts * 10, "intent": ["refund", "refund", "delivery", "delivery"] * 10}
    )
    make_dataset("tickets", frame, roles={"body": "text", "intent": "label"})
    run = Trainer(workspace).train("text_classifier", dataset="tickets")
    assert run.status == "succeeded", run.error
    assert run.task == "text_classification"
    assert run.column_roles == {"intent": "target", "body": "text"}
    assert run.metrics["accuracy"] == pytest.approx(1.0)


def _interactions(n_users: int = 30, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [
        (f"u{u}", f"w{i}", int(rng.integers(1, 6)))
        for u in range(n_users)
        for i in rng.choice(20, size=8, replace=False)
    ]
    return pd.DataFrame(rows, columns=["user_id", "wine_id", "rating"])


ROLES_REC = {"user_id": "user", "wine_id": "item", "rating": "rating"}


def test_train_recommender_ranking_metrics_on_test_split(
    workspace: Workspace, make_dataset: MakeDataset
) -> None:
    make_dataset("wines", _interactions(), roles=ROLES_REC)
    run = Trainer(workspace).train("popularity", dataset="wines", register="rec")
    assert run.status == "succeeded", run.error
    assert run.task == "recommendation"
    assert run.column_roles == ROLES_REC
    for name in ("precision_at_10", "recall_at_10", "ndcg_at_10", "hit_rate_at_10", "map_at_10"):
        assert 0.0 <= run.metrics[name] <= 1.0
    assert 0.0 < run.metrics["catalogue_coverage"] <= 1.0
    report = workspace.runs.report(run.id)
    assert report["test"]["threshold"] == 4.0
    version = workspace.registry.get_version("rec")
    assert version.primary_metric == "ndcg_at_10"
    assert version.primary_value == pytest.approx(run.metrics["ndcg_at_10"])


def test_train_register_records_version_on_run(
    workspace: Workspace, make_dataset: MakeDataset
) -> None:
    make_dataset("sep", _separable(), roles=ROLES_CLS)
    run = Trainer(workspace, actor="erin").train("decision_tree", dataset="sep", register="sep")
    assert run.extra["registered"] == {"name": "sep", "version": 1}
    version = workspace.registry.get_version("sep")
    assert (version.run_id, version.created_by, version.aliases) == (run.id, "erin", ["champion"])
    assert version.classes == ["neg", "pos"]
    assert version.feature_columns == ["x1", "x2"]


def test_train_cv_folds_records_fold_scores(
    workspace: Workspace, make_dataset: MakeDataset
) -> None:
    make_dataset("sep", _separable(80), roles=ROLES_CLS)
    run = Trainer(workspace).train("decision_tree", dataset="sep", cv_folds=3)
    assert run.status == "succeeded", run.error
    assert len(run.history["cv_accuracy"]) == 3
    assert run.metrics["cv_accuracy_mean"] == pytest.approx(np.mean(run.history["cv_accuracy"]))


# ---------------------------------------------------------- errors before a run
def test_train_unknown_kind_refused_without_run(
    workspace: Workspace, make_dataset: MakeDataset
) -> None:
    make_dataset("sep", _separable(), roles=ROLES_CLS)
    with pytest.raises(InvalidInput) as info:
        Trainer(workspace).train("random_forest_9000", dataset="sep")
    assert info.value.code == "unknown_kind"
    assert workspace.runs.list() == []


def test_train_unknown_dataset_not_found_without_run(workspace: Workspace) -> None:
    with pytest.raises(NotFound):
        Trainer(workspace).train("decision_tree", dataset="nope:3")
    assert workspace.runs.list() == []


@pytest.mark.parametrize("ref", ["sep@latest", "sep:2", "sep"])
def test_train_every_reference_form_trains_on_that_version(
    workspace: Workspace, make_dataset: MakeDataset, ref: str
) -> None:
    # "tickets@latest" exported but could not be trained on: two parsers disagreed.
    split = make_dataset("sep", _separable(), roles=ROLES_CLS)
    run = Trainer(workspace).train("decision_tree", dataset=ref)
    assert run.dataset_version_id == split.id
    assert run.dataset_ref == "sep:2"


def test_train_old_version_form_refused_without_run(
    workspace: Workspace, make_dataset: MakeDataset
) -> None:
    make_dataset("sep", _separable(), roles=ROLES_CLS)
    with pytest.raises(InvalidInput) as info:
        Trainer(workspace).train("decision_tree", dataset="sep@2")
    assert info.value.code == "invalid_ref"
    assert "use sep:2" in info.value.message
    assert workspace.runs.list() == []


@pytest.mark.parametrize("folds", [1, -2])
def test_train_invalid_cv_folds_refused(workspace: Workspace, folds: int) -> None:
    with pytest.raises(InvalidInput) as info:
        Trainer(workspace).train("decision_tree", dataset="x", cv_folds=folds)
    assert info.value.code == "invalid_cv_folds"


# ------------------------------------------------------- failed validation runs
def _failed_check(run: Any) -> str:
    assert run.status == "failed_validation", (run.status, run.error)
    assert run.error
    assert run.ended_at is not None
    with pytest.raises(ValidationFailed):
        run.raise_for_status()
    return str(run.error_code)


@dataclass
class _FakeVersion:
    """A detached dataset version for cases the data layer refuses to build."""

    frame: pd.DataFrame
    roles: dict[str, str]
    split_codes: list[str] = field(default_factory=list)
    id: str = "dsv_fake"
    name: str = "fake"
    version: int = 1
    manifest: dict[str, Any] = field(default_factory=dict)
    created_at: datetime = datetime(2026, 1, 1, tzinfo=UTC)

    @property
    def row_count(self) -> int:
        return len(self.frame)

    @property
    def schema(self) -> dict[str, str]:
        return dict.fromkeys(self.frame.columns, "float")

    @property
    def split(self) -> dict[str, Any] | None:
        return {"strategy": "random"} if self.split_codes else None

    def to_pandas(self, split: str | None = None) -> pd.DataFrame:
        if split is None:
            return self.frame
        keep = [s == split for s in self.split_codes]
        return self.frame[keep].reset_index(drop=True)


def _train_fake(workspace: Workspace, monkeypatch: pytest.MonkeyPatch, version: Any) -> Any:
    trainer = Trainer(workspace)
    monkeypatch.setattr(
        trainer, "resolve", lambda kind, dataset, **kw: TrainingSpec(kind=kind, dataset=version)
    )
    return trainer.train("decision_tree", dataset="fake")


def test_train_zero_rows_fails_validation(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = _FakeVersion(pd.DataFrame({"x": [], "label": []}), {"label": "label"})
    assert _failed_check(_train_fake(workspace, monkeypatch, empty)) == "empty_dataset"


def test_train_one_row_fails_validation(workspace: Workspace, make_dataset: MakeDataset) -> None:
    make_dataset("one", pd.DataFrame({"x": [1.0], "label": ["a"]}), split=None)
    run = Trainer(workspace).train("decision_tree", dataset="one")
    assert _failed_check(run) == "too_few_rows"


def test_train_without_split_fails_validation(
    workspace: Workspace, make_dataset: MakeDataset
) -> None:
    make_dataset("sep", _separable(), roles=ROLES_CLS, split=None)
    run = Trainer(workspace).train("decision_tree", dataset="sep")
    assert _failed_check(run) == "no_split"
    assert "baryon data split sep" in str(run.error)


def test_train_single_class_fails_validation(
    workspace: Workspace, make_dataset: MakeDataset
) -> None:
    frame = _separable()
    frame["label"] = "only"
    make_dataset("one-class", frame, roles=ROLES_CLS)
    run = Trainer(workspace).train("decision_tree", dataset="one-class")
    assert _failed_check(run) == "single_class"
    assert "'only'" in str(run.error)


def test_train_class_smaller_than_cv_folds_fails_validation(
    workspace: Workspace, make_dataset: MakeDataset
) -> None:
    frame = _separable(40)
    frame.loc[:2, "label"] = "rare"  # 3 rows: at most 3 in training, fewer than 5 folds
    make_dataset("rare", frame, roles=ROLES_CLS, split="stratified")
    run = Trainer(workspace).train("decision_tree", dataset="rare", cv_folds=5)
    assert _failed_check(run) == "class_too_small"
    assert "'rare'" in str(run.error)


def test_train_all_nan_column_fails_validation(
    workspace: Workspace, make_dataset: MakeDataset
) -> None:
    frame = _separable()
    frame["blank"] = np.nan
    make_dataset("nan", frame, roles={**ROLES_CLS, "blank": "feature"})
    run = Trainer(workspace).train("decision_tree", dataset="nan")
    assert _failed_check(run) == "all_nan_column"
    assert "'blank'" in str(run.error)


def test_train_constant_column_fails_validation(
    workspace: Workspace, make_dataset: MakeDataset
) -> None:
    frame = _separable()
    frame["same"] = 5.0
    make_dataset("const", frame, roles={**ROLES_CLS, "same": "feature"})
    run = Trainer(workspace).train("decision_tree", dataset="const")
    assert _failed_check(run) == "constant_column"
    assert "'same'" in str(run.error)


def test_train_label_unseen_in_training_fails_validation(
    workspace: Workspace, make_dataset: MakeDataset
) -> None:
    frame = _separable(50)
    frame["at"] = pd.date_range("2026-01-01", periods=50, freq="D").strftime("%Y-%m-%dT%H:%M:%S")
    frame.loc[45:, "label"] = "brand-new"  # only the newest rows: the time split's test
    make_dataset("drift", frame, roles={**ROLES_CLS, "at": "timestamp"}, split="time")
    run = Trainer(workspace).train("decision_tree", dataset="drift")
    assert _failed_check(run) == "unseen_label"
    assert "brand-new" in str(run.error)


def test_train_unknown_target_fails_validation(
    workspace: Workspace, make_dataset: MakeDataset
) -> None:
    make_dataset("sep", _separable(), roles=ROLES_CLS)
    run = Trainer(workspace).train("decision_tree", dataset="sep", target="nope")
    assert _failed_check(run) == "no_target"


def test_train_recommender_without_user_role_fails_validation(
    workspace: Workspace, make_dataset: MakeDataset
) -> None:
    make_dataset("sep", _separable(), roles=ROLES_CLS)
    run = Trainer(workspace).train("popularity", dataset="sep")
    assert _failed_check(run) == "missing_role"


# ----------------------------------------------------------------- failed runs
def test_train_error_during_fit_ends_run_failed_with_message(
    workspace: Workspace, make_dataset: MakeDataset
) -> None:
    make_dataset("lin", _linear(), roles={"y": "label"})
    # a step size this large makes gradient descent diverge: fit raises not_converged
    params = {"learning_rate": 50.0, "max_iter": 200}
    run = Trainer(workspace).train("linear_regression_gd", dataset="lin", params=params)
    assert run.status == "failed"
    assert run.error_code == "not_converged"
    assert run.error
    assert run.duration_seconds is not None
    assert "model" not in run.artifacts


def test_train_bad_param_refused_without_run(
    workspace: Workspace, make_dataset: MakeDataset
) -> None:
    make_dataset("sep", _separable(), roles=ROLES_CLS)
    with pytest.raises(InvalidInput) as info:
        Trainer(workspace).train("decision_tree", dataset="sep", params={"max_dept": 2})
    assert info.value.code == "invalid_param"
    with pytest.raises(InvalidInput):
        Trainer(workspace).train("decision_tree", dataset="sep", params={"max_depth": "deep"})
    assert workspace.runs.list() == []


# ------------------------------------------------------------- steps one by one
def test_trainer_steps_prepare_fit_evaluate_alone(
    workspace: Workspace, make_dataset: MakeDataset
) -> None:
    ds = make_dataset("sep", _separable(), roles=ROLES_CLS)
    trainer = Trainer(workspace)
    prepared = trainer.prepare(TrainingSpec(kind="decision_tree", dataset=ds))
    assert prepared.task == "classification"
    assert len(prepared.test) == ds.split["counts"]["test"]
    assert prepared.classes == ["neg", "pos"]
    fitted = trainer.fit(prepared)
    assert hasattr(fitted.estimator, "predict")
    evaluations = trainer.evaluate(prepared, fitted)
    assert set(evaluations) == {"test", "validation"}
    assert evaluations["test"].report["n_rows"] == len(prepared.test)
    assert workspace.runs.list() == []  # the steps alone record nothing


def test_train_invalid_register_name_refused_before_training(
    workspace: Workspace, make_dataset: MakeDataset
) -> None:
    make_dataset("sep", _separable(), roles=ROLES_CLS)
    with pytest.raises(InvalidInput) as info:
        Trainer(workspace).train("decision_tree", dataset="sep", register="bad name")
    assert info.value.code == "invalid_model_name"
    assert workspace.runs.list() == []
