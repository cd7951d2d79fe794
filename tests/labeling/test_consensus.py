from __future__ import annotations

import pytest

from baryon.core.errors import InvalidInput
from baryon.labeling.consensus import majority_vote


def test_majority_vote_unanimous_is_accepted_with_agreement_one() -> None:
    vote = majority_vote(["a", "a", "a"], min_agreement=1.0)
    assert (vote.label, vote.agreement, vote.tie, vote.accepted) == ("a", 1.0, False, True)


def test_majority_vote_two_of_three_agreement_is_two_thirds() -> None:
    vote = majority_vote(["b", "a", "b"], min_agreement=0.5)
    assert vote.label == "b"
    assert vote.agreement == pytest.approx(2 / 3)
    assert vote.accepted


def test_majority_vote_tie_is_never_accepted() -> None:
    vote = majority_vote(["a", "b"], min_agreement=0.0)
    assert vote.tie
    assert not vote.accepted
    assert vote.label is None
    assert vote.agreement == 0.5


def test_majority_vote_agreement_below_minimum_is_not_accepted() -> None:
    vote = majority_vote(["a", "a", "b"], min_agreement=0.7)
    assert vote.label == "a"
    assert not vote.tie
    assert not vote.accepted


def test_majority_vote_agreement_equal_to_minimum_is_accepted() -> None:
    vote = majority_vote(["a", "a", "b", "c"], min_agreement=0.5)
    assert vote.label == "a"
    assert vote.agreement == 0.5
    assert vote.accepted


def test_majority_vote_no_labels_refused() -> None:
    with pytest.raises(InvalidInput) as err:
        majority_vote([], min_agreement=0.5)
    assert err.value.code == "no_labels"
