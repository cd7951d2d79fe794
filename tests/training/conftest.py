"""Fixtures of the training tests: succeeded runs without training anything."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from baryon.training.runs import Run
from baryon.workspace import Workspace

MakeRun = Callable[..., Run]
MakeDataset = Callable[..., Any]


def fake_run(
    ws: Workspace,
    *,
    value: float | None = 0.8,
    task: str = "classification",
    kind: str = "decision_tree",
    dataset_version_id: str = "dsv_a",
    payload: bytes | None = None,
    status: str = "succeeded",
) -> Run:
    """Record a finished run whose "model" is opaque bytes and whose primary metric is ``value``."""
    metric = {"classification": "accuracy", "regression": "r2"}.get(task, "ndcg_at_10")
    run = ws.runs.start(
        kind=kind,
        task=task,
        params={},
        seed=0,
        dataset_version_id=dataset_version_id,
        dataset_name="d",
        dataset_version=1,
    )
    model = payload if payload is not None else f"model of {run.id}".encode()
    ws.runs.put_artifact(run.id, "model", model)
    ws.runs.put_artifact(run.id, "manifest", json.dumps({"kind": kind}).encode())
    if value is not None:
        ws.runs.update(run.id, metrics={metric: value})
    return ws.runs.finish(run.id, status=status)


@pytest.fixture
def make_run(workspace: Workspace) -> MakeRun:
    """Return ``make_run(value=..., ...)`` recording a fake succeeded run in ``workspace``."""

    def _make(**kwargs: Any) -> Run:
        return fake_run(workspace, **kwargs)

    return _make


@pytest.fixture
def make_dataset(workspace: Workspace, tmp_path: Path) -> MakeDataset:
    """Ingest ``frame`` as dataset ``name`` (with ``roles``) and split it (unless split=None)."""

    def make(
        name: str,
        frame: pd.DataFrame,
        *,
        roles: dict[str, str] | None = None,
        split: str | None = "random",
        seed: int = 3,
        **options: Any,
    ) -> Any:
        path = tmp_path / f"{name}.csv"
        frame.to_csv(path, index=False)
        version = workspace.datasets.ingest(path, name=name, roles=roles)
        if split is None:
            return version
        return workspace.datasets.split(name, strategy=split, seed=seed, **options)

    return make


TrainQuad = Callable[..., int]
_QUADRANT_ROLES = {"x1": "feature", "x2": "feature", "label": "label"}


def _quadrants(n: int, seed: int) -> pd.DataFrame:
    """ "Both positive": a stump gets about 75 %, a depth-3 tree about 100 % (known order)."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.uniform(-1, 1, size=n), rng.uniform(-1, 1, size=n)
    return pd.DataFrame({"x1": x1, "x2": x2, "label": np.where((x1 > 0) & (x2 > 0), "in", "out")})


@pytest.fixture
def make_quadrants(make_dataset: MakeDataset) -> MakeDataset:
    """Return ``make_quadrants(name, n=200, data_seed=0)``: quadrants data, ingested and split."""

    def make(name: str, *, n: int = 200, data_seed: int = 0) -> Any:
        return make_dataset(name, _quadrants(n, data_seed), roles=_QUADRANT_ROLES)

    return make


@pytest.fixture
def train_quad(workspace: Workspace) -> TrainQuad:
    """Return ``train_quad(depth, dataset="quad")``: train a tree, register it as ``quad``."""
    from baryon.training.trainer import Trainer

    def train(depth: int, dataset: str = "quad") -> int:
        run = Trainer(workspace).train(
            "decision_tree", dataset=dataset, params={"max_depth": depth}, register="quad"
        )
        assert run.status == "succeeded", run.error
        return int(run.extra["registered"]["version"])

    return train
