"""Erasure (the right to be forgotten): remove a data subject from an organization.

:func:`erase` takes one or more ``column=value`` matches and removes every row
where any of them holds from the organization's data:

**Datasets** (the organization's own, or only those named). Every live version is
read; a row matches when the text form of its ``column`` (the column cast to a
string: ``42``, ``1.5``, ``true``, ``2024-01-31 …``) equals ``value`` exactly.
Versions that hold a matching row are *erased*: their row stays as a tombstone in
the lineage (``erased_at``, ``erasure_id``), their artifacts' bytes (data, manifest,
split assignment) are deleted — unless a live version still uses the same bytes —
and so are the wrapped data keys of encrypted ones; reading their data is
``version_erased`` (HTTP 410). When the latest version held the subject, a new
version is written from it without the matching rows (operation ``erase``, its
split kept for the remaining rows; none when every row matched: the dataset then
ends in a tombstone); its lineage step is
``{"step": "erasure", "erasure_id", "columns", "rows_removed"}`` — the matched
columns and the count, never the value.

**Prediction log**: a logged prediction goes when the value appears in its kept
inputs or its outputs (any string containing the value, or any number or boolean
whose text equals it); in ``hashed`` mode when an input's hash is that of the bare
value or of ``{column: value}``. Its feedback goes with it.

**Labeling tasks**: a task goes (with its annotations) when the value appears in its
input, as for the log.

Everything is written in one transaction with one ``data.erase`` audit event (plus
``dataset.erase`` per new version); the bytes are deleted after it commits, so a crash
can leave bytes of a tombstone behind, never a live version without its bytes (run the
same erasure again: it finds nothing live and deletes the left-over bytes). The answer
lists the runs and model versions trained on an erased version, to retrain.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import delete, or_, select

from baryon.core.audit import record_audit
from baryon.core.errors import InvalidInput, NotFound
from baryon.core.ids import new_id
from baryon.core.scope import SYSTEM
from baryon.data.materialise import materialise, table_batches
from baryon.data.quality import build_report
from baryon.data.sealed import forget_keys
from baryon.data.splits import SPLIT_NAMES
from baryon.data.tables import DatasetRow, DatasetVersionRow
from baryon.data.versions import DatasetStore, DatasetVersion, PendingVersion, recipe_hash
from baryon.labeling.tables import AnnotationRow, LabelingTaskRow
from baryon.predictions.log import hash_input
from baryon.predictions.tables import FeedbackRow, PredictionRow
from baryon.training.tables import ModelVersionRow, RegisteredModelRow, RunRow

__all__ = ["Erasure", "erase", "parse_matches"]


@dataclass(frozen=True)
class Erasure:
    """What an erasure did.

    Attributes
    ----------
    id : str
        ``era_…`` (in the audit event and the tombstones).
    columns : list of str
        The matched columns (the values are never kept).
    datasets : list of dict
        One per affected dataset: ``{"name", "rows_removed", "new_version",
        "new_version_id", "erased_versions": [{"id", "version"}]}`` (``new_version``
        is ``None`` when only older versions held the subject).
    predictions_removed, feedback_removed, tasks_removed : int
    deleted_artifacts : int
        Artifact files deleted.
    retrain : list of dict
        Runs and model versions trained on an erased version: ``{"run_id",
        "dataset", "model", "model_version"}`` (model fields ``None`` for a run never
        registered).
    """

    id: str
    columns: list[str]
    datasets: list[dict[str, Any]] = field(default_factory=list)
    predictions_removed: int = 0
    feedback_removed: int = 0
    tasks_removed: int = 0
    deleted_artifacts: int = 0
    retrain: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (what ``baryon data erase --json`` prints)."""
        return {
            "id": self.id,
            "columns": self.columns,
            "datasets": self.datasets,
            "predictions_removed": self.predictions_removed,
            "feedback_removed": self.feedback_removed,
            "tasks_removed": self.tasks_removed,
            "deleted_artifacts": self.deleted_artifacts,
            "retrain": self.retrain,
        }


