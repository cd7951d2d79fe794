"""Evaluation: honest metrics of a fitted model on held-out rows.

Training measures on the dataset version's stored **test** split only; ``baryon models
evaluate`` measures a registered version on an external labelled file; the promotion
gate (:mod:`baryon.training.promotion`) re-measures two versions on one split. All
three go through this module. Dependencies point one way: promotion imports this
module, this module uses the registry only through its public methods, and the
registry never imports it.

What is measured
----------------
- classification (tabular and text): ``accuracy``, ``macro_f1``, ``log_loss``, ``ece``
  (top-label expected calibration error, 15 bins) in the flat metrics; per-class
  precision/recall/F1/support and the confusion matrix (rows = true class, columns =
  predicted, in ``classes`` order) in the report. With a ``handoff_threshold`` in the
  version's ``extra`` and rows labelled ``oos``: the usual metrics on the in-scope rows,
  plus ``in_scope_accuracy`` (a hand-off — max probability < threshold — counts as wrong)
  and ``oos_recall`` (share of ``oos`` rows handed off).
- regression: ``rmse``, ``mae``, ``r2``.
- recommendation: ``precision_at_10``, ``recall_at_10``, ``ndcg_at_10``,
  ``hit_rate_at_10``, ``map_at_10``, ``catalogue_coverage`` under the protocol of
  :mod:`baryon.training.metrics` (relevant = rating ≥ 4; the user's training items are
  excluded from the candidates; averaged over users with at least one relevant test item).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from baryon.core.errors import InvalidInput
from baryon.core.jsonvalues import to_jsonable
from baryon.core.refs import parse_ref
from baryon.training import metrics as m
from baryon.training.validation import fail

if TYPE_CHECKING:
    from baryon.data.versions import DatasetStore
    from baryon.training.model_versions import LoadedModel, ModelVersion
    from baryon.training.registry import ModelRegistry

__all__ = [
    "DEFAULT_K",
    "DEFAULT_THRESHOLD",
    "OOS_LABEL",
    "Evaluation",
    "TaskData",
    "evaluate_classifier",
    "evaluate_file",
    "evaluate_model",
    "evaluate_on_dataset",
    "evaluate_recommender",
    "evaluate_regressor",
    "task_data",
    "training_interactions",
]

#: Ranking cut-off of the stored metrics.
DEFAULT_K = 10
#: A held-out interaction is relevant when its rating is at least this.
DEFAULT_THRESHOLD = 4.0
#: Label of out-of-scope rows in support evaluation files.
OOS_LABEL = "oos"
_ECE_BINS = 15


@dataclass(frozen=True)
class Evaluation:
    """Metrics of one model on one set of rows.

    Attributes
    ----------
    task : str
        ``classification``, ``text_classification``, ``regression`` or ``recommendation``.
    metrics : dict of str to float
        Flat metric name → value (NaN when undefined).
    report : dict
        Everything else: row counts, per-class scores, confusion matrix, protocol.
    truth, predictions : ndarray of shape (n_rows,) or None
        Classifiers only: each row's true label (aligned with the model's classes)
        and predicted label, for paired statistics across models (the flywheel's
        bootstrap intervals). Not part of :meth:`to_dict`.
    """

    task: str
    metrics: dict[str, float]
    report: dict[str, Any] = field(default_factory=dict)
    truth: np.ndarray | None = field(default=None, repr=False, compare=False)
    predictions: np.ndarray | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"task", "metrics", "report"}`` ready for JSON (NaN becomes None)."""
        return {
            "task": self.task,
            "metrics": to_jsonable(self.metrics),
            "report": to_jsonable(self.report),
        }


@dataclass
class TaskData:
    """The rows of one split in the shape an estimator takes.

    Attributes
    ----------
    X : pandas.DataFrame or list of str or None
        Features (tabular: DataFrame of ``feature_columns``; text: list of texts).
    y : pandas.Series or None
        Targets (tabular and text).
    interactions : pandas.DataFrame or None
        ``user``, ``item`` (and ``rating``) columns (recommenders).
    dropped : int
        Rows dropped because their target (or user/item) was missing.
    """

    X: Any = None
    y: pd.Series | None = None
    interactions: pd.DataFrame | None = None
    dropped: int = 0

    def __len__(self) -> int:
        if self.interactions is not None:
            return len(self.interactions)
        return 0 if self.y is None else len(self.y)


