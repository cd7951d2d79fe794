"""The ``sources`` and ``source_runs`` tables (migration ``0016``).

A source is an organization's connector (``http_api``, ``feed``, ``crawl``) with its
settings, encrypted credentials and incremental state; a source run is one pull and
its report. ``tests/core/test_schema.py`` checks the migration matches these classes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

import baryon.tenancy.tables  # noqa: F401  (organizations: the foreign key's target)
from baryon.core.db import Base, JSONType, UTCDateTime
from baryon.core.scope import OrgOwned

__all__ = ["SourceRow", "SourceRunRow"]


class SourceRow(OrgOwned, Base):
    """One connector of an organization (table ``sources``).

    Attributes
    ----------
    id : str
        ``src_…``.
    name : str
        Unique in the organization.
    kind : str
        ``http_api``, ``feed`` or ``crawl``.
    url : str
        The start URL.
    dataset : str
        The dataset each run adds a version to.
    config : dict
        The kind's options (pagination, selector, mapping, limits, sink ...).
    auth : dict or None
        ``{"type", "header", "secret_ref"}`` or ``{"type", "header", "ciphertext"}``
        (AES-GCM, :mod:`baryon.core.secrets`); never shown.
    state : dict
        Incremental state between runs (validators, cursor, robots.txt cache).
    """

    __tablename__ = "sources"
    __table_args__ = (UniqueConstraint("org_id", "name", name="uq_sources_org_id_name"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(Text)
    dataset: Mapped[str] = mapped_column(String(200))
    config: Mapped[dict[str, Any]] = mapped_column(JSONType)
    auth: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    state: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SourceRunRow(OrgOwned, Base):
    """One pull of a source and its report (table ``source_runs``).

    Attributes
    ----------
    status : str
        ``succeeded`` (a version was made, or nothing was new) or ``failed``.
    fetched, new, duplicate, failed : int
        Records (items, pages) fetched, new, already known, and skipped with a reason.
    version_id : str or None
        The dataset version the run made (``None`` when nothing was new or it failed).
    report : dict
        Reasons of the failed records, fetches made, validators.
    """

    __tablename__ = "source_runs"
    __table_args__ = (Index("ix_source_runs_source_started", "source_id", "started_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    source_id: Mapped[str] = mapped_column(String(40), ForeignKey("sources.id", ondelete="CASCADE"))
    trigger: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime())
    fetched: Mapped[int] = mapped_column(Integer, default=0)
    new: Mapped[int] = mapped_column(Integer, default=0)
    duplicate: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    version_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    report: Mapped[dict[str, Any]] = mapped_column(JSONType)
