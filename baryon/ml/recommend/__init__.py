"""Recommenders: ``cf_seed``, ``popularity``, ``itemknn_cosine`` and ``als``.

All take an interaction table (pandas DataFrame with ``user``, ``item`` and, where used,
``rating``) and answer batches: ``recommend(user_ids, n=10, filter_seen=True)`` returns
``(ids, scores)`` arrays of shape (n_users, n) (``None``/``NaN`` padded), ``is_cold``
flags users answered by the popularity fallback, ``score_items`` scores (user, item)
pairs, and ``to_state`` / ``from_state`` turn a fitted model into plain arrays + JSON.
"""

from __future__ import annotations

from baryon.ml.recommend._base import RecommenderBase
from baryon.ml.recommend.als import ALSRecommender
from baryon.ml.recommend.baseline import BaselineRatingModel, fit_biases
from baryon.ml.recommend.cf_seed import CFSeedRecommender
from baryon.ml.recommend.itemknn import ItemKNNCosineRecommender
from baryon.ml.recommend.popularity import PopularityRecommender
from baryon.ml.recommend.similarity import (
    cosine_similarity,
    seed_similarity,
    similarity_bruteforce,
)

__all__ = [
    "RECOMMENDERS",
    "ALSRecommender",
    "BaselineRatingModel",
    "CFSeedRecommender",
    "ItemKNNCosineRecommender",
    "PopularityRecommender",
    "RecommenderBase",
    "cosine_similarity",
    "fit_biases",
    "seed_similarity",
    "similarity_bruteforce",
]

#: Kind name → recommender class (for ``baryon.ml.kinds``).
RECOMMENDERS: dict[str, type[RecommenderBase]] = {
    cls.kind: cls
    for cls in (
        CFSeedRecommender,
        PopularityRecommender,
        ItemKNNCosineRecommender,
        ALSRecommender,
    )
}
