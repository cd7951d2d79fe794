"""Migration 0010 moves the support hand-offs' labeling tasks onto labeling queues."""

from __future__ import annotations

from pathlib import Path

from homekit import alembic_to
from sqlalchemy import select, text

from baryon.core.db import Database
from baryon.core.scope import OPERATOR_ORG_ID, SYSTEM
from baryon.labeling.tables import LabelingQueueRow, LabelingTaskRow
from baryon.predictions.log import hash_input

_OLD_TASK = (
    "INSERT INTO labeling_tasks (id, org_id, source, model_name, model_version,"
    " prediction_id, text, text_hash, suggested_label, confidence, reason, seen_count,"
    " status, label, created_at, updated_at) VALUES (:id, :org, 'support',"
    " 'support-intent', 2, :pred, :text, 'h', :suggested, 0.25, 'low_confidence', 3,"
    " 'open', NULL, '2026-12-01 10:00:00', '2026-12-01 11:00:00')"
)


def test_0010_moves_old_tasks_to_one_queue_per_org_and_model(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'b.db'}")
    try:
        alembic_to(db, "0009")
        with db.engine.begin() as conn:
            for n, (words, guess) in enumerate([("card lost?", "lost_card"), ("fee??", "fees")]):
                conn.execute(
                    text(_OLD_TASK),
                    {"id": f"task_{n}", "org": OPERATOR_ORG_ID, "pred": f"pred_{n}",
                     "text": words, "suggested": guess},
                )  # fmt: skip
        assert db.migrate() == Database.head_version()
        with db.session(SYSTEM) as s:
            [queue] = s.scalars(select(LabelingQueueRow)).all()
            assert (queue.org_id, queue.name, queue.model_name) == (
                OPERATOR_ORG_ID, "support-intent", "support-intent",
            )  # fmt: skip
            assert queue.classes == ["fees", "lost_card"]
            assert queue.overlap == 1
            tasks = {t.id: t for t in s.scalars(select(LabelingTaskRow)).all()}
            task = tasks["task_0"]
            assert task.queue_id == queue.id
            assert task.input == {"text": "card lost?"}
            assert task.input_hash == hash_input({"text": "card lost?"})  # the code's hash
            assert (task.seen_count, task.status, task.priority) == (3, "open", 0.75)
            assert (task.prediction_id, task.model_version) == ("pred_0", 2)
    finally:
        db.dispose()


def test_0010_downgrade_keeps_text_tasks(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'b.db'}")
    try:
        alembic_to(db, "0009")
        with db.engine.begin() as conn:
            conn.execute(
                text(_OLD_TASK),
                {"id": "task_0", "org": OPERATOR_ORG_ID, "pred": "pred_0", "text": "hi",
                 "suggested": "greeting"},
            )  # fmt: skip
        alembic_to(db, "0010")
        alembic_to(db, "0009", "downgrade")
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT id, text, model_name FROM labeling_tasks")).all()
        assert [tuple(r) for r in rows] == [("task_0", "hi", "support-intent")]
    finally:
        db.dispose()
