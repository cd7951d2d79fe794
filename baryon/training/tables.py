"""ORM tables of the training layer: runs, registered models, versions, aliases.

The schema is created by the hand-written migration
``baryon/core/migrations/versions/0003_training.py``; a test compares the two.

Tables
------
``runs``
    One training execution: kind, params, seed, dataset version and split, status,
    error, timings, library versions, metrics (final and per step), artifact digests.
``registered_models``
    One row per model name and organization (every table here belongs to an
    organization, see :mod:`baryon.core.scope`); ``next_version`` is the per-model
    counter that makes version numbers gap-free and unique (updated under a write lock).
``model_versions``
    One immutable row per registered version (unique ``(model_id, version)``).
``model_aliases``
    Current alias → version pointers (``champion``, ``challenger``).
``alias_history``
    Every alias move: who, when, why, from which version to which, forced or not,
    and the gate decision that allowed it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from baryon.core.db import Base, JSONType, UTCDateTime
from baryon.core.scope import OrgOwned

__all__ = ["AliasHistoryRow", "ModelAliasRow", "ModelVersionRow", "RegisteredModelRow", "RunRow"]


class RunRow(OrgOwned, Base):
    """One training run (table ``runs``).

    ``ix_runs_org_started`` (migration ``0015``) serves the newest-first pages of an
    organization's runs (``RunStore.list``) without sorting the whole table.
    """

    __tablename__ = "runs"
    __table_args__ = (Index("ix_runs_org_started", "org_id", "started_at", "id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    task: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict[str, Any]] = mapped_column(JSONType)
    seed: Mapped[int] = mapped_column(Integer)
    cv_folds: Mapped[int] = mapped_column(Integer, default=0)
    dataset_version_id: Mapped[str] = mapped_column(String(80), index=True)
    dataset_name: Mapped[str] = mapped_column(String(200))
    dataset_version: Mapped[int] = mapped_column(Integer)
    split: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    target: Mapped[str | None] = mapped_column(String(200), nullable=True)
    column_roles: Mapped[dict[str, Any]] = mapped_column(JSONType)
    feature_columns: Mapped[list[Any]] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(32), index=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    duration_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    library_versions: Mapped[dict[str, Any]] = mapped_column(JSONType)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONType)
    history: Mapped[dict[str, Any]] = mapped_column(JSONType)
    artifacts: Mapped[dict[str, Any]] = mapped_column(JSONType)
    extra: Mapped[dict[str, Any]] = mapped_column(JSONType)


class RegisteredModelRow(OrgOwned, Base):
    """One registered model name (table ``registered_models``)."""

    __tablename__ = "registered_models"
    __grant__ = ("model", "id")
    __table_args__ = (UniqueConstraint("org_id", "name", name="uq_registered_models_org_id_name"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    task: Mapped[str] = mapped_column(String(32))
    primary_metric: Mapped[str] = mapped_column(String(64))
    next_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ModelVersionRow(OrgOwned, Base):
    """One immutable model version (table ``model_versions``)."""

    __tablename__ = "model_versions"
    __grant__ = ("model", "model_id")
    __table_args__ = (
        UniqueConstraint("model_id", "version", name="uq_model_versions_model_id_version"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    model_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("registered_models.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    run_id: Mapped[str] = mapped_column(String(40), ForeignKey("runs.id"), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    task: Mapped[str] = mapped_column(String(32))
    dataset_version_id: Mapped[str] = mapped_column(String(80))
    split: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    artifact_digest: Mapped[str] = mapped_column(String(64))
    manifest_digest: Mapped[str] = mapped_column(String(64))
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONType)
    primary_metric: Mapped[str] = mapped_column(String(64))
    primary_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    feature_columns: Mapped[list[Any]] = mapped_column(JSONType)
    column_roles: Mapped[dict[str, Any]] = mapped_column(JSONType)
    target: Mapped[str | None] = mapped_column(String(200), nullable=True)
    classes: Mapped[list[Any] | None] = mapped_column(JSONType, nullable=True)
    extra: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ModelAliasRow(OrgOwned, Base):
    """Where an alias of a model points now (table ``model_aliases``)."""

    __tablename__ = "model_aliases"
    __grant__ = ("model", "model_id")

    model_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("registered_models.id", ondelete="CASCADE"), primary_key=True
    )
    alias: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AliasHistoryRow(OrgOwned, Base):
    """One alias move (table ``alias_history``), never updated or deleted.

    ``seq`` numbers the moves of one model 1, 2, 3, ... (the order rollback replays).
    """

    __tablename__ = "alias_history"
    __grant__ = ("model", "model_id")
    __table_args__ = (UniqueConstraint("model_id", "seq", name="uq_alias_history_model_id_seq"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    model_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("registered_models.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int] = mapped_column(Integer)
    alias: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(32))
    from_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    to_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    forced: Mapped[bool] = mapped_column(Boolean)
    gate: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
