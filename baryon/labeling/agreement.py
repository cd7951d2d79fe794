"""Inter-annotator agreement of a labeling queue: per queue and per annotator.

Three chance-corrected measures, each computed by a well-kept implementation:

``cohen_kappa``
    Cohen's kappa for two annotators over the tasks both labeled
    (:func:`sklearn.metrics.cohen_kappa_score`). Cohen, J. (1960), "A coefficient of
    agreement for nominal scales", *Educational and Psychological Measurement* 20(1),
    eq. 1: κ = (p_o − p_e) / (1 − p_e).
``fleiss_kappa``
    Fleiss' kappa for a fixed number *m* ≥ 2 of annotators per task
    (:func:`statsmodels.stats.inter_rater.fleiss_kappa` on the table of
    :func:`~statsmodels.stats.inter_rater.aggregate_raters`). Fleiss, J. L. (1971),
    "Measuring nominal scale agreement among many raters", *Psychological Bulletin*
    76(5). The annotators need not be the same people on every task, but every task
    must have *m* labels: *m* is the most common number of labels per task (ties go
    to the larger), and tasks with another number are left out (``items`` says how
    many were used; Krippendorff's alpha uses them all).
``krippendorff_alpha``
    Krippendorff's alpha, nominal, with missing data: every task with at least two
    labels counts, whoever gave them (the ``krippendorff`` package). Krippendorff, K.
    (2011), "Computing Krippendorff's Alpha-Reliability", Annenberg School for
    Communication, section C: α = 1 − D_o / D_e.

Each is a :class:`Measure`: a ``value`` (``None`` when undefined), the number of
tasks it used and a ``note`` saying why it is undefined or what was left out. A
measure is undefined when no task has the labels it needs, or when every label it
would use is the same one (chance agreement is then total: p_e = 1 and D_e = 0, a
division by zero). Nothing here returns NaN.

Per annotator (:class:`AnnotatorAgreement`)
-------------------------------------------
``mean_pairwise_kappa``
    The unweighted mean of Cohen's kappa between this annotator and each
    co-annotator, each kappa over the tasks the two both labeled; pairs whose kappa is
    undefined are left out (``kappa_pairs`` counts those used).
``consensus_agreement``
    The share of this annotator's labels on ``done`` tasks with at least two labels
    that equal the task's consensus label (the label training sees). The annotator's
    own vote is part of that majority, so this is an upper bound of agreement with the
    others; tasks they labeled alone are left out (their label *is* the consensus).

Only ``submitted`` annotations are ratings; claims and skips are not (skips are
counted per annotator).
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from baryon.labeling.tables import AnnotationRow, LabelingQueueRow, LabelingTaskRow

__all__ = [
    "AgreementReport",
    "AnnotatorAgreement",
    "Measure",
    "PairAgreement",
    "QueueRatings",
    "Rating",
    "agreement_report",
    "cohen_kappa",
    "fleiss_kappa",
    "krippendorff_alpha",
    "load_ratings",
    "queue_agreement",
]


@dataclass(frozen=True)
class Rating:
    """One label given to one item (task) by one annotator."""

    item: str
    annotator: str
    label: str


@dataclass(frozen=True)
class Measure:
    """One agreement coefficient.

    Attributes
    ----------
    value : float or None
        The coefficient (1 is perfect agreement, 0 chance level, below 0 worse than
        chance); ``None`` when undefined (see ``note``).
    items : int
        Tasks it was computed on.
    note : str or None
        Why it is undefined, or what was left out.
    """

    value: float | None
    items: int
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """``{"value", "items", "note"}``."""
        return {"value": self.value, "items": self.items, "note": self.note}


@dataclass(frozen=True)
class PairAgreement:
    """Agreement of two annotators on the tasks both labeled.

    Attributes
    ----------
    annotators : tuple of str
        The two annotators, sorted.
    shared : int
        Tasks both labeled.
    percent_agreement : float or None
        Share of those tasks with the same label from both.
    cohen_kappa : Measure
    """

    annotators: tuple[str, str]
    shared: int
    percent_agreement: float | None
    cohen_kappa: Measure

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "annotators": list(self.annotators),
            "shared": self.shared,
            "percent_agreement": self.percent_agreement,
            "cohen_kappa": self.cohen_kappa.to_dict(),
        }


@dataclass(frozen=True)
class AnnotatorAgreement:
    """One annotator's agreement with the others (see the module docstring).

    Attributes
    ----------
    annotator : str
    annotations : int
        Labels they gave (``submitted``).
    skipped : int
        Tasks they skipped.
    shared_tasks : int
        Tasks they labeled that someone else labeled too.
    co_annotators : int
        Other annotators they share at least one task with.
    mean_pairwise_kappa : float or None
    kappa_pairs : int
        Pairs whose kappa is defined (the mean's terms).
    consensus_tasks : int
        ``done`` tasks with two labels or more that they labeled.
    consensus_agreement : float or None
    note : str or None
    """

    annotator: str
    annotations: int
    skipped: int
    shared_tasks: int
    co_annotators: int
    mean_pairwise_kappa: float | None
    kappa_pairs: int
    consensus_tasks: int
    consensus_agreement: float | None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "annotator": self.annotator,
            "annotations": self.annotations,
            "skipped": self.skipped,
            "shared_tasks": self.shared_tasks,
            "co_annotators": self.co_annotators,
            "mean_pairwise_kappa": self.mean_pairwise_kappa,
            "kappa_pairs": self.kappa_pairs,
            "consensus_tasks": self.consensus_tasks,
            "consensus_agreement": self.consensus_agreement,
            "note": self.note,
        }


@dataclass(frozen=True)
class AgreementReport:
    """Agreement of a queue's annotators.

    Attributes
    ----------
    annotations : int
        Labels (``submitted`` annotations).
    annotators : int
        Annotators who gave at least one label.
    tasks : int
        Tasks with at least one label.
    shared_tasks : int
        Tasks with two labels or more (the only ones agreement can use).
    percent_agreement : float or None
        Over the shared tasks, the mean share of agreeing pairs of labels within a
        task (Fleiss's P̄ with any number of labels per task); no chance correction.
    cohen_kappa : Measure
        Defined when exactly two annotators labeled; with more, see ``pairs``.
    fleiss_kappa, krippendorff_alpha : Measure
    pairs : list of PairAgreement
        Every pair of annotators with a shared task.
    per_annotator : list of AnnotatorAgreement
    """

    annotations: int
    annotators: int
    tasks: int
    shared_tasks: int
    percent_agreement: float | None
    cohen_kappa: Measure
    fleiss_kappa: Measure
    krippendorff_alpha: Measure
    pairs: list[PairAgreement] = field(default_factory=list)
    per_annotator: list[AnnotatorAgreement] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (no NaN: undefined values are ``None``)."""
        return {
            "annotations": self.annotations,
            "annotators": self.annotators,
            "tasks": self.tasks,
            "shared_tasks": self.shared_tasks,
            "percent_agreement": self.percent_agreement,
            "cohen_kappa": self.cohen_kappa.to_dict(),
            "fleiss_kappa": self.fleiss_kappa.to_dict(),
            "krippendorff_alpha": self.krippendorff_alpha.to_dict(),
            "pairs": [p.to_dict() for p in self.pairs],
            "per_annotator": [a.to_dict() for a in self.per_annotator],
        }


# ------------------------------------------------------------------ measures
def _one_label_note(label: str) -> str:
    return (
        f"every label is {label!r}: chance agreement is total, so the coefficient is "
        "undefined (0/0)"
    )


def cohen_kappa(first: Sequence[str], second: Sequence[str]) -> Measure:
    """Cohen's kappa of two annotators' labels on the same tasks.

    Parameters
    ----------
    first, second : sequence of str, each of length n_items
        The two annotators' labels, aligned by task.

    Returns
    -------
    Measure
        ``value`` None when there is no task or both used one and the same label
        only (p_e = 1).

    Raises
    ------
    ValueError
        The sequences differ in length.

    Notes
    -----
    :func:`sklearn.metrics.cohen_kappa_score`; Cohen (1960), eq. 1.
    """
    if len(first) != len(second):
        raise ValueError("the two annotators' label sequences differ in length")
    if not first:
        return Measure(None, 0, "no task labeled by both annotators")
    used = set(first) | set(second)
    if len(used) == 1:
        return Measure(None, len(first), _one_label_note(next(iter(used))))
    from sklearn.metrics import cohen_kappa_score

    return Measure(float(cohen_kappa_score(list(first), list(second))), len(first))


def _by_item(ratings: Iterable[Rating]) -> dict[str, list[Rating]]:
    out: dict[str, list[Rating]] = defaultdict(list)
    for rating in ratings:
        out[rating.item].append(rating)
    return dict(out)


def fleiss_kappa(ratings: Sequence[Rating]) -> Measure:
    """Fleiss' kappa over the tasks with the most common number *m* ≥ 2 of labels.

    Parameters
    ----------
    ratings : sequence of Rating
        Any number of labels per task; the annotators may differ from task to task.

    Returns
    -------
    Measure
        ``note`` names *m* and how many tasks with another number were left out.

    Notes
    -----
    :func:`statsmodels.stats.inter_rater.aggregate_raters` (subjects × raters codes to
    subjects × categories counts) then :func:`~statsmodels.stats.inter_rater.fleiss_kappa`
    (``method="fleiss"``); Fleiss (1971).
    """
    items = {k: v for k, v in _by_item(ratings).items() if len(v) >= 2}
    if not items:
        return Measure(None, 0, "no task has two labels or more")
    counts = Counter(len(v) for v in items.values())
    m = max(counts, key=lambda n: (counts[n], n))
    used = [[r.label for r in v] for v in items.values() if len(v) == m]
    left_out = len(items) - len(used)
    note = f"{m} labels per task" + (
        f"; {left_out} task(s) with another number of labels left out" if left_out else ""
    )
    domain = sorted({label for row in used for label in row})
    if len(domain) == 1:
        return Measure(None, len(used), f"{_one_label_note(domain[0])}; {note}")
    import numpy as np
    from statsmodels.stats.inter_rater import aggregate_raters
    from statsmodels.stats.inter_rater import fleiss_kappa as _fleiss

    code = {label: i for i, label in enumerate(domain)}
    data = np.array([[code[label] for label in row] for row in used])
    table, _ = aggregate_raters(data, n_cat=len(domain))
    return Measure(float(_fleiss(table, method="fleiss")), len(used), note)


def krippendorff_alpha(ratings: Sequence[Rating]) -> Measure:
    """Krippendorff's alpha, nominal, with missing data.

    Parameters
    ----------
    ratings : sequence of Rating
        Any number of labels per task; tasks with one label are not pairable and do
        not count.

    Returns
    -------
    Measure

    Notes
    -----
    ``krippendorff.alpha(reliability_data, level_of_measurement="nominal")`` on the
    annotators × tasks matrix (NaN where an annotator did not label a task);
    Krippendorff (2011), section C.
    """
    items = {k: v for k, v in _by_item(ratings).items() if len(v) >= 2}
    if not items:
        return Measure(None, 0, "no task has two labels or more")
    domain = sorted({r.label for v in items.values() for r in v})
    if len(domain) == 1:
        return Measure(None, len(items), _one_label_note(domain[0]))
    import krippendorff
    import numpy as np

    annotators = sorted({r.annotator for v in items.values() for r in v})
    row = {a: i for i, a in enumerate(annotators)}
    code = {label: float(i) for i, label in enumerate(domain)}
    data = np.full((len(annotators), len(items)), np.nan)
    for col, item_ratings in enumerate(items.values()):
        for r in item_ratings:
            data[row[r.annotator], col] = code[r.label]
    value = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    return Measure(float(value), len(items))


def _percent_agreement(items: Mapping[str, list[Rating]]) -> float | None:
    """Mean over tasks of the share of agreeing pairs of labels (Fleiss's P_i)."""
    shares = []
    for item_ratings in items.values():
        n = len(item_ratings)
        same = sum(c * (c - 1) for c in Counter(r.label for r in item_ratings).values())
        shares.append(same / (n * (n - 1)))
    return sum(shares) / len(shares) if shares else None


# -------------------------------------------------------------------- report
def _pairs(by_annotator: Mapping[str, Mapping[str, str]]) -> list[PairAgreement]:
    out = []
    for a, b in itertools.combinations(sorted(by_annotator), 2):
        shared = sorted(set(by_annotator[a]) & set(by_annotator[b]))
        if not shared:
            continue
        first = [by_annotator[a][t] for t in shared]
        second = [by_annotator[b][t] for t in shared]
        same = sum(x == y for x, y in zip(first, second, strict=True))
        kappa = cohen_kappa(first, second)
        out.append(PairAgreement((a, b), len(shared), same / len(shared), kappa))
    return out


def _annotator(
    name: str,
    labels: Mapping[str, str],
    skipped: int,
    pairs: Sequence[PairAgreement],
    items: Mapping[str, list[Rating]],
    consensus: Mapping[str, str],
) -> AnnotatorAgreement:
    mine = [p for p in pairs if name in p.annotators]
    kappas = [p.cohen_kappa.value for p in mine if p.cohen_kappa.value is not None]
    shared = [t for t in labels if len(items.get(t, ())) >= 2]
    judged = [t for t in shared if t in consensus]
    agree = sum(labels[t] == consensus[t] for t in judged)
    notes = []
    if not shared:
        notes.append("labeled no task that someone else labeled too")
    elif not kappas:
        notes.append("no co-annotator pair with a defined kappa")
    if shared and not judged:
        notes.append("no shared task has a consensus label yet")
    return AnnotatorAgreement(
        annotator=name,
        annotations=len(labels),
        skipped=skipped,
        shared_tasks=len(shared),
        co_annotators=len(mine),
        mean_pairwise_kappa=sum(kappas) / len(kappas) if kappas else None,
        kappa_pairs=len(kappas),
        consensus_tasks=len(judged),
        consensus_agreement=agree / len(judged) if judged else None,
        note="; ".join(notes) or None,
    )


def agreement_report(
    ratings: Sequence[Rating],
    *,
    consensus: Mapping[str, str] | None = None,
    skips: Mapping[str, int] | None = None,
) -> AgreementReport:
    """Agreement of the annotators behind ``ratings``, per queue and per annotator.

    Parameters
    ----------
    ratings : sequence of Rating
        At most one label per (item, annotator).
    consensus : mapping of str to str, optional
        Item → consensus label, for ``consensus_agreement``.
    skips : mapping of str to int, optional
        Annotator → tasks skipped (reported as is; annotators who only skipped are
        listed too).

    Raises
    ------
    ValueError
        An annotator labeled one item twice.
    """
    consensus = consensus or {}
    skips = skips or {}
    by_annotator: dict[str, dict[str, str]] = defaultdict(dict)
    for r in ratings:
        if r.item in by_annotator[r.annotator]:
            raise ValueError(f"annotator {r.annotator!r} labeled item {r.item!r} twice")
        by_annotator[r.annotator][r.item] = r.label
    items = _by_item(ratings)
    shared = {k: v for k, v in items.items() if len(v) >= 2}
    pairs = _pairs(by_annotator)
    labelers = sorted(by_annotator)
    if len(labelers) == 2 and pairs:
        cohen = pairs[0].cohen_kappa
    elif len(labelers) == 2:
        cohen = Measure(None, 0, "no task labeled by both annotators")
    else:
        cohen = Measure(
            None,
            0,
            f"{len(labelers)} annotator(s): Cohen's kappa needs exactly two "
            "(see pairs, Fleiss' kappa and Krippendorff's alpha)",
        )
    per_annotator = [
        _annotator(name, by_annotator.get(name, {}), skips.get(name, 0), pairs, items, consensus)
        for name in sorted({*labelers, *skips})
    ]
    return AgreementReport(
        annotations=len(ratings),
        annotators=len(labelers),
        tasks=len(items),
        shared_tasks=len(shared),
        percent_agreement=_percent_agreement(shared),
        cohen_kappa=cohen,
        fleiss_kappa=fleiss_kappa(ratings),
        krippendorff_alpha=krippendorff_alpha(ratings),
        pairs=pairs,
        per_annotator=per_annotator,
    )


@dataclass(frozen=True)
class QueueRatings:
    """What agreement is computed from: a queue's labels, consensus labels and skips."""

    ratings: list[Rating]
    consensus: dict[str, str]
    skips: dict[str, int]

    def report(self) -> AgreementReport:
        """The :func:`agreement_report` of these ratings."""
        return agreement_report(self.ratings, consensus=self.consensus, skips=self.skips)


def load_ratings(session: Session, queue: LabelingQueueRow) -> QueueRatings:
    """Read ``queue``'s ``submitted`` labels, skips and ``done`` tasks' consensus labels.

    Reads in the caller's session (its scope applies); compute outside the
    transaction with :meth:`QueueRatings.report`.
    """
    ann = AnnotationRow
    rows = session.execute(
        select(ann.task_id, ann.annotator, ann.status, ann.label).where(
            ann.queue_id == queue.id, ann.status.in_(("submitted", "skipped"))
        )
    ).all()
    ratings = [
        Rating(task_id, annotator, label)
        for task_id, annotator, status, label in rows
        if status == "submitted" and label is not None
    ]
    skips = Counter(annotator for _, annotator, status, _ in rows if status == "skipped")
    task = LabelingTaskRow
    done = session.execute(
        select(task.id, task.label).where(
            task.queue_id == queue.id, task.status == "done", task.label.is_not(None)
        )
    ).all()
    consensus = {task_id: str(label) for task_id, label in done}
    return QueueRatings(ratings, consensus, dict(skips))


def queue_agreement(session: Session, queue: LabelingQueueRow) -> AgreementReport:
    """Agreement report of ``queue`` from its ``submitted`` annotations.

    The consensus label of ``done`` tasks feeds ``consensus_agreement``; skips are
    counted per annotator (:func:`load_ratings`, then :func:`agreement_report`).
    """
    return load_ratings(session, queue).report()