# ----------------------------------------------------------------- column selection
def task_data(
    frame: pd.DataFrame,
    task: str,
    *,
    feature_columns: list[str] | None = None,
    target: str | None = None,
    text_column: str | None = None,
    user: str | None = None,
    item: str | None = None,
    rating: str | None = None,
) -> TaskData:
    """Select (and rename) the columns ``task`` needs from ``frame``.

    Rows whose target (tabular, text) or user/item (recommendation) is missing are
    dropped and counted; missing text becomes the empty string.

    Raises
    ------
    InvalidInput
        A needed column is not in ``frame`` (code ``missing_column``).
    """
    needed = [c for c in [*(feature_columns or []), target, text_column, user, item, rating] if c]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise InvalidInput(
            f"column(s) {', '.join(map(repr, missing))} missing; the file has "
            f"{', '.join(map(str, frame.columns))}",
            code="missing_column",
            details={"missing": missing},
        )
    if task == "recommendation":
        cols = {user: "user", item: "item"} | ({rating: "rating"} if rating else {})
        inter = frame[list(cols)].rename(columns=cols)
        keep = inter["user"].notna() & inter["item"].notna()
        inter = inter[keep].reset_index(drop=True)
        return TaskData(interactions=inter, dropped=int((~keep).sum()))
    if target is None:
        raise InvalidInput("no target column", code="no_target")
    keep = frame[target].notna()
    rows = frame[keep].reset_index(drop=True)
    y = rows[target]
    if task == "text_classification":
        if text_column is None:
            raise InvalidInput("no text column", code="no_text_column")
        X: Any = rows[text_column].fillna("").astype(str).tolist()
    else:
        X = rows[list(feature_columns or [])]
    return TaskData(X=X, y=y, dropped=int((~keep).sum()))


def _align_labels(y: pd.Series, classes: list[Any]) -> pd.Series:
    """Make file labels comparable with the model's classes (``"1"`` vs ``1``)."""
    if not classes or y.empty:
        return y
    if all(isinstance(c, str) for c in classes):
        return y.map(lambda v: v if isinstance(v, str) else str(v))
    if all(isinstance(c, int | np.integer | float | np.floating) for c in classes):
        converted = pd.to_numeric(y, errors="coerce")
        if converted.notna().all():
            return converted
    return y


