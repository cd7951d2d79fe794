"""The public surface of baryon.training is pinned."""

from __future__ import annotations

import subprocess
import sys

import baryon.training


def test_training_public_api_is_pinned() -> None:
    assert baryon.training.__all__ == [
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
    for name in baryon.training.__all__:
        assert getattr(baryon.training, name) is not None


def test_training_import_does_not_load_scikit_learn() -> None:
    probe = "import sys, baryon.training; print('sklearn' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"
