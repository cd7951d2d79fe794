"""Bring your own model: skops files of estimators fitted outside Baryon, registered,
measured on the test split, gated, served; refused files leave nothing behind."""

from __future__ import annotations

import io
import pickle
import zipfile
from collections.abc import Callable
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from baryon.core.config import Settings
from baryon.core.errors import BaryonError, Conflict, InvalidInput, PayloadTooLarge
from baryon.ml.persistence import EXTERNAL_KIND
from baryon.predictions.inference import RegistryModelResolver, run_inference
from baryon.training.external import read_model_file, register_external_model
from baryon.workspace import Workspace

MakeDataset = Callable[..., Any]


def _points(n: int = 160, seed: int = 0) -> pd.DataFrame:
    """x1, x2 in [0, 1); label 'hi' iff x1 + x2 > 1; y = 3 x1 - 2 x2 (exact)."""
    rng = np.random.default_rng(seed)
    xy = rng.random((n, 2))
    frame = pd.DataFrame(xy, columns=["x1", "x2"]).round(4)
    frame["label"] = np.where(frame["x1"] + frame["x2"] > 1, "hi", "lo")
    frame["y"] = 3 * frame["x1"] - 2 * frame["x2"]
    return frame


@pytest.fixture
def points(make_dataset: MakeDataset) -> Any:
    """Dataset ``points`` (label role on ``label``), split at random."""
    return make_dataset("points", _points(), roles={"label": "label"})


def _train_rows(ws: Workspace) -> pd.DataFrame:
    return ws.datasets.get("points").to_pandas(split="train")


def _skops(estimator: Any) -> bytes:
    return sio.dumps(estimator)


def _nothing_written(ws: Workspace, artifacts_before: set[str]) -> None:
    assert ws.runs.list() == []
    assert ws.registry.list_models() == []
    assert set(ws.artifacts.digests()) == artifacts_before


def _double(x: Any) -> Any:
    """A user function: skops stores it by name, and Baryon does not trust it."""
    return x * 2


# ---------------------------------------------------------------- round trips
def test_register_logistic_regression_becomes_champion_with_test_metrics(
    workspace: Workspace, points: Any
) -> None:
    train = _train_rows(workspace)
    est = LogisticRegression(C=10.0).fit(train[["x1", "x2"]], train["label"])
    made = register_external_model(
        workspace, "points", _skops(est), dataset="points", target="label", actor="tester"
    )
    assert made.created
    mv, run = made.version, made.run
    assert (mv.version, mv.aliases, mv.kind, mv.task) == (
        1,
        ["champion"],
        EXTERNAL_KIND,
        "classification",
    )
    assert (run.kind, run.status, run.params["C"]) == (EXTERNAL_KIND, "succeeded", 10.0)
    assert mv.feature_columns == ["x1", "x2"]
    assert mv.classes == ["hi", "lo"]
    assert mv.extra["estimator_class"] == "sklearn.linear_model._logistic.LogisticRegression"
    test = points.to_pandas(split="test")
    expected = float(np.mean(est.predict(test[["x1", "x2"]]) == test["label"]))
    assert mv.metrics["accuracy"] == pytest.approx(expected)
    report = workspace.runs.report(run.id)
    assert report["rows"]["test"] == len(test) < points.row_count
    assert report["split"] == "test"


def test_register_gradient_boosting_is_challenger_promoted_through_gate_then_served(
    workspace: Workspace, points: Any
) -> None:
    train = _train_rows(workspace)
    X, y = train[["x1", "x2"]], train["label"]
    weak = DummyClassifier(strategy="prior").fit(X, y)
    register_external_model(workspace, "points", _skops(weak), dataset="points", target="label")
    strong = GradientBoostingClassifier(n_estimators=30, max_depth=2, random_state=0).fit(X, y)
    made = register_external_model(
        workspace, "points", _skops(strong), dataset="points", target="label"
    )
    assert (made.version.version, made.version.aliases) == (2, ["challenger"])
    move = workspace.promotion.promote("points", 2, min_delta=0.1)
    assert (move.from_version, move.to_version, move.gate["passed"]) == (1, 2, True)
    served = RegistryModelResolver(workspace, alias_ttl=0.0).resolve(
        "points", scope=workspace.scope
    )
    outputs, flags, _ = run_inference(served, [{"x1": 0.9, "x2": 0.8}, {"x1": 0.1, "x2": 0.05}])
    assert [o["label"] for o in outputs] == ["hi", "lo"]
    assert flags == []


def test_register_worse_model_gate_refuses(workspace: Workspace, points: Any) -> None:
    train = _train_rows(workspace)
    X, y = train[["x1", "x2"]], train["label"]
    good = LogisticRegression(C=10.0).fit(X, y)
    register_external_model(workspace, "points", _skops(good), dataset="points", target="label")
    weak = DummyClassifier(strategy="prior").fit(X, y)
    register_external_model(workspace, "points", _skops(weak), dataset="points", target="label")
    with pytest.raises(Conflict) as info:
        workspace.promotion.promote("points", 2)
    assert info.value.code == "gate_refused"
    assert workspace.registry.get_version("points").version == 1


