"""Agreement measures against published worked examples, and degenerate inputs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from interopkit import annotate, make_queue, migrated_template, open_copy, set_consensus

from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.core.jsonvalues import dumps
from baryon.core.scope import SYSTEM
from baryon.labeling.agreement import (
    Rating,
    agreement_report,
    cohen_kappa,
    fleiss_kappa,
    krippendorff_alpha,
    queue_agreement,
)
from baryon.workspace import Workspace

# Wikipedia, "Fleiss' kappa", worked example: 10 subjects, 14 raters, 5 categories
# (counts of raters per category); P̄ = 0.378, P̄e = 0.213, κ = 0.210.
FLEISS_TABLE = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C:
# 4 observers, 12 units, nominal values 1-5, missing data (None); α = 0.743.
KRIPPENDORFF_C = {
    "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
}

# Wikipedia, "Cohen's kappa", simple example: 50 grant proposals read by A and B;
# both yes 20, A yes B no 5, A no B yes 10, both no 15: p_o = 0.7, p_e = 0.5, κ = 0.4.
COHEN_A = ["yes"] * 25 + ["no"] * 25
COHEN_B = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return migrated_template(tmp_path_factory.mktemp("template"))


@pytest.fixture
def ws(template: Path, settings: Settings, clock: FixedClock) -> Iterator[Workspace]:
    with open_copy(template, settings, clock) as workspace:
        yield workspace


def _fleiss_ratings() -> list[Rating]:
    ratings = []
    for subject, counts in enumerate(FLEISS_TABLE):
        rater = 0
        for category, n in enumerate(counts, start=1):
            for _ in range(n):
                ratings.append(Rating(f"s{subject}", f"r{rater}", f"c{category}"))
                rater += 1
    return ratings


def test_fleiss_kappa_wikipedia_example_is_0_210() -> None:
    measure = fleiss_kappa(_fleiss_ratings())
    assert measure.value == pytest.approx(0.2099, abs=5e-4)
    assert measure.items == 10
    assert measure.note == "14 labels per task"


def test_cohen_kappa_wikipedia_example_is_0_4() -> None:
    measure = cohen_kappa(COHEN_A, COHEN_B)
    assert measure.value == pytest.approx(0.4)
    assert measure.items == 50


def test_krippendorff_alpha_2011_example_c_is_0_743() -> None:
    ratings = [
        Rating(f"u{unit}", observer, str(value))
        for observer, values in KRIPPENDORFF_C.items()
        for unit, value in enumerate(values)
        if value is not None
    ]
    measure = krippendorff_alpha(ratings)
    assert measure.value == pytest.approx(0.743, abs=5e-4)
    assert measure.items == 11  # unit 12 has one value: not pairable


def test_queue_agreement_on_a_queue_reproduces_the_worked_examples(
    ws: Workspace, clock: FixedClock
) -> None:
    with ws.db.session(SYSTEM) as s:
        cohen = make_queue(s, clock, name="grants", classes=("no", "yes"), overlap=2)
        for n, (a, b) in enumerate(zip(COHEN_A, COHEN_B, strict=True)):
            annotate(s, cohen, clock, f"proposal {n}", {"ann_a": a, "ann_b": b})
        kripp = make_queue(s, clock, name="units", classes=("1", "2", "3", "4", "5"), overlap=4)
        for unit in range(12):
            labels = {
                obs: str(values[unit]) for obs, values in KRIPPENDORFF_C.items() if values[unit]
            }
            annotate(s, kripp, clock, f"unit {unit}", labels)
        fleiss = make_queue(s, clock, name="subjects", classes=tuple("12345"), overlap=14)
        for subject, counts in enumerate(FLEISS_TABLE):
            given = [str(c) for c, n in enumerate(counts, start=1) for _ in range(n)]
            raters = {f"r{i}": x for i, x in enumerate(given)}
            annotate(s, fleiss, clock, f"subject {subject}", raters)
        two = queue_agreement(s, cohen)
        many = queue_agreement(s, kripp)
        fourteen = queue_agreement(s, fleiss)
    assert two.cohen_kappa.value == pytest.approx(0.4)
    assert two.pairs[0].percent_agreement == pytest.approx(0.7)
    assert two.krippendorff_alpha.value is not None
    assert many.krippendorff_alpha.value == pytest.approx(0.743, abs=5e-4)
    assert many.cohen_kappa.value is None
    assert "exactly two" in str(many.cohen_kappa.note)
    assert many.fleiss_kappa.note == (
        "4 labels per task; 3 task(s) with another number of labels left out"
    )
    assert fourteen.fleiss_kappa.value == pytest.approx(0.210, abs=5e-4)
    assert fourteen.percent_agreement == pytest.approx(0.378, abs=5e-4)  # Wikipedia's P̄


def test_agreement_report_per_annotator_by_hand(ws: Workspace, clock: FixedClock) -> None:
    # t1: a=x b=x c=y → x   t2: a=y b=y → y   t3: a=x c=x → x   t4: b=y c=x (review)
    # t5: a=x alone → x. Pairwise kappas: a-b 1, a-c 0, b-c -1 (see each pair below).
    with ws.db.session(SYSTEM) as s:
        q = make_queue(s, clock, classes=("x", "y"), overlap=3)
        t1 = annotate(s, q, clock, "t1", {"a": "x", "b": "x", "c": "y"})
        t2 = annotate(s, q, clock, "t2", {"a": "y", "b": "y"})
        t3 = annotate(s, q, clock, "t3", {"a": "x", "c": "x"})
        t4 = annotate(s, q, clock, "t4", {"b": "y", "c": "x", "d": None})
        t5 = annotate(s, q, clock, "t5", {"a": "x"})
        for task, label in ((t1, "x"), (t2, "y"), (t3, "x"), (t5, "x")):
            set_consensus(s, task, label)
        set_consensus(s, t4, None, status="review")
        report = queue_agreement(s, q)
    pairs = {p.annotators: p.cohen_kappa.value for p in report.pairs}
    # a-b on t1,t2: identical → 1. a-c on t1,t3: p_o .5, p_e .5 → 0.
    # b-c on t1,t4: p_o 0, p_e .5 → -1.
    assert pairs == {("a", "b"): 1.0, ("a", "c"): 0.0, ("b", "c"): -1.0}
    per = {a.annotator: a for a in report.per_annotator}
    assert per["a"].mean_pairwise_kappa == pytest.approx(0.5)
    assert per["b"].mean_pairwise_kappa == pytest.approx(0.0)
    assert per["c"].mean_pairwise_kappa == pytest.approx(-0.5)
    # a: t1 ✓ t2 ✓ t3 ✓ (t5 alone is left out); b: t1 ✓ t2 ✓ (t4 has no consensus); c: t1 ✗ t3 ✓
    assert (per["a"].consensus_tasks, per["a"].consensus_agreement) == (3, 1.0)
    assert (per["b"].consensus_tasks, per["b"].consensus_agreement) == (2, 1.0)
    assert (per["c"].consensus_tasks, per["c"].consensus_agreement) == (2, 0.5)
    assert (per["d"].annotations, per["d"].skipped, per["d"].mean_pairwise_kappa) == (0, 1, None)
    assert per["d"].note == "labeled no task that someone else labeled too"
    assert (report.annotations, report.annotators, report.tasks, report.shared_tasks) == (
        10, 3, 5, 4,
    )  # fmt: skip


def test_agreement_one_label_everywhere_is_none_with_a_note_not_nan() -> None:
    ratings = [Rating(f"t{i}", who, "pos") for i in range(4) for who in ("a", "b", "c")]
    report = agreement_report(ratings, consensus={f"t{i}": "pos" for i in range(4)})
    for measure in (report.fleiss_kappa, report.krippendorff_alpha, report.pairs[0].cohen_kappa):
        assert measure.value is None
        assert "every label is 'pos'" in str(measure.note)
    assert report.percent_agreement == 1.0
    assert report.per_annotator[0].mean_pairwise_kappa is None
    assert report.per_annotator[0].note == "no co-annotator pair with a defined kappa"
    assert report.per_annotator[0].consensus_agreement == 1.0
    text = dumps(report.to_dict()).decode()
    assert "NaN" not in text
    json.loads(text)


def test_agreement_without_shared_tasks_is_none_with_a_note() -> None:
    report = agreement_report([Rating("t1", "a", "x"), Rating("t2", "b", "y")])
    assert report.cohen_kappa.value is None
    assert report.cohen_kappa.note == "no task labeled by both annotators"
    assert report.fleiss_kappa.note == "no task has two labels or more"
    assert report.krippendorff_alpha.note == "no task has two labels or more"
    assert report.percent_agreement is None
    assert report.pairs == []


def test_agreement_of_an_empty_queue_is_all_none(ws: Workspace, clock: FixedClock) -> None:
    with ws.db.session(SYSTEM) as s:
        report = queue_agreement(s, make_queue(s, clock))
    out = report.to_dict()
    assert out["annotations"] == 0
    assert out["per_annotator"] == []
    assert out["pairs"] == []
    assert out["cohen_kappa"]["value"] is None
    assert "0 annotator(s)" in out["cohen_kappa"]["note"]


def test_cohen_kappa_unequal_lengths_raise_value_error() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        cohen_kappa(["a"], [])


def test_agreement_report_the_same_item_twice_raises_value_error() -> None:
    with pytest.raises(ValueError, match="twice"):
        agreement_report([Rating("t1", "a", "x"), Rating("t1", "a", "y")])


def test_fleiss_kappa_uses_the_most_common_number_of_labels() -> None:
    ratings = [Rating("t1", "a", "x"), Rating("t1", "b", "x"), Rating("t2", "a", "x")]
    ratings += [Rating("t2", "b", "y"), Rating("t3", "a", "y"), Rating("t3", "b", "y")]
    ratings += [Rating("t4", "a", "x"), Rating("t4", "b", "y"), Rating("t4", "c", "y")]
    measure = fleiss_kappa(ratings)
    assert measure.items == 3
    assert measure.note == "2 labels per task; 1 task(s) with another number of labels left out"
    # t1 xx, t2 xy, t3 yy: P̄ = (1 + 0 + 1)/3, p_x = p_y = .5 → P̄e = .5 → κ = 1/3
    assert measure.value == pytest.approx(1 / 3)
