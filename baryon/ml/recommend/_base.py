"""What every Baryon recommender shares: input parsing, id maps, top-n, cold start, state.

A recommender is fitted on an interaction table (a pandas DataFrame with the columns
``user``, ``item`` and, where the model uses it, ``rating``), parsed by
:func:`baryon.ml.recommend._interactions.parse_interactions`.

The answer shape follows implicit's ``recommend`` (``(ids, scores)`` arrays), batch-first:
``recommend(user_ids, n)`` returns an object ndarray of item ids and a float ndarray of
scores, both of shape ``(n_users, n)``, padded with ``None`` / ``NaN`` when a user has
fewer than ``n`` candidates. A user the model cannot score (unknown, or no usable history)
is answered from item popularity and flagged by :meth:`RecommenderBase.is_cold`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator

from baryon.core.errors import IntegrityError, InvalidInput
from baryon.ml._validation import NotFitted
from baryon.ml.recommend._interactions import (
    Interactions,
    ids_from_state,
    ids_to_state,
    lookup_ids,
    parse_interactions,
)

__all__ = ["RecommenderBase", "top_n"]

#: Users scored per dense block in :meth:`RecommenderBase.recommend` (bounds memory to
#: ``_BATCH_USERS * n_items`` floats).
_BATCH_USERS = 1024


def top_n(scores: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Column indices and values of the ``n`` best finite scores per row.

    Ties are broken by the lower column index (a stable sort), so answers are deterministic.
    ``-inf`` and ``NaN`` scores are never chosen; missing places get index -1 and NaN.

    Parameters
    ----------
    scores : ndarray of shape (n_rows, n_cols)
    n : int

    Returns
    -------
    idx : ndarray of int64, shape (n_rows, n)
    values : ndarray of float64, shape (n_rows, n)
    """
    rows, cols = scores.shape
    clean = np.where(np.isnan(scores), -np.inf, scores)
    take = min(n, cols)
    order = np.argsort(-clean, axis=1, kind="stable")[:, :take]
    values = np.take_along_axis(clean, order, axis=1)
    idx = np.full((rows, n), -1, dtype=np.int64)
    out = np.full((rows, n), np.nan, dtype=np.float64)
    ok = np.isfinite(values)
    idx[:, :take] = np.where(ok, order, -1)
    out[:, :take] = np.where(ok, values, np.nan)
    return idx, out