def test_register_same_bytes_again_returns_first_version(workspace: Workspace, points: Any) -> None:
    train = _train_rows(workspace)
    payload = _skops(LogisticRegression().fit(train[["x1", "x2"]], train["label"]))
    first = register_external_model(workspace, "points", payload, dataset="points", target="label")
    again = register_external_model(workspace, "points", payload, dataset="points", target="label")
    assert not again.created
    assert (again.version.version, again.run.id) == (1, first.run.id)
    assert len(workspace.runs.list()) == 1


def test_register_regressor_measured_with_r2(workspace: Workspace, points: Any) -> None:
    train = _train_rows(workspace)
    est = LinearRegression().fit(train[["x1", "x2"]], train["y"])
    made = register_external_model(workspace, "y", _skops(est), dataset="points", target="y")
    assert (made.version.task, made.version.primary_metric) == ("regression", "r2")
    assert made.version.primary_value == pytest.approx(1.0)
    served = RegistryModelResolver(workspace).resolve("y", scope=workspace.scope)
    outputs = run_inference(served, [{"x1": 1.0, "x2": 0.5}]).outputs
    assert outputs[0]["value"] == pytest.approx(2.0)


def test_register_text_pipeline_reads_text_column(
    workspace: Workspace, make_dataset: MakeDataset
) -> None:
    texts = [f"{w} service number {i}" for i in range(30) for w in ("great", "awful")]
    labels = ["pos" if t.startswith("great") else "neg" for t in texts]
    make_dataset(
        "reviews",
        pd.DataFrame({"body": texts, "sentiment": labels}),
        roles={"body": "text", "sentiment": "label"},
    )
    est = make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(texts, labels)
    made = register_external_model(
        workspace, "reviews", _skops(est), dataset="reviews", target="sentiment"
    )
    assert made.version.task == "text_classification"
    assert made.version.column_roles == {"sentiment": "target", "body": "text"}
    assert made.version.metrics["accuracy"] == 1.0
    served = RegistryModelResolver(workspace).resolve("reviews", scope=workspace.scope)
    outputs = run_inference(served, ["great service", "awful service"]).outputs
    assert [o["label"] for o in outputs] == ["pos", "neg"]


# ------------------------------------------------------------------- refusals
def _pickle_of(est: Any) -> bytes:
    return pickle.dumps(est)


def _joblib_of(est: Any) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(est, buffer)
    return buffer.getvalue()


def _zip_without_schema(est: Any) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("model.bin", b"\0" * 10)
    return buffer.getvalue()


def _untrusted(est: Any) -> bytes:
    return sio.dumps(make_pipeline(FunctionTransformer(_double), est))


@pytest.mark.parametrize(
    ("make", "code", "detected"),
    [
        (_untrusted, "untrusted_model", None),
        (_pickle_of, "invalid_model_file", "pickle"),
        (_joblib_of, "invalid_model_file", "pickle"),
        (lambda est: b"definitely not a model", "invalid_model_file", "unknown"),
        (_zip_without_schema, "invalid_model_file", "unknown"),
        (lambda est: sio.dumps({"coef": [1, 2]}), "invalid_model_file", "skops"),
        (lambda est: sio.dumps(LogisticRegression()), "invalid_model_file", "skops"),
    ],
    ids=["untrusted-type", "pickle", "joblib", "garbage", "zip", "not-an-estimator", "unfitted"],
)
def test_register_refused_file_leaves_no_run_version_or_artifact(
    workspace: Workspace, points: Any, make: Any, code: str, detected: str | None
) -> None:
    train = _train_rows(workspace)
    est = LogisticRegression().fit(train[["x1", "x2"]], train["label"])
    before = set(workspace.artifacts.digests())
    with pytest.raises(InvalidInput) as info:
        register_external_model(workspace, "points", make(est), dataset="points", target="label")
    assert info.value.code == code
    if detected is not None:
        assert info.value.details["detected"] == detected
    else:
        assert any(t.endswith("_double") for t in info.value.details["types"])
    _nothing_written(workspace, before)


def test_register_file_over_cap_refused(
    settings: Settings, points: Any, workspace: Workspace
) -> None:
    small = Workspace(
        settings.model_copy(update={"max_model_bytes": 1000}),
        workspace.db,
        workspace.artifacts,
        workspace.clock,
        scope=workspace.scope,
    )
    train = _train_rows(workspace)
    payload = _skops(LogisticRegression().fit(train[["x1", "x2"]], train["label"]))
    before = set(workspace.artifacts.digests())
    with pytest.raises(PayloadTooLarge) as info:
        register_external_model(small, "points", payload, dataset="points", target="label")
    assert info.value.code == "model_file_too_large"
    _nothing_written(workspace, before)


