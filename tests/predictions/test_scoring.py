"""Batch scoring (baryon/predictions/scoring.py): a dataset version scored into a new one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from baryon.commerce.orgs import create_org
from baryon.core.config import Settings
from baryon.core.errors import Forbidden, InvalidInput, MissingDependency, NotFound
from baryon.core.scope import SYSTEM
from baryon.predictions.inference import RegistryModelResolver, run_inference
from baryon.predictions.scoring import score_dataset
from baryon.tenancy.grants import create_grant
from baryon.training.trainer import Trainer
from baryon.workspace import Workspace

ROLES = {"x1": "feature", "x2": "feature", "label": "label"}


def _frame(n: int = 90, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    return pd.DataFrame({"x1": x1, "x2": x2, "label": np.where(x1 + 0.3 * x2 > 0, "pos", "neg")})


def _ingest(ws: Workspace, tmp_path: Path, name: str, frame: pd.DataFrame, roles: dict) -> None:
    path = tmp_path / f"{name}.csv"
    frame.to_csv(path, index=False)
    ws.datasets.ingest(path, name=name, roles=roles)


@pytest.fixture
def trained(workspace: Workspace, tmp_path: Path) -> Workspace:
    """Dataset "sep" (v1 raw, v2 split) and classifier "clf" v1 trained on it."""
    _ingest(workspace, tmp_path, "sep", _frame(), ROLES)
    workspace.datasets.split("sep", strategy="random", seed=1)
    run = Trainer(workspace).train(
        "decision_tree", "sep:2", params={"max_depth": 3}, register="clf"
    )
    assert run.status == "succeeded"
    return workspace


def test_score_adds_prediction_and_confidence_from_run_inference(trained: Workspace) -> None:
    parent = trained.datasets.get("sep:1")
    scored = score_dataset(trained, "clf", "sep:1", batch_rows=16)
    assert scored.name == "sep-scored"  # a dataset of its own: sep's latest stays the split v2
    assert scored.version == 1
    assert trained.datasets.get("sep").version == 2
    assert scored.parent_id == parent.id
    assert scored.operation == "score"
    assert scored.row_count == parent.row_count
    assert list(scored.schema) == [*parent.schema, "prediction", "confidence"]
    assert scored.roles["prediction"] == scored.roles["confidence"] == "ignore"
    assert scored.lineage == {
        "operation": "score", "model": "clf", "model_version": 1,
        "model_id": scored.lineage["model_id"], "task": "classification",
    }  # fmt: skip
    served = RegistryModelResolver(trained).resolve("clf", scope=trained.scope)
    rows = parent.to_pandas()[["x1", "x2"]].to_dict("records")
    expected = run_inference(served, rows).outputs
    data = scored.to_pandas()
    assert data["prediction"].tolist() == [o["label"] for o in expected]
    assert data["confidence"].tolist() == pytest.approx(
        [o["probabilities"][o["label"]] for o in expected]
    )
    pd.testing.assert_frame_equal(data[list(parent.schema)], parent.to_pandas())


def test_score_same_parent_and_model_version_returns_the_same_version(trained: Workspace) -> None:
    first = score_dataset(trained, "clf", "sep:1", batch_rows=16)
    again = score_dataset(trained, "clf", "sep:1", batch_rows=1000)
    assert again.id == first.id
    assert [v.version for v in trained.datasets.history("sep-scored")] == [1]


def test_score_batch_size_does_not_change_the_data(trained: Workspace) -> None:
    small = score_dataset(trained, "clf", "sep:1", batch_rows=7, output="by-seven")
    whole = score_dataset(trained, "clf", "sep:1", batch_rows=4096, output="at-once")
    assert small.name == "by-seven"
    assert small.version == 1
    pd.testing.assert_frame_equal(small.to_pandas(), whole.to_pandas())


def test_score_regressor_writes_float_predictions_without_confidence(
    workspace: Workspace, tmp_path: Path
) -> None:
    frame = _frame().assign(y=lambda f: 2.0 * f["x1"]).drop(columns="label")
    _ingest(workspace, tmp_path, "vals", frame, {"x1": "feature", "x2": "feature", "y": "label"})
    workspace.datasets.split("vals", strategy="random", seed=1)
    Trainer(workspace).train("linear_regression", "vals:2", register="reg")
    scored = score_dataset(workspace, "reg", "vals:1")
    assert "confidence" not in scored.schema
    assert scored.schema["prediction"] == "float"
    data = scored.to_pandas()
    assert data["prediction"].to_numpy() == pytest.approx(2.0 * data["x1"].to_numpy(), abs=1e-6)


def test_score_picks_a_model_version(trained: Workspace) -> None:
    Trainer(trained).train("decision_tree", "sep:2", params={"max_depth": 1}, register="clf")
    v1 = score_dataset(trained, "clf", "sep:1", output="one")
    v2 = score_dataset(trained, "clf", "sep:1", version=2, output="two")
    assert (v1.lineage["model_version"], v2.lineage["model_version"]) == (1, 2)
    with pytest.raises(NotFound):
        score_dataset(trained, "clf", "sep:1", version=9)


# ------------------------------------------------------------------ bad input
def test_score_bad_batch_rows_is_refused(trained: Workspace) -> None:
    for rows in (0, -1):
        with pytest.raises(InvalidInput) as err:
            score_dataset(trained, "clf", "sep:1", batch_rows=rows)
        assert err.value.code == "invalid_batch_rows"


def test_score_dataset_with_a_prediction_column_is_refused(
    trained: Workspace, tmp_path: Path
) -> None:
    _ingest(trained, tmp_path, "has", _frame().assign(prediction=1), ROLES)
    with pytest.raises(InvalidInput) as err:
        score_dataset(trained, "clf", "has")
    assert err.value.code == "output_column_exists"


def test_score_rows_missing_a_feature_fail_whole_and_write_nothing(
    trained: Workspace, tmp_path: Path
) -> None:
    frame = _frame(n=40)
    frame.loc[33, "x2"] = None  # in the third batch of 16: row 33 of the dataset
    _ingest(trained, tmp_path, "holes", frame, ROLES)
    with pytest.raises(InvalidInput) as err:
        score_dataset(trained, "clf", "holes", batch_rows=16)
    assert err.value.code == "invalid_features"
    assert [e["row"] for e in err.value.details["errors"]] == [33]
    assert [v.version for v in trained.datasets.history("holes")] == [1]


def test_score_unknown_model_or_dataset_is_not_found(trained: Workspace) -> None:
    with pytest.raises(NotFound):
        score_dataset(trained, "nope", "sep:1")
    with pytest.raises(NotFound):
        score_dataset(trained, "clf", "nope")


def test_score_with_ray_address_is_ray_not_available(
    trained: Workspace, settings: Settings
) -> None:
    ray = settings.model_copy(update={"ray_address": "auto"})
    with Workspace.open(ray) as ws, pytest.raises(MissingDependency) as err:
        score_dataset(ws, "clf", "sep:1")
    assert err.value.code == "ray_not_available"


# ------------------------------------------------------------------ organizations
@pytest.mark.filterwarnings("ignore:The Result.tuples:DeprecationWarning")  # grants.py, SA 2.1
def test_score_other_orgs_objects_are_not_found_unless_granted(
    workspace: Workspace, tmp_path: Path
) -> None:
    with workspace.db.session(SYSTEM) as s:
        acme = create_org(s, name="acme")
        create_org(s, name="globex")
    owner = workspace.for_org("acme")
    _ingest(owner, tmp_path, "sep", _frame(), ROLES)
    owner.datasets.split("sep", strategy="random", seed=1)
    Trainer(owner).train("decision_tree", "sep:2", params={"max_depth": 2}, register="clf")
    other = workspace.for_org("globex")
    _ingest(other, tmp_path, "mine", _frame(seed=4), ROLES)
    with pytest.raises(NotFound):
        score_dataset(other, "clf", "mine")
    with pytest.raises(NotFound):
        score_dataset(owner, "clf", "mine")
    with workspace.db.session(owner.scope) as s:
        create_grant(s, owner_org_id=acme.id, object_type="model", object_name="clf",
                     grantee="globex", permission="read", actor="test")  # fmt: skip
    with pytest.raises(Forbidden) as err:
        score_dataset(workspace.for_org("globex"), "acme/clf", "mine")
    assert err.value.code == "predict_not_granted"
    with workspace.db.session(owner.scope) as s:
        create_grant(s, owner_org_id=acme.id, object_type="model", object_name="clf",
                     grantee="globex", permission="predict", actor="test")  # fmt: skip
    globex = workspace.for_org("globex")
    scored = score_dataset(globex, "acme/clf", "mine")
    assert scored.org_id == globex.scope.org_id
    assert scored.name == "mine-scored"
    with pytest.raises(NotFound):
        owner.datasets.get("mine")
