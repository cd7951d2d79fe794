"""Wine recommender on X-Wines ratings, with a cold-start fallback.

Bundled data: ``data/xwines`` (ratings with dates and wine metadata, CC0); see
:mod:`baryon.solutions.bundled`.
"""

from __future__ import annotations

__all__: list[str] = []
