"""Tabular regression demo: concrete compressive strength (MPa).

Bundled data: ``data/concrete`` (UCI Concrete Compressive Strength, CC BY 4.0); see
:mod:`baryon.solutions.bundled`.

- :class:`TabularPipeline` trains ``linear_regression_gd``, ``linear_regression``,
  ``decision_tree`` and ``gradient_boosting`` and registers the best as
  ``concrete-strength`` (:mod:`~baryon.solutions.tabular.pipeline`); the generic
  ``POST /v1/models/concrete-strength/predict`` route serves it.

Docs: ``docs/solutions/tabular.md``.
"""

from __future__ import annotations

from baryon.solutions.tabular.pipeline import Candidate, TabularPipeline, TabularResult

__all__ = ["Candidate", "TabularPipeline", "TabularResult"]
