"""Uncertainty scores and batch selection on hand-computed matrices."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import sparse

from baryon.core.errors import InvalidInput
from baryon.labeling.active import (
    STRATEGIES,
    entropy_scores,
    least_confidence_scores,
    margin_scores,
    random_scores,
    score,
    select_batch,
)

# rows: a 3-way spread, a confident row, the uniform row, a two-way tie-ish row
P = np.array(
    [
        [0.5, 0.3, 0.2],
        [0.9, 0.05, 0.05],
        [1 / 3, 1 / 3, 1 / 3],
        [0.6, 0.4, 0.0],
    ]
)


def test_least_confidence_hand_computed_one_minus_top() -> None:
    assert least_confidence_scores(P) == pytest.approx([0.5, 0.1, 2 / 3, 0.4])


def test_margin_hand_computed_one_minus_gap_of_top_two() -> None:
    # 1 - (0.5 - 0.3), 1 - (0.9 - 0.05), 1 - 0, 1 - (0.6 - 0.4)
    assert margin_scores(P) == pytest.approx([0.8, 0.15, 1.0, 0.8])


def test_entropy_hand_computed_normalised_by_log_k() -> None:
    ln = math.log
    h0 = -(0.5 * ln(0.5) + 0.3 * ln(0.3) + 0.2 * ln(0.2))  # 1.029653 nats
    h1 = -(0.9 * ln(0.9) + 2 * 0.05 * ln(0.05))  # 0.394398
    h3 = -(0.6 * ln(0.6) + 0.4 * ln(0.4))  # 0.673012; 0 log 0 = 0
    expected = [h0 / ln(3), h1 / ln(3), 1.0, h3 / ln(3)]
    assert entropy_scores(P) == pytest.approx(expected)
    assert entropy_scores(P)[0] == pytest.approx(0.937231, abs=1e-6)


def test_scores_certain_row_zero_for_every_measure() -> None:
    certain = np.array([[0.0, 1.0, 0.0]])
    for fn in (least_confidence_scores, margin_scores, entropy_scores):
        assert fn(certain) == pytest.approx([0.0])


def test_scores_one_class_defined() -> None:
    one = np.array([[1.0], [0.7]])
    assert least_confidence_scores(one) == pytest.approx([0.0, 0.3])
    assert margin_scores(one) == pytest.approx([0.0, 0.3])
    assert entropy_scores(one) == pytest.approx([0.0, 0.0])


def test_scores_empty_matrix_empty_scores() -> None:
    empty = np.zeros((0, 3))
    for strategy in STRATEGIES:
        assert score(empty, strategy).shape == (0,)


def test_measures_rank_differently_on_a_known_pair() -> None:
    # A: two-way tie 0.5/0.5/0; B: 0.4/0.3/0.3. Least confidence and entropy prefer B,
    # margin prefers A (gap 0 < 0.1): the textbook disagreement (Settles 2009, fig. 5).
    pair = np.array([[0.5, 0.5, 0.0], [0.4, 0.3, 0.3]])
    assert np.argmax(least_confidence_scores(pair)) == 1
    assert np.argmax(entropy_scores(pair)) == 1
    assert np.argmax(margin_scores(pair)) == 0


def test_random_scores_seeded_same_seed_same_scores() -> None:
    a, b, c = random_scores(5, seed=3), random_scores(5, seed=3), random_scores(5, seed=4)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert ((a >= 0) & (a < 1)).all()


def test_score_dispatches_by_name() -> None:
    assert score(P, "margin") == pytest.approx(margin_scores(P))
    assert score(P, "entropy") == pytest.approx(entropy_scores(P))
    assert score(P, "least_confidence") == pytest.approx(least_confidence_scores(P))
    assert score(P, "random", seed=1) == pytest.approx(random_scores(4, seed=1))


def test_score_unknown_strategy_named_error() -> None:
    with pytest.raises(InvalidInput) as err:
        score(P, "bald")
    assert err.value.code == "invalid_strategy"


@pytest.mark.parametrize(
    "bad",
    [np.array([0.5, 0.5]), np.array([[0.5, np.nan]]), np.array([[1.5, -0.5]]), [["a", "b"]]],
)
def test_scores_bad_probabilities_named_error(bad: object) -> None:
    with pytest.raises(InvalidInput) as err:
        margin_scores(bad)
    assert err.value.code == "invalid_probabilities"


def test_select_batch_top_n_highest_first_ties_by_index() -> None:
    s = np.array([0.2, 0.9, 0.5, 0.9, 0.1])
    assert select_batch(s, 3).tolist() == [1, 3, 2]
    assert select_batch(s, 10).tolist() == [1, 3, 2, 0, 4]


def test_select_batch_bad_size_named_error() -> None:
    with pytest.raises(InvalidInput) as err:
        select_batch([0.1, 0.2], 0)
    assert err.value.code == "invalid_sample_size"
    with pytest.raises(InvalidInput) as err:
        select_batch([0.1, float("nan")], 1)
    assert err.value.code == "invalid_scores"


def test_select_batch_diversity_one_per_group_of_copies() -> None:
    # Ten near-copies of one question (most uncertain) and three distinct ones: without
    # diversity the batch of 3 is three copies; with it, one copy and two others.
    copies = np.tile([1.0, 0.0], (10, 1)) + np.linspace(0, 1e-3, 10)[:, None]
    others = np.array([[0.0, 1.0], [5.0, 5.0], [-5.0, 3.0]])
    features = np.vstack([copies, others])
    scores = np.concatenate([np.linspace(0.99, 0.95, 10), [0.5, 0.4, 0.3]])
    plain = select_batch(scores, 3)
    assert set(plain.tolist()) <= set(range(10))
    diverse = select_batch(scores, 3, features=features, diversity=True, seed=0)
    assert diverse.tolist()[0] == 0  # the most uncertain copy is kept
    assert sum(i < 10 for i in diverse) == 1
    assert len(set(diverse.tolist())) == 3


def test_select_batch_diversity_sparse_features_accepted() -> None:
    features = sparse.csr_matrix(np.eye(6))
    picked = select_batch(np.linspace(1, 0.5, 6), 2, features=features, diversity=True)
    assert len(picked) == 2
    assert len(set(picked.tolist())) == 2


def test_select_batch_diversity_identical_vectors_filled_by_score() -> None:
    # every candidate identical: k-means finds one group; the batch is filled by score
    features = np.ones((8, 2))
    scores = np.arange(8, dtype=float)
    picked = select_batch(scores, 3, features=features, diversity=True, pool_factor=2)
    assert picked.tolist() == [7, 6, 5]


def test_select_batch_diversity_needs_features() -> None:
    with pytest.raises(InvalidInput) as err:
        select_batch([0.1, 0.2, 0.3], 1, diversity=True)
    assert err.value.code == "invalid_input"
