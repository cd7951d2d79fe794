"""Financial sentiment and topic monitor on the Twitter Financial News sets.

Bundled data: ``data/tfn_sentiment`` (Bearish / Bullish / Neutral) and
``data/tfn_topic`` (20 topics); see :mod:`baryon.solutions.bundled`.

- :class:`SentimentPipeline` trains and registers the ``sentiment`` and ``topic``
  models (:mod:`~baryon.solutions.sentiment.pipeline`);
- :class:`Monitor` computes the mood index and fires alert rules
  (:mod:`~baryon.solutions.sentiment.monitor`, pure code);
- :mod:`~baryon.solutions.sentiment.service` scores, stores and replays news items.

Docs: ``docs/solutions/sentiment.md``.
"""

from __future__ import annotations

from baryon.solutions.sentiment.monitor import (
    Alert,
    IndexChange,
    IndexCrossing,
    Monitor,
    MoodIndex,
    ScoredItem,
    VolumeSpike,
    mood_index,
)
from baryon.solutions.sentiment.pipeline import ModelOutcome, SentimentPipeline, SentimentResult

__all__ = [
    "Alert",
    "IndexChange",
    "IndexCrossing",
    "ModelOutcome",
    "Monitor",
    "MoodIndex",
    "ScoredItem",
    "SentimentPipeline",
    "SentimentResult",
    "VolumeSpike",
    "mood_index",
]
