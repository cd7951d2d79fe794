"""Evaluation metrics: classification, calibration, regression and top-k ranking.

Classification and regression metrics wrap scikit-learn (same definitions, Baryon's
errors). Ranking metrics are Baryon's own and take **one user's** ranked list and relevant
set; :func:`evaluate_ranking` averages them over users.

Ranking protocol (used by training, ``models evaluate`` and the benchmarks)
---------------------------------------------------------------------------
1. A held-out interaction is **relevant** when its rating is ≥ ``threshold`` (default 4 on
   a 5-point scale); see :func:`relevant_sets`.
2. Each user's **training items are excluded from the candidates** (``recommend(...,
   filter_seen=True)``), so a model is never rewarded for repeating known interactions.
3. Metrics are computed at cut-off ``k`` per user and **averaged over users with at least
   one relevant test item**; other users are skipped (counted in ``n_users_skipped``).
   Catalogue coverage is computed over the lists of every user passed in.

Definitions for one user with ranked list L (length ≥ k; ``None`` pads never match) and
relevant set R ≠ ∅, hit_r = [L_r ∈ R]:

* precision@k = Σ_{r≤k} hit_r / k (k, not |L|, even when fewer items were recommended)
* recall@k    = Σ_{r≤k} hit_r / |R|
* hit_rate@k  = [Σ_{r≤k} hit_r > 0]
* NDCG@k      = DCG / IDCG, DCG = Σ_{r≤k} hit_r / log2(r + 1), IDCG = Σ_{r≤min(k,|R|)}
  1 / log2(r + 1) (binary relevance; Järvelin & Kekäläinen, ACM TOIS 20(4), 2002)
* MAP@k       = Σ_{r≤k} hit_r · precision@r / min(k, |R|) (normalised so a perfect list
  scores 1 even when |R| > k)
* catalogue coverage = |∪_users top-k ∩ catalogue| / |catalogue|
"""

from __future__ import annotations

import math
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from sklearn import metrics as skm

from baryon.core.errors import InvalidInput

__all__ = [
    "accuracy",
    "catalogue_coverage",
    "confusion_matrix",
    "evaluate_ranking",
    "evaluate_recommender",
    "expected_calibration_error",
    "hit_rate_at_k",
    "log_loss",
    "macro_f1",
    "mae",
    "map_at_k",
    "ndcg_at_k",
    "per_class_prf",
    "precision_at_k",
    "r2",
    "recall_at_k",
    "relevant_sets",
    "rmse",
]


