"""Claim, submit, skip and review on a file SQLite workspace (threads for the races)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from labelkit import CLAIM, add_task, as_org, make_queue
from sqlalchemy import select

from baryon.core.audit import AuditEvent
from baryon.core.clock import FixedClock
from baryon.core.errors import BaryonError, Conflict, InvalidInput, NotFound
from baryon.core.scope import SYSTEM
from baryon.labeling.annotation import claim_next, review_task, skip_task, submit_label
from baryon.labeling.service import get_task
from baryon.labeling.tables import AnnotationRow
from baryon.labeling.views import Claim, Submission, Task
from baryon.workspace import Workspace


def claim(ws: Workspace, who: str, queue: str = "q", org: str = "acme") -> Claim | None:
    with as_org(ws, org) as s:
        return claim_next(s, queue, annotator=who, claim_seconds=CLAIM, clock=ws.clock)


def submit(
    ws: Workspace, task_id: str, who: str, label: str, seconds: float | None = None
) -> Submission:
    with as_org(ws) as s:
        return submit_label(
            s, task_id, annotator=who, label=label, seconds=seconds, claim_seconds=CLAIM,
            clock=ws.clock,
        )  # fmt: skip


def skip(ws: Workspace, task_id: str, who: str, max_skips: int = 3) -> Submission:
    with as_org(ws) as s:
        return skip_task(
            s, task_id, annotator=who, reason="unclear", max_skips=max_skips, clock=ws.clock
        )


def task(ws: Workspace, task_id: str) -> Task:
    with as_org(ws) as s:
        return get_task(s, task_id)


def code_of(fn: Callable[[], Any]) -> str:
    with pytest.raises(BaryonError) as err:
        fn()
    return err.value.code


# ----------------------------------------------------------------------- claim
def test_claim_next_highest_priority_then_oldest_first(ws: Workspace, clock: FixedClock) -> None:
    make_queue(ws)
    low = add_task(ws, "low", priority=0.1)
    clock.advance(1)
    old = add_task(ws, "old", priority=0.9)
    clock.advance(1)
    new = add_task(ws, "new", priority=0.9)
    got = [claim(ws, who) for who in ("u1", "u2", "u3", "u4")]
    assert [c.task.id if c else None for c in got] == [old, new, low, None]


def test_claim_next_again_returns_the_live_claim(ws: Workspace) -> None:
    make_queue(ws)
    add_task(ws, "x")
    add_task(ws, "y")
    first, again = claim(ws, "u1"), claim(ws, "u1")
    assert first is not None
    assert again is not None
    assert again.annotation_id == first.annotation_id
    assert again.task.id == first.task.id


def test_claim_next_shows_suggestion_classes_and_expiry(ws: Workspace) -> None:
    make_queue(ws)
    add_task(ws, "x", suggested="b")
    got = claim(ws, "u1")
    assert got is not None
    assert got.task.suggested_label == "b"
    assert got.task.input == {"text": "x"}
    assert got.classes == ["a", "b", "c"]
    assert (got.expires_at - got.claimed_at).total_seconds() == CLAIM
    assert got.task.annotations is None  # no one else's work on a claim


def test_claim_next_never_offers_a_task_labeled_or_skipped(ws: Workspace) -> None:
    make_queue(ws, overlap=3)
    labeled = add_task(ws, "labeled", priority=2)
    skipped = add_task(ws, "skipped", priority=1)
    submit(ws, labeled, "u1", "a")
    skip(ws, skipped, "u1")
    assert claim(ws, "u1") is None
    other = claim(ws, "u2")
    assert other is not None
    assert other.task.id == labeled


def test_claim_next_overlap_two_gives_each_task_two_annotators(ws: Workspace) -> None:
    make_queue(ws, overlap=2)
    first = add_task(ws, "first", priority=2)
    second = add_task(ws, "second", priority=1)
    got = {who: claim(ws, who) for who in ("u1", "u2", "u3")}
    assert {w: c.task.id for w, c in got.items() if c} == {"u1": first, "u2": first, "u3": second}
    assert sorted(c.slot for c in got.values() if c and c.task.id == first) == [0, 1]


def test_claim_next_expired_claim_slot_goes_to_the_next_annotator(
    ws: Workspace, clock: FixedClock
) -> None:
    make_queue(ws)
    task_id = add_task(ws, "x")
    assert claim(ws, "u1") is not None
    assert claim(ws, "u2") is None  # the only slot is held
    clock.advance(CLAIM + 1)
    taken = claim(ws, "u2")
    assert taken is not None
    assert taken.task.id == task_id
    assert taken.slot == 0
    assert code_of(lambda: submit(ws, task_id, "u1", "a")) == "task_full"
    assert submit(ws, task_id, "u2", "a").task.status == "done"


def test_claim_next_own_expired_claim_is_renewed(ws: Workspace, clock: FixedClock) -> None:
    make_queue(ws)
    add_task(ws, "x")
    first = claim(ws, "u1")
    clock.advance(CLAIM + 5)
    again = claim(ws, "u1")
    assert first is not None
    assert again is not None
    assert again.annotation_id == first.annotation_id
    assert again.claimed_at > first.claimed_at


def test_claim_next_unknown_queue_not_found(ws: Workspace) -> None:
    assert code_of(lambda: claim(ws, "u1", queue="nope")) == "queue_not_found"


# ---------------------------------------------------------------------- submit
def test_submit_label_overlap_one_decides_the_task(ws: Workspace, clock: FixedClock) -> None:
    make_queue(ws)
    task_id = add_task(ws, "x")
    claim(ws, "u1")
    clock.advance(42)
    out = submit(ws, task_id, "u1", "b")
    assert out.annotation.status == "submitted"
    assert out.annotation.seconds == 42.0
    assert (out.task.status, out.task.label, out.task.resolution) == ("done", "b", "majority")
    assert out.task.agreement == 1.0
    assert out.task.done_at == clock.now()


def test_submit_label_client_seconds_win_over_the_claim(ws: Workspace, clock: FixedClock) -> None:
    make_queue(ws)
    task_id = add_task(ws, "x")
    claim(ws, "u1")
    clock.advance(100)
    assert submit(ws, task_id, "u1", "a", seconds=7.5).annotation.seconds == 7.5


@pytest.mark.parametrize("seconds", [-1.0, float("nan"), 1e9])
def test_submit_label_bad_seconds_refused(ws: Workspace, seconds: float) -> None:
    make_queue(ws)
    task_id = add_task(ws, "x")
    assert code_of(lambda: submit(ws, task_id, "u1", "a", seconds=seconds)) == "invalid_seconds"


def test_submit_label_without_claim_takes_a_free_slot_no_seconds(ws: Workspace) -> None:
    make_queue(ws, overlap=2)
    task_id = add_task(ws, "x")
    out = submit(ws, task_id, "u1", "a")
    assert out.annotation.slot == 0
    assert out.annotation.seconds is None
    assert out.task.status == "open"


def test_submit_label_unknown_label_refused(ws: Workspace) -> None:
    make_queue(ws)
    task_id = add_task(ws, "x")
    with pytest.raises(InvalidInput) as err:
        submit(ws, task_id, "u1", "zebra")
    assert err.value.code == "unknown_label"
    assert err.value.details["classes"] == ["a", "b", "c"]


def test_submit_label_tie_goes_to_review(ws: Workspace) -> None:
    make_queue(ws, overlap=2)
    task_id = add_task(ws, "x")
    assert submit(ws, task_id, "u1", "a").task.status == "open"
    out = submit(ws, task_id, "u2", "b").task
    assert (out.status, out.label, out.agreement) == ("review", None, 0.5)


def test_submit_label_agreement_below_minimum_goes_to_review(ws: Workspace) -> None:
    make_queue(ws, overlap=3, min_agreement=0.7)
    task_id = add_task(ws, "x")
    for who, label in (("u1", "a"), ("u2", "a"), ("u3", "b")):
        out = submit(ws, task_id, who, label).task
    assert out.status == "review"
    assert out.agreement == pytest.approx(2 / 3)


def test_submit_label_majority_of_three_is_the_consensus(ws: Workspace) -> None:
    make_queue(ws, overlap=3, min_agreement=0.6)
    task_id = add_task(ws, "x")
    for who, label in (("u1", "c"), ("u2", "a"), ("u3", "c")):
        out = submit(ws, task_id, who, label).task
    assert (out.status, out.label, out.resolution) == ("done", "c", "majority")
    assert out.agreement == pytest.approx(2 / 3)


def test_submit_label_twice_or_on_a_decided_task_is_a_conflict(ws: Workspace) -> None:
    make_queue(ws, overlap=2)
    task_id = add_task(ws, "x")
    submit(ws, task_id, "u1", "a")
    assert code_of(lambda: submit(ws, task_id, "u1", "b")) == "already_annotated"
    submit(ws, task_id, "u2", "a")
    with pytest.raises(Conflict) as err:
        submit(ws, task_id, "u3", "a")
    assert err.value.code == "task_not_open"
    assert err.value.details == {"status": "done"}


def test_submit_label_every_slot_held_is_task_full(ws: Workspace) -> None:
    make_queue(ws)
    task_id = add_task(ws, "x")
    claim(ws, "u1")
    assert code_of(lambda: submit(ws, task_id, "u2", "a")) == "task_full"


# ------------------------------------------------------------------------ skip
def test_skip_task_frees_the_slot_and_is_never_offered_again(ws: Workspace) -> None:
    make_queue(ws)
    task_id = add_task(ws, "x")
    assert claim(ws, "u1") is not None
    out = skip(ws, task_id, "u1")
    assert out.annotation.status == "skipped"
    assert out.annotation.slot < 0
    assert out.annotation.skip_reason == "unclear"
    assert out.task.status == "open"
    assert claim(ws, "u1") is None
    taken = claim(ws, "u2")
    assert taken is not None
    assert taken.task.id == task_id
    assert taken.slot == 0


def test_skip_task_skips_hold_distinct_negative_slots(ws: Workspace) -> None:
    make_queue(ws)
    task_id = add_task(ws, "x")
    slots = [skip(ws, task_id, who, max_skips=10).annotation.slot for who in ("u1", "u2", "u3")]
    assert slots == [-1, -2, -3]


def test_skip_task_again_returns_the_same_skip(ws: Workspace) -> None:
    make_queue(ws)
    task_id = add_task(ws, "x")
    first = skip(ws, task_id, "u1")
    assert skip(ws, task_id, "u1").annotation.id == first.annotation.id


def test_skip_task_again_with_another_reason_already_skipped(ws: Workspace) -> None:
    # QA 13 #14: it answered 200 with the first skip, keeping the first reason
    make_queue(ws)
    task_id = add_task(ws, "x")
    skip(ws, task_id, "u1")
    with as_org(ws) as s:
        again = lambda: skip_task(  # noqa: E731
            s, task_id, annotator="u1", reason="offensive", max_skips=3, clock=ws.clock
        )
        assert code_of(again) == "already_skipped"
    assert task(ws, task_id).annotations[0].skip_reason == "unclear"


def test_skip_task_after_labeling_is_a_conflict(ws: Workspace) -> None:
    make_queue(ws, overlap=2)
    task_id = add_task(ws, "x")
    submit(ws, task_id, "u1", "a")
    assert code_of(lambda: skip(ws, task_id, "u1")) == "already_annotated"


def test_skip_task_blank_reason_refused(ws: Workspace) -> None:
    make_queue(ws)
    task_id = add_task(ws, "x")
    with as_org(ws) as s, pytest.raises(InvalidInput) as err:
        skip_task(s, task_id, annotator="u1", reason="  ", max_skips=3, clock=ws.clock)
    assert err.value.code == "invalid_skip_reason"


def test_skip_task_max_skips_without_labels_leaves_the_queue_skipped(ws: Workspace) -> None:
    make_queue(ws)
    task_id = add_task(ws, "x")
    assert skip(ws, task_id, "u1", max_skips=2).task.status == "open"
    assert skip(ws, task_id, "u2", max_skips=2).task.status == "skipped"
    assert claim(ws, "u3") is None


def test_skip_task_max_skips_with_labels_goes_to_review(ws: Workspace) -> None:
    make_queue(ws, overlap=3)
    task_id = add_task(ws, "x")
    submit(ws, task_id, "u1", "a")
    skip(ws, task_id, "u2", max_skips=2)
    out = skip(ws, task_id, "u3", max_skips=2).task
    assert out.status == "review"
    assert out.agreement == 1.0


# ---------------------------------------------------------------------- review
def test_review_task_sets_the_final_label_and_audits(ws: Workspace) -> None:
    make_queue(ws, overlap=2)
    task_id = add_task(ws, "x")
    submit(ws, task_id, "u1", "a")
    submit(ws, task_id, "u2", "b")
    with as_org(ws) as s:
        out = review_task(s, task_id, label="b", actor="key:admin", clock=ws.clock)
    assert (out.status, out.label, out.resolution) == ("done", "b", "review")
    assert out.annotations is not None
    assert len(out.annotations) == 2
    with ws.db.session() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.object_id == task_id)).one()
    assert event.action == "labeling_task.review"
    assert event.actor == "key:admin"
    assert event.details["before"] == {"status": "review", "label": None}


def test_review_task_unknown_label_refused(ws: Workspace) -> None:
    make_queue(ws)
    task_id = add_task(ws, "x")
    with as_org(ws) as s, pytest.raises(InvalidInput) as err:
        review_task(s, task_id, label="nope", actor="t", clock=ws.clock)
    assert err.value.code == "unknown_label"


# ------------------------------------------------------------- organizations
def test_another_orgs_task_and_queue_are_not_found(ws: Workspace) -> None:
    make_queue(ws)
    task_id = add_task(ws, "x")
    assert code_of(lambda: claim(ws, "u1", org="globex")) == "queue_not_found"
    with as_org(ws, "globex") as s:
        for act in (
            lambda: get_task(s, task_id),
            lambda: submit_label(
                s, task_id, annotator="g", label="a", claim_seconds=CLAIM, clock=ws.clock
            ),
            lambda: skip_task(s, task_id, annotator="g", reason="r", max_skips=3, clock=ws.clock),
            lambda: review_task(s, task_id, label="a", actor="g", clock=ws.clock),
        ):
            with pytest.raises(NotFound) as err:
                act()
            assert err.value.code == "task_not_found"
    assert task(ws, task_id).annotations == []


# --------------------------------------------------------------------- races
def _race(n: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` in ``n`` threads released together; results or raised errors."""
    barrier = threading.Barrier(n)
    out: list[Any] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            out[i] = work(i)
        except BaryonError as exc:
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_submit_label_two_annotators_at_once_single_overlap_one_accepted(ws: Workspace) -> None:
    make_queue(ws)
    for round_ in range(8):
        task_id = add_task(ws, f"x{round_}")
        out = _race(2, lambda i, t=task_id: submit(ws, t, f"u{i}", "ab"[i]))  # type: ignore[misc]
        accepted = [o for o in out if isinstance(o, Submission)]
        refused = [o for o in out if isinstance(o, BaryonError)]
        assert len(accepted) == 1, out
        assert len(refused) == 1, out
        # the winner's label decided the task (overlap 1): docs/labeling.md, QA 13 #14
        assert refused[0].code == "task_not_open"
        assert accepted[0].task.status == "done"
        with ws.db.session(SYSTEM) as s:
            rows = s.scalars(select(AnnotationRow).where(AnnotationRow.task_id == task_id)).all()
        assert [r.status for r in rows] == ["submitted"]


def test_claim_next_concurrent_claims_never_share_a_single_overlap_task(ws: Workspace) -> None:
    make_queue(ws)
    for n in range(6):
        add_task(ws, f"x{n}")
    got = _race(8, lambda i: claim(ws, f"u{i}"))
    claimed = [c.task.id for c in got if isinstance(c, Claim)]
    assert len(claimed) == 6
    assert len(set(claimed)) == 6
    assert sum(c is None for c in got) == 2
