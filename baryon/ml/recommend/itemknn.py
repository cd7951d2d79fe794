"""The ``itemknn_cosine`` recommender: item-based k-nearest neighbours with cosine similarity.

Deshpande & Karypis, "Item-based top-N recommendation algorithms", ACM TOIS 22(1), 2004:
each item j keeps its ``neighbours`` most cosine-similar items, and user u's score for
item i sums the similarities of the items u interacted with,

    score_ui = Σ_{j ∈ I(u)} w_uj · sim_k(j, i),

with sim_k(j, ·) the pruned row of item j (as implicit's ``ItemItemRecommender``) and
w_uj = 1 (binary interactions, the default) or the rating.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from baryon.core.errors import InvalidInput
from baryon.ml.recommend._base import RecommenderBase
from baryon.ml.recommend._interactions import Interactions, check_param
from baryon.ml.recommend.similarity import cosine_similarity, drop_diagonal, prune_rows

__all__ = ["ItemKNNCosineRecommender", "positive_matrix"]


def positive_matrix(
    data: Interactions, *, min_rating: float | None, weighting: Literal["binary", "rating"]
) -> sp.csr_matrix:
    """The interactions an implicit-feedback model learns from.

    Parameters
    ----------
    data : Interactions
    min_rating : float or None
        Keep only interactions with rating ≥ ``min_rating`` (None keeps all).
    weighting : {"binary", "rating"}
        Value of a kept interaction: 1.0 or the rating.

    Returns
    -------
    scipy.sparse.csr_matrix of shape (n_users, n_items)

    Raises
    ------
    InvalidInput
        ``missing_column`` when ``min_rating`` or ``weighting="rating"`` is asked for
        without a ``rating`` column.
    """
    if (min_rating is not None or weighting == "rating") and not data.has_rating:
        raise InvalidInput(
            "min_rating / weighting='rating' need a 'rating' column", code="missing_column"
        )
    m = data.matrix.copy()
    values = np.ones_like(m.data) if weighting == "binary" else m.data.copy()
    if min_rating is not None:
        values[m.data < min_rating] = 0.0
    m.data = values
    m.eliminate_zeros()
    return sp.csr_matrix(m)


class ItemKNNCosineRecommender(RecommenderBase):
    """Item-based kNN over cosine similarity of item interaction vectors.

    Parameters
    ----------
    neighbours : int, default 100
        Similar items kept per item (k).
    shrinkage : float, default 0.0
        Added to the cosine denominator (‖x_i‖‖x_j‖ + shrinkage).
    min_rating : float or None, default None
        Learn only from interactions rated ≥ ``min_rating``; users left without any are
        cold.
    weighting : {"binary", "rating"}, default "binary"
        Interaction value in the item vectors and in the user's sum.

    Attributes
    ----------
    similarity_ : scipy.sparse.csr_matrix of shape (n_items, n_items)
        Row j: item j's pruned neighbour similarities (diagonal removed).
    users_, items_, user_items_, popularity_, history_
        See :class:`~baryon.ml.recommend._base.RecommenderBase`.
    """

    kind = "itemknn_cosine"

    def __init__(
        self,
        *,
        neighbours: int = 100,
        shrinkage: float = 0.0,
        min_rating: float | None = None,
        weighting: Literal["binary", "rating"] = "binary",
    ) -> None:
        self.neighbours = neighbours
        self.shrinkage = shrinkage
        self.min_rating = min_rating
        self.weighting = weighting

    def _validate_params(self) -> None:
        check_param("neighbours", self.neighbours, minimum=1, integer=True)
        check_param("shrinkage", self.shrinkage, minimum=0.0)
        check_param("min_rating", self.min_rating, minimum=0.0, allow_none=True)
        check_param("weighting", self.weighting, choices=["binary", "rating"])

    def _fit_model(self, data: Interactions) -> None:
        positives = positive_matrix(data, min_rating=self.min_rating, weighting=self.weighting)
        sim = cosine_similarity(positives, axis="item", shrinkage=float(self.shrinkage))
        off_diagonal, _ = drop_diagonal(sim)
        self.similarity_ = prune_rows(off_diagonal, int(self.neighbours))
        self.positives_ = positives
        self.history_ = np.diff(positives.indptr).astype(np.int64)

    def _score_users(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray((self.positives_[rows] @ self.similarity_).toarray())

    def _model_state(self) -> dict[str, np.ndarray]:
        s, p = self.similarity_, self.positives_
        return {
            "sim_data": s.data,
            "sim_indices": s.indices.astype(np.int64),
            "sim_indptr": s.indptr.astype(np.int64),
            "pos_data": p.data,
            "pos_indices": p.indices.astype(np.int64),
            "pos_indptr": p.indptr.astype(np.int64),
        }

    def _restore_model_state(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        n_users, n_items = len(self.users_), len(self.items_)
        self.similarity_ = sp.csr_matrix(
            (arrays["sim_data"], arrays["sim_indices"], arrays["sim_indptr"]),
            shape=(n_items, n_items),
        )
        self.positives_ = sp.csr_matrix(
            (arrays["pos_data"], arrays["pos_indices"], arrays["pos_indptr"]),
            shape=(n_users, n_items),
        )