# ------------------------------------------------------------------ the measures
def evaluate_classifier(
    estimator: Any,
    X: Any,
    y: pd.Series | np.ndarray,
    *,
    task: str = "classification",
    handoff_threshold: float | None = None,
    oos_label: str = OOS_LABEL,
) -> Evaluation:
    """Measure a fitted classifier on labelled rows.

    Parameters
    ----------
    estimator : classifier
        Has ``predict_proba`` and ``classes_``.
    X : DataFrame of shape (n_samples, n_features) or list of str
        Rows to classify.
    y : array-like of shape (n_samples,)
        True labels; all must be known classes, except ``oos_label`` rows when
        ``handoff_threshold`` is given.
    task : str
        Recorded task name.
    handoff_threshold : float, optional
        Confidence below which the model hands off; adds ``in_scope_accuracy`` and
        ``oos_recall`` (contracts.md, "model extras").
    oos_label : str
        Label of out-of-scope rows.

    Returns
    -------
    Evaluation

    Raises
    ------
    ValidationFailed
        A label never seen in training (check ``unseen_label``).
    """
    classes = list(np.asarray(estimator.classes_).tolist())
    # plain (not object) arrays: scikit-learn cannot type object arrays of numbers
    y_arr = np.asarray(_align_labels(pd.Series(list(y), dtype=object), classes).tolist())
    proba = np.asarray(estimator.predict_proba(X), dtype=np.float64)
    confidence = proba.max(axis=1)
    pred = np.asarray(np.asarray(estimator.predict(X)).tolist())
    is_oos = (
        np.array([v == oos_label for v in y_arr], dtype=bool)
        if handoff_threshold is not None and oos_label not in classes
        else np.zeros(len(y_arr), dtype=bool)
    )
    known = set(classes)
    unseen = sorted(
        {str(v) for v, o in zip(y_arr, is_oos, strict=True) if not o and v not in known}
    )
    if unseen:
        raise fail(
            "unseen_label",
            f"label(s) never seen in training: {', '.join(unseen[:5])}",
            labels=unseen,
        )
    inside = ~is_oos
    report: dict[str, Any] = {"n_rows": len(y_arr), "classes": [str(c) for c in classes]}
    metrics: dict[str, float] = {}
    if inside.any():
        yt, yp, pr = y_arr[inside], pred[inside], proba[inside]
        metrics["accuracy"] = m.accuracy(yt, yp)
        metrics["macro_f1"] = m.macro_f1(yt, yp)
        metrics["log_loss"] = m.log_loss(yt, _renormalise(pr), labels=classes)
        metrics["ece"] = m.expected_calibration_error(yt, pr, n_bins=_ECE_BINS, labels=classes)
        report["per_class"] = m.per_class_prf(yt, yp, labels=classes)
        report["confusion_matrix"] = {
            "labels": [str(c) for c in classes],
            "matrix": m.confusion_matrix(yt, yp, labels=classes).tolist(),
        }
    if handoff_threshold is not None:
        handed_off = confidence < handoff_threshold
        correct = (pred == y_arr) & ~handed_off
        metrics["in_scope_accuracy"] = float(correct[inside].mean()) if inside.any() else np.nan
        metrics["oos_recall"] = float(handed_off[is_oos].mean()) if is_oos.any() else np.nan
        report["handoff"] = {
            "threshold": float(handoff_threshold),
            "oos_label": oos_label,
            "oos_rows": int(is_oos.sum()),
            "in_scope_rows": int(inside.sum()),
            "handed_off": int(handed_off.sum()),
        }
    return Evaluation(task=task, metrics=metrics, report=report, truth=y_arr, predictions=pred)


def _renormalise(proba: np.ndarray) -> np.ndarray:
    """Clip tiny float drift so rows sum to exactly 1 (log loss checks it)."""
    sums = proba.sum(axis=1, keepdims=True)
    sums[sums == 0] = 1.0
    return proba / sums


def evaluate_regressor(estimator: Any, X: Any, y: pd.Series | np.ndarray) -> Evaluation:
    """Measure a fitted regressor: RMSE and MAE (target units) and R².

    R² is NaN (with a note in the report) when the true values are constant.
    """
    y_true = np.asarray(y, dtype=np.float64)
    y_pred = np.asarray(estimator.predict(X), dtype=np.float64)
    report: dict[str, Any] = {"n_rows": len(y_true)}
    metrics = {"rmse": m.rmse(y_true, y_pred), "mae": m.mae(y_true, y_pred)}
    try:
        metrics["r2"] = m.r2(y_true, y_pred)
    except InvalidInput as exc:
        metrics["r2"] = float("nan")
        report["r2_note"] = exc.message
    return Evaluation(task="regression", metrics=metrics, report=report)


def evaluate_recommender(
    estimator: Any,
    test: pd.DataFrame,
    *,
    train: pd.DataFrame | None = None,
    k: int = DEFAULT_K,
    threshold: float | None = DEFAULT_THRESHOLD,
) -> Evaluation:
    """Measure a fitted recommender on held-out interactions (ranking protocol).

    Parameters
    ----------
    estimator : recommender
        Fitted on ``train``; ``recommend(..., filter_seen=True)`` excludes what it saw.
    test : pandas.DataFrame
        Held-out ``user``, ``item`` (and ``rating``) rows.
    train : pandas.DataFrame, optional
        The training interactions; held-out rows that repeat one are dropped (a known
        interaction is not held out) and counted in the report.
    k : int
        Cut-off.
    threshold : float or None
        Relevance threshold; None (or no ``rating`` column) makes every held-out row
        relevant.

    Returns
    -------
    Evaluation
        Metrics ``precision_at_k`` ... with ``k`` written out (``ndcg_at_10``).
    """
    repeated = 0
    if train is not None and not train.empty and not test.empty:
        seen = pd.MultiIndex.from_frame(train[["user", "item"]])
        mask = pd.MultiIndex.from_frame(test[["user", "item"]]).isin(seen)
        repeated = int(mask.sum())
        test = test[~mask]
    if threshold is not None and "rating" not in test.columns:
        threshold = None
    raw = m.evaluate_recommender(estimator, test, k=k, threshold=threshold)
    metrics = {
        f"{name}_at_{k}": float(raw[f"{name}_at_k"])
        for name in ("precision", "recall", "ndcg", "hit_rate", "map")
    }
    metrics["catalogue_coverage"] = float(raw["catalogue_coverage"])
    report = {
        "n_rows": len(test),
        "k": k,
        "threshold": threshold,
        "n_users": int(raw["n_users"]),
        "n_users_skipped": int(raw["n_users_skipped"]),
        "cold_users": int(raw.get("cold_users", 0)),
        "dropped_training_interactions": repeated,
        "protocol": "relevant = rating >= threshold; training items excluded; "
        "averaged over users with >= 1 relevant test item",
    }
    return Evaluation(task="recommendation", metrics=metrics, report=report)


