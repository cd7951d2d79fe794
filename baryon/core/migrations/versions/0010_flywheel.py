"""The data flywheel: labeling queues, tasks and annotations; flywheel cycles; iterations.

Written by hand to match ``baryon/labeling/tables.py`` and ``baryon/flywheel/tables.py``
(``tests/core/test_schema.py`` compares them).

- Creates ``labeling_queues``; ``labeling_tasks`` is rebuilt: a task belongs to a
  queue, holds the model's input row as JSON (``input``, was ``text``) with the
  SHA-256 of its canonical JSON (``input_hash``, unique per queue), a priority, and
  its consensus (``resolution``, ``agreement``, ``done_at``). Existing tasks (support
  hand-offs) go to one queue per organization and model, named after the model,
  whose classes are the labels seen so far.
- Creates ``annotations``, ``flywheel_cycles``, ``iterations`` and ``iteration_items``.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from baryon.core.db import JSONType, UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _org(table: str) -> sa.Column:
    return sa.Column(
        "org_id",
        sa.String(40),
        sa.ForeignKey(
            "organizations.id", ondelete="CASCADE", name=f"fk_{table}_org_id_organizations"
        ),
        nullable=False,
    )


def _fk(table: str, column: str, target: str, *, ondelete: str = "CASCADE") -> sa.ForeignKey:
    return sa.ForeignKey(f"{target}.id", ondelete=ondelete, name=f"fk_{table}_{column}_{target}")


def _org_index(table: str) -> None:
    op.create_index(f"ix_{table}_org_id", table, ["org_id"])


def _hash(value: Any) -> str:
    # The canonical JSON of baryon.core.jsonvalues.canonical_bytes (sorted keys, no
    # spaces, UTF-8), frozen here so the migration never changes with the code.
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _queue_id(created: datetime) -> str:
    alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
    value = (int(created.timestamp() * 1000) << 80) | secrets.randbits(80)
    chars = []
    for _ in range(26):
        value, rem = divmod(value, 32)
        chars.append(alphabet[rem])
    return "lq_" + "".join(reversed(chars))


def _create_queues_and_tasks() -> None:
    op.create_table(
        "labeling_queues",
        sa.Column("id", sa.String(40), primary_key=True),
        _org("labeling_queues"),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("model_name", sa.String(200), nullable=False),
        sa.Column("classes", JSONType, nullable=False),
        sa.Column("overlap", sa.Integer, nullable=False),
        sa.Column("min_agreement", sa.Float, nullable=False),
        sa.Column("instructions", sa.Text, nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("org_id", "name", name="uq_labeling_queues_org_id_name"),
    )
    _org_index("labeling_queues")
    op.create_table(
        "labeling_tasks_new",
        sa.Column("id", sa.String(40), primary_key=True),
        _org("labeling_tasks"),
        sa.Column(
            "queue_id",
            sa.String(40),
            _fk("labeling_tasks", "queue_id", "labeling_queues"),
            nullable=False,
        ),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("input", JSONType, nullable=False),
        sa.Column("input_hash", sa.String(64), nullable=False),
        sa.Column("prediction_id", sa.String(40), nullable=True),
        sa.Column("model_version", sa.Integer, nullable=True),
        sa.Column("suggested_label", sa.String(200), nullable=True),
        sa.Column("confidence", sa.Float, nullable=True),
        sa.Column("priority", sa.Float, nullable=False),
        sa.Column("seen_count", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("label", sa.String(200), nullable=True),
        sa.Column("resolution", sa.String(16), nullable=True),
        sa.Column("agreement", sa.Float, nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("done_at", UTCDateTime(), nullable=True),
        sa.UniqueConstraint("queue_id", "input_hash", name="uq_labeling_tasks_queue_id_input_hash"),
    )
    _copy_tasks()
    op.drop_table("labeling_tasks")
    op.rename_table("labeling_tasks_new", "labeling_tasks")
    _org_index("labeling_tasks")
    op.create_index(
        "ix_labeling_tasks_queue_status_priority",
        "labeling_tasks",
        ["queue_id", "status", "priority"],
    )
    op.create_index("ix_labeling_tasks_queue_done", "labeling_tasks", ["queue_id", "done_at"])


def _copy_tasks() -> None:
    bind = op.get_bind()
    old = (
        bind.execute(
            sa.text(
                "SELECT id, org_id, source, model_name, model_version, prediction_id, text,"
                " suggested_label, confidence, reason, seen_count, status, label,"
                " created_at, updated_at FROM labeling_tasks ORDER BY created_at, id"
            ).columns(created_at=UTCDateTime(), updated_at=UTCDateTime())
        )
        .mappings()
        .all()
    )
    if not old:
        return
    now = datetime.now(UTC)
    queues: dict[tuple[str, str], dict[str, Any]] = {}
    tasks: dict[tuple[str, str], dict[str, Any]] = {}
    for row in old:
        key = (row["org_id"], row["model_name"])
        queue = queues.setdefault(
            key,
            {
                "id": _queue_id(now),
                "org_id": row["org_id"],
                "name": row["model_name"],
                "model_name": row["model_name"],
                "classes": set(),
                "overlap": 1,
                "min_agreement": 0.5,
                "instructions": None,
                "created_at": now,
                "updated_at": now,
            },
        )
        for label in (row["suggested_label"], row["label"]):
            if label is not None:
                queue["classes"].add(label)
        value = {"text": row["text"]}
        digest = _hash(value)
        merged = tasks.get((queue["id"], digest))
        if merged is not None:  # the same text queued under two statuses: keep one task
            merged["seen_count"] += row["seen_count"]
            continue
        done = row["status"] == "labeled" and row["label"] is not None
        tasks[(queue["id"], digest)] = {
            "id": row["id"],
            "org_id": row["org_id"],
            "queue_id": queue["id"],
            "source": row["source"],
            "reason": row["reason"],
            "input": value,
            "input_hash": digest,
            "prediction_id": row["prediction_id"],
            "model_version": row["model_version"],
            "suggested_label": row["suggested_label"],
            "confidence": row["confidence"],
            "priority": 1.0 - float(row["confidence"]),
            "seen_count": row["seen_count"],
            "status": "done" if done else ("skipped" if row["status"] == "skipped" else "open"),
            "label": row["label"] if done else None,
            "resolution": "review" if done else None,
            "agreement": None,
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
            "done_at": row["updated_at"] if done else None,
        }
    for queue in queues.values():
        queue["classes"] = sorted(queue["classes"])
    meta = sa.MetaData()
    queue_table = sa.Table(
        "labeling_queues",
        meta,
        sa.Column("id", sa.String),
        sa.Column("org_id", sa.String),
        sa.Column("name", sa.String),
        sa.Column("model_name", sa.String),
        sa.Column("classes", JSONType),
        sa.Column("overlap", sa.Integer),
        sa.Column("min_agreement", sa.Float),
        sa.Column("instructions", sa.Text),
        sa.Column("created_at", UTCDateTime()),
        sa.Column("updated_at", UTCDateTime()),
    )
    task_table = sa.Table(
        "labeling_tasks_new",
        meta,
        *(
            sa.Column(name, type_)  # type: ignore[arg-type]
            for name, type_ in [
                ("id", sa.String),
                ("org_id", sa.String),
                ("queue_id", sa.String),
                ("source", sa.String),
                ("reason", sa.String),
                ("input", JSONType),
                ("input_hash", sa.String),
                ("prediction_id", sa.String),
                ("model_version", sa.Integer),
                ("suggested_label", sa.String),
                ("confidence", sa.Float),
                ("priority", sa.Float),
                ("seen_count", sa.Integer),
                ("status", sa.String),
                ("label", sa.String),
                ("resolution", sa.String),
                ("agreement", sa.Float),
                ("created_at", UTCDateTime()),
                ("updated_at", UTCDateTime()),
                ("done_at", UTCDateTime()),
            ]
        ),
    )
    op.bulk_insert(queue_table, list(queues.values()))
    op.bulk_insert(task_table, list(tasks.values()))


def upgrade() -> None:
    _create_queues_and_tasks()
    op.create_table(
        "annotations",
        sa.Column("id", sa.String(40), primary_key=True),
        _org("annotations"),
        sa.Column(
            "task_id",
            sa.String(40),
            _fk("annotations", "task_id", "labeling_tasks"),
            nullable=False,
        ),
        sa.Column(
            "queue_id",
            sa.String(40),
            _fk("annotations", "queue_id", "labeling_queues"),
            nullable=False,
        ),
        sa.Column("slot", sa.Integer, nullable=False),
        sa.Column("annotator", sa.String(40), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("label", sa.String(200), nullable=True),
        sa.Column("skip_reason", sa.Text, nullable=True),
        sa.Column("seconds", sa.Float, nullable=True),
        sa.Column("claimed_at", UTCDateTime(), nullable=False),
        sa.Column("submitted_at", UTCDateTime(), nullable=True),
        sa.UniqueConstraint("task_id", "slot", name="uq_annotations_task_id_slot"),
        sa.UniqueConstraint("task_id", "annotator", name="uq_annotations_task_id_annotator"),
    )
    _org_index("annotations")
    op.create_index("ix_annotations_queue_annotator", "annotations", ["queue_id", "annotator"])
    op.create_table(
        "iterations",
        sa.Column("id", sa.String(40), primary_key=True),
        _org("iterations"),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=False),
        sa.Column("goals", JSONType, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("summary", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.UniqueConstraint("org_id", "name", name="uq_iterations_org_id_name"),
    )
    _org_index("iterations")
    op.create_table(
        "iteration_items",
        sa.Column("id", sa.String(40), primary_key=True),
        _org("iteration_items"),
        sa.Column(
            "iteration_id",
            sa.String(40),
            _fk("iteration_items", "iteration_id", "iterations"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("ref", sa.String(40), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("owner", sa.String(200), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    _org_index("iteration_items")
    op.create_index("ix_iteration_items_iteration", "iteration_items", ["iteration_id", "state"])
    op.create_table(
        "flywheel_cycles",
        sa.Column("id", sa.String(40), primary_key=True),
        _org("flywheel_cycles"),
        sa.Column("model_name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("job_id", sa.String(40), nullable=True),
        sa.Column(
            "iteration_id",
            sa.String(40),
            _fk("flywheel_cycles", "iteration_id", "iterations", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("champion_version", sa.Integer, nullable=True),
        sa.Column("parent_version_id", sa.String(40), nullable=True),
        sa.Column("dataset_version_id", sa.String(40), nullable=True),
        sa.Column("run_id", sa.String(40), nullable=True),
        sa.Column("candidate_version", sa.Integer, nullable=True),
        sa.Column("report", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
    )
    _org_index("flywheel_cycles")
    op.create_index(
        "ix_flywheel_cycles_org_model_created",
        "flywheel_cycles",
        ["org_id", "model_name", "created_at"],
    )


def downgrade() -> None:
    for table in ("flywheel_cycles", "iteration_items", "iterations", "annotations"):
        op.drop_table(table)
    # Tasks go back to text rows of the support queue; queues and consensus are lost.
    bind = op.get_bind()
    rows = (
        bind.execute(
            sa.text(
                "SELECT t.id, t.org_id, t.source, q.model_name, t.model_version,"
                " t.prediction_id, t.input, t.input_hash, t.suggested_label, t.confidence,"
                " t.reason, t.seen_count, t.status, t.label, t.created_at, t.updated_at"
                " FROM labeling_tasks t JOIN labeling_queues q ON q.id = t.queue_id"
            ).columns(input=JSONType, created_at=UTCDateTime(), updated_at=UTCDateTime())
        )
        .mappings()
        .all()
    )
    op.drop_table("labeling_tasks")
    op.drop_table("labeling_queues")
    old = op.create_table(
        "labeling_tasks",
        sa.Column("id", sa.String(40), primary_key=True),
        _org("labeling_tasks"),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("model_name", sa.String(200), nullable=False),
        sa.Column("model_version", sa.Integer, nullable=False),
        sa.Column("prediction_id", sa.String(40), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("text_hash", sa.String(64), nullable=False),
        sa.Column("suggested_label", sa.String(200), nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("seen_count", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("label", sa.String(200), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    _org_index("labeling_tasks")
    op.create_index(
        "ix_labeling_tasks_source_status", "labeling_tasks", ["source", "status", "created_at"]
    )
    op.create_index("ix_labeling_tasks_org_hash", "labeling_tasks", ["org_id", "text_hash"])
    keep = []
    for row in rows:
        value = row["input"]
        if isinstance(value, str):
            value = json.loads(value)
        text = value.get("text") if isinstance(value, dict) else None
        if not isinstance(text, str) or row["prediction_id"] is None:
            continue  # only text tasks from a prediction existed before 0010
        keep.append(
            {
                "id": row["id"],
                "org_id": row["org_id"],
                "source": row["source"],
                "model_name": row["model_name"],
                "model_version": row["model_version"] or 0,
                "prediction_id": row["prediction_id"],
                "text": text,
                "text_hash": _hash(text),
                "suggested_label": row["suggested_label"] or "",
                "confidence": row["confidence"] if row["confidence"] is not None else 0.0,
                "reason": row["reason"],
                "seen_count": row["seen_count"],
                "status": {"done": "labeled"}.get(row["status"], row["status"]),
                "label": row["label"],
                "created_at": row["created_at"],
                "updated_at": row["updated_at"],
            }
        )
    if keep and old is not None:
        op.bulk_insert(old, keep)
