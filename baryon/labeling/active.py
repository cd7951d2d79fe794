"""Active learning: which unlabeled rows are worth an annotator's time.

Pure, seeded functions over a matrix of class probabilities (one row per unlabeled
item, one column per class, as ``predict_proba`` returns it). Uncertainty sampling
asks for the labels of the items the model is least sure about (Settles 2009,
"Active Learning Literature Survey", Computer Sciences Technical Report 1648,
University of Wisconsin–Madison, §3.1):

``least_confidence``
    ``1 − p₁``, with ``p₁`` the largest probability of the row (Settles §3.1,
    "least confident", Culotta & McCallum 2005).
``margin``
    ``1 − (p₁ − p₂)``, with ``p₂`` the second largest (Settles §3.1, "margin
    sampling", Scheffer et al. 2001). Settles picks the *smallest* margin; we report
    one minus it so that, like the other scores, higher means more uncertain and the
    score lies in [0, 1]. With one class ``p₂`` is 0.
``entropy``
    ``−Σⱼ pⱼ log pⱼ / log k`` (Settles §3.1, Shannon 1948), divided by ``log k``, the
    entropy of the uniform distribution over the ``k`` classes, so it lies in [0, 1]
    like the other two (the ranking is Settles' unchanged); ``0 log 0 = 0``. With one
    class the score is 0.
``random``
    A uniform draw in [0, 1) per row from the seeded generator: the baseline every
    strategy must beat (Settles §7: random sampling is the usual comparison).

:func:`select_batch` picks the ``n`` highest-scoring rows, optionally with a
**diversity step** so a batch is not many copies of one question: the
``pool_factor · n`` most uncertain rows are clustered into ``n`` groups with
k-means (scikit-learn's :class:`~sklearn.cluster.KMeans`) on their feature vectors,
and the most uncertain row of each group is taken. This is the pre-filter-then-
cluster method of Zhdanov 2019 ("Diverse mini-batch Active Learning",
arXiv:1901.05954, §2, β = 10), except that Zhdanov takes the row nearest each
cluster's centre with informativeness-weighted k-means, while we take the most
uncertain row of each cluster with plain k-means: the uncertainty enters at the
pick instead of in the weights.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
from scipy.special import entr

from baryon.core.errors import InvalidInput

__all__ = [
    "DEFAULT_POOL_FACTOR",
    "STRATEGIES",
    "entropy_scores",
    "least_confidence_scores",
    "margin_scores",
    "random_scores",
    "score",
    "select_batch",
]

#: Strategy names accepted by :func:`score` (``reason`` of the tasks they queue).
STRATEGIES = ("least_confidence", "margin", "entropy", "random")
#: Candidates per pick of the diversity step (Zhdanov 2019's β).
DEFAULT_POOL_FACTOR = 10


def _check_proba(proba: Any) -> np.ndarray:
    """Return ``proba`` as a float array of shape (n, k), or raise ``invalid_probabilities``."""
    try:
        p = np.asarray(proba, dtype=float)
    except (TypeError, ValueError):
        raise InvalidInput(
            "probabilities must be a numeric matrix", code="invalid_probabilities"
        ) from None
    if p.ndim != 2 or p.shape[1] < 1:
        raise InvalidInput(
            f"probabilities must have shape (n_items, n_classes), got {p.shape}",
            code="invalid_probabilities",
        )
    if p.size and (not np.all(np.isfinite(p)) or p.min() < 0 or p.max() > 1):
        raise InvalidInput(
            "probabilities must be finite and within [0, 1]", code="invalid_probabilities"
        )
    return p


def least_confidence_scores(proba: Any) -> np.ndarray:
    """Least-confidence uncertainty ``1 − max_j p_j`` of each row.

    Parameters
    ----------
    proba : array-like of shape (n_items, n_classes)
        Class probabilities (rows sum to 1).

    Returns
    -------
    ndarray of shape (n_items,)
        In [0, 1]; higher is more uncertain.

    Raises
    ------
    InvalidInput
        ``invalid_probabilities``: not a 2-D matrix of finite values in [0, 1].

    Notes
    -----
    Settles 2009, §3.1, eq. (1) ranks by ``1 − P(ŷ|x)``.
    """
    p = _check_proba(proba)
    if p.shape[0] == 0:
        return np.zeros(0)
    return np.asarray(1.0 - p.max(axis=1), dtype=float)


def margin_scores(proba: Any) -> np.ndarray:
    """Margin uncertainty ``1 − (p₁ − p₂)`` of each row (``p₁ ≥ p₂`` its two largest).

    Parameters
    ----------
    proba : array-like of shape (n_items, n_classes)
        Class probabilities (rows sum to 1). With one class ``p₂`` is 0.

    Returns
    -------
    ndarray of shape (n_items,)
        In [0, 1]; higher is more uncertain (a small margin between the two most
        likely classes).

    Raises
    ------
    InvalidInput
        ``invalid_probabilities``.

    Notes
    -----
    Settles 2009, §3.1, eq. (2) picks ``argmin P(ŷ₁|x) − P(ŷ₂|x)``; one minus the
    margin ranks the same rows first.
    """
    p = _check_proba(proba)
    if p.shape[0] == 0:
        return np.zeros(0)
    if p.shape[1] == 1:
        return np.asarray(1.0 - p[:, 0], dtype=float)
    top2 = -np.partition(-p, 1, axis=1)[:, :2]
    return np.asarray(1.0 - (top2[:, 0] - top2[:, 1]), dtype=float)


def entropy_scores(proba: Any) -> np.ndarray:
    """Normalised entropy ``−Σ_j p_j log p_j / log k`` of each row.

    Parameters
    ----------
    proba : array-like of shape (n_items, n_classes)
        Class probabilities (rows sum to 1).

    Returns
    -------
    ndarray of shape (n_items,)
        In [0, 1] (1 for the uniform distribution over the ``k`` classes, 0 for a
        certain one; 0 when ``k = 1``); higher is more uncertain.

    Raises
    ------
    InvalidInput
        ``invalid_probabilities``.

    Notes
    -----
    Settles 2009, §3.1, eq. (3), in nats, divided by ``log k`` (same ranking).
    ``0 log 0`` is taken as 0 (:func:`scipy.special.entr`).
    """
    p = _check_proba(proba)
    k = p.shape[1]
    if p.shape[0] == 0 or k == 1:
        return np.zeros(p.shape[0])
    h = entr(p).sum(axis=1) / math.log(k)
    return np.asarray(np.clip(h, 0.0, 1.0), dtype=float)


def random_scores(n_items: int, *, seed: int | None = 0) -> np.ndarray:
    """Uniform random scores in [0, 1): the random-sampling baseline.

    Parameters
    ----------
    n_items : int
        Number of rows (≥ 0).
    seed : int or None
        Seed of :func:`numpy.random.default_rng`; the same seed gives the same scores.

    Returns
    -------
    ndarray of shape (n_items,)
    """
    return np.random.default_rng(seed).random(int(n_items))


def score(proba: Any, strategy: str, *, seed: int | None = 0) -> np.ndarray:
    """Score each row of ``proba`` with ``strategy`` (higher: ask for its label first).

    Parameters
    ----------
    proba : array-like of shape (n_items, n_classes)
        Class probabilities (checked also for ``random``, whose scores ignore them).
    strategy : {"least_confidence", "margin", "entropy", "random"}
        See the module docstring.
    seed : int or None
        Seed of ``random`` (unused by the others).

    Returns
    -------
    ndarray of shape (n_items,)
        In [0, 1].

    Raises
    ------
    InvalidInput
        ``invalid_strategy`` (unknown name), ``invalid_probabilities``.
    """
    if strategy == "least_confidence":
        return least_confidence_scores(proba)
    if strategy == "margin":
        return margin_scores(proba)
    if strategy == "entropy":
        return entropy_scores(proba)
    if strategy == "random":
        return random_scores(_check_proba(proba).shape[0], seed=seed)
    raise InvalidInput(
        f"unknown sampling strategy {strategy!r}; one of {', '.join(STRATEGIES)}",
        code="invalid_strategy",
        details={"strategies": list(STRATEGIES)},
    )


def _top(scores: np.ndarray, n: int) -> np.ndarray:
    """Indices of the ``n`` highest scores, highest first (ties: lower index first)."""
    order = np.argsort(-scores, kind="stable")
    return np.asarray(order[:n], dtype=np.intp)


def select_batch(
    scores: Any,
    n: int,
    *,
    features: Any = None,
    diversity: bool = False,
    pool_factor: int = DEFAULT_POOL_FACTOR,
    seed: int | None = 0,
) -> np.ndarray:
    """Pick the rows to label: the ``n`` highest scores, or a diverse batch of them.

    Parameters
    ----------
    scores : array-like of shape (n_items,)
        Uncertainty scores (higher first), e.g. from :func:`score`.
    n : int
        Batch size (≥ 1); fewer rows are returned when there are fewer items.
    features : array-like or sparse matrix of shape (n_items, n_features), optional
        What the diversity step clusters (required with ``diversity``): any vectors
        in which near-duplicate items are close, e.g. the probability rows
        themselves or text embeddings.
    diversity : bool
        Cluster the ``pool_factor · n`` highest-scoring rows into ``n`` groups with
        k-means and take the highest-scoring row of each (module docstring; Zhdanov
        2019). If k-means finds fewer than ``n`` distinct groups (many identical
        vectors) the batch is filled with the next highest-scoring candidates.
    pool_factor : int
        Candidates per pick of the diversity step (≥ 1; default 10, Zhdanov's β).
    seed : int or None
        Seed of k-means.

    Returns
    -------
    ndarray of int of shape (min(n, n_items),)
        Row indices, highest score first; no index twice.

    Raises
    ------
    InvalidInput
        ``invalid_sample_size`` (``n`` < 1), ``invalid_scores`` (not a finite 1-D
        array), ``invalid_input`` (``pool_factor`` < 1, or ``features`` missing or
        of the wrong length with ``diversity``).
    """
    s = np.asarray(scores, dtype=float)
    if s.ndim != 1 or not np.all(np.isfinite(s)):
        raise InvalidInput("scores must be a 1-D array of finite numbers", code="invalid_scores")
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise InvalidInput(
            f"batch size must be an integer ≥ 1, got {n!r}", code="invalid_sample_size"
        )
    if isinstance(pool_factor, bool) or not isinstance(pool_factor, int) or pool_factor < 1:
        raise InvalidInput("pool_factor must be an integer ≥ 1", code="invalid_input")
    n = int(n)
    if not diversity:
        return _top(s, n)
    if features is None or getattr(features, "shape", (len(s),))[0] != len(s):
        raise InvalidInput(
            "the diversity step needs one feature vector per scored row", code="invalid_input"
        )
    pool = _top(s, min(len(s), pool_factor * n))
    if len(pool) <= n:
        return pool
    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning

    X = features[pool] if hasattr(features, "tocsr") else np.asarray(features)[pool]
    with warnings.catch_warnings():
        # fewer distinct vectors than clusters: handled below by filling the batch
        warnings.simplefilter("ignore", ConvergenceWarning)
        labels = KMeans(n_clusters=n, n_init=1, random_state=seed).fit_predict(X)
    picked: list[int] = []
    seen: set[int] = set()
    for position, cluster in enumerate(labels):  # pool is sorted: first seen = most uncertain
        if int(cluster) not in seen:
            seen.add(int(cluster))
            picked.append(position)
    if len(picked) < n:
        taken = set(picked)
        picked.extend(p for p in range(len(pool)) if p not in taken)
        picked = picked[:n]
    chosen = pool[np.asarray(picked, dtype=np.intp)]
    return np.asarray(chosen[np.argsort(-s[chosen], kind="stable")], dtype=np.intp)
