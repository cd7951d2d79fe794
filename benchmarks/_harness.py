"""Shared measurement helpers for the benchmarks.

Every benchmark returns a list of :class:`Comparison`: Baryon's path and its baseline,
each measured several times **alternately** in the same process/session (the machines
are shared and noisy: absolute times drift, ratios are stable), summarised by the
median and the spread (min–max), with the peak resident memory of each side.

``ratio`` is always "Baryon relative to the baseline" with > 1 meaning Baryon is
better: for throughputs ``baryon / baseline``, for durations ``baseline / baryon``.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib import metadata
from typing import Any

__all__ = [
    "Comparison",
    "alternate",
    "machine_info",
    "peak_rss_mb",
    "run_python",
    "summarise",
]


@dataclass
class Comparison:
    """One row of the benchmark table."""

    benchmark: str
    measure: str
    unit: str
    higher_is_better: bool
    baryon: str
    baseline: str
    baryon_samples: list[float] = field(default_factory=list)
    baseline_samples: list[float] = field(default_factory=list)
    baryon_peak_rss_mb: float | None = None
    baseline_peak_rss_mb: float | None = None
    note: str = ""
    skipped: str | None = None  # reason the baseline (or benchmark) could not run

    @property
    def baryon_median(self) -> float | None:
        return statistics.median(self.baryon_samples) if self.baryon_samples else None

    @property
    def baseline_median(self) -> float | None:
        return statistics.median(self.baseline_samples) if self.baseline_samples else None

    @property
    def ratio(self) -> float | None:
        b, base = self.baryon_median, self.baseline_median
        if b is None or base is None or b == 0 or base == 0:
            return None
        return b / base if self.higher_is_better else base / b

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(
            baryon_median=self.baryon_median,
            baseline_median=self.baseline_median,
            baryon_spread=summarise(self.baryon_samples),
            baseline_spread=summarise(self.baseline_samples),
            ratio=self.ratio,
        )
        return out


def summarise(samples: list[float]) -> dict[str, float] | None:
    """Return ``{"median", "min", "max", "n"}`` of ``samples`` (None when empty)."""
    if not samples:
        return None
    return {
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "n": len(samples),
    }


def alternate(
    baryon: Callable[[], float], baseline: Callable[[], float], repeats: int
) -> tuple[list[float], list[float]]:
    """Call ``baryon`` and ``baseline`` alternately ``repeats`` times each.

    Each callable returns its own measurement (seconds, or a throughput); the order
    flips every round so neither side always runs on a warm cache.
    """
    a: list[float] = []
    b: list[float] = []
    for i in range(repeats):
        if i % 2 == 0:
            a.append(baryon())
            b.append(baseline())
        else:
            b.append(baseline())
            a.append(baryon())
    return a, b


def timed(fn: Callable[[], object]) -> float:
    """Return the wall-clock seconds ``fn()`` took."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux VmHWM)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_python(code: str, *args: str, timeout: float = 600) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter; it must print one JSON object last.

    The child's peak RSS is added as ``peak_rss_mb``. Raises ``RuntimeError`` with the
    child's stderr tail when it fails.
    """
    # VmHWM is the child's own peak; ru_maxrss can carry the parent's peak over a fork.
    wrapper = (
        code
        + "\nimport json as _j\n"
        + "_hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')]\n"
        + "print(_j.dumps({'__peak_rss_mb': int(_hwm[0].split()[1]) / 1024 if _hwm else None}))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", wrapper, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark child failed: {proc.stderr[-2000:]}")
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    result: dict[str, Any] = json.loads(lines[-2]) if len(lines) >= 2 else {}
    result["peak_rss_mb"] = json.loads(lines[-1])["__peak_rss_mb"]
    return result


def machine_info() -> dict[str, Any]:
    """Describe the machine and library versions the numbers were taken on."""
    mem_total = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    mem_total = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    cpu_model = None
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu_model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    libs = {}
    for name in (
        "baryon", "numpy", "scipy", "pandas", "pyarrow", "scikit-learn", "implicit",
        "fastapi", "uvicorn", "sqlalchemy", "httpx",
    ):  # fmt: skip
        try:
            libs[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            libs[name] = None
    return {
        "hostname": platform.node(),
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model,
        "memory_gib": mem_total,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "libraries": libs,
    }


def threaded_rate(n_threads: int, per_thread: int, work: Callable[[], object]) -> float:
    """Run ``work()`` ``per_thread`` times in each of ``n_threads`` threads started
    together; return calls per second (the first error any thread raised is raised)."""
    barrier = threading.Barrier(n_threads + 1)
    errors: list[BaseException] = []

    def loop() -> None:
        barrier.wait()
        try:
            for _ in range(per_thread):
                work()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=loop) for _ in range(n_threads)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return n_threads * per_thread / elapsed
