"""Collaborative filtering on the bundled X-Wines ratings.

Rows:

1. ``cf_seed`` similarity, vectorised (sparse threshold products) vs the plain-Python
   implementation of the same formula, on a subset of items and users.
2. Fit time of ``cf_seed`` and of Baryon's ``als`` vs the ``implicit`` library's ALS
   called directly (same data, same ALS parameters), and ``cf_seed`` vs
   ``itemknn_cosine``.
3. NDCG@10 on the same per-user split (last 20 % of each user's ratings by date held
   out; relevant = rating ≥ 4; training items excluded) — ``cf_seed`` and ``als`` vs
   implicit's ALS.
4. Batch ``recommend`` for all users, users per second, Baryon's ``als`` vs implicit's
   own batch ``recommend``.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import scipy.sparse as sp

from benchmarks._harness import Comparison, alternate, peak_rss_mb, timed

RATINGS = "XWines_Slim_150K_ratings.csv"


def load_split(max_users: int | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (train, test) interactions with columns user, item, rating."""
    from baryon.solutions.bundled import open_bundled

    with open_bundled("xwines", RATINGS) as fh:
        raw = pd.read_csv(fh, usecols=["UserID", "WineID", "Rating", "Date"])
    raw = raw.rename(columns={"UserID": "user", "WineID": "item", "Rating": "rating"})
    raw["user"] = raw["user"].astype(str)
    raw["item"] = raw["item"].astype(str)
    if max_users is not None:
        users = np.sort(raw["user"].unique())[:max_users]
        raw = raw[raw["user"].isin(users)]
    raw = raw.sort_values(["user", "Date"], kind="stable")
    rank = raw.groupby("user").cumcount()
    size = raw.groupby("user")["item"].transform("size")
    is_test = (rank >= np.ceil(size * 0.8)) & (size >= 5)
    cols = ["user", "item", "rating"]
    return raw.loc[~is_test, cols].reset_index(drop=True), raw.loc[is_test, cols].reset_index(
        drop=True
    )


def _relevant(test: pd.DataFrame, threshold: float = 4.0) -> dict[str, set[str]]:
    rel = test[test["rating"] >= threshold]
    return {u: set(g["item"]) for u, g in rel.groupby("user")}


def _ndcg(recommended: dict[str, list[str]], relevant: dict[str, set[str]], k: int = 10) -> float:
    from baryon.training.metrics import ndcg_at_k

    users = [u for u in relevant if u in recommended]
    return float(np.mean([ndcg_at_k(recommended[u][:k], relevant[u], k) for u in users]))


class _RawImplicit:
    """implicit's ALS driven directly: the baseline a user would write by hand."""

    def __init__(self, train: pd.DataFrame, params: dict[str, float]) -> None:
        self.users = np.sort(train["user"].unique())
        self.items = np.sort(train["item"].unique())
        rows = np.searchsorted(self.users, train["user"].to_numpy())
        cols = np.searchsorted(self.items, train["item"].to_numpy())
        self.matrix = sp.csr_matrix(
            (np.ones(len(train), dtype=np.float32), (rows, cols)),
            shape=(len(self.users), len(self.items)),
        )
        self.params = params
        self.model = None

    def fit(self) -> None:
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="blas"):
            self.model = AlternatingLeastSquares(**self.params)  # type: ignore[arg-type]
            self.model.fit(self.matrix, show_progress=False)

    def recommend_all(self, n: int = 10) -> dict[str, list[str]]:
        assert self.model is not None
        ids, _ = self.model.recommend(
            np.arange(len(self.users)), self.matrix, N=n, filter_already_liked_items=True
        )
        return {
            u: [self.items[j] for j in row if j >= 0]
            for u, row in zip(self.users, ids, strict=True)
        }


def _recommend_all(model: object, users: np.ndarray, n: int = 10) -> dict[str, list[str]]:
    ids, _ = model.recommend(users, n=n, filter_seen=True)  # type: ignore[attr-defined]
    return {u: [i for i in row if i is not None] for u, row in zip(users, ids, strict=True)}


