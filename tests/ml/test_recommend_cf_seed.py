"""cf_seed: scores equal the specification's formula computed by brute force."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baryon.core.errors import InvalidInput
from baryon.ml.recommend import CFSeedRecommender, similarity_bruteforce


@st.composite
def rating_tables(draw: st.DrawFn) -> pd.DataFrame:
    """Random small rating tables (integer 1–5 or float ratings), every user ≥ 1 rating."""
    n_users = draw(st.integers(1, 6))
    n_items = draw(st.integers(1, 5))
    integer = draw(st.booleans())
    value = (
        st.integers(1, 5).map(float)
        if integer
        else st.floats(0.5, 5.0, allow_nan=False, allow_infinity=False)
    )
    rows = []
    for u in range(n_users):
        rated = draw(st.sets(st.integers(0, n_items - 1), min_size=1, max_size=n_items))
        rows += [(f"u{u}", f"i{i}", draw(value)) for i in sorted(rated)]
    return pd.DataFrame(rows, columns=["user", "item", "rating"])


def brute_scores(model: CFSeedRecommender) -> np.ndarray:
    """r_ui = Σ_j S_ij r̃_uj (item form) or Σ_v S_uv r̃_vi (user form), in plain Python."""
    dense = model.user_items_.toarray()
    rated = np.zeros(dense.shape, dtype=bool)
    rated[model.user_items_.nonzero()] = True
    s = similarity_bruteforce(dense.tolist(), axis=model.similarity)
    n_users, n_items = dense.shape
    if not model.include_self:
        for k in range(len(s)):
            s[k][k] = 0.0

    def filled(u: int, i: int) -> float:
        if rated[u, i]:
            return float(dense[u, i])
        if model.fill == "zero":
            return 0.0
        return model.global_mean_ + model.user_bias_[u] + model.item_bias_[i]

    out = np.zeros((n_users, n_items))
    for u in range(n_users):
        for i in range(n_items):
            if model.similarity == "item":
                out[u, i] = sum(s[i][j] * filled(u, j) for j in range(n_items))
            else:
                out[u, i] = sum(s[u][v] * filled(v, i) for v in range(n_users))
    return out


def all_scores(model: CFSeedRecommender) -> np.ndarray:
    users, items = model.users_.tolist(), model.items_.tolist()
    pairs_u = [u for u in users for _ in items]
    pairs_i = [i for _ in users for i in items]
    return model.score_items(pairs_u, pairs_i).reshape(len(users), len(items))


@settings(max_examples=40, deadline=None)
@given(
    table=rating_tables(),
    similarity=st.sampled_from(["item", "user"]),
    include_self=st.booleans(),
    fill=st.sampled_from(["baseline", "zero"]),
)
def test_cf_seed_scores_match_bruteforce_formula(
    table: pd.DataFrame, similarity: str, include_self: bool, fill: str
) -> None:
    model = CFSeedRecommender(
        similarity=similarity,  # type: ignore[arg-type]
        include_self=include_self,
        fill=fill,  # type: ignore[arg-type]
    ).fit(table)
    np.testing.assert_allclose(all_scores(model), brute_scores(model), rtol=1e-9, atol=1e-9)


def similarity_of(model: CFSeedRecommender) -> np.ndarray:
    assert model.similarity_ is not None
    return np.asarray(model.similarity_.toarray())


TABLE = pd.DataFrame(
    {
        "user": [1, 1, 2, 2, 3, 3, 4],
        "item": ["a", "b", "a", "c", "b", "c", "a"],
        "rating": [5.0, 3.0, 4.0, 2.0, 5.0, 4.0, 1.0],
    }
)


def test_cf_seed_zero_fill_hand_computed_score() -> None:
    model = CFSeedRecommender(fill="zero").fit(TABLE)
    # user 4 rated only a (1.0): score(c) = S_ca · 1 ; a=(5,4,0,1), c=(0,2,4,0) over users
    s_ca = min(4, 2) / math.sqrt((25 + 16 + 1) + (4 + 16))
    assert model.score_items([4], ["c"])[0] == pytest.approx(s_ca)


def test_cf_seed_neighbours_prunes_to_most_similar() -> None:
    model = CFSeedRecommender(neighbours=1, include_self=False).fit(TABLE)
    s = similarity_of(model)
    assert np.all((s > 0).sum(axis=1) <= 1)
    full = similarity_of(CFSeedRecommender(include_self=False).fit(TABLE))
    for i in range(3):
        kept = np.flatnonzero(s[i])
        assert s[i, kept[0]] == full[i].max()


def test_cf_seed_shrinkage_scales_by_co_rater_count() -> None:
    plain = similarity_of(CFSeedRecommender().fit(TABLE))
    shrunk = similarity_of(CFSeedRecommender(shrinkage=1.0).fit(TABLE))
    # items a and b share one rater (user 1): factor 1 / (1 + 1)
    assert shrunk[0, 1] == pytest.approx(plain[0, 1] / 2)
    # a is rated by 3 users: self factor 3 / 4
    assert shrunk[0, 0] == pytest.approx(plain[0, 0] * 3 / 4)


def test_cf_seed_negative_rating_raises_bad_rating() -> None:
    bad = TABLE.assign(rating=[-1.0, 3, 4, 2, 5, 4, 1])
    with pytest.raises(InvalidInput) as info:
        CFSeedRecommender().fit(bad)
    assert info.value.code == "bad_rating"


def test_cf_seed_without_rating_column_raises_missing_column() -> None:
    with pytest.raises(InvalidInput) as info:
        CFSeedRecommender().fit(TABLE[["user", "item"]])
    assert info.value.code == "missing_column"


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("similarity", "users"),
        ("include_self", 1),
        ("fill", "mean"),
        ("neighbours", 0),
        ("shrinkage", -1.0),
        ("baseline_max_iter", 2.5),
    ],
)
def test_cf_seed_bad_param_raises_invalid_param(param: str, value: object) -> None:
    with pytest.raises(InvalidInput) as info:
        CFSeedRecommender(**{param: value}).fit(TABLE)  # type: ignore[arg-type]
    assert info.value.code == "invalid_param"


def test_cf_seed_user_form_recommend_ranks_by_bruteforce_scores() -> None:
    model = CFSeedRecommender(similarity="user").fit(TABLE)
    ids, _scores = model.recommend([4], n=2)
    expected = brute_scores(model)[3]
    order = [model.items_[j] for j in np.argsort(-expected, kind="stable") if j != 0][:2]
    assert ids[0].tolist() == order
    assert model.similarity_ is None
