"""Similarity matrices: the seed formula against its plain-Python definition, cosine, pruning."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from baryon.core.errors import InvalidInput
from baryon.ml.recommend.similarity import (
    Axis,
    cosine_similarity,
    drop_diagonal,
    prune_rows,
    seed_similarity,
    shrink_by_support,
    similarity_bruteforce,
)


@st.composite
def rating_matrices(draw: st.DrawFn, *, grid: bool) -> np.ndarray:
    """Small dense user × item matrices, 0 = unrated, ~half the cells rated."""
    n_users = draw(st.integers(1, 7))
    n_items = draw(st.integers(1, 6))
    if grid:
        value = st.integers(1, 5).map(float)
    else:
        value = st.floats(0.01, 10.0, allow_nan=False, allow_infinity=False)
    cell = st.one_of(st.just(0.0), value)
    cells = draw(st.lists(cell, min_size=n_users * n_items, max_size=n_users * n_items))
    return np.asarray(cells, dtype=np.float64).reshape(n_users, n_items)


@settings(max_examples=60, deadline=None)
@given(ratings=rating_matrices(grid=True), axis=st.sampled_from(["item", "user"]))
def test_seed_similarity_integer_ratings_matches_bruteforce(
    ratings: np.ndarray, axis: Axis
) -> None:
    expected = np.array(similarity_bruteforce(ratings.tolist(), axis=axis))
    got = seed_similarity(sp.csr_matrix(ratings), axis=axis).toarray()
    np.testing.assert_allclose(got, expected.reshape(got.shape), rtol=1e-12, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(ratings=rating_matrices(grid=False), axis=st.sampled_from(["item", "user"]))
def test_seed_similarity_float_ratings_matches_bruteforce(ratings: np.ndarray, axis: Axis) -> None:
    expected = np.array(similarity_bruteforce(ratings.tolist(), axis=axis))
    got = seed_similarity(sp.csr_matrix(ratings), axis=axis).toarray()
    np.testing.assert_allclose(got, expected.reshape(got.shape), rtol=1e-10, atol=1e-12)


def test_seed_similarity_hand_computed_pair_matches_formula() -> None:
    # item 0 rated (4, 2, 0), item 1 rated (5, 0, 3) by users 0..2
    ratings = sp.csr_matrix(np.array([[4.0, 5.0], [2.0, 0.0], [0.0, 3.0]]))
    s = seed_similarity(ratings).toarray()
    # numerator min(4,5)+min(2,0)+min(0,3) = 4; denominator sqrt(16+4 + 25+9) = sqrt(54)
    assert s[0, 1] == pytest.approx(4 / math.sqrt(54))
    assert s[1, 0] == pytest.approx(4 / math.sqrt(54))
    # self-similarity: (4+2) / sqrt(2*(16+4))
    assert s[0, 0] == pytest.approx(6 / math.sqrt(40))


def test_seed_similarity_rows_subset_equals_full_rows() -> None:
    rng = np.random.default_rng(3)
    dense = rng.integers(0, 6, size=(12, 9)).astype(float)
    full = seed_similarity(sp.csr_matrix(dense), axis="user").toarray()
    part = seed_similarity(sp.csr_matrix(dense), axis="user", rows=np.array([7, 2])).toarray()
    np.testing.assert_allclose(part, full[[7, 2]])


def test_seed_similarity_no_shared_raters_stores_nothing() -> None:
    ratings = sp.csr_matrix(np.array([[5.0, 0.0], [0.0, 3.0]]))
    s = seed_similarity(ratings)
    assert s[0, 1] == 0
    assert s.nnz == 2


def test_seed_similarity_negative_rating_raises_bad_rating() -> None:
    with pytest.raises(InvalidInput) as info:
        seed_similarity(sp.csr_matrix(np.array([[-1.0, 2.0]])))
    assert info.value.code == "bad_rating"


def test_seed_similarity_unknown_axis_raises_invalid_param() -> None:
    with pytest.raises(InvalidInput) as info:
        seed_similarity(sp.csr_matrix(np.eye(2)), axis="row")  # type: ignore[arg-type]
    assert info.value.code == "invalid_param"


def test_similarity_bruteforce_zero_vectors_gives_zero() -> None:
    assert similarity_bruteforce([[0.0, 0.0]]) == [[0.0, 0.0], [0.0, 0.0]]


def test_cosine_similarity_hand_computed_binary_vectors() -> None:
    # items as columns: item0 = (1,1,0), item1 = (1,0,1): cosine 1/2
    binary = sp.csr_matrix(np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0]]))
    s = cosine_similarity(binary).toarray()
    np.testing.assert_allclose(s, [[1.0, 0.5], [0.5, 1.0]])
    shrunk = cosine_similarity(binary, shrinkage=2.0).toarray()
    assert shrunk[0, 1] == pytest.approx(1 / (2 + 2))


def test_prune_rows_keeps_k_largest_and_breaks_ties_by_column() -> None:
    m = sp.csr_matrix(np.array([[0.0, 3.0, 1.0, 3.0], [2.0, 0.0, 0.0, 0.0]]))
    out = prune_rows(m, 2).toarray()
    np.testing.assert_array_equal(out, [[0.0, 3.0, 0.0, 3.0], [2.0, 0.0, 0.0, 0.0]])
    out1 = prune_rows(m, 1).toarray()
    np.testing.assert_array_equal(out1[0], [0.0, 3.0, 0.0, 0.0])  # column 1 beats column 3


def test_shrink_by_support_scales_by_count_ratio() -> None:
    s = sp.csr_matrix(np.array([[0.5, 0.2]]))
    c = sp.csr_matrix(np.array([[3.0, 1.0]]))
    np.testing.assert_allclose(shrink_by_support(s, c, 1.0).toarray(), [[0.5 * 3 / 4, 0.2 / 2]])
    assert shrink_by_support(s, c, 0.0) is s


def test_drop_diagonal_splits_off_diagonal_and_diagonal() -> None:
    m = sp.csr_matrix(np.array([[1.0, 2.0], [0.0, 4.0]]))
    off, diag = drop_diagonal(m)
    np.testing.assert_array_equal(off.toarray(), [[0.0, 2.0], [0.0, 0.0]])
    np.testing.assert_array_equal(diag, [1.0, 4.0])
    np.testing.assert_array_equal(m.toarray(), [[1.0, 2.0], [0.0, 4.0]])  # input untouched