def parse_matches(pairs: Iterable[str]) -> list[tuple[str, str]]:
    """Parse ``COLUMN=VALUE`` strings (the value may hold ``=``; it may not be empty).

    Raises
    ------
    InvalidInput
        ``invalid_match``: no pair, no ``=``, or an empty column or value.
    """
    matches = []
    for pair in pairs:
        column, sep, value = str(pair).partition("=")
        if not sep or not column.strip() or value == "":
            raise InvalidInput(
                "a match is COLUMN=VALUE with a column and a non-empty value",
                code="invalid_match",
            )
        matches.append((column.strip(), value))
    if not matches:
        raise InvalidInput("give at least one --match COLUMN=VALUE", code="invalid_match")
    return matches


def erase(
    store: DatasetStore,
    matches: Sequence[tuple[str, str]],
    *,
    datasets: Sequence[str] | None = None,
    actor: str = "system",
) -> Erasure:
    """Remove every row matching any of ``matches`` from the store's organization.

    Parameters
    ----------
    store : DatasetStore
        The organization's dataset store (``ws.datasets`` of its view): its scope
        decides whose data is searched; only its own datasets change.
    matches : sequence of (column, value)
        From :func:`parse_matches`; a row matching any of them goes.
    datasets : sequence of str, optional
        Only these datasets (names); default every dataset of the organization.
    actor : str
        Who asked (audit log).

    Returns
    -------
    Erasure

    Raises
    ------
    InvalidInput
        ``invalid_match``.
    NotFound
        ``dataset_not_found``: a named dataset is not the organization's own.
    EncryptionKeyMissing
        An encrypted version cannot be read; nothing is changed.
    """
    matches = parse_matches(f"{c}={v}" for c, v in matches)
    org_id = str(store.scope.org_id)
    erasure_id = new_id("era", store.clock)
    columns = sorted({c for c, _ in matches})
    names = _dataset_names(store, datasets)

    # 1. Find, and build new versions (artifacts only: no row is written yet).
    plans: list[tuple[str, list[DatasetVersion], int, PendingVersion | None]] = []
    for name in names:
        live = [v for v in store.history(name) if v.erased_at is None]
        hits: dict[str, int] = {}  # data digest -> matching rows
        affected = []
        for version in live:
            if version.data_digest not in hits:
                hits[version.data_digest] = _count(version, matches)
            if hits[version.data_digest]:
                affected.append(version)
        if not affected:
            continue
        latest = live[-1]
        pending = None
        removed = hits[latest.data_digest]
        if removed and removed < latest.row_count:
            pending = _without(store, latest, matches, erasure_id, columns, removed)
        else:
            removed = max(hits[v.data_digest] for v in affected)
        plans.append((name, affected, removed, pending))

    # 2. One transaction: new rows, tombstones, log and tasks, audit.
    result_sets: list[dict[str, Any]] = []
    erased_ids: list[str] = []
    with store.db.session(store.scope) as session:
        now = store.clock.now()
        for name, affected, removed, pending in plans:
            number = None
            if pending is not None:
                number = store.insert_version(
                    session, pending, actor=actor, audit={"erasure_id": erasure_id}
                )
            for version in affected:
                row = session.get(DatasetVersionRow, version.id)
                assert row is not None
                row.erased_at = now
                row.erasure_id = erasure_id
                erased_ids.append(version.id)
            result_sets.append(
                {
                    "name": name,
                    "rows_removed": removed,
                    "new_version": number,
                    "new_version_id": None if pending is None else pending.id,
                    "erased_versions": [{"id": v.id, "version": v.version} for v in affected],
                }
            )
        predictions, feedback = _erase_predictions(session, matches)
        tasks = _erase_tasks(session, matches)
        retrain = _trained_on(session, erased_ids)
        record_audit(
            session,
            actor=actor,
            action="data.erase",
            object_type="erasure",
            object_id=erasure_id,
            details={
                "columns": columns,
                "datasets": [
                    {k: d[k] for k in ("name", "rows_removed", "new_version")}
                    | {"erased_versions": [e["version"] for e in d["erased_versions"]]}
                    for d in result_sets
                ],
                "predictions_removed": predictions,
                "tasks_removed": tasks,
            },
            org_id=org_id,
            clock=store.clock,
        )

    # 3. After the commit: delete the bytes no live version still uses.
    deleted = _delete_bytes(store)
    return Erasure(
        id=erasure_id,
        columns=columns,
        datasets=result_sets,
        predictions_removed=predictions,
        feedback_removed=feedback,
        tasks_removed=tasks,
        deleted_artifacts=deleted,
        retrain=retrain,
    )


