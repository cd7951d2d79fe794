"""Immutable, content-addressed dataset versions and the store that makes them.

A version is three artifacts in the artifact store — the data as Parquet, a JSON
manifest (schema, roles, row count, quality report, parent, steps, source hash,
options, split) and, for a split, the per-row assignment — plus one row in
``dataset_versions``. Versions are made three ways:

- :meth:`DatasetStore.ingest` reads a file (streamed in bounded memory);
- :meth:`DatasetStore.clean` applies cleaning steps to a version;
- :meth:`DatasetStore.split` assigns rows to train/validation/test (the data
  artifact is shared with the parent, only the assignment is new);
- :meth:`DatasetStore.append` adds rows to the train or validation split of a split
  version (the parent's rows keep their split: its test split stays frozen).

Every operation first computes a *recipe hash*: the source bytes and options, or the
parent and the steps, or the parent and the split parameters, or the parent, the new
rows and their lineage. If the dataset already
has a version with that recipe it is returned and nothing is written; otherwise the
version id is derived from the name, recipe and data digests. The database row is
written last, in one transaction with its audit event, so a process killed at any
point leaves no partial version (at most unreferenced artifacts).
"""

from __future__ import annotations

import builtins
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from baryon.core.artifacts import ArtifactStore
from baryon.core.audit import record_audit
from baryon.core.clock import Clock
from baryon.core.db import Database
from baryon.core.encryption import KeyProvider
from baryon.core.errors import Gone, InvalidInput, NotFound
from baryon.core.ids import new_id
from baryon.core.jsonvalues import canonical_bytes, dumps, to_jsonable
from baryon.core.refs import Ref, check_name, parse_ref
from baryon.core.scope import OPERATOR_ORG_ID, Scope, pick_by_owner
from baryon.data._files import ProgressCallback
from baryon.data.materialise import (
    Materialised,
    frame_to_table,
    materialise,
    progress_bar,
    table_batches,
)
from baryon.data.pii import BatchMasker
from baryon.data.quality import build_report
from baryon.data.recipes import apply_steps, parse_steps
from baryon.data.schema import check_roles, check_types, infer_schema, resolve_roles
from baryon.data.sealed import SealedArtifactStore
from baryon.data.sources import open_source
from baryon.data.splits import SPLIT_NAMES, assign_split
from baryon.data.tables import DatasetRow, DatasetVersionRow

__all__ = ["DatasetStore", "DatasetVersion", "PendingVersion", "recipe_hash"]

MANIFEST_FORMAT = "baryon.dataset/1"
_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


def recipe_hash(obj: Any) -> str:
    """SHA-256 (hex) of ``obj``'s canonical JSON: the recipe hash of a version."""
    return hashlib.sha256(canonical_bytes(obj)).hexdigest()


def _version_id(*parts: str | None) -> str:
    """``dsv_`` + 26 Crockford base-32 characters of a SHA-256 (same shape as new_id)."""
    digest = hashlib.sha256("\x1f".join(p or "" for p in parts).encode()).digest()
    value = int.from_bytes(digest[:17], "big") >> 6  # 130 bits
    chars = []
    for _ in range(26):
        value, rem = divmod(value, 32)
        chars.append(_CROCKFORD[rem])
    return "dsv_" + "".join(reversed(chars))


