"""Bounds of labeling inputs, shared by the domain checks and the API's schemas.

Plain constants (no imports), so :mod:`baryon.serving.labeling_schemas` and the
client can use them without loading the database layer.
"""

from __future__ import annotations

__all__ = [
    "MAX_CLASSES",
    "MAX_INSTRUCTIONS_CHARS",
    "MAX_LABEL_CHARS",
    "MAX_OVERLAP",
    "MAX_SECONDS",
    "MAX_SKIP_REASON_CHARS",
    "TASK_STATUSES",
]

#: Most annotators per task a queue may ask for.
MAX_OVERLAP = 20
#: Most classes of one queue.
MAX_CLASSES = 1000
#: Longest label, in characters (the label columns' size).
MAX_LABEL_CHARS = 200
#: Longest queue instructions, in characters.
MAX_INSTRUCTIONS_CHARS = 10_000
#: Largest time spent on one annotation a client may report, in seconds (a day).
MAX_SECONDS = 86_400.0
#: Longest skip reason, in characters.
MAX_SKIP_REASON_CHARS = 1000
#: Statuses of a labeling task.
TASK_STATUSES: tuple[str, ...] = ("open", "review", "done", "skipped")
