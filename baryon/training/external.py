"""Bring your own model: register a scikit-learn estimator trained outside Baryon.

:func:`register_external_model` is the one domain call behind
``POST /v1/models/{name}/versions`` and ``baryon models register``. The file is a
skops archive of a fitted scikit-learn estimator; the model gets what a model trained
here gets — a tracked run with honest test metrics, and a registered version that has
to pass the promotion gate — in small steps, each testable alone::

    read      → estimator, manifest   skops, trusted types only (baryon.ml.persistence)
    prepare   → ExternalSpec          dataset version with a split, target, task, columns
    evaluate  → Evaluation            metrics on the dataset version's held-out TEST split
    record    → Run                   kind external_sklearn, params from get_params()
    register  → ModelVersion          challenger (the first version of a name: champion)

Everything that can be refused is refused before the first write: a file that is not
skops, holds an untrusted type, is too large or is not a fitted estimator; a dataset
without a split; a target or feature column the dataset lacks; a model name already
used for another task. Such a request leaves no run, no version and no artifact.

Columns
-------
Tabular models are matched to the dataset **by column name**: the estimator must have
been fitted on a pandas DataFrame (scikit-learn then keeps ``feature_names_in_``), and
every one of those columns must be in the dataset version. A model fitted on a bare
array is refused (``unnamed_features``) rather than fed columns in a guessed order.
Text classifiers (a pipeline that takes raw strings, such as ``TfidfVectorizer`` +
``LogisticRegression``) read the dataset's first ``text`` column.

Honesty of the metrics
----------------------
Metrics are computed on the dataset version's test split only. Baryon cannot know which
rows the model saw where it was trained: if those included this test split, its metrics
flatter it. The gate compares it with the champion on the same split, so the comparison
is only as fair as that split is unseen by both.

A retry is harmless: the same file on the same dataset version and target under the
same name gives back the version it made the first time (``created`` is False).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from baryon.core.errors import (
    BaryonError,
    Conflict,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    ValidationFailed,
)
from baryon.core.refs import check_name
from baryon.ml.inputs import InputContract
from baryon.training import validation as checks
from baryon.training.evaluate import (
    Evaluation,
    evaluate_classifier,
    evaluate_regressor,
    task_data,
)
from baryon.training.gates import primary_metric
from baryon.training.runs import FAILED, SUCCEEDED

if TYPE_CHECKING:
    from baryon.data.versions import DatasetVersion
    from baryon.training.model_versions import ModelVersion
    from baryon.training.runs import Run
    from baryon.workspace import Workspace

__all__ = [
    "TASKS",
    "ExternalRegistration",
    "ExternalSpec",
    "evaluate_external",
    "prepare_external",
    "read_model_file",
    "register_external_model",
]

#: The tasks an external model can serve.
TASKS = ("classification", "regression", "text_classification")


@dataclass(frozen=True)
class ExternalSpec:
    """A loaded external estimator matched to a dataset version (:func:`prepare_external`).

    Attributes
    ----------
    estimator : object
        The fitted scikit-learn estimator.
    dataset : DatasetVersion
        The dataset version (with a split) it is measured on.
    task : str
        ``classification``, ``regression`` or ``text_classification``.
    target : str
        Target column.
    feature_columns : list of str
        Tabular input columns in the estimator's order (empty for text).
    column_roles : dict of str to str
        Column → role (``target``, ``feature``, ``text``), as a trained run records it.
    text_column : str or None
        The text column of a text classifier.
    classes : list or None
        ``estimator.classes_`` of a classifier (``predict_proba`` column order).
    """

    estimator: Any
    dataset: DatasetVersion
    task: str
    target: str
    feature_columns: list[str] = field(default_factory=list)
    column_roles: dict[str, str] = field(default_factory=dict)
    text_column: str | None = None
    classes: list[Any] | None = None


@dataclass(frozen=True)
class ExternalRegistration:
    """What :func:`register_external_model` made (or found).

    Attributes
    ----------
    run : Run
        The tracked run (kind ``external_sklearn``).
    version : ModelVersion
        The registered version (``challenger``, or ``champion`` for a new name).
    created : bool
        False when the same file, dataset version and target were already registered
        under this name (that version is returned; nothing new is written).
    """

    run: Run
    version: ModelVersion
    created: bool


# ------------------------------------------------------------------------ steps
def read_model_file(path: str | Path, *, max_bytes: int) -> bytes:
    """Return the bytes of a model file, refusing one over ``max_bytes`` before reading it.

    Raises
    ------
    InvalidInput
        ``model_file_not_found``: no such file (or not a regular file).
    PayloadTooLarge
        ``model_file_too_large``.
    """
    file = Path(path)
    if not file.is_file():
        raise InvalidInput(f"no model file {str(path)!r}", code="model_file_not_found")
    size = file.stat().st_size
    if size > max_bytes:
        raise PayloadTooLarge(
            f"the model file has {size} bytes; the limit is {max_bytes} (BARYON_MAX_MODEL_BYTES)",
            code="model_file_too_large",
            details={"max_bytes": max_bytes},
        )
    return file.read_bytes()


def prepare_external(
    estimator: Any, dataset: DatasetVersion, *, target: str, task: str | None = None
) -> ExternalSpec:
    """Decide the task and the columns of ``estimator`` on ``dataset`` (writes nothing).

    Parameters
    ----------
    estimator : fitted scikit-learn estimator
    dataset : DatasetVersion
        Must have a split (its test split measures the model).
    target : str
        The dataset's target column.
    task : str, optional
        One of :data:`TASKS`; by default a regressor's is ``regression``, a classifier's
        ``classification`` (``text_classification`` when it was fitted without column
        names and the dataset has a ``text`` column).

    Returns
    -------
    ExternalSpec

    Raises
    ------
    ValidationFailed
        ``no_split``, ``no_target`` (not a column of the dataset), ``missing_role`` (a
        text classifier and no ``text`` column).
    InvalidInput
        ``invalid_task`` (unknown, or a classifier declared ``regression`` and the
        reverse), ``unknown_task`` (neither classifier nor regressor, and no ``task``),
        ``unnamed_features`` (a tabular model fitted without column names),
        ``missing_column`` (a feature the dataset lacks), ``target_is_feature``,
        ``unsupported_model`` (a classifier without ``predict_proba``/``classes_``).
    """
    if not dataset.split:
        raise checks.fail(
            "no_split",
            f"dataset {dataset.ref} has no split; split it first "
            f"(baryon data split {dataset.name} ...): the model is measured on its test split",
        )
    if target not in dataset.schema:
        raise checks.fail(
            "no_target",
            f"target column {target!r} is not in {dataset.ref} "
            f"(columns: {', '.join(dataset.schema)})",
            column=target,
        )
    task = _task_of(estimator, dataset, task)
    if task != "regression" and not (
        callable(getattr(estimator, "predict_proba", None)) and hasattr(estimator, "classes_")
    ):
        raise InvalidInput(
            f"this {type(estimator).__name__} has no predict_proba: Baryon measures "
            "classifiers by their probabilities (log loss, calibration) and serves them",
            code="unsupported_model",
        )
    classes = None
    if task != "regression":
        classes = [_plain(c) for c in estimator.classes_]
    if task == "text_classification":
        texts = dataset.columns_with_role("text")
        if not texts:
            raise checks.fail("missing_role", "no column has role text", role="text")
        return ExternalSpec(
            estimator=estimator,
            dataset=dataset,
            task=task,
            target=target,
            column_roles={target: "target", texts[0]: "text"},
            text_column=texts[0],
            classes=classes,
        )
    features = _feature_columns(estimator, dataset, target)
    return ExternalSpec(
        estimator=estimator,
        dataset=dataset,
        task=task,
        target=target,
        feature_columns=features,
        column_roles={target: "target", **dict.fromkeys(features, "feature")},
        classes=classes,
    )


def evaluate_external(spec: ExternalSpec) -> Evaluation:
    """Measure ``spec``'s estimator on its dataset version's **test** split.

    Raises
    ------
    ValidationFailed
        ``empty_split`` (no labelled test row), ``unseen_label`` (a test label the
        classifier does not know).
    InvalidInput
        ``evaluation_failed``: the estimator failed on the test rows (wrong column
        types, for example); the message names the error's type only.
    """
    frame = spec.dataset.to_pandas(split="test")
    data = task_data(
        frame,
        spec.task,
        feature_columns=spec.feature_columns,
        target=spec.target,
        text_column=spec.text_column,
    )
    if len(data) == 0:
        raise checks.fail(
            "empty_split", f"the test split of {spec.dataset.ref} has no labelled row"
        )
    assert data.y is not None
    try:
        if spec.task == "regression":
            evaluation = evaluate_regressor(spec.estimator, data.X, data.y)
        else:
            evaluation = evaluate_classifier(spec.estimator, data.X, data.y, task=spec.task)
    except BaryonError:
        raise
    except Exception as exc:  # the user's estimator, on the user's data
        raise InvalidInput(
            f"the model failed on the test rows of {spec.dataset.ref} ({type(exc).__name__}); "
            "check that the dataset's columns have the types it was trained on",
            code="evaluation_failed",
        ) from None
    evaluation.report["dropped_rows"] = data.dropped
    return evaluation


# --------------------------------------------------------------------- workflow
def register_external_model(
    ws: Workspace,
    name: str,
    payload: bytes,
    *,
    dataset: str,
    target: str,
    task: str | None = None,
    actor: str = "system",
) -> ExternalRegistration:
    """Register a scikit-learn model trained elsewhere as the next version of ``name``.

    See the module docstring for the steps, the checks and what is written.

    Parameters
    ----------
    ws : Workspace
        The caller's organization's view (:meth:`Workspace.for_org`): the dataset
        resolves in it, and the run and version are that organization's.
    name : str
        Model name (created on first use; then its first version is ``champion``).
    payload : bytes
        The skops file (at most ``settings.max_model_bytes``).
    dataset : str
        Dataset reference (``NAME`` for the latest version) with a split.
    target : str
        Target column.
    task : str, optional
        One of :data:`TASKS` (default: from the estimator, see :func:`prepare_external`).
    actor : str
        Recorded with the version, the alias move and the audit event.

    Returns
    -------
    ExternalRegistration

    Raises
    ------
    InvalidInput
        ``invalid_model_name``; ``invalid_model_file``, ``untrusted_model``
        (:func:`baryon.ml.persistence.read_external_model`); the column and task codes
        of :func:`prepare_external` and :func:`evaluate_external`.
    ValidationFailed
        With the check as its code: ``no_split``, ``no_target``, ``missing_role``,
        ``empty_split``, ``unseen_label``.
    PayloadTooLarge
        ``model_file_too_large``.
    NotFound
        No such dataset or version.
    Conflict
        ``task_mismatch``: ``name`` is registered for another task.
    """
    from baryon.ml.persistence import read_external_model

    check_name(name, kind="model")
    try:
        estimator, manifest = read_external_model(payload, max_bytes=ws.settings.max_model_bytes)
        version = ws.datasets.resolve(dataset)
        spec = prepare_external(estimator, version, target=target, task=task)
        found = _registered_before(ws, name, manifest["sha256"], spec)
        if found is not None:
            return ExternalRegistration(run=ws.runs.get(found.run_id), version=found, created=False)
        _check_task(ws, name, spec.task)
        started = ws.clock.monotonic()
        evaluation = evaluate_external(spec)
    except ValidationFailed as exc:  # the check's name is the code (no run to carry it)
        check = str(exc.details.get("check") or exc.code)
        raise ValidationFailed(exc.message, code=check, details=exc.details) from None
    manifest["extra"] = {
        "dataset_version_id": version.id,
        "task": spec.task,
        "target": spec.target,
        "feature_columns": spec.feature_columns,
        "column_roles": spec.column_roles,
        "classes": spec.classes,
    }
    run = _record(ws, spec, manifest, payload, evaluation, started)
    model_extra = {
        "source": "external",
        "estimator_class": manifest["class"],
        "file_sha256": manifest["sha256"],
    }
    if spec.feature_columns:  # strict, typed by the dataset (baryon.ml.inputs)
        contract = InputContract.from_schema(version.schema, spec.feature_columns)
        model_extra["inputs"] = contract.to_dict()
    mv = ws.registry.register(run.id, name, actor=actor, extra=model_extra)
    run = ws.runs.update(run.id, extra={"registered": {"name": mv.name, "version": mv.version}})
    return ExternalRegistration(run=run, version=mv, created=True)


def _record(
    ws: Workspace,
    spec: ExternalSpec,
    manifest: dict[str, Any],
    payload: bytes,
    evaluation: Evaluation,
    started: float,
) -> Run:
    """Write the run: start, artifacts, metrics, then ``succeeded`` (``failed`` on error)."""
    from baryon.ml.persistence import EXTERNAL_KIND

    runs = ws.runs
    params = manifest["params"]
    seed = params.get("random_state")
    run = runs.start(
        kind=EXTERNAL_KIND,
        task=spec.task,
        params=params,
        seed=seed if isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0 else 0,
        dataset_version_id=spec.dataset.id,
        dataset_name=spec.dataset.name,
        dataset_version=spec.dataset.version,
        split=spec.dataset.split,
        target=spec.target,
        column_roles=spec.column_roles,
        feature_columns=spec.feature_columns,
    )
    try:
        runs.put_artifact(run.id, "model", payload)
        runs.put_artifact(run.id, "manifest", json.dumps(manifest, sort_keys=True).encode())
        test = evaluation.to_dict()
        report = {
            "run_id": run.id,
            "kind": EXTERNAL_KIND,
            "estimator_class": manifest["class"],
            "task": spec.task,
            "dataset": spec.dataset.ref,
            "dataset_version_id": spec.dataset.id,
            "split": "test",
            "primary_metric": primary_metric(spec.task),
            "metrics": test["metrics"],
            "test": test["report"],
            "rows": {"test": int(evaluation.report.get("n_rows", 0))},
            "notes": ["trained outside Baryon; measured on the test split only"],
        }
        runs.put_artifact(run.id, "report", _json(report))
        if "confusion_matrix" in test["report"]:
            runs.put_artifact(run.id, "confusion_matrix", _json(test["report"]["confusion_matrix"]))
        runs.update(
            run.id,
            metrics=dict(evaluation.metrics),
            extra={"classes": spec.classes, "notes": report["notes"], "source": "external"},
        )
    except Exception as exc:
        runs.finish(
            run.id,
            status=FAILED,
            duration_seconds=ws.clock.monotonic() - started,
            error=exc.message if isinstance(exc, BaryonError) else type(exc).__name__,
            error_code=getattr(exc, "code", None) or "internal_error",
        )
        raise
    return runs.finish(run.id, status=SUCCEEDED, duration_seconds=ws.clock.monotonic() - started)


# ---------------------------------------------------------------------- helpers
def _task_of(estimator: Any, dataset: DatasetVersion, task: str | None) -> str:
    from sklearn.base import is_classifier, is_regressor

    nature = (
        "classifier" if is_classifier(estimator) else "regressor" if is_regressor(estimator) else ""
    )
    if task is not None:
        if task not in TASKS:
            raise InvalidInput(
                f"unknown task {task!r}; one of {', '.join(TASKS)}", code="invalid_task"
            )
        if (nature == "classifier" and task == "regression") or (
            nature == "regressor" and task != "regression"
        ):
            raise InvalidInput(
                f"a {type(estimator).__name__} is a {nature}; it cannot serve task {task!r}",
                code="invalid_task",
            )
        return task
    if nature == "regressor":
        return "regression"
    if nature != "classifier":
        raise InvalidInput(
            f"cannot tell whether a {type(estimator).__name__} classifies or regresses; "
            f"give the task ({', '.join(TASKS)})",
            code="unknown_task",
        )
    if not hasattr(estimator, "feature_names_in_") and dataset.columns_with_role("text"):
        return "text_classification"
    return "classification"


def _feature_columns(estimator: Any, dataset: DatasetVersion, target: str) -> list[str]:
    names = getattr(estimator, "feature_names_in_", None)
    if names is None:
        raise InvalidInput(
            f"this {type(estimator).__name__} was fitted without column names: fit it on a "
            "pandas DataFrame whose columns are the dataset's, so that Baryon matches "
            "columns by name",
            code="unnamed_features",
        )
    features = [str(c) for c in names]
    missing = [c for c in features if c not in dataset.schema]
    if missing:
        raise InvalidInput(
            f"the model uses column(s) {', '.join(map(repr, missing))} that {dataset.ref} "
            f"does not have (columns: {', '.join(dataset.schema)})",
            code="missing_column",
            details={"missing": missing},
        )
    if target in features:
        raise InvalidInput(
            f"the target {target!r} is one of the model's input columns", code="target_is_feature"
        )
    return features


def _registered_before(
    ws: Workspace, name: str, sha256: str, spec: ExternalSpec
) -> ModelVersion | None:
    """The caller's version of ``name`` made from these bytes on this data, if any."""
    try:
        versions = ws.registry.list_versions(name)
    except NotFound:
        return None
    for mv in versions:
        if (
            ws.scope.owns(mv.org_id)
            and mv.artifact_digest == sha256
            and mv.dataset_version_id == spec.dataset.id
            and mv.target == spec.target
            and mv.task == spec.task
        ):
            return mv
    return None


def _check_task(ws: Workspace, name: str, task: str) -> None:
    """Refuse, before any write, a name the caller registered for another task."""
    for model in ws.registry.list_models():
        if model.name == name and ws.scope.owns(model.org_id) and model.task != task:
            raise Conflict(
                f"model {name!r} is a {model.task} model; this one does {task}",
                code="task_mismatch",
            )


def _plain(value: Any) -> Any:
    """A class label as a plain Python value (numpy scalars become int/float/str/bool)."""
    return value.item() if hasattr(value, "item") else value


def _json(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, allow_nan=False, default=str).encode()
