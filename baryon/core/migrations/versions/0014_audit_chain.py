"""The audit log becomes a chain: ``audit_events.seq`` and ``.chain``, table ``audit_chain``.

Written by hand to match ``baryon/core/audit.py`` (``AuditEvent``, ``AuditChainHead``).
Existing events are numbered in the order they were written (``at``, then ``id``) and
chained with the workspace's audit key, which :meth:`baryon.core.db.Database.migrate`
hands over (``config.attributes["audit_key"]``). The chain formula and canonical JSON
are frozen here, as they were when this revision was written, so the migration never
changes with the code.

Revision ID: 0014
Revises: 0010
Create Date: 2026-12-10
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import context, op

from baryon.core.db import JSONType, UTCDateTime
from baryon.core.errors import DatabaseError

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_GENESIS = "0" * 64


def _normalise(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    return value


def _chain(key: bytes, previous: str, row: dict[str, Any]) -> str:
    at: datetime = row["at"]
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    event = {
        "seq": row["seq"],
        "id": row["id"],
        "at": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor": row["actor"],
        "org_id": row["org_id"],
        "action": row["action"],
        "object_type": row["object_type"],
        "object_id": row["object_id"],
        "details": _normalise(row["details"]),
    }
    text = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    message = previous.encode("ascii") + b"\n" + text.encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def upgrade() -> None:
    op.create_table(
        "audit_chain",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("chain", sa.String(64), nullable=False),
    )
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("seq", sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("chain", sa.String(64), nullable=True))

    events = sa.table(
        "audit_events",
        sa.column("id", sa.String),
        sa.column("seq", sa.BigInteger),
        sa.column("at", UTCDateTime()),
        sa.column("actor", sa.String),
        sa.column("org_id", sa.String),
        sa.column("action", sa.String),
        sa.column("object_type", sa.String),
        sa.column("object_id", sa.String),
        sa.column("details", JSONType),
        sa.column("chain", sa.String),
    )
    bind = op.get_bind()
    rows = [
        dict(r)
        for r in bind.execute(sa.select(events).order_by(events.c.at, events.c.id)).mappings()
    ]
    key: bytes | None = context.config.attributes.get("audit_key")
    if rows and not key:
        raise DatabaseError(
            "the audit log must be chained with the workspace's audit key, and none was "
            "given: upgrade through `baryon init`",
            code="audit_key_missing",
        )
    previous, seq = _GENESIS, 0
    for seq, row in enumerate(rows, start=1):
        assert key is not None  # checked above: there are rows
        row["seq"] = seq
        previous = _chain(key, previous, row)
        bind.execute(
            events.update().where(events.c.id == row["id"]).values(seq=seq, chain=previous)
        )
    with op.batch_alter_table("audit_events") as batch:
        batch.alter_column("seq", existing_type=sa.BigInteger, nullable=False)
        batch.alter_column("chain", existing_type=sa.String(64), nullable=False)
        batch.create_unique_constraint("uq_audit_events_seq", ["seq"])
    head = sa.table(
        "audit_chain",
        sa.column("id", sa.Integer),
        sa.column("seq", sa.BigInteger),
        sa.column("chain", sa.String),
    )
    bind.execute(head.insert().values(id=1, seq=seq, chain=previous))


def downgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_constraint("uq_audit_events_seq", type_="unique")
        batch.drop_column("chain")
        batch.drop_column("seq")
    op.drop_table("audit_chain")
