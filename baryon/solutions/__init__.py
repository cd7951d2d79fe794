"""Baryon solutions layer (see DESIGN.md §3).

Each solution (``support``, ``sentiment``, ``recommender``, ``tabular``) is built only
on the layers below it. The real datasets they train on ship inside the package; see
:mod:`baryon.solutions.bundled` and ``NOTICE.md`` for origins and licences.
"""

from __future__ import annotations

from baryon.solutions.bundled import (
    BUNDLED,
    BundledDataset,
    SupportAnswers,
    bundled_path,
    load_answers,
    open_bundled,
)

__all__ = [
    "BUNDLED",
    "BundledDataset",
    "SupportAnswers",
    "bundled_path",
    "load_answers",
    "open_bundled",
]