class RecommenderBase(BaseEstimator, ABC):  # type: ignore[misc]
    """Shared behaviour of Baryon recommenders (abstract: not a model by itself).

    Subclasses set :attr:`kind` and :attr:`requires_rating`, implement ``_fit_model`` and
    ``_score_users``, and, when they learn more than the shared state, ``_model_state`` /
    ``_restore_model_state``.

    Attributes
    ----------
    users_ : ndarray of object, shape (n_users,)
        Known user ids, sorted.
    items_ : ndarray of object, shape (n_items,)
        Known item ids, sorted.
    user_items_ : scipy.sparse.csr_matrix of shape (n_users, n_items)
        Every training interaction (value = rating, or 1.0 without ratings). These are the
        items ``filter_seen=True`` removes.
    popularity_ : ndarray of float64, shape (n_items,)
        Number of training interactions per item: the cold-start fallback's scores.
    history_ : ndarray of int64, shape (n_users,)
        Interactions per user that the model scores from; 0 makes the user cold.
    """

    kind: ClassVar[str] = ""
    requires_rating: ClassVar[bool] = False

    # -- to implement ---------------------------------------------------------------
    def _validate_params(self) -> None:
        """Check ``__init__`` params; raise ``InvalidInput(code="invalid_param")``."""

    @abstractmethod
    def _fit_model(self, data: Interactions) -> None:
        """Learn the model's own state from parsed interactions (shared state is set)."""

    @abstractmethod
    def _score_users(self, rows: np.ndarray) -> np.ndarray:
        """Dense scores of shape (len(rows), n_items) for warm user indices ``rows``."""

    def _model_state(self) -> dict[str, np.ndarray]:
        return {}

    def _restore_model_state(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        return None

    # -- fit ----------------------------------------------------------------------------
    def fit(self, X: pd.DataFrame, y: Any = None) -> Self:
        """Learn from an interaction table.

        Parameters
        ----------
        X : pandas.DataFrame
            Columns ``user``, ``item`` and (required for rating models) ``rating``.
            Duplicate (user, item) pairs are merged by their mean rating.
        y : None
            Ignored; present for the scikit-learn contract.

        Returns
        -------
        self

        Raises
        ------
        InvalidInput
            Bad parameters (``invalid_param``) or a bad table (see ``parse_interactions``).
        """
        self._validate_params()
        data = parse_interactions(X, require_rating=self.requires_rating)
        self.users_ = data.users
        self.items_ = data.items
        self.user_items_ = data.matrix
        self.popularity_ = np.bincount(data.matrix.indices, minlength=len(data.items)).astype(
            np.float64
        )
        self.history_ = np.diff(data.matrix.indptr).astype(np.int64)
        self._fit_model(data)
        return self

    # -- lookup -------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "users_"):
            raise NotFitted(
                f"{type(self).__name__} is not fitted yet; call fit first", code="not_fitted"
            )

    @staticmethod
    def _as_batch(ids: Any, *, name: str) -> list[Any]:
        if isinstance(ids, (str, bytes)) or np.ndim(ids) != 1:
            raise InvalidInput(
                f"{name} must be a 1-d sequence of ids (a batch), got {type(ids).__name__}",
                code="not_a_batch",
            )
        return list(np.asarray(ids, dtype=object).tolist())

    def is_cold(self, user_ids: Sequence[Any] | np.ndarray) -> np.ndarray:
        """Which users are answered by the popularity fallback.

        Parameters
        ----------
        user_ids : sequence of ids, length n_users

        Returns
        -------
        ndarray of bool, shape (n_users,)
            True for unknown users and users without usable history.
        """
        self._check_fitted()
        pos = lookup_ids(self.users_, self._as_batch(user_ids, name="user_ids"))
        return self._cold(pos)

    def _cold(self, pos: np.ndarray) -> np.ndarray:
        cold = pos < 0
        cold[~cold] = self.history_[pos[~cold]] == 0
        return cold

    # -- answers ------------------------------------------------------------------------
    def recommend(
        self, user_ids: Sequence[Any] | np.ndarray, n: int = 10, filter_seen: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``n`` items for each user of a batch.

        Parameters
        ----------
        user_ids : sequence of ids, length n_users
            Known or unknown users; unknown ones get the most popular items (see
            :meth:`is_cold`).
        n : int, default 10
            Items per user (> 0).
        filter_seen : bool, default True
            Leave out items the user interacted with in training.

        Returns
        -------
        ids : ndarray of object, shape (n_users, n)
            Item ids, best first; ``None`` where fewer than ``n`` candidates remain.
        scores : ndarray of float64, shape (n_users, n)
            The model's scores (popularity counts for cold users); ``NaN`` where padded.

        Raises
        ------
        InvalidInput
            ``not_a_batch`` or ``invalid_param`` (n not a positive integer).
        NotFitted
            ``not_fitted``.
        """
        self._check_fitted()
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
            raise InvalidInput(f"n must be a positive integer, got {n!r}", code="invalid_param")
        n = int(n)
        queries = self._as_batch(user_ids, name="user_ids")
        pos = lookup_ids(self.users_, queries)
        cold = self._cold(pos)
        ids = np.full((len(queries), n), None, dtype=object)
        scores = np.full((len(queries), n), np.nan, dtype=np.float64)
        for start in range(0, len(queries), _BATCH_USERS):
            sl = slice(start, start + _BATCH_USERS)
            block_pos, block_cold = pos[sl], cold[sl]
            block = np.empty((len(block_pos), len(self.items_)), dtype=np.float64)
            block[block_cold] = self.popularity_
            warm_rows = np.flatnonzero(~block_cold)
            if len(warm_rows):
                block[warm_rows] = self._score_users(block_pos[warm_rows])
            if filter_seen:
                known = np.flatnonzero(block_pos >= 0)
                seen = self.user_items_[block_pos[known]].tocoo()
                block[known[seen.row], seen.col] = -np.inf
            idx, vals = top_n(block, n)
            found = idx >= 0
            block_ids = np.full(idx.shape, None, dtype=object)
            block_ids[found] = self.items_[idx[found]]
            ids[sl] = block_ids
            scores[sl] = vals
        return ids, scores

    def score_items(
        self, user_ids: Sequence[Any] | np.ndarray, item_ids: Sequence[Any] | np.ndarray
    ) -> np.ndarray:
        """The score :meth:`recommend` ranks by, for (user, item) pairs.

        Parameters
        ----------
        user_ids, item_ids : sequences of ids, same length n_pairs

        Returns
        -------
        ndarray of float64, shape (n_pairs,)
            The model's score (popularity for cold users); ``NaN`` for unknown items.

        Raises
        ------
        InvalidInput
            ``length_mismatch`` or ``not_a_batch``.
        """
        self._check_fitted()
        users = self._as_batch(user_ids, name="user_ids")
        items = self._as_batch(item_ids, name="item_ids")
        if len(users) != len(items):
            raise InvalidInput(f"{len(users)} users but {len(items)} items", code="length_mismatch")
        upos = lookup_ids(self.users_, users)
        ipos = lookup_ids(self.items_, items)
        cold = self._cold(upos)
        out = np.full(len(users), np.nan, dtype=np.float64)
        known_item = ipos >= 0
        pick = known_item & cold
        out[pick] = self.popularity_[ipos[pick]]
        warm = np.flatnonzero(known_item & ~cold)
        for start in range(0, len(warm), _BATCH_USERS):
            chunk = warm[start : start + _BATCH_USERS]
            rows, inverse = np.unique(upos[chunk], return_inverse=True)
            dense = self._score_users(rows)
            out[chunk] = dense[inverse, ipos[chunk]]
        return out

    # -- persistence ---------------------------------------------------------------------
    def to_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Arrays and JSON-able metadata that rebuild this fitted model.

        Returns
        -------
        arrays : dict of str to ndarray
            No object arrays (ids are int64 or unicode), so ``np.load(allow_pickle=False)``
            reads them back.
        meta : dict
            ``kind``, ``state_version`` and ``params``.
        """
        self._check_fitted()
        m = self.user_items_
        arrays = {
            "users": ids_to_state(self.users_),
            "items": ids_to_state(self.items_),
            "seen_indptr": m.indptr.astype(np.int64),
            "seen_indices": m.indices.astype(np.int64),
            "seen_data": m.data.astype(np.float64),
            "popularity": self.popularity_,
            "history": self.history_,
        }
        for key, value in self._model_state().items():
            arrays[f"model_{key}"] = value
        meta = {"kind": self.kind, "state_version": 1, "params": self.get_params()}
        return arrays, meta

    @classmethod
    def from_state(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> Self:
        """Rebuild a model written by :meth:`to_state`.

        Raises
        ------
        IntegrityError
            ``bad_state`` when the kind, version or arrays do not match.
        """
        if meta.get("kind") != cls.kind or meta.get("state_version") != 1:
            raise IntegrityError(
                f"state is for kind {meta.get('kind')!r} v{meta.get('state_version')}, "
                f"not {cls.kind!r} v1",
                code="bad_state",
            )
        try:
            model = cls(**meta.get("params", {}))
            model.users_ = ids_from_state(arrays["users"])
            model.items_ = ids_from_state(arrays["items"])
            shape = (len(model.users_), len(model.items_))
            model.user_items_ = sp.csr_matrix(
                (arrays["seen_data"], arrays["seen_indices"], arrays["seen_indptr"]), shape=shape
            )
            model.popularity_ = np.asarray(arrays["popularity"], dtype=np.float64)
            model.history_ = np.asarray(arrays["history"], dtype=np.int64)
            own = {k[len("model_") :]: v for k, v in arrays.items() if k.startswith("model_")}
            model._restore_model_state(own, meta)
        except (KeyError, TypeError, ValueError) as exc:
            raise IntegrityError(f"cannot rebuild {cls.kind}: {exc}", code="bad_state") from exc
        if len(model.popularity_) != shape[1] or len(model.history_) != shape[0]:
            raise IntegrityError(f"{cls.kind} state arrays disagree in size", code="bad_state")
        return model