# ------------------------------------------------------------ registered versions
def _columns_of(version: ModelVersion, roles: Mapping[str, str] | None) -> dict[str, Any]:
    """Role → column for ``version``, with ``roles`` (column → role) overriding."""
    by_role: dict[str, Any] = {}
    for column, role in version.column_roles.items():
        by_role.setdefault(role, column)
    if version.target is not None:
        by_role["target"] = version.target
    for column, role in (roles or {}).items():
        if role in ("label", "rating") and version.task != "recommendation":
            role = "target"
        if role not in ("target", "text", "user", "item", "rating"):
            raise InvalidInput(
                f"--role {column}={role}: only target/label, text, user, item and rating "
                "columns can be renamed (feature columns keep their training names)",
                code="invalid_role",
            )
        by_role[role] = column
    return by_role


def evaluate_model(
    loaded: LoadedModel,
    frame: pd.DataFrame,
    *,
    roles: Mapping[str, str] | None = None,
    training: pd.DataFrame | None = None,
) -> Evaluation:
    """Measure a registered version on ``frame`` (labelled rows with training's columns).

    Parameters
    ----------
    loaded : LoadedModel
        From :meth:`ModelRegistry.load`.
    frame : pandas.DataFrame
        Labelled rows (tabular/text) or held-out interactions of known users
        (recommendation), with the training column names.
    roles : mapping of str to str, optional
        Column → role overrides for this frame (``{"body": "text"}``).
    training : pandas.DataFrame, optional
        Training interactions (``user``, ``item``) of a recommender: held-out rows
        repeating one are dropped.

    Raises
    ------
    InvalidInput
        Missing columns, bad roles, or no usable rows (code ``empty_file``).
    ValidationFailed
        Labels never seen in training.
    """
    version = loaded.version
    cols = _columns_of(version, roles)
    data = task_data(
        frame,
        version.task,
        feature_columns=version.feature_columns,
        target=cols.get("target"),
        text_column=cols.get("text"),
        user=cols.get("user"),
        item=cols.get("item"),
        rating=cols.get("rating"),
    )
    if len(data) == 0:
        raise InvalidInput("no labelled rows to evaluate on", code="empty_file")
    estimator = loaded.estimator
    if version.task == "recommendation":
        assert data.interactions is not None
        evaluation = evaluate_recommender(estimator, data.interactions, train=training)
    elif version.task == "regression":
        assert data.y is not None
        evaluation = evaluate_regressor(estimator, data.X, data.y)
    else:
        assert data.y is not None
        threshold = version.extra.get("handoff_threshold")
        evaluation = evaluate_classifier(
            estimator,
            data.X,
            data.y,
            task=version.task,
            handoff_threshold=None if threshold is None else float(threshold),
        )
    evaluation.report["dropped_rows"] = data.dropped
    return evaluation


def training_interactions(store: DatasetStore, version: ModelVersion) -> pd.DataFrame:
    """Return the training interactions (``user``, ``item``) of a recommender version."""
    dataset = store.get_by_id(version.dataset_version_id)
    cols = _columns_of(version, None)
    train = dataset.to_pandas(split="train")
    return train[[cols["user"], cols["item"]]].set_axis(["user", "item"], axis=1)


