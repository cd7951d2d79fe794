"""Run one function in many threads at once, for the tests of atomic counters.

``tests/`` is on ``sys.path`` (the root ``conftest.py`` lives there), so every test
module imports this as ``threadkit``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

__all__ = ["together"]

T = TypeVar("T")


def together(threads: int, work: Callable[[], T]) -> list[T]:
    """Start ``work`` in ``threads`` threads released at one barrier; return every result.

    An exception in a thread fails the test (it is raised again here).
    """
    results: list[T] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(threads)

    def run() -> None:
        barrier.wait()
        try:
            value = work()
        except BaseException as exc:
            with lock:
                errors.append(exc)
            return
        with lock:
            results.append(value)

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if errors:
        raise errors[0]
    return results
