"""Dataset ingest: ``ws.datasets.ingest`` of a large CSV vs pyarrow's read + write.

Baryon's path is the whole ingest: hash the file, detect encoding and delimiter,
stream-parse it checking every row's field count, infer types, write Parquet in row
groups, build the quality report (nulls, distinct counts, duplicate rows, numeric and
text summaries), suggest roles, store the Parquet file and the manifest in the
artifact store and commit the version row. The baseline is
``pyarrow.csv.read_csv`` followed by ``pyarrow.parquet.write_table`` of the same file
(multi-threaded, everything in memory, no checks, no statistics). The issue's aim is
a throughput ratio of at least 0.5.

The CSV is generated (1,000,000 rows, ~100 MB; 200,000 in quick mode): ids, two
integer keys, a rating, an ISO timestamp, a short sentence, a three-class label and a
normal score. Each measurement runs in a fresh interpreter (imports and workspace
migration happen before the clock starts) so the peak resident memory of each side
is its own (``VmHWM`` of the child, which includes the interpreter and its imports);
the two sides alternate.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks._harness import Comparison, alternate, run_python

_WORDS = [
    "the",
    "card",
    "payment",
    "arrived",
    "late",
    "refund",
    "please",
    "account",
    "transfer",
    "money",
    "why",
    "cannot",
    "top",
    "up",
    "declined",
    "fee",
    "exchange",
    "rate",
    "pending",
    "cash",
    "withdrawal",
    "verify",
    "identity",
    "app",
    "pin",
]

_VM_HWM = """
def _vm_hwm_mb():
    # ru_maxrss survives exec (it would include the parent's peak); VmHWM does not.
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None
"""

_BASELINE = (
    _VM_HWM
    + """
import json, sys, time
import pyarrow.csv as pv
import pyarrow.parquet as pq
src, out = sys.argv[1], sys.argv[2]
start, cpu = time.perf_counter(), time.process_time()
table = pv.read_csv(src)
pq.write_table(table, out)
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
rows = table.num_rows
print(json.dumps({"seconds": seconds, "cpu": cpu, "rows": rows, "hwm_mb": _vm_hwm_mb()}))
"""
)

_BARYON = (
    _VM_HWM
    + """
import json, sys, time
from baryon import Settings, Workspace
src, home = sys.argv[1], sys.argv[2]
ws = Workspace.open(Settings(home=home))
store = ws.datasets
start, cpu = time.perf_counter(), time.process_time()
version = store.ingest(src, name="bench")
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
rows = version.row_count
print(json.dumps({"seconds": seconds, "cpu": cpu, "rows": rows, "hwm_mb": _vm_hwm_mb()}))
"""
)

_GENERATE = """
import sys
from pathlib import Path
from benchmarks.ingest import generate_csv
print(generate_csv(Path(sys.argv[1]), int(sys.argv[2])))
"""


def generate_csv(path: Path, rows: int, seed: int = 0) -> int:
    """Write the benchmark CSV (``rows`` rows) to ``path``; return its size in bytes."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pv

    rng = np.random.default_rng(seed)
    words = np.array(_WORDS)
    sentences = np.array([" ".join(rng.choice(words, size=8)) for _ in range(5000)])
    start = np.datetime64("2020-01-01T00:00:00", "s")
    table = pa.table(
        {
            "id": np.arange(rows),
            "user_id": rng.integers(0, 50_000, rows),
            "item_id": rng.integers(0, 5_000, rows),
            "rating": rng.integers(1, 11, rows) / 2,
            "ts": pa.array(start + rng.integers(0, 10**8, rows).astype("timedelta64[s]")),
            "text": pa.array(sentences[rng.integers(0, len(sentences), rows)]),
            "label": pa.array(np.array(["pos", "neg", "neu"])[rng.integers(0, 3, rows)]),
            "score": rng.normal(size=rows),
        }
    )
    pv.write_csv(table, path)
    return path.stat().st_size