# ------------------------------------------------------------------ datasets
def _dataset_names(store: DatasetStore, datasets: Sequence[str] | None) -> list[str]:
    with store.db.session(store.scope) as session:
        own = set(
            session.scalars(select(DatasetRow.name).where(DatasetRow.org_id == store.scope.org_id))
        )
    if datasets is None:
        return sorted(own)
    for name in datasets:
        if name not in own:
            raise NotFound(f"no dataset named {name!r}", code="dataset_not_found")
    return sorted(set(datasets))


def _mask(table: pa.Table, matches: Sequence[tuple[str, str]]) -> np.ndarray:
    """Boolean array of shape (n_rows,): the rows where any match holds."""
    hit = np.zeros(table.num_rows, dtype=bool)
    for column, value in matches:
        if column not in table.column_names:
            continue
        try:
            text = pc.cast(table.column(column), pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            text = pa.chunked_array(
                [
                    pa.array(
                        [None if x is None else str(x) for x in table.column(column).to_pylist()]
                    )
                ]
            )
        equal = pc.fill_null(pc.equal(text, pa.scalar(value)), False)
        hit |= equal.to_numpy(zero_copy_only=False).astype(bool)
    return hit


def _count(version: DatasetVersion, matches: Sequence[tuple[str, str]]) -> int:
    columns = [c for c, _ in matches if c in version.schema]
    if not columns:
        return 0
    return int(_mask(version.to_arrow(columns=sorted(set(columns))), matches).sum())


def _without(
    store: DatasetStore,
    latest: DatasetVersion,
    matches: Sequence[tuple[str, str]],
    erasure_id: str,
    columns: list[str],
    removed: int,
) -> PendingVersion:
    """Store the artifacts of ``latest`` minus the matching rows; return its pending row."""
    table = latest.to_arrow()
    keep = ~_mask(table, matches)
    kept = table.filter(pa.array(keep))
    writer = store.writer_for(latest.name)
    built = materialise(lambda: table_batches(kept), writer)
    schema, roles = dict(latest.schema), dict(latest.roles)
    report = build_report(built.stats, schema, roles)
    step = {"step": "erasure", "erasure_id": erasure_id, "columns": columns,
            "rows_removed": removed}  # fmt: skip
    extra: dict[str, Any] = {"steps": [step], "options": {}}
    split_digest = None
    if latest.split_digest is not None:
        codes = latest.split_codes()[keep].astype(np.int8)
        sink = pa.BufferOutputStream()
        pq.write_table(pa.table({"split": pa.array(codes, type=pa.int8())}), sink)
        split_digest = writer.put_bytes(sink.getvalue().to_pybytes())
        spec = {k: v for k, v in dict(latest.manifest.get("split") or latest.split or {}).items()
                if k not in ("appended",)}  # fmt: skip
        spec["counts"] = {s: int((codes == i).sum()) for i, s in enumerate(SPLIT_NAMES)}
        spec["digest"] = split_digest
        report["split"] = spec["counts"]
        extra["split"] = spec
    recipe = recipe_hash({"operation": "erase", "parent": latest.id, "erasure": erasure_id})
    return store.prepare_version(
        name=latest.name, operation="erase", recipe=recipe, parent=latest, built=built,
        schema=schema, roles=roles, report=report, extra=extra, store=writer,
        split_digest=split_digest,
    )  # fmt: skip


def _delete_bytes(store: DatasetStore) -> int:
    """Delete the artifacts of tombstones that no live version uses; return how many."""
    with store.db.session(SYSTEM) as session:
        rows = session.execute(
            select(
                DatasetVersionRow.data_digest,
                DatasetVersionRow.manifest_digest,
                DatasetVersionRow.split_digest,
                DatasetVersionRow.erased_at,
            )
        ).all()
    live: set[str] = set()
    dead: set[str] = set()
    for data, manifest, split, erased_at in rows:
        digests = {d for d in (data, manifest, split) if d}
        (dead if erased_at is not None else live).update(digests)
    doomed = dead - live
    inner = store.artifacts.inner
    count = 0
    for digest in sorted(doomed):
        if inner.exists(digest):
            inner.delete(digest)
            count += 1
    forget_keys(store.db, doomed)
    return count


# ------------------------------------------------------- log, tasks, models
def _appears(value: Any, needle: str) -> bool:
    """Whether ``needle`` appears in a JSON value (rule in the module docstring)."""
    if isinstance(value, str):
        return needle in value
    if isinstance(value, Mapping):
        return any(_appears(v, needle) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_appears(v, needle) for v in value)
    if isinstance(value, bool):
        return needle == str(value).lower() or needle == str(value)
    if isinstance(value, int | float):
        return needle == str(value)
    return False


def _erase_predictions(session: Any, matches: Sequence[tuple[str, str]]) -> tuple[int, int]:
    hashes = {hash_input(v) for _, v in matches} | {hash_input({c: v}) for c, v in matches}
    doomed = []
    for row in session.scalars(select(PredictionRow)):
        kept = [row.inputs, row.outputs]
        if any(_appears(kept, v) for _, v in matches) or hashes & set(row.input_hashes or []):
            doomed.append(row.id)
    if not doomed:
        return 0, 0
    feedback = 0
    for chunk in _chunks(doomed):
        feedback += _rowcount(
            session.execute(delete(FeedbackRow).where(FeedbackRow.prediction_id.in_(chunk)))
        )
        session.execute(delete(PredictionRow).where(PredictionRow.id.in_(chunk)))
    return len(doomed), feedback


def _erase_tasks(session: Any, matches: Sequence[tuple[str, str]]) -> int:
    doomed = [
        row.id
        for row in session.scalars(select(LabelingTaskRow))
        if any(_appears(row.input, v) for _, v in matches)
    ]
    for chunk in _chunks(doomed):
        session.execute(delete(AnnotationRow).where(AnnotationRow.task_id.in_(chunk)))
        session.execute(delete(LabelingTaskRow).where(LabelingTaskRow.id.in_(chunk)))
    return len(doomed)


def _trained_on(session: Any, version_ids: list[str]) -> list[dict[str, Any]]:
    if not version_ids:
        return []
    runs = session.execute(
        select(RunRow.id, RunRow.dataset_name, RunRow.dataset_version).where(
            RunRow.dataset_version_id.in_(version_ids)
        )
    ).all()
    models: dict[str, list[tuple[str | None, int | None]]] = {}
    for run_id, name, number in session.execute(
        select(ModelVersionRow.run_id, RegisteredModelRow.name, ModelVersionRow.version)
        .join(RegisteredModelRow, RegisteredModelRow.id == ModelVersionRow.model_id)
        .where(
            or_(
                ModelVersionRow.dataset_version_id.in_(version_ids),
                ModelVersionRow.run_id.in_([r[0] for r in runs] or [""]),
            )
        )
    ).all():
        models.setdefault(run_id, []).append((name, number))
    out = []
    for run_id, dataset, number in sorted(runs):
        for model, model_version in models.get(run_id) or [(None, None)]:
            out.append(
                {
                    "run_id": run_id,
                    "dataset": f"{dataset}:{number}",
                    "model": model,
                    "model_version": model_version,
                }
            )
    return out


def _chunks(ids: list[str], size: int = 500) -> Iterable[list[str]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
