"""JobQueue: enqueue, read, cancel, claim, renew, finish, release and reap (both back ends)."""

from __future__ import annotations

import math

import pytest
from jobkit import make_org

from baryon.core.clock import FixedClock
from baryon.core.errors import Conflict, InvalidInput, NotFound
from baryon.core.ids import is_id
from baryon.core.scope import SYSTEM
from baryon.jobs import JobQueue
from baryon.workspace import Workspace

LEASE = 30.0


def test_enqueue_valid_job_is_queued_with_id_and_payload(queue: JobQueue, org_id: str) -> None:
    job = queue.enqueue("sleep", {"seconds": 2}, org_id=org_id, max_attempts=2)
    assert is_id(job.id, "job")
    assert (job.status, job.kind, job.payload) == ("queued", "sleep", {"seconds": 2})
    assert (job.attempts, job.max_attempts, job.progress) == (0, 2, 0.0)
    assert queue.get(job.id, org_id=org_id) == job


@pytest.mark.parametrize("kind", ["", "Train", "1x", "a b", "x" * 65, None])
def test_enqueue_malformed_kind_raises_invalid_job_kind(
    queue: JobQueue, org_id: str, kind: object
) -> None:
    with pytest.raises(InvalidInput) as info:
        queue.enqueue(kind, {}, org_id=org_id)  # type: ignore[arg-type]
    assert info.value.code == "invalid_job_kind"


@pytest.mark.parametrize("payload", [[1, 2], {"x": math.nan}, {"x": object()}, "text"])
def test_enqueue_non_json_payload_raises_invalid_job_payload(
    queue: JobQueue, org_id: str, payload: object
) -> None:
    with pytest.raises(InvalidInput) as info:
        queue.enqueue("noop", payload, org_id=org_id)  # type: ignore[arg-type]
    assert info.value.code == "invalid_job_payload"
    assert queue.list(org_id=org_id) == []


@pytest.mark.parametrize("attempts", [0, 101, True, 1.5])
def test_enqueue_bad_max_attempts_raises_invalid_input(
    queue: JobQueue, org_id: str, attempts: object
) -> None:
    with pytest.raises(InvalidInput):
        queue.enqueue("noop", org_id=org_id, max_attempts=attempts)  # type: ignore[arg-type]


def test_enqueue_in_rolled_back_transaction_leaves_no_job(
    ws: Workspace, queue: JobQueue, org_id: str
) -> None:
    def enqueue_then_fail() -> None:
        with ws.db.session(SYSTEM) as session:
            queue.enqueue("noop", org_id=org_id, session=session)
            raise RuntimeError("the caller's transaction fails")

    with pytest.raises(RuntimeError):
        enqueue_then_fail()
    assert queue.list(org_id=org_id) == []


def test_get_other_org_job_raises_not_found(ws: Workspace, queue: JobQueue, org_id: str) -> None:
    job = queue.enqueue("noop", org_id=org_id)
    other = make_org(ws)
    with pytest.raises(NotFound) as info:
        queue.get(job.id, org_id=other)
    assert info.value.code == "job_not_found"
    with pytest.raises(NotFound):
        queue.cancel(job.id, org_id=other)
    assert queue.list(org_id=other) == []
    assert queue.get(job.id, org_id=None).id == job.id


def test_list_filters_and_orders_newest_first(
    queue: JobQueue, org_id: str, clock: FixedClock
) -> None:
    first = queue.enqueue("noop", org_id=org_id)
    clock.advance(1)
    second = queue.enqueue("sleep", org_id=org_id)
    clock.advance(1)
    third = queue.enqueue("noop", org_id=org_id)
    queue.cancel(third.id, org_id=org_id)
    assert [j.id for j in queue.list(org_id=org_id)] == [third.id, second.id, first.id]
    assert [j.id for j in queue.list(org_id=org_id, kind="noop")] == [third.id, first.id]
    assert [j.id for j in queue.list(org_id=org_id, status="queued")] == [second.id, first.id]
    assert [j.id for j in queue.list(org_id=org_id, limit=1)] == [third.id]
    with pytest.raises(InvalidInput) as info:
        queue.list(org_id=org_id, status="done")
    assert info.value.code == "invalid_job_status"


def test_cancel_queued_job_ends_cancelled_and_is_never_claimed(
    queue: JobQueue, org_id: str
) -> None:
    job = queue.enqueue("noop", org_id=org_id)
    cancelled = queue.cancel(job.id, org_id=org_id)
    assert (cancelled.status, cancelled.cancel_requested) == ("cancelled", True)
    assert cancelled.ended_at is not None
    assert queue.cancel(job.id, org_id=org_id) == cancelled  # idempotent
    assert queue.claim(kinds={"noop"}, owner="w:1", lease_seconds=LEASE) is None


def test_cancel_running_job_only_requests_it(queue: JobQueue, org_id: str) -> None:
    job = queue.enqueue("noop", org_id=org_id)
    queue.claim(kinds={"noop"}, owner="w:1", lease_seconds=LEASE)
    after = queue.cancel(job.id, org_id=org_id)
    assert (after.status, after.cancel_requested) == ("running", True)
    state = queue.renew(job.id, owner="w:1", lease_seconds=LEASE)
    assert (state.owned, state.cancel_requested) == (True, True)


def test_cancel_finished_job_raises_job_finished(queue: JobQueue, org_id: str) -> None:
    job = queue.enqueue("noop", org_id=org_id)
    queue.claim(kinds={"noop"}, owner="w:1", lease_seconds=LEASE)
    queue.finish(job.id, owner="w:1", status="succeeded", result={"ok": True})
    with pytest.raises(Conflict) as info:
        queue.cancel(job.id, org_id=org_id)
    assert info.value.code == "job_finished"


