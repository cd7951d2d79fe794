"""Wine recommender on X-Wines ratings, with a cold-start fallback.

Bundled data: ``data/xwines`` (ratings with dates and wine metadata, CC0); see
:mod:`baryon.solutions.bundled`.

- :class:`RecommenderPipeline` trains ``popularity``, ``cf_seed``, ``itemknn_cosine``
  and ``als`` and promotes the best on validation through the gate
  (:mod:`~baryon.solutions.recommender.pipeline`);
- :mod:`~baryon.solutions.recommender.service` joins recommendations with the wine
  table, answers cold starts and keeps interaction events.

Docs: ``docs/solutions/recommender.md``.
"""

from __future__ import annotations

from baryon.solutions.recommender.pipeline import (
    Candidate,
    RecommenderPipeline,
    RecommenderResult,
)

__all__ = ["Candidate", "RecommenderPipeline", "RecommenderResult"]
