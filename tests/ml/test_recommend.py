"""The shared recommender contract: shapes, padding, cold start, state, errors — every kind."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from threadpoolctl import threadpool_info

from baryon.core.errors import IntegrityError, InvalidInput, ModelNotReady
from baryon.ml._validation import NotFitted
from baryon.ml.recommend import (
    RECOMMENDERS,
    ALSRecommender,
    ItemKNNCosineRecommender,
    PopularityRecommender,
    RecommenderBase,
)

# 5 users, 4 items; popularity a:4, b:3, c:2, d:1
TABLE = pd.DataFrame(
    {
        "user": [10, 10, 10, 11, 11, 12, 12, 13, 14, 14],
        "item": ["a", "b", "c", "a", "b", "a", "d", "a", "b", "c"],
        "rating": [5.0, 4.0, 2.0, 4.0, 5.0, 3.0, 5.0, 1.0, 4.0, 4.0],
    }
)

SMALL_PARAMS: dict[str, dict[str, Any]] = {
    "als": {"factors": 2, "iterations": 3, "num_threads": 1},
}


def make(kind: str, **params: Any) -> RecommenderBase:
    return RECOMMENDERS[kind](**{**SMALL_PARAMS.get(kind, {}), **params})


KINDS = sorted(RECOMMENDERS)


def test_recommenders_kind_names_are_the_contracts() -> None:
    assert KINDS == ["als", "cf_seed", "itemknn_cosine", "popularity"]


@pytest.mark.parametrize("kind", KINDS)
def test_recommend_batch_pads_with_none_and_nan(kind: str) -> None:
    model = make(kind).fit(TABLE)
    ids, scores = model.recommend([10, 99], n=6)
    assert ids.shape == (2, 6)
    assert ids.dtype == object
    assert scores.shape == (2, 6)
    assert scores.dtype == np.float64
    # user 10 saw a, b, c: only d is left; the unknown user gets all 4 items
    assert ids[0, 0] == "d"
    assert all(v is None for v in ids[0, 1:])
    assert np.isnan(scores[0, 1:]).all()
    assert np.isfinite(scores[0, 0])
    assert [v for v in ids[1] if v is not None] == ["a", "b", "c", "d"]
    assert np.isnan(scores[1, 4:]).all()


@pytest.mark.parametrize("kind", KINDS)
def test_recommend_unknown_user_gets_popularity_and_is_cold(kind: str) -> None:
    model = make(kind).fit(TABLE)
    ids, scores = model.recommend(["nobody"], n=3)
    assert ids[0].tolist() == ["a", "b", "c"]
    np.testing.assert_array_equal(scores[0], [4.0, 3.0, 2.0])
    np.testing.assert_array_equal(model.is_cold(["nobody", 10, "10"]), [True, False, False])


@pytest.mark.parametrize("kind", KINDS)
def test_recommend_filter_seen_false_may_return_seen_items(kind: str) -> None:
    model = make(kind).fit(TABLE)
    ids, _ = model.recommend([10], n=4, filter_seen=False)
    assert sorted(ids[0].tolist()) == ["a", "b", "c", "d"]


@pytest.mark.parametrize("kind", KINDS)
def test_recommend_scores_are_sorted_and_match_score_items(kind: str) -> None:
    model = make(kind).fit(TABLE)
    ids, scores = model.recommend([11, 13], n=2)
    for row in range(2):
        assert scores[row, 0] >= scores[row, 1]
        user = [11, 13][row]
        again = model.score_items([user, user], ids[row].tolist())
        np.testing.assert_allclose(again, scores[row])


@pytest.mark.parametrize("kind", KINDS)
def test_recommend_empty_batch_returns_zero_rows(kind: str) -> None:
    ids, scores = make(kind).fit(TABLE).recommend([], n=3)
    assert ids.shape == (0, 3)
    assert scores.shape == (0, 3)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n", [0, -1, 2.5, True])
def test_recommend_bad_n_raises_invalid_param(kind: str, n: Any) -> None:
    with pytest.raises(InvalidInput) as info:
        make(kind).fit(TABLE).recommend([10], n=n)
    assert info.value.code == "invalid_param"


@pytest.mark.parametrize("kind", KINDS)
def test_recommend_scalar_user_raises_not_a_batch(kind: str) -> None:
    with pytest.raises(InvalidInput) as info:
        make(kind).fit(TABLE).recommend("10")  # type: ignore[arg-type]
    assert info.value.code == "not_a_batch"


@pytest.mark.parametrize("kind", KINDS)
def test_recommend_before_fit_raises_not_fitted(kind: str) -> None:
    with pytest.raises(ModelNotReady) as info:
        make(kind).recommend([10])
    assert info.value.code == "not_fitted"
    assert isinstance(info.value, NotFitted)  # the one not-fitted error of baryon.ml


@pytest.mark.parametrize("kind", KINDS)
def test_score_items_unknown_item_is_nan_and_lengths_must_match(kind: str) -> None:
    model = make(kind).fit(TABLE)
    out = model.score_items([10, 10], ["d", "zzz"])
    assert np.isfinite(out[0])
    assert np.isnan(out[1])
    with pytest.raises(InvalidInput) as info:
        model.score_items([10], ["a", "b"])
    assert info.value.code == "length_mismatch"


@pytest.mark.parametrize("kind", KINDS)
def test_to_state_round_trips_through_npz_without_pickle(kind: str) -> None:
    model = make(kind).fit(TABLE)
    arrays, meta = model.to_state()
    assert all(a.dtype != object for a in arrays.values())
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as loaded:
        restored = type(model).from_state(dict(loaded), json.loads(json.dumps(meta)))
    users = [10, 11, 12, 13, 14, "ghost"]
    for a, b in zip(model.recommend(users, n=4), restored.recommend(users, n=4), strict=True):
        np.testing.assert_array_equal(a, b)
    assert restored.users_.tolist() == [10, 11, 12, 13, 14]
    assert isinstance(restored.users_[0], int)
    assert restored.items_.tolist() == list("abcd")
    assert restored.get_params() == model.get_params()


@pytest.mark.parametrize("kind", KINDS)
def test_from_state_other_kind_raises_bad_state(kind: str) -> None:
    arrays, meta = make(kind).fit(TABLE).to_state()
    other = next(k for k in KINDS if k != kind)
    with pytest.raises(IntegrityError) as info:
        RECOMMENDERS[other].from_state(arrays, meta)
    assert info.value.code == "bad_state"


@pytest.mark.parametrize("kind", KINDS)
def test_from_state_missing_array_raises_bad_state(kind: str) -> None:
    arrays, meta = make(kind).fit(TABLE).to_state()
    del arrays["users"]
    with pytest.raises(IntegrityError) as info:
        RECOMMENDERS[kind].from_state(arrays, meta)
    assert info.value.code == "bad_state"


@pytest.mark.parametrize("kind", KINDS)
def test_clone_keeps_params_and_drops_fitted_state(kind: str) -> None:
    model = make(kind).fit(TABLE)
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert not hasattr(copy, "users_")


@pytest.mark.parametrize("kind", KINDS)
def test_fit_twice_gives_identical_answers(kind: str) -> None:
    a = make(kind).fit(TABLE).recommend([10, 11, 12], n=3)
    b = make(kind).fit(TABLE.sample(frac=1.0, random_state=1)).recommend([10, 11, 12], n=3)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_allclose(a[1], b[1], rtol=1e-5)


@pytest.mark.parametrize(
    ("table", "code"),
    [
        (TABLE.to_dict(), "not_a_dataframe"),
        (TABLE.drop(columns=["item"]), "missing_column"),
        (TABLE.iloc[:0], "empty"),
        (TABLE.assign(user=pd.Series([None, *TABLE["user"][1:]], dtype=object)), "missing_values"),
        (TABLE.assign(rating=[np.nan, *TABLE["rating"][1:]]), "bad_rating"),
        (TABLE.assign(rating=["x"] * len(TABLE)), "bad_rating"),
    ],
)
@pytest.mark.parametrize("kind", KINDS)
def test_fit_bad_table_raises_invalid_input(kind: str, table: Any, code: str) -> None:
    with pytest.raises(InvalidInput) as info:
        make(kind).fit(table)
    assert info.value.code == code


def test_fit_duplicate_pairs_are_merged_by_mean_rating() -> None:
    table = pd.DataFrame({"user": [1, 1, 2], "item": ["a", "a", "b"], "rating": [2.0, 4.0, 5.0]})
    model = PopularityRecommender().fit(table)
    assert model.user_items_[0, 0] == 3.0
    assert model.user_items_.nnz == 2
    np.testing.assert_array_equal(model.popularity_, [1.0, 1.0])


def test_fit_float_integral_and_string_ids_are_normalised() -> None:
    table = pd.DataFrame({"user": [1.0, 2.0], "item": ["x", "y"]})
    model = PopularityRecommender().fit(table)
    assert model.users_.tolist() == [1, 2]
    assert isinstance(model.users_[0], int)
    np.testing.assert_array_equal(model.is_cold(["1", 1.0, 1.5]), [False, False, True])


@pytest.mark.parametrize("spelling", ["01", "+1", "1_0", " 1", "1\n", "\u0661", "\uff11"])
def test_is_cold_non_canonical_spelling_of_a_known_user_is_another_user(spelling: str) -> None:
    # int() read "01", "+1", "1_0" (10), " 1" and "١" as known users 1 and 10 (issue 12)
    table = pd.DataFrame({"user": [1, 10], "item": ["x", "y"]})
    model = PopularityRecommender().fit(table)
    np.testing.assert_array_equal(model.is_cold(["1", "10", spelling]), [False, False, True])
    ids, _ = model.recommend([spelling, "nobody", "1"], n=2)
    assert ids[0].tolist() == ids[1].tolist()  # the cold users' popularity list
    assert ids[2].tolist() == ["y", None]  # user 1's own list leaves out the "x" it saw


def test_popularity_min_rating_counts_only_liked_items() -> None:
    model = PopularityRecommender(min_rating=4.0).fit(TABLE)
    # ratings ≥ 4: a (10, 11), b (10, 11, 14), c (14), d (12)
    np.testing.assert_array_equal(model.popularity_, [2.0, 3.0, 1.0, 1.0])
    assert model.recommend(["new"], n=2)[0][0].tolist() == ["b", "a"]


def test_popularity_without_ratings_min_rating_raises_missing_column() -> None:
    with pytest.raises(InvalidInput) as info:
        PopularityRecommender(min_rating=4.0).fit(TABLE[["user", "item"]])
    assert info.value.code == "missing_column"


def test_itemknn_hand_computed_score() -> None:
    model = ItemKNNCosineRecommender().fit(TABLE)
    # binary item vectors over users 10..14: a=(1,1,1,1,0) c=(1,0,0,0,1) d=(0,0,1,0,0)
    # user 13 has only a: score(c) = cos(a, c) = 1 / (2·√2), score(d) = cos(a, d) = 1 / 2
    out = model.score_items([13, 13], ["c", "d"])
    np.testing.assert_allclose(out, [1 / (2 * np.sqrt(2)), 0.5])


def test_itemknn_min_rating_user_without_liked_items_is_cold() -> None:
    model = ItemKNNCosineRecommender(min_rating=4.0).fit(TABLE)
    # user 13 rated only a, with 1.0
    np.testing.assert_array_equal(model.is_cold([13, 10]), [True, False])
    ids, _ = model.recommend([13], n=2)
    assert ids[0].tolist() == ["b", "c"]  # popularity fallback, a (seen) filtered


@pytest.mark.parametrize(
    ("kind", "param", "value"),
    [
        ("itemknn_cosine", "neighbours", 0),
        ("itemknn_cosine", "weighting", "log"),
        ("als", "factors", 0),
        ("als", "alpha", 0.0),
        ("als", "iterations", 1.5),
        ("popularity", "min_rating", -1.0),
    ],
)
def test_fit_bad_param_raises_invalid_param(kind: str, param: str, value: Any) -> None:
    with pytest.raises(InvalidInput) as info:
        make(kind, **{param: value}).fit(TABLE)
    assert info.value.code == "invalid_param"
    assert info.value.details["param"] == param


def test_als_fit_limits_blas_threads_only_while_fitting() -> None:
    before = [(i["internal_api"], i["num_threads"]) for i in threadpool_info()]
    model = ALSRecommender(factors=3, iterations=2, num_threads=1).fit(TABLE)
    after = [(i["internal_api"], i["num_threads"]) for i in threadpool_info()]
    assert before == after
    assert model.user_factors_.shape == (5, 3)
    assert model.item_factors_.shape == (4, 3)


def test_recommender_base_is_abstract() -> None:
    with pytest.raises(TypeError):
        RecommenderBase()  # type: ignore[abstract]
