"""Champion against candidate on one test split: metric deltas with 95 % intervals.

Both models are measured on the **same rows**, so their difference is estimated with
a *paired* bootstrap: draw the test rows with replacement ``resamples`` times (a
seeded generator), recompute each model's metric on the same draw, and take the
2.5th and 97.5th percentiles of the differences (candidate − champion). This is the
percentile interval of Efron & Tibshirani, *An Introduction to the Bootstrap*
(Chapman & Hall, 1993), ch. 13, applied to paired differences as in Koehn,
"Statistical Significance Tests for Machine Translation Evaluation" (EMNLP 2004), §4.
An interval that contains 0 means this test split cannot tell the two apart.

Metrics with an interval: ``accuracy`` (share of rows predicted right) and
``macro_f1`` (unweighted mean F1 over the classes present in the truth or the
predictions of the draw, as :func:`baryon.training.metrics.macro_f1`). Both are
"higher is better".
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from baryon.core.errors import InvalidInput

__all__ = ["BOOTSTRAP_RESAMPLES", "BOOTSTRAP_SEED", "INTERVAL_METRICS", "paired_deltas"]

#: Draws of the test rows (default).
BOOTSTRAP_RESAMPLES = 1000
#: Seed of the draws (default): the same inputs always give the same interval.
BOOTSTRAP_SEED = 0
#: Metrics :func:`paired_deltas` gives an interval for.
INTERVAL_METRICS = ("accuracy", "macro_f1")


def _scores(truth: np.ndarray, pred: np.ndarray, n_classes: int) -> tuple[float, float]:
    """Accuracy and macro-F1 of integer-coded labels."""
    right = truth == pred
    support = np.bincount(truth, minlength=n_classes)
    predicted = np.bincount(pred, minlength=n_classes)
    hits = np.bincount(truth[right], minlength=n_classes)
    present = (support + predicted) > 0
    f1 = 2.0 * hits[present] / (support[present] + predicted[present])
    return float(right.mean()), float(f1.mean())


def paired_deltas(
    truth: Any,
    champion: Any,
    candidate: Any,
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> dict[str, dict[str, Any]]:
    """Return candidate − champion for each of :data:`INTERVAL_METRICS`, with a 95 % interval.

    Parameters
    ----------
    truth : array-like of shape (n_rows,)
        True labels of the test rows.
    champion, candidate : array-like of shape (n_rows,)
        Each model's predicted labels for the same rows, in the same order.
    resamples : int
        Bootstrap draws (>= 100).
    seed : int
        Seed of the draws.

    Returns
    -------
    dict
        ``{metric: {"value": float, "ci95": [low, high], "champion": float,
        "candidate": float}}``: ``value`` is the difference on the rows as they are;
        the interval is the percentile bootstrap's.

    Raises
    ------
    InvalidInput
        ``invalid_input``: no rows, arrays of different lengths, or fewer than 100
        resamples.
    """
    t = np.asarray(truth, dtype=object)
    a = np.asarray(champion, dtype=object)
    b = np.asarray(candidate, dtype=object)
    n = len(t)
    if n == 0 or len(a) != n or len(b) != n:
        raise InvalidInput(
            f"paired deltas need the same non-empty rows: {n}, {len(a)} and {len(b)} labels"
        )
    if isinstance(resamples, bool) or not isinstance(resamples, int) or resamples < 100:
        raise InvalidInput(f"resamples must be an integer >= 100, got {resamples!r}")
    codes, uniques = pd.factorize(pd.Series(np.concatenate([t, a, b]), dtype=object))
    ct, ca, cb = codes[:n], codes[n : 2 * n], codes[2 * n :]
    k = len(uniques)
    base_a, base_b = _scores(ct, ca, k), _scores(ct, cb, k)
    rng = np.random.default_rng(seed)
    diffs = np.empty((resamples, len(INTERVAL_METRICS)))
    for r in range(resamples):
        idx = rng.integers(0, n, n)
        sa, sb = _scores(ct[idx], ca[idx], k), _scores(ct[idx], cb[idx], k)
        diffs[r] = np.subtract(sb, sa)
    low, high = np.percentile(diffs, [2.5, 97.5], axis=0)
    return {
        metric: {
            "value": base_b[i] - base_a[i],
            "ci95": [float(low[i]), float(high[i])],
            "champion": base_a[i],
            "candidate": base_b[i],
        }
        for i, metric in enumerate(INTERVAL_METRICS)
    }
