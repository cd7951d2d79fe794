"""Helpers of the flywheel tests: a tiny intent model, labels and feedback made by hand.

The intent data is built so that the right answer is known. Training rows say
``alpha``/``apple`` (intent ``a``) or ``bravo``/``banana`` (intent ``b``). The test
split — the newest rows of a ``time`` split — also holds sentences made of words the
champion never saw (``kilo``… for ``a``, ``mike``… for ``b``): it gets half of those
wrong. Labels of *other* sentences made of those words teach a candidate to get them
right, so a cycle with them is promoted; labels of sentences the champion already
gets right change nothing, so a cycle with only those is kept (a tie).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import func, select

from baryon.core.clock import FixedClock
from baryon.core.scope import SYSTEM
from baryon.data.versions import DatasetVersion
from baryon.labeling.queue import enqueue, ensure_queue
from baryon.labeling.tables import LabelingTaskRow
from baryon.predictions.log import add_feedback, log_prediction
from baryon.tenancy.keys import create_key
from baryon.workspace import Workspace

MODEL = "intent"
#: Words of each intent in the training rows, and words only the test split has.
TRAIN_WORDS = {"a": ["alpha", "apple", "anchor"], "b": ["bravo", "banana", "bucket"]}
NEW_WORDS = {"a": ["kilo", "kettle", "kiwi"], "b": ["mike", "mango", "marble"]}
FILLER = ["please", "help", "now", "today", "again", "my", "the", "with"]
#: Parameters of the tiny text classifier (3 calibration folds: the classes are small).
PARAMS = {"cv": 3}


def _sentence(words: list[str], i: int) -> str:
    """A unique sentence of ``words``; rows ``2j`` and ``2j + 1`` share filler and token
    (so neither says which intent a row has)."""
    j = i // 2
    return f"{words[j % len(words)]} {FILLER[j % len(FILLER)]} {words[(j + 1) % len(words)]} n{j}"


def intent_frame() -> pd.DataFrame:
    """60 training rows (30 per intent), then 16 test rows (newest): 8 known, 8 new words."""
    rows: list[dict[str, Any]] = []
    for i in range(60):
        intent = "ab"[i % 2]
        rows.append({"text": _sentence(TRAIN_WORDS[intent], i), "intent": intent})
    for i in range(16):
        intent = "ab"[i % 2]
        words = TRAIN_WORDS[intent] if i < 8 else NEW_WORDS[intent]
        rows.append({"text": _sentence(words, 100 + i), "intent": intent})
    frame = pd.DataFrame(rows)
    start = pd.Timestamp("2025-01-01", tz="UTC")
    frame["ts"] = [start + pd.Timedelta(minutes=i) for i in range(len(frame))]
    return frame


def new_word_texts(n: int, *, start: int = 200) -> list[tuple[str, str]]:
    """``n`` (text, intent) pairs made of the test split's new words (not test rows)."""
    return [(_sentence(NEW_WORDS["ab"[i % 2]], start + i), "ab"[i % 2]) for i in range(n)]


def known_word_texts(n: int, *, start: int = 300) -> list[tuple[str, str]]:
    """``n`` (text, intent) pairs of the training words (the champion already knows)."""
    return [(_sentence(TRAIN_WORDS["ab"[i % 2]], start + i), "ab"[i % 2]) for i in range(n)]


def make_intent_model(ws: Workspace, home: Path, *, name: str = MODEL) -> DatasetVersion:
    """Ingest, time-split (newest 16 rows are test) and train the champion ``name``."""
    from baryon.training.trainer import Trainer

    path = home / f"{name}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    intent_frame().to_csv(path, index=False)
    roles = {"text": "text", "intent": "label", "ts": "timestamp"}
    ws.datasets.ingest(path, name=name, roles=roles)
    split = ws.datasets.split(name, strategy="time", test_size=16 / 76, validation_size=0.0)
    run = Trainer(ws).train("text_classifier", split.ref, params=PARAMS, register=name, seed=0)
    run.raise_for_status()
    return split


def label(
    ws: Workspace,
    clock: FixedClock,
    pairs: Sequence[tuple[str | dict[str, Any], str]],
    *,
    model: str = MODEL,
    queue: str | None = None,
    source: str = "prediction",
) -> list[str]:
    """Queue each input for ``model`` and give it its consensus label (status ``done``).

    A text becomes the input ``{"text": text}``; a dict is the input as it is.
    """
    org_id = ws.scope.org_id
    assert org_id is not None
    ids = []
    classes = sorted({intent for _, intent in pairs})
    with ws.db.session(ws.scope) as session:
        q = ensure_queue(
            session, org_id=org_id, model_name=model, classes=classes, clock=clock, name=queue
        )
        for data, intent in pairs:
            clock.advance(1)
            task_id = enqueue(
                session, q, input=data if isinstance(data, dict) else {"text": data},
                source=source, reason="low_confidence", clock=clock,
            )  # fmt: skip
            task = session.get(LabelingTaskRow, task_id)
            assert task is not None
            task.status, task.label, task.resolution = "done", intent, "majority"
            task.done_at = clock.now()
            ids.append(task_id)
    return ids


def feedback(
    ws: Workspace,
    clock: FixedClock,
    pairs: list[tuple[str, Any]],
    *,
    role: str = "developer",
    model: str = MODEL,
    input_mode: str = "full",
) -> list[str]:
    """Log one prediction of ``model`` per text and give feedback with a ``role`` key."""
    org_id = ws.scope.org_id
    assert org_id is not None
    out = []
    with ws.db.session(SYSTEM) as session:
        key = create_key(session, org_id=org_id, role=role, name=f"fb-{role}", clock=clock).key
    with ws.db.session(ws.scope) as session:
        for i, (text, intent) in enumerate(pairs):
            clock.advance(1)
            pid = f"pred_{role}_{i}_{int(clock.now().timestamp())}"
            log_prediction(
                session, prediction_id=pid, org_id=org_id, key_id=key.id, model_name=model,
                model_version=1, variant="champion", request_id=None, input_mode=input_mode,
                inputs=[text], outputs=[{"label": "a"}], flags=[], latency_ms=1.0,
                at=clock.now(),
            )  # fmt: skip
            made = add_feedback(
                session, org_id=org_id, key_id=key.id, prediction_id=pid, label=intent, clock=clock
            )
            out.append(str(made["feedback_id"]))
    return out


def counts(ws: Workspace) -> dict[str, int]:
    """Rows of the tables a cycle may write (dataset versions, runs, model versions, ...)."""
    from baryon.data.tables import DatasetVersionRow
    from baryon.flywheel.tables import FlywheelCycleRow
    from baryon.training.tables import ModelVersionRow, RunRow

    out = {}
    with ws.db.session(SYSTEM) as session:
        for name, table in (
            ("dataset_versions", DatasetVersionRow),
            ("runs", RunRow),
            ("model_versions", ModelVersionRow),
            ("cycles", FlywheelCycleRow),
        ):
            out[name] = int(session.scalar(select(func.count()).select_from(table)) or 0)
    return out


def later(clock: FixedClock, seconds: float = 60.0) -> None:
    """Move the clock on (labels made after a cycle are newer than its watermark)."""
    clock.advance(timedelta(seconds=seconds).total_seconds())