def evaluate_on_dataset(
    loaded: LoadedModel,
    datasets: DatasetStore,
    *,
    dataset: str | None = None,
    default_dataset_version_id: str | None = None,
    split: str = "test",
    all_rows_without_split: bool = False,
) -> tuple[Evaluation, dict[str, Any]]:
    """Measure a loaded version on a dataset version's test split (used by the gate).

    Parameters
    ----------
    loaded : LoadedModel
        The version to measure, from :meth:`ModelRegistry.load`.
    datasets : DatasetStore
        Where the dataset versions (and a recommender's training interactions) live.
    dataset : str, optional
        A dataset reference (``NAME``, ``NAME:N``) or version id: its test split
        (all of its rows if it has no split and ``all_rows_without_split``: the gate's
        named evaluation dataset; otherwise ``no_split``).
    default_dataset_version_id : str, optional
        Used when ``dataset`` is None (default: the version's own dataset version).
    split : {"test", "validation", "train"}
        The split to measure on (default ``test``). A dataset version without a split
        is measured on all its rows when ``test`` is asked for.

    Returns
    -------
    (Evaluation, dict)
        The evaluation and where it was measured (``dataset_version_id``, ``dataset``,
        ``split``).

    Raises
    ------
    NotFound
        No such dataset or dataset version.
    InvalidInput, ValidationFailed
        The rows do not fit the version (see :func:`evaluate_model`); ``invalid_split``
        (an unknown split name); ``no_split`` (``validation`` or ``train`` asked of a
        dataset version without a split).
    """
    version = loaded.version
    if dataset is not None:
        target = datasets.resolve(dataset)
    else:
        target = datasets.get_by_id(default_dataset_version_id or version.dataset_version_id)
    chosen: str | None = split
    if not target.split and split == "test" and all_rows_without_split:
        chosen = None  # all rows (documented for the gate's evaluation dataset)
    frame = target.to_pandas(split=chosen)
    training = (
        training_interactions(datasets, version) if version.task == "recommendation" else None
    )
    evaluation = evaluate_model(loaded, frame, training=training)
    where = {
        "dataset_version_id": target.id,
        "dataset": target.ref,
        "split": chosen or "all rows",
    }
    return evaluation, where


def evaluate_file(
    registry: ModelRegistry,
    ref: str,
    path: Any,
    *,
    roles: Mapping[str, str] | None = None,
    format: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
) -> tuple[ModelVersion, Evaluation]:
    """Measure a registered version on an external labelled file.

    Parameters
    ----------
    registry : ModelRegistry
        Where the model lives.
    ref : str
        A model reference: ``NAME`` (champion), ``NAME@ALIAS`` or ``NAME:VERSION``.
    path : str or Path
        A file :func:`baryon.data.sources.read_table` reads (CSV, JSON lines, Parquet,
        Excel ...) with the training column names; for recommenders, held-out
        interactions of known users (the training interactions come from the
        version's dataset version and are excluded).
    roles : mapping of str to str, optional
        Column → role overrides (``{"body": "text", "intent": "label"}``).
    format, delimiter, encoding : str, optional
        Passed to ``read_table``.

    Returns
    -------
    (ModelVersion, Evaluation)

    Raises
    ------
    NotFound, ModelNotReady
        No such model/version (or another organization's), or the alias points
        nowhere.
    InvalidFile, InvalidInput
        Malformed reference (``invalid_ref``), unreadable file, missing columns, no
        labelled rows.
    ValidationFailed
        Labels never seen in training.
    """
    model = parse_ref(ref, kind="model")
    name = model.name if model.owner is None else f"{model.owner}/{model.name}"
    loaded = registry.load(name, version=model.version, alias=model.alias or "champion")
    from baryon.data.sources import read_table

    frame = read_table(path, format=format, delimiter=delimiter, encoding=encoding)
    training = None
    if loaded.version.task == "recommendation":
        from baryon.core.encryption import FileKeyProvider
        from baryon.data.versions import DatasetStore

        settings = registry.settings
        keys = None if settings is None else FileKeyProvider(settings.resolved_kek_file)
        store = DatasetStore(
            registry.db, registry.artifacts, registry.clock, scope=registry.scope, keys=keys
        )
        training = training_interactions(store, loaded.version)
    return loaded.version, evaluate_model(loaded, frame, roles=roles, training=training)