@dataclass(frozen=True)
class DatasetVersion:
    """One immutable dataset version (see the module docstring).

    Attributes
    ----------
    id : str
        ``dsv_...``, derived from the content.
    name : str
        Dataset name.
    version : int
        1, 2, 3 ... per name.
    parent_id : str or None
        The version it was made from (``None`` for an ingest).
    row_count : int
        Rows of data (all splits together).
    schema : dict
        ``{column: int|float|bool|datetime|string|category}``.
    roles : dict
        ``{column: id|text|label|user|item|rating|timestamp|feature|ignore}``.
    manifest : dict
        The full manifest (report, steps, source, options, split).
    split : dict or None
        ``{"strategy", "seed", "test_size", "validation_size", "options", "counts"}``.
    created_at : datetime
        UTC.
    data_digest : str
        SHA-256 of the Parquet data artifact (shared by a split and its parent).
    split_digest : str or None
        SHA-256 of the per-row split assignment (a one-column Parquet file).
    artifacts : ArtifactStore or None
        The store the data is read from by :meth:`to_arrow` / :meth:`to_pandas`.
    org_id : str
        The organization that owns the dataset.
    encrypted : bool
        Its artifacts are sealed (a dataset marked sensitive, see
        :mod:`baryon.data.sealed`); reads decrypt transparently.
    erased_at : datetime or None
        When an erasure deleted its bytes (:mod:`baryon.privacy.erasure`): the version
        is a tombstone, its manifest only ``operation``, ``parent_id`` and
        ``erasure``; reading its data raises ``version_erased``.
    """

    id: str
    name: str
    version: int
    parent_id: str | None
    row_count: int
    schema: dict[str, str]
    roles: dict[str, str]
    manifest: dict[str, Any]
    split: dict[str, Any] | None
    created_at: datetime
    data_digest: str = field(default="", repr=False)
    split_digest: str | None = field(default=None, repr=False)
    artifacts: ArtifactStore | None = field(default=None, repr=False, compare=False)
    org_id: str = field(default="", repr=False)
    encrypted: bool = field(default=False, repr=False)
    erased_at: datetime | None = field(default=None, repr=False)

    @property
    def ref(self) -> str:
        """The canonical reference of this version, ``"name:version"``."""
        return str(Ref(self.name, self.version))

    @property
    def operation(self) -> str:
        """``ingest``, ``clean``, ``split`` or ``append``."""
        return str(self.manifest.get("operation", ""))

    @property
    def lineage(self) -> dict[str, Any]:
        """Where an appended or collected version's new rows came from (``{}`` for others)."""
        return dict(self.manifest.get("lineage") or {})

    @property
    def report(self) -> dict[str, Any]:
        """The quality report (see :func:`baryon.data.quality.build_report`)."""
        return dict(self.manifest.get("report") or {})

    def columns_with_role(self, role: str) -> list[str]:
        """Return the columns with ``role``, in column order."""
        return [c for c in self.schema if self.roles.get(c) == role]

    def _store(self) -> ArtifactStore:
        if self.erased_at is not None:
            raise Gone(
                f"{self.ref} was erased on {self.erased_at:%Y-%m-%d}: its data is deleted "
                "(read a later version)",
                code="version_erased",
                details={"version_id": self.id, "erasure_id": self.manifest.get("erasure")},
            )
        if self.artifacts is None:
            raise InvalidInput("this version is not attached to a store", code="detached_version")
        return self.artifacts

    def split_codes(self) -> np.ndarray:
        """Per-row split codes (0 train, 1 validation, 2 test).

        Raises
        ------
        InvalidInput
            ``no_split`` if the version has no split.
        """
        if self.split_digest is None:
            raise InvalidInput(
                f"{self.ref} has no split; make one with `baryon data split {self.name}`",
                code="no_split",
            )
        data = self._store().get_bytes(self.split_digest)
        return pq.read_table(pa.BufferReader(data)).column("split").to_numpy()

    def to_arrow(
        self, split: str | None = None, *, columns: Sequence[str] | None = None
    ) -> pa.Table:
        """Return the data (or one split of it) as a pyarrow Table.

        Parameters
        ----------
        split : {"train", "validation", "test"}, optional
            Only the rows of that split (the split column itself is never a column).
        columns : sequence of str, optional
            Only these columns (default: all, in schema order).

        Raises
        ------
        InvalidInput
            ``no_split`` (no split on this version), ``invalid_split`` (bad name) or
            ``unknown_column``.
        IntegrityError
            The stored data no longer matches its digest.
        """
        if split is not None and split not in SPLIT_NAMES:
            raise InvalidInput(
                f"unknown split {split!r}; use train, validation or test", code="invalid_split"
            )
        if columns is not None:
            unknown = [c for c in columns if c not in self.schema]
            if unknown:
                raise InvalidInput(
                    f"{self.ref} has no column(s) {', '.join(map(repr, unknown))}",
                    code="unknown_column",
                )
        codes = self.split_codes() if split is not None else None
        data = pa.BufferReader(self._store().get_bytes(self.data_digest))
        table = pq.read_table(data, columns=None if columns is None else list(columns))
        table = table.replace_schema_metadata(None)
        if codes is not None:
            table = table.filter(pa.array(codes == SPLIT_NAMES.index(str(split))))
        return table

    def iter_batches(self, rows: int = 65_536) -> Iterator[pa.RecordBatch]:
        """Yield the data as record batches of at most ``rows`` rows, in row order.

        The Parquet file is decoded one batch at a time, so the whole table is never
        in memory at once (a sealed version's bytes are decrypted first).

        Raises
        ------
        InvalidInput
            ``invalid_batch_rows`` (``rows`` < 1).
        Gone
            ``version_erased``.
        """
        if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
            raise InvalidInput(f"batch rows must be >= 1, got {rows!r}", code="invalid_batch_rows")
        with self._store().open(self.data_digest) as fh:
            for batch in pq.ParquetFile(fh).iter_batches(batch_size=rows):
                yield batch.replace_schema_metadata(None)

    def to_pandas(
        self, split: str | None = None, *, columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """Return the data (or one split of it) as a pandas DataFrame (see :meth:`to_arrow`)."""
        return self.to_arrow(split, columns=columns).to_pandas()

    def split_frames(self) -> dict[str, pd.DataFrame]:
        """Return every split as a DataFrame, reading the stored data once.

        The same frames as ``to_pandas(split=s)`` for each ``s`` in train, validation,
        test, without reading (and hash-verifying) the data three times.

        Returns
        -------
        dict of str to pandas.DataFrame
            ``{"train": ..., "validation": ..., "test": ...}``, each with a fresh
            ``RangeIndex``.

        Raises
        ------
        InvalidInput
            ``no_split`` (no split on this version).
        IntegrityError
            The stored data no longer matches its digest.
        """
        codes = self.split_codes()
        table = self.to_arrow()
        return {
            name: table.filter(pa.array(codes == i)).to_pandas()
            for i, name in enumerate(SPLIT_NAMES)
        }

    def summary(self) -> dict[str, Any]:
        """JSON-friendly summary (what ``baryon data list --json`` prints)."""
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "operation": self.operation,
            "parent_id": self.parent_id,
            "rows": self.row_count,
            "columns": len(self.schema),
            "split": None if self.split is None else self.split.get("counts"),
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class PendingVersion:
    """A version whose artifacts are stored and whose row is not yet written."""

    name: str
    id: str
    operation: str
    recipe: str
    parent_id: str | None
    source_sha256: str | None
    data_digest: str
    manifest_digest: str
    split_digest: str | None
    rows: int
    schema: dict[str, str]
    roles: dict[str, str]
    split: dict[str, Any] | None
    created_at: datetime
    encrypted: bool


class DatasetStore:
    """Datasets of one workspace (``ws.datasets``).

    Parameters
    ----------
    db : Database
        The metadata database.
    artifacts : ArtifactStore
        Where Parquet data, manifests and split assignments are stored.
    clock : Clock
        Time source for ``created_at`` and audit events.
    scope : Scope
        The organization whose datasets these are (see :mod:`baryon.core.scope`):
        it sees its own datasets and those granted to it, and writes its own.
    keys : KeyProvider, optional
        Wraps the data keys of sensitive datasets (see :mod:`baryon.data.sealed`);
        without one, encrypted versions cannot be written or read
        (``encryption_key_missing``).
    """

    def __init__(
        self,
        db: Database,
        artifacts: ArtifactStore,
        clock: Clock,
        *,
        scope: Scope,
        keys: KeyProvider | None = None,
    ) -> None:
        self.db = db
        inner = artifacts.inner if isinstance(artifacts, SealedArtifactStore) else artifacts
        self.artifacts = SealedArtifactStore(inner, db, keys, clock, seal=False)
        self.clock = clock
        self.scope = scope

    # ------------------------------------------------------------------ ingest
    def ingest(
        self,
        path: str | os.PathLike[str],
        *,
        name: str,
        format: str | None = None,
        delimiter: str | None = None,
        encoding: str | None = None,
        roles: dict[str, str] | None = None,
        types: dict[str, str] | None = None,
        mask_pii: Sequence[str] | None = None,
        sensitive: bool = False,
        progress: bool | ProgressCallback = False,
        actor: str = "system",
    ) -> DatasetVersion:
        """Read a file into a new version of dataset ``name`` (or return the same one).

        Parameters
        ----------
        path : str or PathLike
            CSV/TSV (optionally ``.gz``), JSON Lines, JSON array, Parquet or .xlsx.
        name : str
            Dataset name (letters, digits, ``.``, ``_``, ``-``).
        format, delimiter, encoding : str, optional
            Override detection (see :func:`baryon.data.sources.open_source`).
        roles : dict, optional
            ``{column: role}`` replacing the suggestions.
        types : dict, optional
            ``{column: logical type}`` replacing inference.
        mask_pii : sequence of str, optional
            Columns whose e-mail addresses, IBANs, card and phone numbers are masked
            **while reading**, before anything is written (no unmasked version, not
            even a temporary file, ever exists); the columns are stored as text. The
            choice and the findings per column are the lineage's first step
            (``{"step": "mask_pii", "at": "ingest", ...}``, see
            :class:`baryon.data.pii.BatchMasker`).
        sensitive : bool
            Mark the dataset sensitive: this version and every later one is
            encrypted at rest (AES-256-GCM, envelope keys: :mod:`baryon.data.sealed`).
            A dataset once sensitive stays so.
        progress : bool or callable
            ``True`` shows a progress bar on stderr for files of 1 MiB or more; a
            callable gets ``(bytes_done, bytes_total)``.
        actor : str
            Who ingests (audit log).

        Returns
        -------
        DatasetVersion
            The new version, or the existing one when these bytes were already
            ingested into ``name`` with the same options.

        Raises
        ------
        InvalidFile, InvalidInput
            Named errors for bad files and options (``empty_file``, ``header_only``,
            ``binary_file``, ``ragged_rows``, ``duplicate_columns``, ...;
            ``unknown_column``, ``invalid_mask_pii``, ``mask_pii_type`` for ``mask_pii``).
        """
        check_name(name, kind="dataset")
        role_overrides, type_overrides = check_roles(roles), check_types(types)
        masker = None if mask_pii is None else BatchMasker(mask_pii)
        if masker is not None and set(masker.columns) & set(type_overrides or {}):
            raise InvalidInput(
                "a column masked at ingest is stored as text: do not give it a --type",
                code="invalid_mask_pii",
            )
        source = open_source(
            path, format=format, delimiter=delimiter, encoding=encoding, types=type_overrides
        )
        options: dict[str, Any] = {
            "format": source.format,
            "delimiter": delimiter,
            "encoding": encoding,
            "roles": role_overrides,
            "types": type_overrides,
        }
        if masker is not None:  # an unmasked ingest of the same bytes is another recipe
            options["mask_pii"] = {"columns": masker.columns, "kinds": masker.kinds}
        if sensitive:  # so is a clear-text ingest of the same bytes
            options["sensitive"] = True
        recipe = recipe_hash(
            {"operation": "ingest", "source_sha256": source.sha256, "options": options}
        )
        existing = self._find_recipe(name, recipe)
        if existing is not None:
            return existing
        store = self.writer_for(name, sensitive=sensitive)
        with progress_bar(progress, source.size, f"ingest {source.path.name}") as callback:
            if masker is None:
                built = materialise(lambda: source.batches(callback), store)
            else:
                mask = masker
                built = materialise(lambda: mask(source.batches(callback)), store)
        steps = [] if masker is None else [masker.lineage()]
        notes = [
            {"code": "renamed_column", "column": new,
             "message": f"column {old!r} was renamed {new!r}"}
            for new, old in source.renamed.items()
        ] + [
            {"code": "decimal_comma", "column": column,
             "message": f"column {column!r} is written with decimal commas (e.g. {example!r}): "
                        f"read as float at ingest ('.' thousands separators dropped); "
                        f"--type {column}=string keeps the text"}
            for column, example in source.decimal_comma.items()
        ]  # fmt: skip
        schema = infer_schema(built.schema, built.stats["columns"], type_overrides)
        final_roles = resolve_roles(schema, built.stats["columns"], role_overrides)
        return self._commit(
            name=name,
            operation="ingest",
            recipe=recipe,
            parent=None,
            built=built,
            schema=schema,
            roles=final_roles,
            report=build_report(built.stats, schema, final_roles, notes=notes),
            extra={"source": source.describe(), "options": options, "steps": steps},
            actor=actor,
            store=store,
        )

    # ------------------------------------------------------------------- clean
    def clean(
        self,
        name: str | Ref,
        steps: Sequence[str | Mapping[str, Any]],
        *,
        version: int | None = None,
        owner: str | None = None,
        actor: str = "system",
    ) -> DatasetVersion:
        """Apply cleaning steps to a version and store the result as a new version.

        Parameters
        ----------
        name : str or Ref
            Dataset reference (``"name"`` or ``"name:3"``).
        steps : list of str or dict
            ``"STEP[:ARGS]"`` strings or dicts (see :mod:`baryon.data.recipes`).
        version : int, optional
            Version to clean (default: the latest).
        owner : str, optional
            The owning organization (name or id); only the scope's own is writable.

        Raises
        ------
        InvalidInput
            ``unknown_step``, ``invalid_step_args``, ``unknown_column``,
            ``empty_result`` (every row was dropped).
        NotFound
            No such dataset or version; a dataset another organization shared is
            read-only (``dataset_not_found``).
        """
        canonical = parse_steps(steps)
        parent = self._version(name, version, owner=owner, writing=True)
        recipe = recipe_hash({"operation": "clean", "parent": parent.id, "steps": canonical})
        existing = self._find_recipe(parent.name, recipe)
        if existing is not None:
            return existing
        frame = parent.to_arrow().to_pandas(types_mapper=pd.ArrowDtype)
        cleaned, roles, lineage = apply_steps(frame, parent.roles, canonical)
        if len(cleaned) == 0:
            raise InvalidInput("the steps removed every row", code="empty_result")
        table = frame_to_table(cleaned)
        kept = {c: t for c, t in parent.schema.items()
                if c in table.column_names and parent_type_kept(parent, table, c)}  # fmt: skip
        return self.derive(
            parent,
            name=parent.name,
            operation="clean",
            recipe=recipe,
            make_batches=lambda: table_batches(table),
            roles=roles,
            kept_types=kept,
            extra={"steps": lineage, "options": {}},
            actor=actor,
        )

    def derive(
        self,
        parent: DatasetVersion,
        *,
        name: str,
        operation: str,
        recipe: str,
        make_batches: Callable[[], Iterable[pa.RecordBatch]],
        roles: Mapping[str, str],
        kept_types: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
        actor: str = "system",
    ) -> DatasetVersion:
        """Store the batches of ``make_batches()`` as a new version of ``name`` derived
        from ``parent`` (the one path of clean, score and other derived versions).

        Idempotent by recipe: a version of ``name`` with this recipe is returned as it
        is. The batches are written as they come (:func:`materialise`), so a caller
        that streams them never holds the whole table. The new version belongs to the
        scope's organization (its own dataset ``name``, made if needed) and is sealed
        when ``parent`` or ``name`` is sensitive. Nothing is recorded when the batches
        raise.

        Parameters
        ----------
        parent : DatasetVersion
            The version derived from (lineage ``parent_id``).
        name : str
            The dataset the new version belongs to.
        operation : str
            Lineage operation (``clean``, ``score``).
        recipe : str
            :func:`recipe_hash` of everything that decides the content.
        make_batches : callable
            Returns a fresh iterable of record batches (called again after a restart).
        roles : mapping
            Column roles (a column without one is a ``feature``).
        kept_types : mapping, optional
            Logical types to keep rather than infer (``{column: type}``).
        extra : mapping, optional
            Facts kept in the manifest (``steps``, ``lineage``, ...).
        actor : str
            Who derives it (audit log).

        Returns
        -------
        DatasetVersion

        Raises
        ------
        InvalidInput
            ``invalid_name``; ``header_only`` when there are no rows.
        """
        check_name(name, kind="dataset")
        existing = self._find_recipe(name, recipe)
        if existing is not None:
            return existing
        store = self.writer_for(name, sensitive=parent.encrypted)
        built = materialise(make_batches, store)
        schema = infer_schema(built.schema, built.stats["columns"], dict(kept_types or {}))
        final_roles = {c: roles.get(c, "feature") for c in schema}
        return self._commit(
            name=name,
            operation=operation,
            recipe=recipe,
            parent=parent,
            built=built,
            schema=schema,
            roles=final_roles,
            report=build_report(built.stats, schema, final_roles),
            extra=dict(extra or {}),
            actor=actor,
            store=store,
        )

    # ----------------------------------------------------------------- collect
    def collect(
        self,
        name: str,
        rows: Sequence[Mapping[str, Any]],
        *,
        lineage: Mapping[str, Any],
        actor: str = "system",
    ) -> DatasetVersion:
        """Store the latest version of ``name`` plus ``rows`` as a new version.

        The collecting step of a source (:mod:`baryon.connectors`): each run adds the
        records it found new. The first run makes version 1 (its parent is ``None``).
        Columns are the union of the parent's and the rows'; a value missing on either
        side is null. The whole version is written at once (never a partial one).

        Parameters
        ----------
        name : str
            Dataset name; only the scope's own dataset of that name is extended.
        rows : sequence of mapping
            The new records (``column -> value``: text, numbers, booleans or null).
        lineage : mapping
            JSON facts about where the rows came from (URL, fetch time, validators,
            counts), kept in the manifest (:attr:`DatasetVersion.lineage`) and part of
            the recipe.
        actor : str
            Who collects (audit log).

        Raises
        ------
        InvalidInput
            ``empty_append`` (no rows), ``invalid_name``.
        """
        check_name(name, kind="dataset")
        if not rows:
            raise InvalidInput("no rows to collect", code="empty_append")
        try:
            parent: DatasetVersion | None = self._version(name, None, writing=True)
        except NotFound:
            parent = None
        facts = to_jsonable(dict(lineage), default=str)
        added = pd.DataFrame.from_records([dict(r) for r in rows])
        recipe = recipe_hash(
            {
                "operation": "collect",
                "parent": None if parent is None else parent.id,
                "rows": recipe_hash(to_jsonable([dict(r) for r in rows], default=str)),
                "lineage": facts,
            }
        )
        existing = self._find_recipe(name, recipe)
        if existing is not None:
            return existing
        if parent is not None:
            before = parent.to_arrow().to_pandas()
            added = pd.concat([before, added], ignore_index=True, sort=False)
        added = added.astype(object).where(added.notna(), None)
        table = frame_to_table(added)
        store = self.writer_for(name)
        built = materialise(lambda: table_batches(table), store)
        schema = infer_schema(built.schema, built.stats["columns"], None)
        roles = resolve_roles(schema, built.stats["columns"], None)
        return self._commit(
            name=name,
            operation="collect",
            recipe=recipe,
            parent=parent,
            built=built,
            schema=schema,
            roles=roles,
            report=build_report(built.stats, schema, roles),
            extra={"steps": [], "options": {}, "lineage": facts},
            actor=actor,
            store=store,
        )

    # ------------------------------------------------------------------- split
    def split(
        self,
        name: str | Ref,
        *,
        strategy: str,
        test_size: float = 0.2,
        validation_size: float = 0.1,
        seed: int = 42,
        version: int | None = None,
        owner: str | None = None,
        actor: str = "system",
        **options: Any,
    ) -> DatasetVersion:
        """Record a seeded train/validation/test split as a new version.

        The new version shares its parent's data artifact; only the assignment is new.
        Parameters as :func:`baryon.data.splits.assign_split`; ``owner`` (name or id)
        as in :meth:`clean`: only the scope's own datasets are writable.

        Raises
        ------
        InvalidInput
            ``invalid_split``, ``invalid_split_size``, ``missing_role``, ...
        NotFound
            No such dataset or version; a dataset another organization shared is
            read-only (``dataset_not_found``).
        """
        parent = self._version(name, version, owner=owner, writing=True)
        # Only the columns a strategy can look at are read (the rest may be big text).
        wanted = {c for c, r in parent.roles.items() if r in ("label", "timestamp", "user")}
        wanted |= {str(v) for v in options.values() if isinstance(v, str) and v in parent.schema}
        if wanted:
            frame = parent.to_pandas(columns=[c for c in parent.schema if c in wanted])
        else:
            frame = pd.DataFrame(index=pd.RangeIndex(parent.row_count))
        codes, spec = assign_split(
            frame, parent.roles, strategy=strategy, test_size=test_size,
            validation_size=validation_size, seed=seed, **options,
        )  # fmt: skip
        recipe = recipe_hash({"operation": "split", "parent": parent.id, "spec": spec})
        existing = self._find_recipe(parent.name, recipe)
        if existing is not None:
            return existing
        sink = pa.BufferOutputStream()
        pq.write_table(pa.table({"split": pa.array(codes, type=pa.int8())}), sink)
        store = self.writer_for(parent.name)
        split_digest = store.put_bytes(sink.getvalue().to_pybytes())
        spec["digest"] = split_digest
        report = dict(parent.report)
        report["split"] = spec["counts"]
        built = Materialised(
            data_digest=parent.data_digest,
            data_bytes=int(parent.manifest.get("data", {}).get("bytes", 0)),
            schema=pa.schema([]),
            stats={"rows": parent.row_count},
        )
        return self._commit(
            name=parent.name,
            operation="split",
            recipe=recipe,
            parent=parent,
            built=built,
            schema=dict(parent.schema),
            roles=dict(parent.roles),
            report=report,
            extra={"steps": [], "options": {}, "split": spec},
            actor=actor,
            split_digest=split_digest,
            store=store,
        )

    # ------------------------------------------------------------------ append
    def append(
        self,
        name: str | Ref,
        rows: pa.Table,
        *,
        split: str = "train",
        version: int | None = None,
        lineage: Mapping[str, Any] | None = None,
        actor: str = "system",
    ) -> DatasetVersion:
        """Store a split version plus ``rows`` (all in ``split``) as a new version.

        The new data is the parent's rows, in their order, then ``rows``; the new
        split assignment is the parent's, then ``split`` for every new row. So each
        parent row keeps its split and **the parent's test rows are exactly the new
        version's test rows**: rows are never appended to the test split. Appending
        the same rows with the same lineage again returns the same version.

        Parameters
        ----------
        name : str or Ref
            Dataset reference (``"name"`` or ``"name:3"``); only the scope's own
            datasets are writable.
        rows : pyarrow.Table
            The new rows, with exactly the parent's columns (any order); values are
            cast to the parent's column types.
        split : {"train", "validation"}
            The split every new row joins.
        version : int, optional
            Version to append to (default: the latest).
        lineage : mapping, optional
            JSON facts about where the rows came from, kept in the manifest
            (:attr:`DatasetVersion.lineage`) and part of the recipe.
        actor : str
            Who appends (audit log).

        Raises
        ------
        InvalidInput
            ``no_split`` (the parent has no split), ``invalid_split`` (``test`` or an
            unknown split), ``empty_append`` (no rows), ``schema_mismatch`` (other
            columns, or values that do not fit the parent's column types).
        NotFound
            No such dataset or version; a dataset another organization shared is
            read-only (``dataset_not_found``).
        """
        if split not in ("train", "validation"):
            raise InvalidInput(
                f"rows can be appended to the train or validation split, not {split!r} "
                "(the test split of a version stays frozen)",
                code="invalid_split",
            )
        parent = self._version(name, version, writing=True)
        if not parent.split or parent.split_digest is None:
            raise InvalidInput(
                f"{parent.ref} has no split; rows are appended to a split version",
                code="no_split",
            )
        if rows.num_rows == 0:
            raise InvalidInput("no rows to append", code="empty_append")
        base = parent.to_arrow()
        if sorted(rows.column_names) != sorted(base.column_names):
            raise InvalidInput(
                f"appended rows need exactly the columns of {parent.ref} "
                f"({', '.join(base.column_names)}), got {', '.join(rows.column_names)}",
                code="schema_mismatch",
            )
        try:
            added = rows.select(base.column_names).cast(base.schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
            raise InvalidInput(
                f"appended rows do not fit the column types of {parent.ref}: {exc}",
                code="schema_mismatch",
            ) from None
        facts = to_jsonable(dict(lineage or {}), default=str)
        recipe = recipe_hash(
            {
                "operation": "append",
                "parent": parent.id,
                "split": split,
                "rows": recipe_hash(to_jsonable(added.to_pylist(), default=str)),
                "lineage": facts,
            }
        )
        existing = self._find_recipe(parent.name, recipe)
        if existing is not None:
            return existing
        table = pa.concat_tables([base, added])
        store = self.writer_for(parent.name)
        built = materialise(lambda: table_batches(table), store)
        code = SPLIT_NAMES.index(split)
        codes = np.concatenate(
            [parent.split_codes(), np.full(added.num_rows, code, dtype=np.int8)]
        ).astype(np.int8)
        sink = pa.BufferOutputStream()
        pq.write_table(pa.table({"split": pa.array(codes, type=pa.int8())}), sink)
        split_digest = store.put_bytes(sink.getvalue().to_pybytes())
        spec = dict(parent.manifest.get("split") or parent.split)
        spec["counts"] = {s: int((codes == i).sum()) for i, s in enumerate(SPLIT_NAMES)}
        spec["appended"] = {"parent_id": parent.id, "split": split, "rows": added.num_rows}
        spec["digest"] = split_digest
        schema, roles = dict(parent.schema), dict(parent.roles)
        report = build_report(built.stats, schema, roles)
        report["split"] = spec["counts"]
        return self._commit(
            name=parent.name,
            operation="append",
            recipe=recipe,
            parent=parent,
            built=built,
            schema=schema,
            roles=roles,
            report=report,
            extra={"steps": [], "options": {}, "split": spec, "lineage": facts},
            actor=actor,
            split_digest=split_digest,
            store=store,
        )

    # ---------------------------------------------------------------- reading
    def get(
        self, name: str | Ref, version: int | None = None, *, owner: str | None = None
    ) -> DatasetVersion:
        """Return a version of a dataset.

        Parameters
        ----------
        name : str or Ref
            A dataset reference: ``NAME`` or ``NAME@latest`` (the latest version) or
            ``NAME:N``; ``OWNER/NAME`` for one another organization shared (see
            :mod:`baryon.core.refs`).
        version : int, optional
            Version number; when given it wins over the reference's.
        owner : str, optional
            The sharing organization's name (the same as an ``OWNER/`` prefix).

        Parameters
        ----------
        name : str
            Dataset name (or ``"name@version"``).
        version : int, optional
            Version number (default: the latest).
        owner : str, optional
            The owning organization's name or id, to pick a dataset another
            organization shared (default: the scope's own, else the one shared).

        Raises
        ------
        InvalidInput
            Malformed reference (``invalid_ref``).
        NotFound
            ``dataset_not_found``, ``version_not_found`` or ``owner_not_found``.
        InvalidInput
            ``ambiguous_ref``: several organizations shared a dataset of that name.
        """
        return self._version(name, version, owner=owner)

    def _version(
        self,
        name: str | Ref,
        version: int | None,
        *,
        owner: str | None = None,
        writing: bool = False,
    ) -> DatasetVersion:
        """:meth:`get`; with ``writing`` only the scope's own datasets are found."""
        ref = self._ref(name)
        version = ref.version if version is None else version
        with self.db.session(self.scope) as session:
            dataset = self._named(session, ref.name, owner or ref.owner)
            if dataset is None or (writing and not self.scope.owns(dataset.org_id)):
                raise NotFound(f"no dataset named {ref.name!r}", code="dataset_not_found")
            stmt = select(DatasetVersionRow).where(DatasetVersionRow.dataset_id == dataset.id)
            if version is None:
                stmt = stmt.order_by(DatasetVersionRow.version.desc()).limit(1)
            else:
                stmt = stmt.where(DatasetVersionRow.version == int(version))
            row = session.scalar(stmt)
            if row is None:
                raise NotFound(
                    f"dataset {ref.name!r} has no version {version}", code="version_not_found"
                )
            return self._load(row, dataset.name, session)

    @staticmethod
    def _ref(ref: str | Ref) -> Ref:
        """Parse a dataset reference (``OWNER/NAME`` names a dataset shared with you)."""
        return ref if isinstance(ref, Ref) else parse_ref(ref, kind="dataset")

    def get_by_id(self, version_id: str) -> DatasetVersion:
        """Return the version with this ``dsv_...`` id (``NotFound``: ``version_not_found``)."""
        with self.db.session(self.scope) as session:
            found = session.execute(
                select(DatasetVersionRow, DatasetRow.name)
                .join(DatasetRow, DatasetRow.id == DatasetVersionRow.dataset_id)
                .where(DatasetVersionRow.id == version_id)
            ).first()
            if found is None:
                raise NotFound(f"no dataset version {version_id!r}", code="version_not_found")
            return self._load(found[0], found[1], session)

    def resolve(self, ref: str | Ref) -> DatasetVersion:
        """Return the version named by an id (``dsv_...``) or a reference (``NAME[:N]``).

        Raises
        ------
        InvalidInput
            Malformed reference (``invalid_ref``).
        NotFound
            ``dataset_not_found`` or ``version_not_found``.
        """
        if isinstance(ref, str) and ref.startswith("dsv_"):
            return self.get_by_id(ref)
        return self.get(ref)

    def list(self, *, limit: int | None = None, offset: int = 0) -> list[DatasetVersion]:
        """Return the latest version of every dataset, by name.

        Parameters
        ----------
        limit : int, optional
            At most this many datasets (default: all).
        offset : int
            Skip this many first (a page of a long list; see :meth:`count`).
        """
        with self.db.session(self.scope) as session:
            latest = (
                select(DatasetVersionRow.dataset_id, func.max(DatasetVersionRow.version).label("v"))
                .group_by(DatasetVersionRow.dataset_id)
                .subquery()
            )
            stmt = (
                select(DatasetVersionRow, DatasetRow.name)
                .join(DatasetRow, DatasetRow.id == DatasetVersionRow.dataset_id)
                .join(latest, (latest.c.dataset_id == DatasetVersionRow.dataset_id)
                      & (latest.c.v == DatasetVersionRow.version))
                .order_by(DatasetRow.name, DatasetRow.id)
                .offset(max(0, offset))
            )  # fmt: skip
            if limit is not None:
                stmt = stmt.limit(max(0, limit))
            rows = session.execute(stmt).all()
            return [self._load(row, dataset_name, session) for row, dataset_name in rows]

    def count(self) -> int:
        """Return how many datasets :meth:`list` pages through."""
        with self.db.session(self.scope) as session:
            return int(session.scalar(select(func.count()).select_from(DatasetRow)) or 0)

    def history(
        self, name: str | Ref, *, owner: str | None = None
    ) -> builtins.list[DatasetVersion]:
        """Return every version of the dataset ``name`` refers to, oldest first.

        ``owner`` picks a dataset another organization shared, as in :meth:`get`.

        Raises
        ------
        InvalidInput
            Malformed reference (``invalid_ref``).
        NotFound
            No such dataset (``dataset_not_found``).
        """
        ref = self._ref(name)
        base = ref.name
        with self.db.session(self.scope) as session:
            dataset = self._named(session, base, owner or ref.owner)
            if dataset is None:
                raise NotFound(f"no dataset named {base!r}", code="dataset_not_found")
            rows = session.scalars(
                select(DatasetVersionRow)
                .where(DatasetVersionRow.dataset_id == dataset.id)
                .order_by(DatasetVersionRow.version)
            ).all()
            return [self._load(row, dataset.name, session) for row in rows]

    def version_ids(self, name: str | Ref) -> builtins.list[str]:
        """Return the ids of every version of ``name`` (empty if there is no such dataset).

        Raises
        ------
        InvalidInput
            Malformed reference (``invalid_ref``).
        """
        ref = self._ref(name)
        with self.db.session(self.scope) as session:
            dataset = self._named(session, ref.name, ref.owner)
            if dataset is None:
                return []
            return list(
                session.scalars(
                    select(DatasetVersionRow.id)
                    .where(DatasetVersionRow.dataset_id == dataset.id)
                    .order_by(DatasetVersionRow.version)
                )
            )

    def export(
        self,
        ref: str | Ref,
        out: str | os.PathLike[str],
        *,
        split: str | None = None,
        format: str | None = None,
    ) -> dict[str, Any]:
        """Write a version (``NAME[:N]`` or id) to a file; see
        :func:`baryon.data.exports.export_version`."""
        from baryon.data.exports import export_version

        return export_version(self.resolve(ref), out, split=split, format=format)

    def lineage(
        self, name: str | Ref, version: int | None = None, *, owner: str | None = None
    ) -> builtins.list[DatasetVersion]:
        """Return the chain of versions from the ingest to this one (oldest first).

        ``owner`` picks a dataset another organization shared, as in :meth:`get`.
        """
        current: DatasetVersion | None = self.get(name, version, owner=owner)
        chain: builtins.list[DatasetVersion] = []
        while current is not None:
            chain.append(current)
            current = self.get_by_id(current.parent_id) if current.parent_id else None
        return chain[::-1]

    # ---------------------------------------------------------------- internals
    def _load(self, row: DatasetVersionRow, name: str, session: Session) -> DatasetVersion:
        """The version of ``row``, its manifest read with ``session`` open (for its key)."""
        if row.erased_at is not None:  # a tombstone: its manifest's bytes are deleted
            manifest: dict[str, Any] = {
                "operation": row.operation,
                "parent_id": row.parent_id,
                "erased_at": row.erased_at.isoformat(),
                "erasure": row.erasure_id,
            }
        else:
            manifest = json.loads(self.artifacts.get_bytes(row.manifest_digest, session=session))
        return DatasetVersion(
            id=row.id,
            name=name,
            version=row.version,
            parent_id=row.parent_id,
            row_count=int(row.row_count),
            schema=dict(row.column_types),
            roles=dict(row.column_roles),
            manifest=manifest,
            split=None if row.split is None else dict(row.split),
            created_at=row.created_at,
            data_digest=row.data_digest,
            split_digest=row.split_digest,
            artifacts=self.artifacts,
            org_id=row.org_id,
            encrypted=bool(row.encrypted),
            erased_at=row.erased_at,
        )

    def writer_for(self, name: str, *, sensitive: bool = False) -> SealedArtifactStore:
        """The store new artifacts of dataset ``name`` go to: sealing when it is sensitive."""
        if not sensitive:
            with self.db.session(self.scope) as session:
                sensitive = bool(
                    session.scalar(
                        select(DatasetRow.sensitive).where(
                            DatasetRow.name == name, DatasetRow.org_id == self.scope.org_id
                        )
                    )
                )
        return self.artifacts.sealed(sensitive)

    def _find_recipe(self, name: str, recipe: str) -> DatasetVersion | None:
        with self.db.session(self.scope) as session:
            row = self._recipe_row(session, name, recipe)
            return None if row is None else self._load(row, name, session)

    def _commit(
        self,
        *,
        name: str,
        operation: str,
        recipe: str,
        parent: DatasetVersion | None,
        built: Materialised,
        schema: dict[str, str],
        roles: dict[str, str],
        report: dict[str, Any],
        extra: dict[str, Any],
        actor: str,
        store: SealedArtifactStore,
        split_digest: str | None = None,
    ) -> DatasetVersion:
        pending = self.prepare_version(
            name=name, operation=operation, recipe=recipe, parent=parent, built=built,
            schema=schema, roles=roles, report=report, extra=extra, store=store,
            split_digest=split_digest,
        )  # fmt: skip
        for attempt in range(3):
            try:
                with self.db.session(self.scope) as session:
                    if self._recipe_row(session, name, recipe) is None:
                        self.insert_version(session, pending, actor=actor)
                break
            except sa_exc.IntegrityError:
                if attempt == 2:
                    raise
        found = self._find_recipe(name, recipe)
        assert found is not None
        return found

    def prepare_version(
        self,
        *,
        name: str,
        operation: str,
        recipe: str,
        parent: DatasetVersion | None,
        built: Materialised,
        schema: dict[str, str],
        roles: dict[str, str],
        report: dict[str, Any],
        extra: dict[str, Any],
        store: SealedArtifactStore,
        split_digest: str | None = None,
    ) -> PendingVersion:
        """Store a new version's manifest and return what its row needs (no row yet)."""
        parts = [name, recipe, built.data_digest, split_digest]
        if self.scope.org_id != OPERATOR_ORG_ID:  # ids are global: same bytes, other owner
            parts.append(self.scope.org_id)
        version_id = _version_id(*parts)
        created_at = self.clock.now()
        from baryon import __version__

        manifest = {
            "format": MANIFEST_FORMAT,
            "id": version_id,
            "name": name,
            "operation": operation,
            "parent_id": None if parent is None else parent.id,
            "recipe_hash": recipe,
            "created_at": created_at.isoformat(),
            "baryon_version": __version__,
            "pyarrow_version": pa.__version__,
            "data": {
                "digest": built.data_digest,
                "format": "parquet",
                "bytes": built.data_bytes,
                "rows": int(built.stats["rows"]),
                "columns": list(schema),
            },
            "schema": schema,
            "roles": roles,
            "report": report,
            "split": None,
            **extra,
        }
        manifest = to_jsonable(manifest, default=str)
        manifest_digest = store.put_bytes(dumps(manifest, indent=1))
        return PendingVersion(
            name=name,
            id=version_id,
            operation=operation,
            recipe=recipe,
            parent_id=manifest["parent_id"],
            source_sha256=(extra.get("source") or {}).get("sha256"),
            data_digest=built.data_digest,
            manifest_digest=manifest_digest,
            split_digest=split_digest,
            rows=int(built.stats["rows"]),
            schema=schema,
            roles=roles,
            split=_public_split(extra.get("split")),
            created_at=created_at,
            encrypted=store.sealing,
        )

    def insert_version(
        self,
        session: Session,
        pending: PendingVersion,
        *,
        actor: str,
        audit: dict[str, Any] | None = None,
    ) -> int:
        """Add the row of a prepared version (and its audit event) to ``session``.

        Returns the new version's number. ``audit`` adds facts to the event's details.
        """
        dataset = self._dataset_row(session, pending.name, pending.created_at)
        if pending.encrypted and not dataset.sensitive:
            dataset.sensitive = True
        number = (
            session.scalar(
                select(func.max(DatasetVersionRow.version)).where(
                    DatasetVersionRow.dataset_id == dataset.id
                )
            )
            or 0
        ) + 1
        session.add(
            DatasetVersionRow(
                id=pending.id,
                org_id=dataset.org_id,
                dataset_id=dataset.id,
                version=number,
                parent_id=pending.parent_id,
                operation=pending.operation,
                recipe_hash=pending.recipe,
                source_sha256=pending.source_sha256,
                data_digest=pending.data_digest,
                manifest_digest=pending.manifest_digest,
                split_digest=pending.split_digest,
                row_count=pending.rows,
                column_count=len(pending.schema),
                column_types=pending.schema,
                column_roles=pending.roles,
                split=pending.split,
                created_at=pending.created_at,
                encrypted=pending.encrypted,
            )
        )
        details = {"name": pending.name, "version": number, "rows": pending.rows}
        if pending.encrypted:
            details["encrypted"] = True
        record_audit(
            session,
            actor=actor,
            action=f"dataset.{pending.operation}",
            object_type="dataset_version",
            object_id=pending.id,
            details={**details, **(audit or {})},
            org_id=dataset.org_id,
            clock=self.clock,
        )
        return number

    def _recipe_row(self, session: Session, name: str, recipe: str) -> DatasetVersionRow | None:
        return session.scalar(
            select(DatasetVersionRow)
            .join(DatasetRow, DatasetRow.id == DatasetVersionRow.dataset_id)
            .where(
                DatasetRow.name == name,
                DatasetRow.org_id == self.scope.org_id,
                DatasetVersionRow.recipe_hash == recipe,
            )
        )

    def _named(self, session: Session, name: str, owner: str | None = None) -> DatasetRow | None:
        """The dataset ``name`` means to this scope: its own, else the one granted."""
        rows = session.scalars(select(DatasetRow).where(DatasetRow.name == name))
        picked: DatasetRow | None = pick_by_owner(
            rows, self.scope, owner=owner, what=f"dataset {name!r}"
        )
        return picked

    def _dataset_row(self, session: Session, name: str, created_at: datetime) -> DatasetRow:
        # Writes go to the scope's own dataset of that name (a granted one is read-only).
        dataset = session.scalar(
            select(DatasetRow).where(
                DatasetRow.name == name, DatasetRow.org_id == self.scope.org_id
            )
        )
        if dataset is None:
            dataset = DatasetRow(
                id=new_id("ds", self.clock),
                org_id=self.scope.org_id,
                name=name,
                created_at=created_at,
            )
            session.add(dataset)
            session.flush()
        return dataset


def _public_split(split: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if split is None else {k: v for k, v in split.items() if k != "digest"}


def parent_type_kept(parent: DatasetVersion, table: pa.Table, column: str) -> bool:
    """Whether a cleaned column kept its parent's storage type (so its logical type holds)."""
    before = parent.manifest.get("report", {}).get("column_stats", {}).get(column, {})
    return str(before.get("arrow_type")) == str(table.schema.field(column).type)