def test_register_zip_bomb_refused(workspace: Workspace, points: Any) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("schema.json", b"{}")
        zf.writestr("big.npy", b"\0" * 5_000_000)
    with pytest.raises(PayloadTooLarge) as info:
        register_external_model(workspace, "p", buffer.getvalue(), dataset="points", target="label")
    assert info.value.code == "model_file_too_large"


def _fit_numpy(ws: Workspace) -> Any:
    train = _train_rows(ws)
    return LogisticRegression().fit(train[["x1", "x2"]].to_numpy(), train["label"])


def _fit_extra_column(ws: Workspace) -> Any:
    train = _train_rows(ws).assign(x3=1.0)
    return LogisticRegression().fit(train[["x1", "x2", "x3"]], train["label"])


def _fit_on_label(ws: Workspace) -> Any:
    train = _train_rows(ws)
    return DummyClassifier().fit(train[["label"]], train["label"])


def _fit_regressor(ws: Workspace) -> Any:
    train = _train_rows(ws)
    return LinearRegression().fit(train[["x1"]], train["y"])


@pytest.mark.parametrize(
    ("fit", "target", "task", "code"),
    [
        (_fit_numpy, "label", None, "unnamed_features"),
        (_fit_extra_column, "label", None, "missing_column"),
        (_fit_numpy, "nope", None, "no_target"),
        (_fit_on_label, "label", None, "target_is_feature"),
        (_fit_regressor, "y", "classification", "invalid_task"),
        (_fit_regressor, "y", "ranking", "invalid_task"),
    ],
    ids=[
        "numpy-fit", "extra-column", "no-target", "target-as-feature",
        "regressor-as-classifier", "unknown-task",
    ],
)  # fmt: skip
def test_register_columns_or_task_that_do_not_fit_refused_before_any_write(
    workspace: Workspace, points: Any, fit: Any, target: str, task: str | None, code: str
) -> None:
    payload = _skops(fit(workspace))
    before = set(workspace.artifacts.digests())
    with pytest.raises(InvalidInput) as info:
        register_external_model(
            workspace, "points", payload, dataset="points", target=target, task=task
        )
    assert info.value.code == code
    _nothing_written(workspace, before)


def test_register_dataset_without_split_refused_no_split(
    workspace: Workspace, make_dataset: MakeDataset
) -> None:
    make_dataset("raw", _points(), roles={"label": "label"}, split=None)
    frame = _points()
    est = LogisticRegression().fit(frame[["x1", "x2"]], frame["label"])
    with pytest.raises(InvalidInput) as info:
        register_external_model(workspace, "raw", _skops(est), dataset="raw", target="label")
    assert info.value.code == "no_split"
    assert workspace.runs.list() == []


def test_register_unseen_test_label_refused_unseen_label(workspace: Workspace, points: Any) -> None:
    train = _train_rows(workspace)
    est = LogisticRegression().fit(train[["x1", "x2"]], np.where(train["x1"] > 0.5, "a", "b"))
    with pytest.raises(InvalidInput) as info:
        register_external_model(workspace, "points", _skops(est), dataset="points", target="label")
    assert info.value.code == "unseen_label"
    assert workspace.runs.list() == []


def test_register_name_of_another_task_refused_before_any_write(
    workspace: Workspace, points: Any
) -> None:
    train = _train_rows(workspace)
    clf = LogisticRegression().fit(train[["x1", "x2"]], train["label"])
    register_external_model(workspace, "points", _skops(clf), dataset="points", target="label")
    reg = LinearRegression().fit(train[["x1", "x2"]], train["y"])
    with pytest.raises(Conflict) as info:
        register_external_model(workspace, "points", _skops(reg), dataset="points", target="y")
    assert info.value.code == "task_mismatch"
    assert len(workspace.runs.list()) == 1


def test_register_invalid_name_refused(workspace: Workspace, points: Any) -> None:
    with pytest.raises(BaryonError) as info:
        register_external_model(workspace, "bad name!", b"x", dataset="points", target="label")
    assert info.value.code == "invalid_model_name"


def test_read_model_file_refuses_big_or_missing_file_before_reading(tmp_path: Any) -> None:
    path = tmp_path / "m.skops"
    path.write_bytes(b"\0" * 2000)
    with pytest.raises(PayloadTooLarge):
        read_model_file(path, max_bytes=1000)
    assert read_model_file(path, max_bytes=2000) == b"\0" * 2000
    with pytest.raises(InvalidInput) as info:
        read_model_file(tmp_path / "missing.skops", max_bytes=1000)
    assert info.value.code == "model_file_not_found"
