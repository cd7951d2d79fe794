"""Federated learning with Flower: one model trained across silos whose rows stay put.

See :mod:`baryon.federated.runner` (the workflow) and docs/federated.md. Training
needs the ``federated`` extra (``pip install 'baryon[federated]'``, Flower); importing
this package does not.
"""

from __future__ import annotations

from baryon.federated._learners import FEDERATED_KINDS
from baryon.federated.runner import STRATEGIES, FederatedSpec, FederatedTrainer, Silo

__all__ = ["FEDERATED_KINDS", "STRATEGIES", "FederatedSpec", "FederatedTrainer", "Silo"]
