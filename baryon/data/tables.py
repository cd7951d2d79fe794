"""ORM tables of the data layer: datasets and their immutable versions.

The schema is created by the hand-written migration
``baryon/core/migrations/versions/0002_data.py``; ``tests/data/test_tables.py`` checks
that the two agree.

Tables
------
``datasets``
    One row per dataset name and organization (names are unique within an
    organization; every row belongs to one, see :mod:`baryon.core.scope`).
``dataset_versions``
    One immutable row per version. The bytes live in the artifact store (Parquet data,
    JSON manifest, optional split assignment); this row holds their digests and the
    facts needed to list and look versions up. ``(dataset_id, version)`` is unique and
    so is ``(dataset_id, recipe_hash)``: the recipe hash (source bytes + options, or
    parent + steps, or parent + split parameters) is what makes a repeated ingest a
    no-op, even when two processes race. ``encrypted`` versions (of a dataset marked
    ``sensitive``) have sealed artifacts; an ``erased_at`` version is a tombstone: its
    bytes were deleted by an erasure (:mod:`baryon.privacy.erasure`), its row stays
    for lineage.
``artifact_keys``
    The wrapped data key of each encrypted artifact, by the artifact's digest (see
    :mod:`baryon.data.sealed`): the envelope of envelope encryption. Not owned by an
    organization: a digest names ciphertext made with a fresh random key.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from baryon.core.db import Base, JSONType, UTCDateTime
from baryon.core.scope import OrgOwned

__all__ = ["ArtifactKeyRow", "DatasetRow", "DatasetVersionRow"]


class DatasetRow(OrgOwned, Base):
    """A named dataset (table ``datasets``)."""

    __tablename__ = "datasets"
    __grant__ = ("dataset", "id")
    __table_args__ = (UniqueConstraint("org_id", "name", name="uq_datasets_org_id_name"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)


class DatasetVersionRow(OrgOwned, Base):
    """One immutable dataset version (table ``dataset_versions``)."""

    __tablename__ = "dataset_versions"
    __grant__ = ("dataset", "dataset_id")
    __table_args__ = (
        UniqueConstraint("dataset_id", "version", name="uq_dataset_versions_number"),
        UniqueConstraint("dataset_id", "recipe_hash", name="uq_dataset_versions_recipe"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id"))
    version: Mapped[int] = mapped_column(Integer)
    parent_id: Mapped[str | None] = mapped_column(
        ForeignKey("dataset_versions.id"), nullable=True, index=True
    )
    operation: Mapped[str] = mapped_column(String(16))
    recipe_hash: Mapped[str] = mapped_column(String(64))
    source_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    data_digest: Mapped[str] = mapped_column(String(64))
    manifest_digest: Mapped[str] = mapped_column(String(64))
    split_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    row_count: Mapped[int] = mapped_column(BigInteger)
    column_count: Mapped[int] = mapped_column(Integer)
    column_types: Mapped[dict[str, Any]] = mapped_column(JSONType)
    column_roles: Mapped[dict[str, Any]] = mapped_column(JSONType)
    split: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    encrypted: Mapped[bool] = mapped_column(Boolean, default=False)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    erasure_id: Mapped[str | None] = mapped_column(String(40), nullable=True)


class ArtifactKeyRow(Base):
    """The wrapped data key of one encrypted artifact (table ``artifact_keys``)."""

    __tablename__ = "artifact_keys"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    kek_id: Mapped[str] = mapped_column(String(40), index=True)
    wrapped_key: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
