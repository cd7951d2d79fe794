"""Consensus of one task's annotations: majority vote, agreement, review.

A task with *k* submitted labels (the queue's overlap) is decided by majority vote:

* the **majority label** is the label given most often;
* the **agreement** is its share of the labels, ``count(majority) / k``, in [0, 1];
* a **tie** (two or more labels given most often) or an agreement below the queue's
  ``min_agreement`` sends the task to review by an admin; otherwise the majority
  label is the task's consensus label (``resolution="majority"``).

Example: labels ``a, a, b`` give ``a`` with agreement 2/3; ``a, b`` is a tie (review);
``a, a, b, c`` gives ``a`` with agreement 1/2, accepted when ``min_agreement <= 0.5``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from baryon.core.errors import InvalidInput

__all__ = ["Consensus", "majority_vote"]


@dataclass(frozen=True)
class Consensus:
    """The outcome of :func:`majority_vote`.

    Attributes
    ----------
    label : str or None
        The majority label (``None`` on a tie).
    agreement : float
        Share of the labels equal to the most frequent one, in [0, 1].
    tie : bool
        Two or more labels share the highest count.
    accepted : bool
        No tie and ``agreement >= min_agreement``: ``label`` is the consensus.
    """

    label: str | None
    agreement: float
    tie: bool
    accepted: bool


def majority_vote(labels: Sequence[str], *, min_agreement: float) -> Consensus:
    """Decide a task from its annotators' labels.

    Parameters
    ----------
    labels : sequence of str
        One label per submitted annotation (at least one).
    min_agreement : float
        In [0, 1]: the least share of labels the majority needs.

    Returns
    -------
    Consensus

    Raises
    ------
    InvalidInput
        ``no_labels`` for an empty sequence.
    """
    if not labels:
        raise InvalidInput("a consensus needs at least one label", code="no_labels")
    counts = Counter(labels).most_common()
    top_label, top = counts[0]
    tie = len(counts) > 1 and counts[1][1] == top
    agreement = top / len(labels)
    return Consensus(
        label=None if tie else top_label,
        agreement=agreement,
        tie=tie,
        accepted=not tie and agreement >= min_agreement,
    )
