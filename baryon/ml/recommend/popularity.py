"""The ``popularity`` recommender: the same most-interacted items for everyone.

It is the floor every personalised recommender must beat, and the cold-start answer of all
of them.
"""

from __future__ import annotations

import numpy as np

from baryon.core.errors import InvalidInput
from baryon.ml.recommend._base import RecommenderBase
from baryon.ml.recommend._interactions import Interactions, check_param

__all__ = ["PopularityRecommender"]


class PopularityRecommender(RecommenderBase):
    """Rank items by how many training interactions they have.

    Parameters
    ----------
    min_rating : float or None, default None
        When set, count only interactions whose rating is ≥ ``min_rating`` (e.g. 4 on a
        5-point scale: "most liked" instead of "most rated"). Needs a ``rating`` column.

    Attributes
    ----------
    popularity_ : ndarray of float64, shape (n_items,)
        The count each item is ranked by (for warm and cold users alike).
    users_, items_, user_items_, history_
        See :class:`~baryon.ml.recommend._base.RecommenderBase`.

    Notes
    -----
    Every known user gets the same ranking, minus the items they have seen; unknown users
    are flagged cold (they get the same list without filtering). Ties go to the item with
    the smaller id.
    """

    kind = "popularity"

    def __init__(self, *, min_rating: float | None = None) -> None:
        self.min_rating = min_rating

    def _validate_params(self) -> None:
        check_param("min_rating", self.min_rating, minimum=0.0, allow_none=True)

    def _fit_model(self, data: Interactions) -> None:
        matrix = data.matrix
        if self.min_rating is not None:
            if not data.has_rating:
                raise InvalidInput("min_rating needs a 'rating' column", code="missing_column")
            keep = matrix.data >= self.min_rating
            counts = np.bincount(matrix.indices[keep], minlength=matrix.shape[1])
        else:
            counts = np.bincount(matrix.indices, minlength=matrix.shape[1])
        self.popularity_ = counts.astype(np.float64)

    def _score_users(self, rows: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.popularity_, (len(rows), len(self.popularity_))).copy()