def run(quick: bool) -> dict[str, Any]:
    """Measure ingest throughput (rows/s) and peak memory against pyarrow read + write.

    Parameters
    ----------
    quick : bool
        200,000 rows and 3 runs per side instead of 1,000,000 rows and 5 runs.

    Returns
    -------
    dict
        ``comparisons`` (one :class:`~benchmarks._harness.Comparison`, rows/s), and the
        raw numbers: ``rows``, ``file_mb``, ``baryon_seconds``, ``baseline_seconds``
        (every run), ``throughput_ratio`` (median Baryon rows/s over median baseline
        rows/s), ``baryon_peak_rss_mb`` and ``baseline_peak_rss_mb`` (largest over
        the runs, MiB).
    """
    rows = 200_000 if quick else 1_000_000
    repeats = 3 if quick else 5
    with tempfile.TemporaryDirectory(prefix="baryon-bench-ingest-") as tmp:
        root = Path(tmp)
        csv = root / "ratings.csv"
        # In a child, so this process stays small: a child's ru_maxrss starts at its
        # parent's peak, and the harness reads ru_maxrss.
        subprocess.run(
            [sys.executable, "-c", _GENERATE, str(csv), str(rows)],
            check=True,
            capture_output=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
        size = csv.stat().st_size
        rss: dict[str, list[float]] = {"baryon": [], "baseline": []}
        seconds: dict[str, list[float]] = {"baryon": [], "baseline": []}
        cpu: dict[str, list[float]] = {"baryon": [], "baseline": []}
        counter = iter(range(10**6))

        def measure(side: str) -> float:
            if side == "baryon":
                result = run_python(_BARYON, str(csv), str(root / f"home-{next(counter)}"))
            else:
                result = run_python(_BASELINE, str(csv), str(root / "baseline.parquet"))
            if int(result["rows"]) != rows:
                raise RuntimeError(f"{side} read {result['rows']} rows, expected {rows}")
            seconds[side].append(float(result["seconds"]))
            cpu[side].append(float(result["cpu"]))
            rss[side].append(float(result.get("hwm_mb") or result["peak_rss_mb"]))
            return rows / float(result["seconds"])

        baryon_rate, baseline_rate = alternate(
            lambda: measure("baryon"), lambda: measure("baseline"), repeats
        )
    comparison = Comparison(
        benchmark="ingest",
        measure=f"CSV ingest, {rows:,} rows ({size / 2**20:.0f} MiB)",
        unit="rows/s",
        higher_is_better=True,
        baryon="ws.datasets.ingest (checks, stats, versioned Parquet)",
        baseline="pyarrow.csv.read_csv + parquet.write_table",
        baryon_samples=baryon_rate,
        baseline_samples=baseline_rate,
        baryon_peak_rss_mb=max(rss["baryon"]),
        baseline_peak_rss_mb=max(rss["baseline"]),
        note="aim: ratio ≥ 0.5; each run in a fresh interpreter",
    )
    return {
        "comparisons": [comparison],
        "rows": rows,
        "file_mb": size / 2**20,
        "baryon_seconds": seconds["baryon"],
        "baseline_seconds": seconds["baseline"],
        "baryon_median_seconds": statistics.median(seconds["baryon"]),
        "baseline_median_seconds": statistics.median(seconds["baseline"]),
        "throughput_ratio": comparison.ratio,
        "baryon_cpu_seconds": cpu["baryon"],
        "baseline_cpu_seconds": cpu["baseline"],
        "cpu_ratio": statistics.median(cpu["baseline"]) / statistics.median(cpu["baryon"]),
        "baryon_peak_rss_mb": max(rss["baryon"]),
        "baseline_peak_rss_mb": max(rss["baseline"]),
    }


if __name__ == "__main__":  # pragma: no cover - manual run
    import sys

    out = run(quick="--quick" in sys.argv)
    out["comparisons"] = [c.to_dict() for c in out["comparisons"]]
    print(json.dumps(out, indent=2))
