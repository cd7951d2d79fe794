"""Financial sentiment and topic monitor on the Twitter Financial News sets.

Bundled data: ``data/tfn_sentiment`` (Bearish / Bullish / Neutral) and
``data/tfn_topic`` (20 topics); see :mod:`baryon.solutions.bundled`.
"""

from __future__ import annotations

__all__: list[str] = []
