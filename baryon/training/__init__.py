"""Baryon training layer: tracked runs, evaluation, the model registry, promotion.

Public surface::

    from baryon.training import Trainer, ModelRegistry, Promoter, RunStore

    run = Trainer(ws).train("decision_tree", dataset="churn:2", register="churn")
    ws.promotion.promote("churn", 2, min_delta=0.01)

Light names (runs, registry, gates) are imported eagerly; the trainer, evaluation and
promotion (which pull in pandas and scikit-learn) load on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from baryon.training.gates import PRIMARY_METRICS, GateDecision, primary_metric
from baryon.training.registry import (
    AliasMove,
    LoadedModel,
    ModelRegistry,
    ModelVersion,
    RegisteredModel,
)
from baryon.training.runs import RUN_STATUSES, Run, RunFailed, RunStore

if TYPE_CHECKING:
    from baryon.training.evaluate import Evaluation, evaluate_file, evaluate_model
    from baryon.training.promotion import Promoter
    from baryon.training.trainer import Trainer

__all__ = [
    "PRIMARY_METRICS",
    "RUN_STATUSES",
    "AliasMove",
    "Evaluation",
    "GateDecision",
    "LoadedModel",
    "ModelRegistry",
    "ModelVersion",
    "Promoter",
    "RegisteredModel",
    "Run",
    "RunFailed",
    "RunStore",
    "Trainer",
    "evaluate_file",
    "evaluate_model",
    "primary_metric",
]

_LAZY = {
    "Trainer": "baryon.training.trainer",
    "Evaluation": "baryon.training.evaluate",
    "evaluate_file": "baryon.training.evaluate",
    "evaluate_model": "baryon.training.evaluate",
    "Promoter": "baryon.training.promotion",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'baryon.training' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
