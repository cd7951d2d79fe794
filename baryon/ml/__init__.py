"""Baryon's ml layer: estimators with the scikit-learn contract, and their persistence.

Every estimator has a stable *kind* name (:mod:`baryon.ml.kinds`) and follows the
scikit-learn contract (keyword-only ``__init__`` that only stores parameters,
``fit -> self``, learned attributes ending in ``_``, parameters validated in ``fit``
with one error format, see :mod:`baryon.ml._validation`). Models are saved as data
plus a manifest, never as a pickle (:mod:`baryon.ml.persistence`).

Importing this package imports nothing heavy: each name below is loaded on first use
(PEP 562), so ``import baryon.ml`` does not pull in scikit-learn.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from baryon.ml._validation import NotConverged, NotFitted
    from baryon.ml.kinds import estimator_kinds, make_estimator, task_of
    from baryon.ml.linear import LinearRegression, LinearRegressionGD
    from baryon.ml.neural import MLP
    from baryon.ml.persistence import dump_model, load_model
    from baryon.ml.text import TextClassifier
    from baryon.ml.tree import DecisionTree, GradientBoosting

__all__ = [
    "MLP",
    "DecisionTree",
    "GradientBoosting",
    "LinearRegression",
    "LinearRegressionGD",
    "NotConverged",
    "NotFitted",
    "TextClassifier",
    "dump_model",
    "estimator_kinds",
    "load_model",
    "make_estimator",
    "task_of",
]

_WHERE = {
    "MLP": "baryon.ml.neural",
    "DecisionTree": "baryon.ml.tree",
    "GradientBoosting": "baryon.ml.tree",
    "LinearRegression": "baryon.ml.linear",
    "LinearRegressionGD": "baryon.ml.linear",
    "NotConverged": "baryon.ml._validation",
    "NotFitted": "baryon.ml._validation",
    "TextClassifier": "baryon.ml.text",
    "dump_model": "baryon.ml.persistence",
    "estimator_kinds": "baryon.ml.kinds",
    "load_model": "baryon.ml.persistence",
    "make_estimator": "baryon.ml.kinds",
    "task_of": "baryon.ml.kinds",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'baryon.ml' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
