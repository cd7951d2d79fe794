"""Injectable UTC clocks.

Code that needs "now" takes a :class:`Clock` rather than calling
``datetime.now()``, so tests can freeze or advance time.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "FixedClock", "SystemClock", "utcnow"]


class Clock(Protocol):
    """Something that tells the current time."""

    def now(self) -> datetime:
        """Return the current time as a timezone-aware UTC datetime."""
        ...

    def monotonic(self) -> float:
        """Return a monotonic time in seconds (for durations and rate limits)."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """Return ``datetime.now(UTC)``."""
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """Return ``time.monotonic()`` in seconds."""
        return time.monotonic()


class FixedClock:
    """A clock that only moves when told to (for tests).

    Parameters
    ----------
    start : datetime, optional
        Initial time; naive datetimes are taken as UTC. Default 2026-01-01T00:00Z.
    """

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2026, 1, 1, tzinfo=UTC)
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        self._now = start
        self._mono = 0.0

    def now(self) -> datetime:
        """Return the frozen time."""
        return self._now

    def monotonic(self) -> float:
        """Return seconds advanced since creation."""
        return self._mono

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        self._now += timedelta(seconds=seconds)
        self._mono += seconds


def utcnow() -> datetime:
    """Return the current UTC time (shorthand for ``SystemClock().now()``)."""
    return datetime.now(UTC)
