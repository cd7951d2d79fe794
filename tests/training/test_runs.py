"""Tests of baryon.training.runs: run lifecycle, metrics, artifacts, listing."""

from __future__ import annotations

import json
import math

import pytest

from baryon.core.clock import FixedClock
from baryon.core.errors import Conflict, InvalidInput, NotFound, ValidationFailed
from baryon.core.ids import is_id
from baryon.training.runs import RunFailed, RunStore, library_versions
from baryon.workspace import Workspace


def _store(workspace: Workspace, clock: FixedClock) -> RunStore:
    return RunStore(workspace.db, workspace.artifacts, clock, scope=workspace.scope)


def _start(store: RunStore, **overrides: object) -> str:
    args: dict[str, object] = {
        "kind": "decision_tree",
        "task": "classification",
        "params": {"max_depth": 3},
        "seed": 7,
        "dataset_version_id": "dsv_x",
        "dataset_name": "iris",
        "dataset_version": 2,
        "split": {"strategy": "random", "seed": 42},
    }
    args.update(overrides)
    return store.start(**args).id  # type: ignore[arg-type]


def test_run_start_records_running_with_library_versions(
    workspace: Workspace, clock: FixedClock
) -> None:
    store = _store(workspace, clock)
    run = store.get(_start(store))
    assert is_id(run.id, "run")
    assert run.status == "running"
    assert (run.kind, run.seed, run.params, run.dataset_ref) == (
        "decision_tree",
        7,
        {"max_depth": 3},
        "iris:2",
    )
    assert run.split == {"strategy": "random", "seed": 42}
    assert run.started_at == clock.now()
    assert {"python", "numpy", "scikit-learn"} <= set(run.library_versions)


def test_run_finish_sets_end_and_duration_from_clock(
    workspace: Workspace, clock: FixedClock
) -> None:
    store = _store(workspace, clock)
    run_id = _start(store)
    clock.advance(12.5)
    run = store.finish(run_id, status="succeeded")
    assert run.status == "succeeded"
    assert run.duration_seconds == pytest.approx(12.5)
    assert run.ended_at == clock.now()


def test_run_finish_twice_conflicts(workspace: Workspace, clock: FixedClock) -> None:
    store = _store(workspace, clock)
    run_id = _start(store)
    store.finish(run_id, status="failed", error="boom", error_code="internal_error")
    with pytest.raises(Conflict) as info:
        store.finish(run_id, status="succeeded")
    assert info.value.code == "run_finished"


@pytest.mark.parametrize("status", ["running", "done", ""])
def test_run_finish_non_final_status_refused(
    workspace: Workspace, clock: FixedClock, status: str
) -> None:
    store = _store(workspace, clock)
    with pytest.raises(InvalidInput):
        store.finish(_start(store), status=status)


def test_run_update_merges_metrics_history_and_cleans_nan(
    workspace: Workspace, clock: FixedClock
) -> None:
    import numpy as np

    store = _store(workspace, clock)
    run_id = _start(store)
    store.update(run_id, metrics={"accuracy": np.float64(0.5)}, history={"loss": np.array([3, 2])})
    run = store.update(run_id, metrics={"r2": math.nan})
    assert run.metrics == {"accuracy": 0.5, "r2": None}
    assert run.history == {"loss": [3, 2]}


def test_run_artifacts_stored_by_digest_and_read_back(
    workspace: Workspace, clock: FixedClock
) -> None:
    store = _store(workspace, clock)
    run_id = _start(store)
    digest = store.put_artifact(run_id, "report", json.dumps({"accuracy": 1.0}).encode())
    assert store.get(run_id).artifacts == {"report": digest}
    assert store.report(run_id) == {"accuracy": 1.0}
    with pytest.raises(NotFound):
        store.artifact(run_id, "model")


def test_run_get_unknown_not_found(workspace: Workspace, clock: FixedClock) -> None:
    with pytest.raises(NotFound) as info:
        _store(workspace, clock).get("run_nope")
    assert info.value.code == "run_not_found"


def test_run_start_non_json_params_refused(workspace: Workspace, clock: FixedClock) -> None:
    store = _store(workspace, clock)
    with pytest.raises(InvalidInput) as info:
        _start(store, params={"f": object()})
    assert info.value.code == "invalid_params"


