"""Estimator kinds: the stable names users and the trainer build models by.

A kind names one estimator class (by import path, imported only when used) and the
task it solves. The table is immutable; adding a kind means editing :data:`KINDS`.

======================  ============================================  ===================
kind                    class                                         task
======================  ============================================  ===================
linear_regression_gd    baryon.ml.linear:LinearRegressionGD           regression
linear_regression       baryon.ml.linear:LinearRegression             regression
decision_tree           baryon.ml.tree:DecisionTree                   auto
gradient_boosting       baryon.ml.tree:GradientBoosting               auto
mlp                     baryon.ml.neural:MLP                          auto
text_classifier         baryon.ml.text:TextClassifier                 text_classification
hashed_text_classifier  baryon.ml.hashed_text:HashedTextClassifier    text_classification
transformer_classifier  baryon.ml.transformer:TransformerClassifier   text_classification
cf_seed                 baryon.ml.recommend:CFSeedRecommender         recommendation
popularity              baryon.ml.recommend:PopularityRecommender     recommendation
itemknn_cosine          baryon.ml.recommend:ItemKNNCosineRecommender  recommendation
als                     baryon.ml.recommend:ALSRecommender            recommendation
======================  ============================================  ===================

``auto`` kinds take ``task="auto"|"classification"|"regression"`` and decide in ``fit``.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from baryon.core.errors import InvalidInput

__all__ = ["KINDS", "Kind", "estimator_class", "estimator_kinds", "make_estimator", "task_of"]


@dataclass(frozen=True)
class Kind:
    """One estimator kind.

    Attributes
    ----------
    name : str
        Stable kind name (``"gradient_boosting"``).
    path : str
        ``"module:ClassName"`` of the estimator class.
    task : str
        ``"regression"``, ``"classification"``, ``"text_classification"``,
        ``"recommendation"`` or ``"auto"``.
    """

    name: str
    path: str
    task: str

    @property
    def class_path(self) -> str:
        """The class's dotted name, ``module.ClassName`` (as skops names types)."""
        module, _, cls = self.path.partition(":")
        return f"{module}.{cls}"


#: Every kind, by name (read-only).
KINDS: MappingProxyType[str, Kind] = MappingProxyType(
    {
        k.name: k
        for k in (
            Kind("linear_regression_gd", "baryon.ml.linear:LinearRegressionGD", "regression"),
            Kind("linear_regression", "baryon.ml.linear:LinearRegression", "regression"),
            Kind("decision_tree", "baryon.ml.tree:DecisionTree", "auto"),
            Kind("gradient_boosting", "baryon.ml.tree:GradientBoosting", "auto"),
            Kind("mlp", "baryon.ml.neural:MLP", "auto"),
            Kind("text_classifier", "baryon.ml.text:TextClassifier", "text_classification"),
            Kind(
                "hashed_text_classifier",
                "baryon.ml.hashed_text:HashedTextClassifier",
                "text_classification",
            ),
            Kind(
                "transformer_classifier",
                "baryon.ml.transformer:TransformerClassifier",
                "text_classification",
            ),
            Kind("cf_seed", "baryon.ml.recommend:CFSeedRecommender", "recommendation"),
            Kind("popularity", "baryon.ml.recommend:PopularityRecommender", "recommendation"),
            Kind(
                "itemknn_cosine", "baryon.ml.recommend:ItemKNNCosineRecommender", "recommendation"
            ),
            Kind("als", "baryon.ml.recommend:ALSRecommender", "recommendation"),
        )
    }
)


def estimator_kinds() -> list[str]:
    """Return every kind name, sorted."""
    return sorted(KINDS)


def _kind(kind: str) -> Kind:
    try:
        return KINDS[kind]
    except (KeyError, TypeError):
        raise InvalidInput(
            f"unknown model kind {kind!r}; known kinds: {', '.join(estimator_kinds())}",
            code="unknown_kind",
            details={"kind": repr(kind), "known": estimator_kinds()},
        ) from None


def task_of(kind: str) -> str:
    """Return the task of ``kind``.

    Returns
    -------
    str
        ``"regression"``, ``"classification"``, ``"text_classification"``,
        ``"recommendation"`` or ``"auto"``.

    Raises
    ------
    InvalidInput
        Code ``unknown_kind``; the message lists the known kinds.
    """
    return _kind(kind).task


def estimator_class(kind: str) -> type:
    """Import and return the estimator class of ``kind``.

    Raises
    ------
    InvalidInput
        Code ``unknown_kind``.
    """
    module, _, name = _kind(kind).path.partition(":")
    cls: type = getattr(importlib.import_module(module), name)
    return cls


def make_estimator(kind: str, **params: Any) -> Any:
    """Build an unfitted estimator of ``kind`` with ``params``.

    Parameter names are checked here; values are checked here too when the estimator
    declares constraints (so a bad value fails before any data is loaded), and
    again by ``fit``.

    Parameters
    ----------
    kind : str
        One of :func:`estimator_kinds`.
    **params
        Keyword parameters of the estimator's ``__init__``.

    Returns
    -------
    estimator
        Unfitted, scikit-learn contract.

    Raises
    ------
    InvalidInput
        ``unknown_kind`` (listing the known kinds); ``invalid_param`` for a parameter
        the estimator does not have (naming it and listing the valid ones) or a bad
        value.
    """
    cls = estimator_class(kind)
    known = _param_names(cls)
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise InvalidInput(
            f"{kind}: unknown parameter(s) {', '.join(map(repr, unknown))}; "
            f"valid: {', '.join(known) or '(none)'}",
            code="invalid_param",
            details={"kind": kind, "param": unknown[0], "unknown": unknown, "valid": known},
        )
    estimator = cls(**params)
    check = getattr(estimator, "_check_params", None)
    if callable(check):
        check()
    return estimator


def _param_names(cls: type) -> list[str]:
    getter = getattr(cls, "_get_param_names", None)
    if callable(getter):
        return list(getter())
    signature = inspect.signature(cls.__init__)  # type: ignore[misc]
    return [
        p.name
        for p in signature.parameters.values()
        if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    ]
