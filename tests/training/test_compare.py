"""Tests of baryon.training.compare: runs side by side (recorded runs, no training)."""

from __future__ import annotations

from typing import Any

import pytest

from baryon.core.errors import InvalidInput, NotFound
from baryon.training.compare import compare_runs
from baryon.workspace import Workspace


def _run(ws: Workspace, params: dict[str, Any], metrics: dict[str, float], **facts: Any) -> str:
    run = ws.runs.start(
        kind=facts.get("kind", "decision_tree"),
        task="classification",
        params=params,
        seed=facts.get("seed", 42),
        dataset_version_id="dsv_x",
        dataset_name="quad",
        dataset_version=facts.get("version", 1),
    )
    ws.runs.update(run.id, metrics=metrics)
    return ws.runs.finish(run.id, status="succeeded").id


def test_compare_runs_lines_up_settings_params_and_metrics(workspace: Workspace) -> None:
    a = _run(workspace, {"max_depth": 1}, {"accuracy": 0.75, "macro_f1": 0.7})
    b = _run(workspace, {"max_depth": 3, "min_samples_leaf": 2}, {"accuracy": 1.0}, version=2)
    comparison = compare_runs(workspace.runs, [a, b])
    assert [r.id for r in comparison.runs] == [a, b]
    params = {row.name: (row.values, row.differs) for row in comparison.params}
    assert list(params)[:5] == ["kind", "dataset", "target", "seed", "cv_folds"]
    assert params["kind"] == (("decision_tree", "decision_tree"), False)
    refs = tuple(workspace.runs.get(i).dataset_ref for i in (a, b))
    assert params["dataset"] == (refs, True)
    assert refs[0] != refs[1]
    assert params["max_depth"] == ((1, 3), True)
    assert params["min_samples_leaf"] == ((None, 2), True)
    assert comparison.differing_params == ["dataset", "max_depth", "min_samples_leaf"]
    metrics = {row.name: row.values for row in comparison.metrics}
    assert metrics == {"accuracy": (0.75, 1.0), "macro_f1": (0.7, None)}
    data = comparison.to_dict()
    assert data["run_ids"] == [a, b]
    assert data["params"][5] == {"name": "max_depth", "values": [1, 3], "differs": True}


def test_compare_runs_param_named_like_a_setting_is_prefixed(workspace: Workspace) -> None:
    a = _run(workspace, {"seed": 1}, {}, seed=7)
    b = _run(workspace, {"seed": 2}, {}, seed=7)
    rows = {row.name: row.values for row in compare_runs(workspace.runs, [a, b]).params}
    assert (rows["seed"], rows["params.seed"]) == ((7, 7), (1, 2))


@pytest.mark.parametrize("count", [0, 1, 6])
def test_compare_runs_outside_two_to_five_refused(workspace: Workspace, count: int) -> None:
    ids = [_run(workspace, {}, {}) for _ in range(count)]
    with pytest.raises(InvalidInput) as info:
        compare_runs(workspace.runs, ids)
    assert info.value.code == "invalid_run_ids"


def test_compare_runs_repeated_id_refused(workspace: Workspace) -> None:
    a = _run(workspace, {}, {})
    with pytest.raises(InvalidInput) as info:
        compare_runs(workspace.runs, [a, a])
    assert info.value.code == "invalid_run_ids"


def test_compare_runs_unknown_run_not_found(workspace: Workspace) -> None:
    a = _run(workspace, {}, {})
    with pytest.raises(NotFound) as info:
        compare_runs(workspace.runs, [a, "run_missing"])
    assert info.value.code == "run_not_found"