def run(quick: bool) -> list[Comparison]:
    """Measure the CF rows described in the module docstring."""
    from baryon.ml.recommend import (
        ALSRecommender,
        CFSeedRecommender,
        ItemKNNCosineRecommender,
        seed_similarity,
        similarity_bruteforce,
    )

    repeats = 3 if quick else 5
    rows: list[Comparison] = []

    # 1. similarity: vectorised vs plain Python on a subset
    train, test = load_split(None)
    sub_items = train["item"].value_counts().index[: (25 if quick else 60)]
    sub = train[train["item"].isin(sub_items)]
    sub_users = sub["user"].unique()[: (800 if quick else 3000)]
    sub = sub[sub["user"].isin(sub_users)]
    u = np.searchsorted(np.sort(sub["user"].unique()), sub["user"].to_numpy())
    i = np.searchsorted(np.sort(sub["item"].unique()), sub["item"].to_numpy())
    mat = sp.csr_matrix((sub["rating"].to_numpy(float), (u, i)))
    dense = mat.toarray().tolist()
    sim = Comparison(
        benchmark="collaborative filtering",
        measure=f"cf_seed similarity, {mat.shape[1]} items × {mat.shape[0]} users",
        unit="s",
        higher_is_better=False,
        baryon="seed_similarity (sparse, vectorised)",
        baseline="plain-Python formula",
    )
    check = np.asarray(seed_similarity(mat).toarray())
    assert np.allclose(check, np.asarray(similarity_bruteforce(dense)), atol=1e-9)
    sim.baryon_samples, sim.baseline_samples = alternate(
        lambda: timed(lambda: seed_similarity(mat)),
        lambda: timed(lambda: similarity_bruteforce(dense)),
        repeats,
    )
    rows.append(sim)

    # 2-4. fit time, NDCG@10, batch recommend on the full bundled ratings
    if quick:
        train, test = load_split(3000)
    relevant = _relevant(test)
    users = np.array(sorted(relevant))
    als_params = {"factors": 64, "regularization": 0.05, "alpha": 10.0, "iterations": 15}
    raw_params = {**als_params, "random_state": 42}
    label = f"{train['user'].nunique()} users, {train['item'].nunique()} items"

    fitted: dict[str, object] = {}

    def fit(name: str, make: object) -> float:
        start = time.perf_counter()
        model = make()  # type: ignore[operator]
        model.fit(train)
        fitted[name] = model
        return time.perf_counter() - start

    raw = _RawImplicit(train, raw_params)
    for name, make, baseline_name in (
        ("cf_seed", lambda: CFSeedRecommender(), "itemknn_cosine"),
        ("cf_seed", lambda: CFSeedRecommender(), "implicit ALS"),
        ("als", lambda: ALSRecommender(**als_params), "implicit ALS"),
    ):
        row = Comparison(
            benchmark="collaborative filtering",
            measure=f"fit time ({label})",
            unit="s",
            higher_is_better=False,
            baryon=f"baryon {name}",
            baseline=baseline_name,
        )
        if baseline_name == "implicit ALS":
            baseline_fn = lambda: timed(raw.fit)  # noqa: E731
        else:
            baseline_fn = lambda: fit("itemknn_cosine", ItemKNNCosineRecommender)  # noqa: E731
        row.baryon_samples, row.baseline_samples = alternate(
            lambda n=name, m=make: fit(n, m),
            baseline_fn,
            repeats,  # type: ignore[misc]
        )
        row.baryon_peak_rss_mb = peak_rss_mb()
        row.note = "peak RSS is the shared benchmark process"
        rows.append(row)
    raw_recs = raw.recommend_all()
    raw_ndcg = _ndcg(raw_recs, relevant)
    for name in ("cf_seed", "als"):
        recs = _recommend_all(fitted[name], users)
        row = Comparison(
            benchmark="collaborative filtering",
            measure="NDCG@10 (per-user split, last 20 % by date)",
            unit="ndcg",
            higher_is_better=True,
            baryon=f"baryon {name}",
            baseline="implicit ALS",
            baryon_samples=[_ndcg(recs, relevant)],
            baseline_samples=[raw_ndcg],
            note=f"{len(users)} test users with ≥1 relevant item; deterministic, one run",
        )
        rows.append(row)
    als_model = fitted["als"]
    all_users = np.asarray(raw.users)
    rec = Comparison(
        benchmark="collaborative filtering",
        measure=f"batch recommend, all {len(all_users)} users, n=10",
        unit="users/s",
        higher_is_better=True,
        baryon="baryon als.recommend",
        baseline="implicit ALS.recommend",
    )
    rec.baryon_samples, rec.baseline_samples = alternate(
        lambda: len(all_users) / timed(lambda: als_model.recommend(all_users, n=10)),  # type: ignore[attr-defined]
        lambda: len(all_users) / timed(raw.recommend_all),
        repeats,
    )
    cf_model = fitted["cf_seed"]
    cf_rate = len(all_users) / timed(lambda: cf_model.recommend(all_users, n=10))  # type: ignore[attr-defined]
    rec.note = f"cf_seed.recommend: {cf_rate:,.0f} users/s in the same run"
    rows.append(rec)
    return rows
