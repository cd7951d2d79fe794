"""Baryon predictions layer: serving models to callers, the prediction log and feedback.

- :mod:`baryon.predictions.inference`: from a model reference to outputs (resolvers,
  champion/challenger choice, inference, clean outputs);
- :mod:`baryon.predictions.log`: the prediction log, feedback and endpoints (traffic
  splits).

The HTTP routes in :mod:`baryon.serving` and the solutions call these; nothing here
imports the serving layer.
"""

from __future__ import annotations

__all__: list[str] = []
