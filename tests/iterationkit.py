"""Helpers of the iteration tests: registered models, flywheel cycles and queues, made
without training anything.

``tests/`` is on ``sys.path`` (the root ``conftest.py`` lives there), so test modules
import this as ``iterationkit``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from baryon.core.ids import new_id
from baryon.core.scope import SYSTEM
from baryon.flywheel.tables import FlywheelCycleRow
from baryon.labeling.queue import enqueue, ensure_queue
from baryon.workspace import Workspace

__all__ = ["add_cycle", "add_queue", "register_model", "succeeded_run"]


def succeeded_run(ws: Workspace, metrics: dict[str, Any], *, task: str = "classification") -> str:
    """Record a succeeded run of ``ws``'s organization with ``metrics``; return its id."""
    run = ws.runs.start(
        kind="decision_tree", task=task, params={}, seed=0,
        dataset_version_id="dsv_a", dataset_name="tickets", dataset_version=1,
    )  # fmt: skip
    ws.runs.put_artifact(run.id, "model", f"model of {run.id}".encode())
    ws.runs.put_artifact(run.id, "manifest", json.dumps({"kind": "decision_tree"}).encode())
    ws.runs.update(run.id, metrics=metrics)
    return ws.runs.finish(run.id, status="succeeded").id


def register_model(ws: Workspace, name: str, metrics: dict[str, Any]) -> int:
    """Register a fake run with ``metrics`` as the next version of ``name``; return it.

    The first version of a name is its champion.
    """
    return ws.registry.register(succeeded_run(ws, metrics), name).version


def add_cycle(
    ws: Workspace,
    org_id: str,
    model: str,
    *,
    at: datetime,
    status: str = "kept",
    champion: float | None = None,
    candidate: float | None = None,
    metric: str = "accuracy",
    decision: Any = None,
) -> str:
    """Insert a flywheel cycle of ``model`` created ``at``, with the report shape the
    flywheel writes (``report["metrics"]["champion"|"candidate"|"delta"]``)."""
    metrics: dict[str, Any] = {}
    if champion is not None or candidate is not None:
        metrics = {
            "champion": {metric: champion},
            "candidate": {metric: candidate},
            "delta": {metric: None if None in (champion, candidate) else candidate - champion},  # type: ignore[operator]
        }
    cycle_id = new_id("fw")
    with ws.db.session(SYSTEM) as s:
        s.add(
            FlywheelCycleRow(
                id=cycle_id, org_id=org_id, model_name=model, status=status, job_id=None,
                iteration_id=None, champion_version=1, parent_version_id="dsv_a",
                dataset_version_id="dsv_b", run_id=None, candidate_version=2,
                report={"metrics": metrics, "decision": decision or status},
                created_at=at, finished_at=at,
            )
        )  # fmt: skip
    return cycle_id


def add_queue(ws: Workspace, org_id: str, name: str, statuses: list[str]) -> str:
    """Make queue ``name`` with one task per entry of ``statuses``; return its id."""
    from sqlalchemy import select

    from baryon.labeling.tables import LabelingTaskRow

    with ws.db.session(SYSTEM) as s:
        queue = ensure_queue(
            s, org_id=org_id, model_name="support-intent", classes=["a", "b"],
            clock=ws.clock, name=name,
        )  # fmt: skip
        for n, status in enumerate(statuses):
            task_id = enqueue(
                s, queue, input={"text": f"t{n}"}, source="import", reason="import", clock=ws.clock
            )
            s.scalars(
                select(LabelingTaskRow).where(LabelingTaskRow.id == task_id)
            ).one().status = status
        return queue.id
