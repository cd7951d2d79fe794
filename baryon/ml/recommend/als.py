"""The ``als`` recommender: implicit-feedback matrix factorisation by implicit's ALS.

Hu, Koren & Volinsky, "Collaborative Filtering for Implicit Feedback Datasets", ICDM 2008,
with the conjugate-gradient solver of Takács, Pilászy & Tikk, RecSys 2011, as implemented
by :class:`implicit.cpu.als.AlternatingLeastSquares` (wrapped, not rewritten). Observed
interactions have preference 1 and confidence ``alpha × value`` (value 1, or the rating
with ``weighting="rating"``); everything else preference 0, confidence 1. The score of
item i for user u is the dot product ``x_u · y_i`` of the learned factors.

implicit wants its BLAS single-threaded (it parallelises itself and warns otherwise); the
fit runs inside ``threadpoolctl.threadpool_limits(1, "blas")``, which restores the caller's
BLAS threads afterwards.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from baryon.core.errors import MissingDependency
from baryon.ml.recommend._base import RecommenderBase
from baryon.ml.recommend._interactions import Interactions, check_param
from baryon.ml.recommend.itemknn import positive_matrix

__all__ = ["ALSRecommender"]


class ALSRecommender(RecommenderBase):
    """Alternating least squares for implicit feedback (wraps ``implicit``).

    Parameters
    ----------
    factors : int, default 64
        Latent dimensions.
    regularization : float, default 0.05
        L2 penalty λ on the factors.
    alpha : float, default 10.0
        Confidence scale of observed interactions (> 0).
    iterations : int, default 15
        ALS sweeps (users then items).
    min_rating : float or None, default None
        Learn only from interactions rated ≥ ``min_rating``; users left without any are
        cold.
    weighting : {"binary", "rating"}, default "binary"
        Interaction value before ``alpha`` scaling.
    random_state : int, default 42
        Seed of the initial factors.
    num_threads : int, default 0
        Threads of implicit's solver; 0 uses every core.

    Attributes
    ----------
    user_factors_ : ndarray of float32, shape (n_users, factors)
    item_factors_ : ndarray of float32, shape (n_items, factors)
    users_, items_, user_items_, popularity_, history_
        See :class:`~baryon.ml.recommend._base.RecommenderBase`.
    """

    kind = "als"

    def __init__(
        self,
        *,
        factors: int = 64,
        regularization: float = 0.05,
        alpha: float = 10.0,
        iterations: int = 15,
        min_rating: float | None = None,
        weighting: Literal["binary", "rating"] = "binary",
        random_state: int = 42,
        num_threads: int = 0,
    ) -> None:
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.min_rating = min_rating
        self.weighting = weighting
        self.random_state = random_state
        self.num_threads = num_threads

    def _validate_params(self) -> None:
        check_param("factors", self.factors, minimum=1, integer=True)
        check_param("regularization", self.regularization, minimum=0.0)
        check_param("alpha", self.alpha, minimum=0.0, strict=True)
        check_param("iterations", self.iterations, minimum=1, integer=True)
        check_param("min_rating", self.min_rating, minimum=0.0, allow_none=True)
        check_param("weighting", self.weighting, choices=["binary", "rating"])
        check_param("random_state", self.random_state, minimum=0, integer=True)
        check_param("num_threads", self.num_threads, minimum=0, integer=True)

    def _fit_model(self, data: Interactions) -> None:
        try:
            from implicit.cpu.als import AlternatingLeastSquares
        except ImportError as exc:  # pragma: no cover - implicit is a core dependency
            raise MissingDependency(
                "the als recommender needs the 'implicit' package", code="missing_dependency"
            ) from exc
        positives = positive_matrix(data, min_rating=self.min_rating, weighting=self.weighting)
        with threadpool_limits(limits=1, user_api="blas"):
            model = AlternatingLeastSquares(
                factors=int(self.factors),
                regularization=float(self.regularization),
                alpha=float(self.alpha),
                iterations=int(self.iterations),
                num_threads=int(self.num_threads),
                random_state=int(self.random_state),
            )
            model.fit(sp.csr_matrix(positives, dtype=np.float32), show_progress=False)
        self.user_factors_ = np.ascontiguousarray(model.user_factors, dtype=np.float32)
        self.item_factors_ = np.ascontiguousarray(model.item_factors, dtype=np.float32)
        self.history_ = np.diff(positives.indptr).astype(np.int64)

    def _score_users(self, rows: np.ndarray) -> np.ndarray:
        # float64 products: the same score whatever the batch shape BLAS sees
        users = self.user_factors_[rows].astype(np.float64)
        return np.asarray(users @ self.item_factors_.T.astype(np.float64))

    def _model_state(self) -> dict[str, np.ndarray]:
        return {"user_factors": self.user_factors_, "item_factors": self.item_factors_}

    def _restore_model_state(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self.user_factors_ = np.asarray(arrays["user_factors"], dtype=np.float32)
        self.item_factors_ = np.asarray(arrays["item_factors"], dtype=np.float32)
        n_users, n_items = len(self.users_), len(self.items_)
        if self.user_factors_.shape[0] != n_users or self.item_factors_.shape[0] != n_items:
            raise ValueError("factor matrices disagree with the id arrays")
