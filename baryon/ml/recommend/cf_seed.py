"""The ``cf_seed`` recommender: collaborative filtering exactly as the specification states it.

Item-item form (default, ``similarity="item"``). With S the seed similarity of
:mod:`baryon.ml.recommend.similarity`, user u's score for item i is

    r_ui = Σ_j S_ij · r̃_uj,      r̃_uj = r_uj if u rated j, else b̂_uj = μ + b_u + b_j,

where b̂ is the baseline rating model of :mod:`baryon.ml.recommend.baseline`. Read
literally, the sum runs over **all** items j, **including j = i** (the self-similarity
S_ii times the user's rating, or baseline prediction, of i itself); ``include_self=False``
drops that term. Items that share no rater with i have S_ij = 0, so in practice j runs
over i's co-rated items.

The dense sum is never materialised. Writing r̃_uj = b̂_uj + d_uj with d_uj = r_uj − b̂_uj
on rated entries (0 elsewhere, a sparse matrix D),

    r_ui = (μ + b_u) · Σ_j S_ij  +  Σ_j S_ij b_j  +  (D Sᵀ)_ui,

which is exact: two item vectors and one sparse product per block of users.

User-user form (``similarity="user"``): S compares users over their item vectors and

    r_ui = Σ_v S_uv · r̃_vi = Σ_v S_uv (μ + b_v)  +  (Σ_v S_uv) · b_i  +  (S D)_ui,

with S's rows computed per block of users at scoring time (the full user × user matrix is
not stored).

Optional departures from the literal formula, all off by default: ``neighbours`` keeps
only the k largest S_ij (j ≠ i) per row; ``shrinkage`` multiplies S_ij by
c_ij / (c_ij + λ), c_ij the number of co-raters (Koren 2008 §3); ``fill="zero"`` uses
r̃_uj = 0 for unrated j (the sum then runs over the user's rated items only — a plain
neighbourhood score; it is the formula above with μ = b_u = b_i = 0).

Why the option exists: with the baseline fill, (μ + b_u) · Σ_j S_ij dominates the score
and it is the same ranking for every user (roughly item popularity), so the literal
formula ranks close to ``popularity``; the personal part (D Sᵀ) only moves items whose
neighbours the user rated above or below the baseline.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from baryon.ml.recommend._base import RecommenderBase
from baryon.ml.recommend._interactions import Interactions, check_param
from baryon.ml.recommend.baseline import fit_biases
from baryon.ml.recommend.similarity import prune_rows, seed_similarity, shrink_by_support

__all__ = ["CFSeedRecommender"]

#: Users per block whose user-user similarity rows are built at once.
_USER_BLOCK = 256


class CFSeedRecommender(RecommenderBase):
    """Collaborative filtering with the specification's similarity and baseline fill.

    Parameters
    ----------
    similarity : {"item", "user"}, default "item"
        Item-item or user-user form (module docstring).
    include_self : bool, default True
        Keep the j = i term S_ii · r̃_ui of the sum (the literal formula).
    fill : {"baseline", "zero"}, default "baseline"
        r̃ for unrated items: the baseline prediction (the literal formula) or 0.
    neighbours : int or None, default None
        Keep only the ``neighbours`` most similar items (users) per row of S; None keeps
        all (the literal formula).
    shrinkage : float, default 0.0
        λ ≥ 0 of the support shrinkage c/(c + λ); 0 is the literal formula.
    baseline_regularization : float, default 5.0
        λ of the baseline rating model (rating² units).
    baseline_max_iter : int, default 2000
        Gradient steps allowed for the baseline.

    Attributes
    ----------
    global_mean_ : float
    user_bias_ : ndarray of float64, shape (n_users,)
    item_bias_ : ndarray of float64, shape (n_items,)
    baseline_converged_ : bool
    similarity_ : scipy.sparse.csr_matrix of shape (n_items, n_items) or None
        S after the optional pruning/shrinkage (None for the user-user form).
    users_, items_, user_items_, popularity_, history_
        See :class:`~baryon.ml.recommend._base.RecommenderBase`; ``user_items_`` holds
        the ratings r_uj.

    Notes
    -----
    Needs non-negative ratings (an unrated entry counts as 0 in S). Scores are on the
    scale of (sum of similarities) × (rating) and are comparable only within one model.
    """

    kind = "cf_seed"
    requires_rating = True

    def __init__(
        self,
        *,
        similarity: Literal["item", "user"] = "item",
        include_self: bool = True,
        fill: Literal["baseline", "zero"] = "baseline",
        neighbours: int | None = None,
        shrinkage: float = 0.0,
        baseline_regularization: float = 5.0,
        baseline_max_iter: int = 2000,
    ) -> None:
        self.similarity = similarity
        self.include_self = include_self
        self.fill = fill
        self.neighbours = neighbours
        self.shrinkage = shrinkage
        self.baseline_regularization = baseline_regularization
        self.baseline_max_iter = baseline_max_iter

    def _validate_params(self) -> None:
        check_param("similarity", self.similarity, choices=["item", "user"])
        check_param("include_self", self.include_self, choices=[True, False])
        check_param("fill", self.fill, choices=["baseline", "zero"])
        check_param("neighbours", self.neighbours, minimum=1, integer=True, allow_none=True)
        check_param("shrinkage", self.shrinkage, minimum=0.0)
        check_param("baseline_regularization", self.baseline_regularization, minimum=0.0)
        check_param("baseline_max_iter", self.baseline_max_iter, minimum=1, integer=True)

    # -- similarity -----------------------------------------------------------------
    def _finish(
        self, raw: sp.csr_matrix, rows: np.ndarray, vectors: sp.csr_matrix
    ) -> sp.csr_matrix:
        """Apply shrinkage, self-term and pruning to rows ``rows`` of the raw S."""
        s = raw
        if self.shrinkage:
            binary = vectors.copy()
            binary.data = np.ones_like(binary.data)
            s = shrink_by_support(s, sp.csr_matrix(binary[rows] @ binary.T), self.shrinkage)
        diag_mask = s.indices == np.repeat(rows, np.diff(s.indptr))
        # Fresh index arrays each: eliminate_zeros compacts them in place.
        diag = sp.csr_matrix(
            (np.where(diag_mask, s.data, 0.0), s.indices.copy(), s.indptr.copy()), shape=s.shape
        )
        off = sp.csr_matrix(
            (np.where(diag_mask, 0.0, s.data), s.indices.copy(), s.indptr.copy()), shape=s.shape
        )
        off.eliminate_zeros()
        diag.eliminate_zeros()
        if self.neighbours is not None:
            off = prune_rows(off, int(self.neighbours))
        out = sp.csr_matrix(off + diag) if self.include_self else off
        out.sort_indices()
        return out

    def _item_similarity(self, ratings: sp.csr_matrix) -> sp.csr_matrix:
        rows = np.arange(ratings.shape[1])
        raw = seed_similarity(ratings, axis="item")
        return self._finish(raw, rows, sp.csr_matrix(ratings.T))

    def _user_similarity(self, rows: np.ndarray) -> sp.csr_matrix:
        raw = seed_similarity(self.user_items_, axis="user", rows=rows)
        return self._finish(raw, rows, self.user_items_)

    # -- fit / score --------------------------------------------------------------------
    def _fit_model(self, data: Interactions) -> None:
        if self.fill == "baseline":
            fit = fit_biases(
                data.matrix,
                regularization=float(self.baseline_regularization),
                max_iter=int(self.baseline_max_iter),
            )
            self.global_mean_ = fit.global_mean
            self.user_bias_ = fit.user_bias
            self.item_bias_ = fit.item_bias
            self.baseline_converged_ = fit.converged
        else:  # r̃ = 0 where unrated: the same algebra with a zero baseline
            self.global_mean_ = 0.0
            self.user_bias_ = np.zeros(data.matrix.shape[0])
            self.item_bias_ = np.zeros(data.matrix.shape[1])
            self.baseline_converged_ = True
        self.similarity_ = self._item_similarity(data.matrix) if self.similarity == "item" else None
        self._prepare()

    def _prepare(self) -> None:
        """Derive D (rating minus baseline on rated entries) and the item-form vectors."""
        r = self.user_items_
        row_of = np.repeat(np.arange(r.shape[0]), np.diff(r.indptr))
        fill = self.global_mean_ + self.user_bias_[row_of] + self.item_bias_[r.indices]
        self.residuals_ = sp.csr_matrix(
            (r.data - fill, r.indices.copy(), r.indptr.copy()), shape=r.shape
        )
        if self.similarity_ is not None:
            s = self.similarity_
            self.similarity_row_sums_ = np.asarray(s.sum(axis=1)).ravel()
            self.similarity_item_bias_ = s @ self.item_bias_
            self.similarity_t_ = sp.csr_matrix(s.T)

    def _score_users(self, rows: np.ndarray) -> np.ndarray:
        if self.similarity_ is not None:
            scale = self.global_mean_ + self.user_bias_[rows]
            dense = np.outer(scale, self.similarity_row_sums_)
            dense += self.similarity_item_bias_[None, :]
            dense += (self.residuals_[rows] @ self.similarity_t_).toarray()
            return dense
        out = np.empty((len(rows), len(self.items_)), dtype=np.float64)
        fill = self.global_mean_ + self.user_bias_
        for start in range(0, len(rows), _USER_BLOCK):
            block = rows[start : start + _USER_BLOCK]
            s = self._user_similarity(block)
            part = np.outer(np.asarray(s.sum(axis=1)).ravel(), self.item_bias_)
            part += (s @ fill)[:, None]
            part += (s @ self.residuals_).toarray()
            out[start : start + len(block)] = part
        return out

    # -- persistence --------------------------------------------------------------------
    def _model_state(self) -> dict[str, np.ndarray]:
        state = {
            "global_mean": np.asarray([self.global_mean_], dtype=np.float64),
            "user_bias": self.user_bias_,
            "item_bias": self.item_bias_,
            "baseline_converged": np.asarray([self.baseline_converged_], dtype=bool),
        }
        if self.similarity_ is not None:
            s = self.similarity_
            state.update(
                sim_data=s.data,
                sim_indices=s.indices.astype(np.int64),
                sim_indptr=s.indptr.astype(np.int64),
            )
        return state

    def _restore_model_state(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self.global_mean_ = float(arrays["global_mean"][0])
        self.user_bias_ = np.asarray(arrays["user_bias"], dtype=np.float64)
        self.item_bias_ = np.asarray(arrays["item_bias"], dtype=np.float64)
        self.baseline_converged_ = bool(arrays["baseline_converged"][0])
        if self.similarity == "item":
            n = len(self.items_)
            self.similarity_ = sp.csr_matrix(
                (arrays["sim_data"], arrays["sim_indices"], arrays["sim_indptr"]), shape=(n, n)
            )
        else:
            self.similarity_ = None
        self._prepare()
