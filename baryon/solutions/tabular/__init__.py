"""Tabular regression demo: concrete compressive strength (MPa).

Bundled data: ``data/concrete`` (UCI Concrete Compressive Strength, CC BY 4.0); see
:mod:`baryon.solutions.bundled`.
"""

from __future__ import annotations

__all__: list[str] = []
