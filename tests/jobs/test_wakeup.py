"""Wake-ups: local (threads of one process) and Redis (any process that reaches it)."""

from __future__ import annotations

import secrets
import threading
import time

import pytest
from jobkit import make_org, wait_until

from baryon.core.errors import MissingDependency
from baryon.core.scope import SYSTEM
from baryon.jobs import JobQueue, LocalWakeup, RedisWakeup, Worker, builtin_handlers, open_wakeup
from baryon.workspace import Workspace


def test_local_wakeup_wait_without_notify_times_out() -> None:
    start = time.monotonic()
    assert LocalWakeup().wait(0.05) is False
    assert time.monotonic() - start >= 0.04


def test_local_wakeup_notify_wakes_every_waiter() -> None:
    wakeup = LocalWakeup()
    woken: list[bool] = []
    ready = threading.Barrier(4)

    def waiter() -> None:
        ready.wait()
        woken.append(wakeup.wait(10))

    threads = [threading.Thread(target=waiter) for _ in range(3)]
    for t in threads:
        t.start()
    ready.wait()
    time.sleep(0.05)  # let the waiters block
    wakeup.notify()
    for t in threads:
        t.join(5)
    assert woken == [True, True, True]


def test_open_wakeup_without_url_is_local() -> None:
    assert isinstance(open_wakeup(None), LocalWakeup)


def test_redis_wakeup_without_client_raises_missing_dependency(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(MissingDependency) as info:
        open_wakeup("redis://127.0.0.1:1/0")
    assert "baryon[redis]" in info.value.message


def test_enqueue_wakes_waiting_worker_before_its_poll(live_ws: Workspace) -> None:
    wakeup = LocalWakeup()
    queue = JobQueue(live_ws.db, live_ws.clock, wakeup=wakeup)
    org_id = make_org(live_ws)
    stop = threading.Event()
    worker = Worker(live_ws, builtin_handlers(), queue=queue, poll_interval=30)
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    time.sleep(0.2)  # the worker found nothing and waits (up to 30 s)
    job = queue.enqueue("noop", org_id=org_id)
    wait_until(lambda: queue.get(job.id, org_id=org_id).status == "succeeded", timeout=10)
    stop.set()
    wakeup.notify()
    thread.join(10)
    assert not thread.is_alive()


@pytest.mark.redis
def test_redis_wakeup_notify_from_one_client_wakes_another(redis_url: str) -> None:
    key = f"baryon-test:{secrets.token_hex(4)}"
    sender, receiver = RedisWakeup(redis_url, key=key), RedisWakeup(redis_url, key=key)
    try:
        assert receiver.wait(0.1) is False
        sender.notify()
        assert receiver.wait(5) is True
        assert receiver.wait(0.1) is False  # one notification, one wake
    finally:
        sender.close()
        receiver.close()


def test_redis_wakeup_unreachable_server_behaves_like_poll() -> None:
    pytest.importorskip("redis", reason="the redis client is not installed")
    wakeup = RedisWakeup("redis://127.0.0.1:1/0")
    wakeup.notify()  # swallowed
    start = time.monotonic()
    assert wakeup.wait(0.1) is False
    assert time.monotonic() - start >= 0.09
    wakeup.close()


def test_enqueue_in_caller_transaction_wakes_workers_only_after_commit(
    ws: Workspace,
) -> None:
    class Counting(LocalWakeup):
        def __init__(self) -> None:
            super().__init__()
            self.count = 0

        def notify(self) -> None:
            self.count += 1
            super().notify()

    wakeup = Counting()
    queue = JobQueue(ws.db, ws.clock, wakeup=wakeup)
    org_id = make_org(ws)
    with ws.db.session(SYSTEM) as session:
        queue.enqueue("noop", org_id=org_id, session=session)
        assert wakeup.count == 0  # not committed yet: nothing to wake for
    assert wakeup.count == 1

    def rolled_back() -> None:
        with ws.db.session(SYSTEM) as session:
            queue.enqueue("noop", org_id=org_id, session=session)
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        rolled_back()
    assert wakeup.count == 1
    assert len(queue.list(org_id=org_id)) == 1