# -- input checks ----------------------------------------------------------------------------
def _pair(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(y_true)
    b = np.asarray(y_pred)
    if a.ndim != 1 or len(a) == 0:
        raise InvalidInput("y_true must be a non-empty 1-d array", code="empty")
    if len(a) != len(b):
        raise InvalidInput(
            f"y_true has {len(a)} values but y_pred has {len(b)}", code="length_mismatch"
        )
    return a, b


def _numeric(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    a, b = _pair(y_true, y_pred)
    try:
        a, b = a.astype(np.float64), b.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInput("regression metrics need numbers", code="not_numeric") from exc
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise InvalidInput("regression metrics need finite numbers", code="not_finite")
    return a, b


def _check_k(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k <= 0:
        raise InvalidInput(f"k must be a positive integer, got {k!r}", code="bad_k")
    return int(k)


# -- classification --------------------------------------------------------------------------
def accuracy(y_true: Any, y_pred: Any) -> float:
    """Share of predictions equal to the truth (``sklearn.metrics.accuracy_score``).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)

    Returns
    -------
    float in [0, 1]

    Raises
    ------
    InvalidInput
        ``empty`` or ``length_mismatch``.
    """
    a, b = _pair(y_true, y_pred)
    return float(skm.accuracy_score(a, b))


def macro_f1(y_true: Any, y_pred: Any) -> float:
    """Unweighted mean of per-class F1 over the classes in ``y_true`` ∪ ``y_pred``.

    A class never predicted (or never present) has F1 0 (``zero_division=0``).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)

    Returns
    -------
    float in [0, 1]
    """
    a, b = _pair(y_true, y_pred)
    return float(skm.f1_score(a, b, average="macro", zero_division=0))


def per_class_prf(
    y_true: Any, y_pred: Any, *, labels: Sequence[Hashable] | None = None
) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and support for each class.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
    labels : sequence, optional
        Classes to report, in this order; default the sorted union of both arrays.

    Returns
    -------
    dict
        ``{str(label): {"precision", "recall", "f1", "support"}}`` (JSON-ready keys;
        ``support`` is the number of true samples of the class; 0/0 gives 0).
    """
    a, b = _pair(y_true, y_pred)
    chosen = list(labels) if labels is not None else sorted(set(a.tolist()) | set(b.tolist()))
    p, r, f, s = skm.precision_recall_fscore_support(a, b, labels=chosen, zero_division=0)
    return {
        str(label): {
            "precision": float(p[n]),
            "recall": float(r[n]),
            "f1": float(f[n]),
            "support": float(s[n]),
        }
        for n, label in enumerate(chosen)
    }


def confusion_matrix(
    y_true: Any, y_pred: Any, *, labels: Sequence[Hashable] | None = None
) -> np.ndarray:
    """Counts C[i, j] of samples of true class i predicted as class j.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
    labels : sequence, optional
        Row/column order; default the sorted union of both arrays.

    Returns
    -------
    ndarray of int64, shape (n_classes, n_classes)
    """
    a, b = _pair(y_true, y_pred)
    chosen = list(labels) if labels is not None else sorted(set(a.tolist()) | set(b.tolist()))
    return np.asarray(skm.confusion_matrix(a, b, labels=chosen), dtype=np.int64)


def _proba(y_true: Any, proba: Any, labels: Sequence[Hashable] | None) -> tuple[np.ndarray, ...]:
    a = np.asarray(y_true)
    p = np.asarray(proba, dtype=np.float64)
    if a.ndim != 1 or len(a) == 0:
        raise InvalidInput("y_true must be a non-empty 1-d array", code="empty")
    if p.ndim == 1:
        p = np.column_stack([1.0 - p, p])
    if p.ndim != 2 or p.shape[0] != len(a):
        raise InvalidInput(
            f"proba must have shape ({len(a)}, n_classes), got {p.shape}", code="length_mismatch"
        )
    classes = np.asarray(list(labels) if labels is not None else sorted(set(a.tolist())))
    if len(classes) != p.shape[1]:
        raise InvalidInput(
            f"{p.shape[1]} probability columns but {len(classes)} classes; pass labels",
            code="length_mismatch",
        )
    if not np.all(np.isfinite(p)) or p.min() < 0 or p.max() > 1:
        raise InvalidInput("probabilities must lie in [0, 1]", code="bad_proba")
    return a, p, classes


def log_loss(y_true: Any, proba: Any, *, labels: Sequence[Hashable] | None = None) -> float:
    """Mean negative log-likelihood of the true class (natural log, ``sklearn`` log_loss).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    proba : array-like of shape (n_samples, n_classes) or (n_samples,)
        Class probabilities in ``labels`` order (a 1-d array is P(second class)).
    labels : sequence, optional
        Column order of ``proba``; default the sorted classes of ``y_true``.

    Returns
    -------
    float ≥ 0

    Raises
    ------
    InvalidInput
        ``empty``, ``length_mismatch``, ``bad_proba`` (outside [0, 1] or rows not
        summing to 1).
    """
    a, p, classes = _proba(y_true, proba, labels)
    if not np.allclose(p.sum(axis=1), 1.0, atol=1e-6):
        raise InvalidInput("probability rows must sum to 1", code="bad_proba")
    try:
        return float(skm.log_loss(a, p, labels=list(classes)))
    except ValueError as exc:
        raise InvalidInput(str(exc), code="bad_proba") from exc


def expected_calibration_error(
    y_true: Any, proba: Any, *, n_bins: int = 15, labels: Sequence[Hashable] | None = None
) -> float:
    """Top-label expected calibration error (Guo et al., ICML 2017, eq. 3).

    The confidence of a sample is its largest class probability; samples fall into
    ``n_bins`` equal-width bins over [0, 1], bin b holding confidences in
    ((b−1)/n_bins, b/n_bins] (the first bin also holds 0). Then

        ECE = Σ_b (|B_b| / N) · |accuracy(B_b) − mean confidence(B_b)|.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    proba : array-like of shape (n_samples, n_classes) or (n_samples,)
    n_bins : int, default 15
    labels : sequence, optional
        Column order of ``proba``; default the sorted classes of ``y_true``.

    Returns
    -------
    float in [0, 1]
    """
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise InvalidInput(
            f"n_bins must be a positive integer, got {n_bins!r}", code="invalid_param"
        )
    a, p, classes = _proba(y_true, proba, labels)
    confidence = p.max(axis=1)
    correct = classes[p.argmax(axis=1)] == a
    bins = np.clip(np.ceil(confidence * n_bins).astype(np.int64) - 1, 0, n_bins - 1)
    total = 0.0
    for b in np.unique(bins):
        in_bin = bins == b
        gap = abs(float(correct[in_bin].mean()) - float(confidence[in_bin].mean()))
        total += in_bin.sum() / len(a) * gap
    return float(total)


# -- regression ------------------------------------------------------------------------------
def rmse(y_true: Any, y_pred: Any) -> float:
    """Root mean squared error √(Σ (y − ŷ)² / n), in the target's unit."""
    a, b = _numeric(y_true, y_pred)
    return float(skm.root_mean_squared_error(a, b))


def mae(y_true: Any, y_pred: Any) -> float:
    """Mean absolute error Σ |y − ŷ| / n, in the target's unit."""
    a, b = _numeric(y_true, y_pred)
    return float(skm.mean_absolute_error(a, b))


def r2(y_true: Any, y_pred: Any) -> float:
    """Coefficient of determination 1 − Σ (y − ŷ)² / Σ (y − ȳ)².

    Raises
    ------
    InvalidInput
        ``constant_target`` when y_true is constant (R² undefined), besides the
        shape errors.
    """
    a, b = _numeric(y_true, y_pred)
    if np.all(a == a[0]):
        raise InvalidInput("R² is undefined for a constant target", code="constant_target")
    return float(skm.r2_score(a, b))


# -- ranking (one user) ----------------------------------------------------------------------
def _hits(recommended: Sequence[Any], relevant: Collection[Any], k: int) -> list[bool]:
    k = _check_k(k)
    top = [item for item in list(recommended)[:k] if item is not None]
    if len(set(top)) != len(top):
        raise InvalidInput("a ranked list repeats an item", code="duplicate_item")
    return [item in relevant for item in top]


def _need_relevant(relevant: Collection[Any]) -> None:
    if len(relevant) == 0:
        raise InvalidInput("this metric needs at least one relevant item", code="no_relevant")


def precision_at_k(recommended: Sequence[Any], relevant: Collection[Any], k: int) -> float:
    """Share of the first ``k`` places holding a relevant item (module docstring).

    Parameters
    ----------
    recommended : sequence of ids
        One user's ranked list, best first (``None`` pads allowed).
    relevant : collection of ids
        That user's relevant held-out items.
    k : int
        Cut-off (> 0).

    Raises
    ------
    InvalidInput
        ``bad_k``, ``duplicate_item``.
    """
    return sum(_hits(recommended, relevant, k)) / k


def recall_at_k(recommended: Sequence[Any], relevant: Collection[Any], k: int) -> float:
    """Share of the relevant items found in the first ``k`` places.

    Raises
    ------
    InvalidInput
        ``bad_k``, ``duplicate_item``, ``no_relevant`` (empty ``relevant``).
    """
    hits = _hits(recommended, relevant, k)
    _need_relevant(relevant)
    return sum(hits) / len(relevant)


def hit_rate_at_k(recommended: Sequence[Any], relevant: Collection[Any], k: int) -> float:
    """1.0 when any of the first ``k`` places is relevant, else 0.0."""
    return 1.0 if any(_hits(recommended, relevant, k)) else 0.0


def ndcg_at_k(recommended: Sequence[Any], relevant: Collection[Any], k: int) -> float:
    """Binary-relevance NDCG with log2 discount; IDCG over min(k, |relevant|) places.

    Raises
    ------
    InvalidInput
        ``bad_k``, ``duplicate_item``, ``no_relevant``.
    """
    hits = _hits(recommended, relevant, k)
    _need_relevant(relevant)
    dcg = sum(1.0 / math.log2(rank + 2) for rank, hit in enumerate(hits) if hit)
    ideal = sum(1.0 / math.log2(rank + 2) for rank in range(min(k, len(relevant))))
    return dcg / ideal


def map_at_k(recommended: Sequence[Any], relevant: Collection[Any], k: int) -> float:
    """Average precision at k, divided by min(k, |relevant|).

    Raises
    ------
    InvalidInput
        ``bad_k``, ``duplicate_item``, ``no_relevant``.
    """
    hits = _hits(recommended, relevant, k)
    _need_relevant(relevant)
    found = 0
    total = 0.0
    for rank, hit in enumerate(hits, start=1):
        if hit:
            found += 1
            total += found / rank
    return total / min(k, len(relevant))


def catalogue_coverage(
    recommended_lists: Iterable[Sequence[Any]], catalogue: Collection[Any], k: int
) -> float:
    """Share of the catalogue appearing in at least one user's top ``k``.

    Parameters
    ----------
    recommended_lists : iterable of sequences of ids
        One ranked list per user.
    catalogue : collection of ids
        All recommendable items (non-empty); ids outside it are ignored.
    k : int

    Raises
    ------
    InvalidInput
        ``bad_k``, ``empty`` (empty catalogue).
    """
    k = _check_k(k)
    items = set(catalogue)
    if not items:
        raise InvalidInput("the catalogue is empty", code="empty")
    shown = {item for row in recommended_lists for item in list(row)[:k] if item is not None}
    return len(shown & items) / len(items)


# -- protocol --------------------------------------------------------------------------------
def evaluate_ranking(
    recommended_ids: Sequence[Sequence[Any]] | np.ndarray,
    relevant_sets: Sequence[Collection[Any]],
    k: int,
    catalogue: Collection[Any],
) -> dict[str, float]:
    """Average the ranking metrics over users (protocol in the module docstring).

    Parameters
    ----------
    recommended_ids : sequence of sequences, or ndarray of shape (n_users, n ≥ k)
        Each user's ranked list (training items already excluded).
    relevant_sets : sequence of collections, length n_users
        Each user's relevant held-out items; users with an empty set are skipped.
    k : int
        Cut-off (> 0).
    catalogue : collection of ids
        Recommendable items, for catalogue coverage.

    Returns
    -------
    dict
        ``precision_at_k``, ``recall_at_k``, ``ndcg_at_k``, ``hit_rate_at_k``,
        ``map_at_k`` (means over evaluated users), ``catalogue_coverage``, ``k``,
        ``n_users`` (evaluated) and ``n_users_skipped``.

    Raises
    ------
    InvalidInput
        ``bad_k``, ``length_mismatch``, ``empty`` (no users, or an empty catalogue),
        ``no_relevant`` (no user has a relevant item).
    """
    k = _check_k(k)
    lists = [list(row) for row in recommended_ids]
    if len(lists) != len(relevant_sets):
        raise InvalidInput(
            f"{len(lists)} ranked lists but {len(relevant_sets)} relevant sets",
            code="length_mismatch",
        )
    if not lists:
        raise InvalidInput("no users to evaluate", code="empty")
    coverage = catalogue_coverage(lists, catalogue, k)
    sums = dict.fromkeys(("precision", "recall", "ndcg", "hit_rate", "map"), 0.0)
    evaluated = 0
    for row, relevant in zip(lists, relevant_sets, strict=True):
        rel = set(relevant)
        if not rel:
            continue
        evaluated += 1
        sums["precision"] += precision_at_k(row, rel, k)
        sums["recall"] += recall_at_k(row, rel, k)
        sums["ndcg"] += ndcg_at_k(row, rel, k)
        sums["hit_rate"] += hit_rate_at_k(row, rel, k)
        sums["map"] += map_at_k(row, rel, k)
    if evaluated == 0:
        raise InvalidInput("no user has a relevant test item", code="no_relevant")
    out = {f"{name}_at_k": value / evaluated for name, value in sums.items()}
    out.update(
        catalogue_coverage=coverage,
        k=float(k),
        n_users=float(evaluated),
        n_users_skipped=float(len(lists) - evaluated),
    )
    return out


def relevant_sets(test: Any, *, threshold: float | None = 4.0) -> dict[Any, set[Any]]:
    """Each test user's relevant items: rating ≥ ``threshold`` (protocol step 1).

    Parameters
    ----------
    test : pandas.DataFrame
        Held-out interactions with columns ``user``, ``item`` and (unless ``threshold`` is
        None) ``rating``.
    threshold : float or None, default 4.0
        None makes every held-out interaction relevant (implicit feedback).

    Returns
    -------
    dict
        user id → set of item ids; users whose held-out items are all below the threshold
        map to an empty set (and are skipped by :func:`evaluate_ranking`).
    """
    columns = {"user", "item"} | ({"rating"} if threshold is not None else set())
    if not hasattr(test, "columns") or not columns <= set(test.columns):
        raise InvalidInput(f"test table needs columns {sorted(columns)}", code="missing_column")
    out: dict[Any, set[Any]] = {u: set() for u in test["user"].tolist()}
    keep = test if threshold is None else test[test["rating"] >= threshold]
    for user, item in zip(keep["user"].tolist(), keep["item"].tolist(), strict=True):
        out[user].add(item)
    return out


def evaluate_recommender(
    model: Any,
    test: Any,
    *,
    k: int = 10,
    threshold: float | None = 4.0,
    catalogue: Collection[Any] | None = None,
) -> dict[str, float]:
    """Run the whole ranking protocol for a fitted recommender on held-out interactions.

    Parameters
    ----------
    model : recommender
        Fitted on the training interactions (its ``recommend(..., filter_seen=True)``
        removes them); any object with ``recommend`` and ``items_``.
    test : pandas.DataFrame
        Held-out interactions (``user``, ``item``, ``rating``).
    k : int, default 10
    threshold : float or None, default 4.0
        Relevance threshold on the rating (see :func:`relevant_sets`).
    catalogue : collection of ids, optional
        Default the model's known items.

    Returns
    -------
    dict
        As :func:`evaluate_ranking`, plus ``cold_users`` (evaluated users answered by the
        popularity fallback).
    """
    k = _check_k(k)
    relevant: Mapping[Any, set[Any]] = relevant_sets(test, threshold=threshold)
    users = [u for u, items in relevant.items() if items]
    if not users:
        raise InvalidInput("no user has a relevant test item", code="no_relevant")
    ids, _ = model.recommend(users, n=k, filter_seen=True)
    out = evaluate_ranking(
        ids, [relevant[u] for u in users], k, catalogue if catalogue is not None else model.items_
    )
    if hasattr(model, "is_cold"):
        out["cold_users"] = float(np.sum(model.is_cold(users)))
    return out
