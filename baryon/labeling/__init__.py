"""Labeling: queues of items waiting for a label, annotation and consensus.

- :mod:`baryon.labeling.queue`: the one way to put an item on a queue (duplicates merge);
- :mod:`baryon.labeling.service`: create, list, show (progress) and update queues; tasks;
- :mod:`baryon.labeling.annotation`: claim the next task, submit, skip, review;
- :mod:`baryon.labeling.consensus`: majority vote and agreement;
- :mod:`baryon.labeling.sources`: tasks from unsure predictions and disagreeing feedback;
- :mod:`baryon.labeling.views`, :mod:`baryon.labeling.limits`: what they return, bounds.

See ``docs/labeling.md``.
"""

from __future__ import annotations

__all__: list[str] = []
