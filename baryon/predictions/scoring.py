"""Batch scoring: a dataset version scored by a model version into a new version.

:func:`score_dataset` reads the parent version batch by batch
(:meth:`~baryon.data.versions.DatasetVersion.iter_batches`), scores each batch with
:func:`~baryon.predictions.inference.run_inference` (the one inference path, under the
model version's input contract) and writes it out as it goes
(:meth:`~baryon.data.versions.DatasetStore.derive`), so neither the input nor the output
table is ever whole in memory. The new version has the parent's columns plus

- ``prediction``: the label (classifiers) or the value (regressors);
- ``confidence``: the probability of that label (classifiers with probabilities).

Both get the role ``ignore`` (a scored version retrained on must not learn from its own
predictions). Lineage: parent = the scored version, operation ``score``, the model's
name, version and id in the manifest's ``lineage``. Scoring is idempotent by recipe:
the same parent scored by the same model version again returns the version made the
first time.

Where it runs is :mod:`baryon.core.engines`: on this machine, or (not built yet,
``ray_not_available``) Ray Data when ``BARYON_RAY_ADDRESS`` is set.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from baryon.core.engines import engine_for
from baryon.core.errors import InvalidInput
from baryon.data.versions import recipe_hash
from baryon.predictions.inference import RegistryModelResolver, ServedModel, run_inference

if TYPE_CHECKING:
    from baryon.data.versions import DatasetVersion
    from baryon.workspace import Workspace

__all__ = ["DEFAULT_BATCH_ROWS", "OUTPUT_COLUMNS", "SCORABLE_TASKS", "score_dataset"]

#: Rows scored per model pass (and written per record batch).
DEFAULT_BATCH_ROWS = 4096
#: The columns a scored version adds.
OUTPUT_COLUMNS = ("prediction", "confidence")
#: Tasks whose models score rows of a dataset.
SCORABLE_TASKS = ("classification", "regression", "text_classification")


def score_dataset(
    workspace: Workspace,
    model: str,
    dataset: str,
    *,
    version: int | None = None,
    output: str | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    actor: str = "system",
) -> DatasetVersion:
    """Score every row of a dataset version with a model version into a new version.

    Parameters
    ----------
    workspace : Workspace
        Its scope is the organization: the model must be its own or granted
        ``predict``, the dataset its own or granted; the new version is its own.
    model : str
        Model name (``OWNER/NAME`` for a shared one).
    dataset : str
        Dataset reference (``NAME``, ``NAME:N``) or version id.
    version : int, optional
        Model version (default: the champion).
    output : str, optional
        Dataset the new version belongs to (default: ``<parent's name>-scored``, so the
        parent dataset's latest version stays the split one training reads).
    batch_rows : int
        Rows per model pass, >= 1.
    actor : str
        Who scores (audit log).

    Returns
    -------
    DatasetVersion
        The scored version: ``row_count`` equals the parent's.

    Raises
    ------
    InvalidInput
        ``invalid_batch_rows``; ``unscorable_model`` (a recommender or a model without
        a text column to read); ``output_column_exists`` (the parent already has a
        ``prediction`` or ``confidence`` column); ``invalid_features`` (a row breaks
        the model's input contract, naming the row); ``invalid_name``.
    NotFound
        No such model, version or dataset, or not shared with the organization.
    Forbidden
        ``predict_not_granted``: the model is shared for reading only.
    ModelNotReady
        No champion, or the model cannot be loaded.
    MissingDependency
        ``ray_not_available``: ``BARYON_RAY_ADDRESS`` is set.
    """
    engine_for(workspace.settings, "baryon score")
    if isinstance(batch_rows, bool) or not isinstance(batch_rows, int) or batch_rows < 1:
        raise InvalidInput(
            f"--batch-rows must be >= 1, got {batch_rows!r}", code="invalid_batch_rows"
        )
    served = RegistryModelResolver(workspace).resolve(model, scope=workspace.scope, version=version)
    parent = workspace.datasets.resolve(dataset)
    reader = _reader(served, parent)
    clash = [c for c in OUTPUT_COLUMNS if c in parent.schema]
    if clash:
        raise InvalidInput(
            f"{parent.ref} already has a column {clash[0]!r}; scoring adds it",
            code="output_column_exists",
        )
    recipe = recipe_hash(
        {
            "operation": "score",
            "parent": parent.id,
            "model_id": served.model_id,
            "model_version": served.version,
        }
    )
    facts = {
        "operation": "score",
        "model": served.name,
        "model_version": served.version,
        "model_id": served.model_id,
        "task": served.task,
    }
    roles = {**parent.roles, **dict.fromkeys(OUTPUT_COLUMNS, "ignore")}
    return workspace.datasets.derive(
        parent,
        name=output or f"{parent.name[:93]}-scored",
        operation="score",
        recipe=recipe,
        make_batches=lambda: _scored(served, parent, reader, batch_rows),
        roles=roles,
        kept_types=parent.schema,
        extra={"lineage": facts},
        actor=actor,
    )


def _reader(served: ServedModel, parent: DatasetVersion) -> list[str]:
    """The parent's columns the model reads; refuses a model batch scoring cannot use."""
    if served.task not in SCORABLE_TASKS:
        raise InvalidInput(
            f"model {served.name!r} is a {served.task or 'custom'} model; batch scoring "
            f"takes {', '.join(SCORABLE_TASKS)} models",
            code="unscorable_model",
        )
    if served.task == "text_classification":
        text = parent.columns_with_role("text")
        if not text:
            raise InvalidInput(
                f"{parent.ref} has no column with role text for text model {served.name!r}",
                code="unscorable_model",
            )
        return text[:1]
    if not served.feature_columns:
        raise InvalidInput(
            f"model {served.name!r} does not name its features", code="unscorable_model"
        )
    # a feature the parent lacks is left out: the input contract names it per row
    return [c for c in served.feature_columns if c in parent.schema]


def _scored(
    served: ServedModel, parent: DatasetVersion, columns: list[str], batch_rows: int
) -> Iterator[pa.RecordBatch]:
    label_type = _label_type(served)
    row_offset = 0
    for batch in parent.iter_batches(batch_rows):
        if served.task == "text_classification":
            inputs: list[Any] = batch.column(columns[0]).to_pylist()
        else:
            inputs = batch.select(columns).to_pylist()
        try:
            outputs = run_inference(served, inputs).outputs
        except InvalidInput as exc:
            raise _shifted(exc, row_offset) from None
        arrays = list(batch.columns)
        names = list(batch.schema.names)
        if served.task == "regression":
            arrays.append(pa.array([o.get("value") for o in outputs], type=pa.float64()))
            names.append("prediction")
        else:
            labels = [o.get("label") for o in outputs]
            arrays.append(pa.array([_label(v, label_type) for v in labels], type=label_type))
            names.append("prediction")
            arrays.append(pa.array([_confidence(o) for o in outputs], type=pa.float64()))
            names.append("confidence")
        row_offset += batch.num_rows
        yield pa.RecordBatch.from_arrays(arrays, names=names)


def _label_type(served: ServedModel) -> pa.DataType:
    classes = served.classes or ()
    if classes and all(isinstance(c, int) and not isinstance(c, bool) for c in classes):
        return pa.int64()
    return pa.string()


def _label(value: Any, label_type: pa.DataType) -> Any:
    if value is None or label_type == pa.int64():
        return value
    return str(value)


def _confidence(output: dict[str, Any]) -> float | None:
    probabilities = output.get("probabilities")
    if not probabilities:
        return None
    value = probabilities.get(str(output.get("label")))
    return None if value is None else float(value)


def _shifted(exc: InvalidInput, offset: int) -> InvalidInput:
    """``exc`` with its row numbers counted in the whole dataset, not in the batch."""
    errors = exc.details.get("errors")
    if not offset or not isinstance(errors, list):
        return exc
    shifted = [{**e, "row": e["row"] + offset} if "row" in e else e for e in errors]
    return InvalidInput(
        f"{exc.message} (rows counted from 0 in the dataset)",
        code=exc.code,
        details={**exc.details, "errors": shifted},
    )
