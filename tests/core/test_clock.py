from __future__ import annotations

from datetime import UTC, datetime, timedelta

from baryon.core.clock import FixedClock, SystemClock


def test_system_clock_now_is_aware_utc() -> None:
    now = SystemClock().now()
    assert now.tzinfo is not None
    assert now.utcoffset() == timedelta(0)


def test_fixed_clock_advance_moves_now_and_monotonic() -> None:
    clock = FixedClock(datetime(2026, 3, 1))
    assert clock.now() == datetime(2026, 3, 1, tzinfo=UTC)
    clock.advance(90)
    assert clock.now() == datetime(2026, 3, 1, 0, 1, 30, tzinfo=UTC)
    assert clock.monotonic() == 90