def test_claim_takes_oldest_job_of_known_kinds_only(
    queue: JobQueue, org_id: str, clock: FixedClock
) -> None:
    unknown = queue.enqueue("train", org_id=org_id)
    clock.advance(1)
    old = queue.enqueue("noop", org_id=org_id)
    clock.advance(1)
    queue.enqueue("noop", org_id=org_id)
    claimed = queue.claim(kinds={"noop"}, owner="w:1", lease_seconds=LEASE)
    assert claimed is not None
    assert claimed.id == old.id
    assert (claimed.status, claimed.attempts, claimed.lease_owner) == ("running", 1, "w:1")
    assert claimed.lease_expires_at is not None
    assert (claimed.lease_expires_at - clock.now()).total_seconds() == LEASE
    assert queue.get(unknown.id, org_id=None).status == "queued"
    assert queue.claim(kinds=set(), owner="w:2", lease_seconds=LEASE) is None


def test_claim_job_id_takes_that_job_only_while_queued(
    queue: JobQueue, org_id: str, clock: FixedClock
) -> None:
    older = queue.enqueue("noop", org_id=org_id)
    clock.advance(1)
    mine = queue.enqueue("noop", org_id=org_id)
    claimed = queue.claim(kinds={"noop"}, owner="w:1", lease_seconds=LEASE, job_id=mine.id)
    assert claimed is not None
    assert claimed.id == mine.id  # not the older one
    assert queue.claim(kinds={"noop"}, owner="w:2", lease_seconds=LEASE, job_id=mine.id) is None
    assert queue.claim(kinds={"train"}, owner="w:2", lease_seconds=LEASE, job_id=older.id) is None
    assert queue.get(older.id, org_id=None).status == "queued"


def test_finish_by_another_owner_writes_nothing(queue: JobQueue, org_id: str) -> None:
    job = queue.enqueue("noop", org_id=org_id)
    queue.claim(kinds={"noop"}, owner="w:1", lease_seconds=LEASE)
    assert queue.finish(job.id, owner="w:2", status="succeeded") is None
    assert queue.renew(job.id, owner="w:2", lease_seconds=LEASE).owned is False
    assert queue.get(job.id, org_id=None).status == "running"
    done = queue.finish(job.id, owner="w:1", status="failed", error_code="boom", error="x")
    assert done is not None
    assert (done.status, done.error_code, done.lease_owner) == ("failed", "boom", None)


def test_renew_records_progress_and_extends_lease(
    queue: JobQueue, org_id: str, clock: FixedClock
) -> None:
    job = queue.enqueue("noop", org_id=org_id)
    queue.claim(kinds={"noop"}, owner="w:1", lease_seconds=LEASE)
    clock.advance(20)
    assert queue.renew(job.id, owner="w:1", lease_seconds=LEASE, stage="fit", progress=40).owned
    now = queue.get(job.id, org_id=None)
    assert (now.stage, now.progress) == ("fit", 40.0)
    assert now.lease_expires_at is not None
    assert (now.lease_expires_at - clock.now()).total_seconds() == LEASE
    clock.advance(LEASE - 1)  # past the first lease, within the renewed one
    assert queue.reap().total == 0


def test_release_requeues_without_using_an_attempt(queue: JobQueue, org_id: str) -> None:
    job = queue.enqueue("noop", org_id=org_id)
    queue.claim(kinds={"noop"}, owner="w:1", lease_seconds=LEASE)
    released = queue.release(job.id, owner="w:1")
    assert released is not None
    assert (released.status, released.attempts, released.lease_owner) == ("queued", 0, None)
    assert queue.release(job.id, owner="w:1") is None


def test_reap_expired_lease_requeues_then_fails_with_worker_lost(
    queue: JobQueue, org_id: str, clock: FixedClock
) -> None:
    job = queue.enqueue("noop", org_id=org_id, max_attempts=2)
    for attempt in (1, 2):
        claimed = queue.claim(kinds={"noop"}, owner=f"w:{attempt}", lease_seconds=LEASE)
        assert claimed is not None
        assert claimed.attempts == attempt
        clock.advance(LEASE - 1)
        assert queue.reap().total == 0  # not expired yet
        clock.advance(2)
        report = queue.reap()
        if attempt == 1:
            assert report.requeued == (job.id,)
            assert queue.get(job.id, org_id=None).status == "queued"
    assert report.failed == (job.id,)
    lost = queue.get(job.id, org_id=None)
    assert (lost.status, lost.error_code, lost.lease_owner) == ("failed", "worker_lost", None)
    assert lost.error is not None
    assert "attempt 2 of 2" in lost.error
    assert lost.ended_at == clock.now()
    assert queue.finish(job.id, owner="w:2", status="succeeded") is None  # too late


def test_reap_expired_lease_after_cancel_request_ends_cancelled(
    queue: JobQueue, org_id: str, clock: FixedClock
) -> None:
    job = queue.enqueue("noop", org_id=org_id)
    queue.claim(kinds={"noop"}, owner="w:1", lease_seconds=LEASE)
    queue.cancel(job.id, org_id=org_id)
    clock.advance(LEASE + 1)
    assert queue.reap().cancelled == (job.id,)
    assert queue.get(job.id, org_id=None).status == "cancelled"


def test_job_to_dict_is_json_ready(queue: JobQueue, org_id: str) -> None:
    job = queue.enqueue("noop", {"a": [1, 2]}, org_id=org_id)
    data = job.to_dict()
    assert data["created_at"] == job.created_at.isoformat()
    assert data["started_at"] is None
    assert data["payload"] == {"a": [1, 2]}