def test_run_list_newest_first_and_filters(workspace: Workspace, clock: FixedClock) -> None:
    store = _store(workspace, clock)
    first = _start(store)
    clock.advance(1)
    second = _start(store, kind="mlp", dataset_name="wine")
    store.finish(first, status="failed_validation", error="single class")
    assert [r.id for r in store.list()] == [second, first]
    assert [r.id for r in store.list(status="failed_validation")] == [first]
    assert [r.id for r in store.list(kind="mlp")] == [second]
    assert [r.id for r in store.list(dataset="iris")] == [first]
    assert len(store.list(limit=1)) == 1
    with pytest.raises(InvalidInput):
        store.list(status="weird")
    with pytest.raises(InvalidInput):
        store.list(limit=0)


def test_run_raise_for_status_maps_failures_to_errors(
    workspace: Workspace, clock: FixedClock
) -> None:
    store = _store(workspace, clock)
    ok = store.finish(_start(store), status="succeeded")
    assert ok.raise_for_status() is ok
    invalid = store.finish(
        _start(store), status="failed_validation", error="one class", error_code="single_class"
    )
    with pytest.raises(ValidationFailed) as info:
        invalid.raise_for_status()
    assert info.value.details["check"] == "single_class"
    failed = store.finish(_start(store), status="failed", error="boom")
    with pytest.raises(RunFailed, match="boom"):
        failed.raise_for_status()


def test_run_to_dict_is_json_serialisable(workspace: Workspace, clock: FixedClock) -> None:
    store = _store(workspace, clock)
    run = store.finish(_start(store), status="succeeded")
    data = json.loads(json.dumps(run.to_dict()))
    assert data["status"] == "succeeded"
    assert data["started_at"].startswith("2026-01-01")


def test_library_versions_reads_metadata() -> None:
    versions = library_versions()
    assert versions["python"].count(".") == 2
    assert "pandas" in versions


# ------------------------------------------------------------ background runs
def test_run_start_queued_records_when_then_begin_starts_it(
    workspace: Workspace, clock: FixedClock
) -> None:
    store = _store(workspace, clock)
    run = store.get(_start(store, status="queued"))
    assert (run.status, run.finished, run.job_id) == ("queued", False, None)
    assert run.extra["queued_at"] == clock.now().isoformat()
    clock.advance(30)
    begun = store.begin(run.id, extra={"attempt": 1})
    assert (begun.status, begun.started_at, begun.extra["attempt"]) == ("running", clock.now(), 1)
    assert begun.extra["queued_at"] == run.extra["queued_at"]


def test_run_begin_again_clears_what_the_lost_attempt_left(
    workspace: Workspace, clock: FixedClock
) -> None:
    store = _store(workspace, clock)
    run_id = _start(store, status="queued")
    store.begin(run_id, extra={"attempt": 1, "job_id": "job_x"})
    registered = {"name": "m", "version": 1}
    store.update(
        run_id,
        metrics={"accuracy": 0.5},
        history={"loss": [1.0]},
        extra={"classes": ["a"], "registered": registered},
    )
    store.put_artifact(run_id, "model", b"partial")
    again = store.begin(run_id, extra={"attempt": 2})
    assert (again.metrics, again.history, again.artifacts) == ({}, {}, {})
    assert again.extra == {"queued_at": again.extra["queued_at"], "job_id": "job_x", "attempt": 2}


def test_run_requeue_and_finish_from_queued(workspace: Workspace, clock: FixedClock) -> None:
    store = _store(workspace, clock)
    run_id = _start(store, status="queued")
    store.begin(run_id)
    assert store.requeue(run_id).status == "queued"
    cancelled = store.finish(run_id, status="cancelled")
    assert (cancelled.status, cancelled.duration_seconds) == ("cancelled", None)
    assert cancelled.finished
    assert [r.id for r in store.list(status="cancelled")] == [run_id]


@pytest.mark.parametrize("status", ["succeeded", "cancelled", "nope"])
def test_run_start_only_running_or_queued(
    workspace: Workspace, clock: FixedClock, status: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        _start(_store(workspace, clock), status=status)
    assert info.value.code == "invalid_status"
