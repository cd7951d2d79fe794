"""Flywheel tables (migration ``0010``): flywheel cycles, iterations and their items.

``tests/core/test_schema.py`` compares these with the migrations.

Tables
------
``flywheel_cycles``
    One turn of a model's flywheel: labels and trusted feedback gathered since the
    champion's dataset version → a new dataset version → a run with the champion's
    recipe → evaluation on the champion's frozen test split → the gate. ``report``
    holds rows added by source, metric deltas with confidence intervals and the
    decision.
``iterations``
    A time box with metric goals (the seed's Scrum/Kanban step).
``iteration_items``
    Work items of an iteration (labeling batches, runs, flywheel cycles, free-text
    tasks) with a Kanban state and an owner.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

import baryon.tenancy.tables  # noqa: F401  (organizations: the foreign keys' target)
from baryon.core.db import Base, JSONType, UTCDateTime
from baryon.core.scope import OrgOwned

__all__ = ["FlywheelCycleRow", "IterationItemRow", "IterationRow"]


class FlywheelCycleRow(OrgOwned, Base):
    """One flywheel cycle of one model (table ``flywheel_cycles``).

    Attributes
    ----------
    id : str
        ``fw_…``.
    model_name : str
    status : str
        ``queued``, ``running``, ``promoted``, ``kept`` (the gate kept the champion),
        ``nothing_new`` or ``failed``.
    job_id : str or None
        The background job that ran it (``None`` when run in-process).
    iteration_id : str or None
        The iteration this cycle counts towards.
    champion_version : int or None
        The champion when the cycle started.
    parent_version_id : str or None
        The champion's training dataset version (``dsv_…``).
    dataset_version_id : str or None
        The new dataset version (``None`` when nothing was new).
    run_id : str or None
        The retraining run.
    candidate_version : int or None
        The model version the run registered.
    report : dict
        Rows added by source, metrics and deltas with confidence intervals, the
        gate's decision and message; ``{"error": {...}}`` when it failed.
    created_at : datetime
    finished_at : datetime or None
    """

    __tablename__ = "flywheel_cycles"
    __table_args__ = (
        Index("ix_flywheel_cycles_org_model_created", "org_id", "model_name", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    model_name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    job_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    iteration_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("iterations.id", ondelete="SET NULL"), nullable=True
    )
    champion_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    parent_version_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    dataset_version_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    run_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    candidate_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    report: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class IterationRow(OrgOwned, Base):
    """A time box with metric goals (table ``iterations``).

    Attributes
    ----------
    id : str
        ``it_…``.
    name : str
        Unique per organization.
    starts_at, ends_at : datetime
    goals : list of dict
        ``{"model": NAME, "metric": "accuracy", "op": ">=", "target": 0.94}`` each,
        measured on the model's test split.
    status : str
        ``open`` or ``closed``.
    summary : dict
        Filled when closed: each goal's final value and whether it was met.
    created_at : datetime
    closed_at : datetime or None
    """

    __tablename__ = "iterations"
    __table_args__ = (UniqueConstraint("org_id", "name", name="uq_iterations_org_id_name"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    goals: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(16))
    summary: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class IterationItemRow(OrgOwned, Base):
    """A work item of an iteration (table ``iteration_items``).

    Attributes
    ----------
    id : str
        ``iti_…``.
    iteration_id : str
    kind : str
        ``labeling`` (a queue), ``run``, ``flywheel`` (a cycle) or ``task`` (free text).
    title : str
    ref : str or None
        The id the item links to (``lq_…``, ``run_…``, ``fw_…``); ``None`` for ``task``.
    state : str
        ``todo``, ``doing`` or ``done``.
    owner : str or None
        A user id or a free-text name.
    created_at, updated_at : datetime
    """

    __tablename__ = "iteration_items"
    __table_args__ = (Index("ix_iteration_items_iteration", "iteration_id", "state"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    iteration_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("iterations.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(Text)
    ref: Mapped[str | None] = mapped_column(String(40), nullable=True)
    state: Mapped[str] = mapped_column(String(16))
    owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
