"""Dataset upload: ``POST /v1/datasets`` over HTTP vs a local ``ws.datasets.ingest``.

Baryon's side is the whole API path: the SDK (``Client.upload_dataset``) streams the
file over loopback to ``baryon serve`` (one worker), which authenticates the key,
streams the multipart body to a temporary file in the workspace home under the upload
cap, ingests it exactly as the command line does (hash, detect, parse with checks,
statistics, versioned Parquet, manifest, version row) and answers with the version.
The baseline is the same ingest called locally on the same file
(``ws.datasets.ingest``, what ``baryon data ingest`` runs), with no HTTP around it.
The ratio is the cost of going through the API.

The CSV is the ingest benchmark's (:func:`benchmarks.ingest.generate_csv`; 1,000,000
rows, ~114 MiB; 200,000 in quick mode). Each measurement starts from a fresh
workspace (a fresh server for the HTTP side, a fresh interpreter for the local side);
start-up is not timed. Throughput is file MiB per second; peak memory is the peak
resident set of the server process, and of the local process, each including the
interpreter and its imports.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks._harness import Comparison, alternate, run_python
from benchmarks.ingest import _GENERATE

ROOT = Path(__file__).resolve().parent.parent

_LOCAL = """
import json, sys, time
import baryon.tenancy.tables  # registers the organizations table datasets refer to
from baryon import Settings, Workspace
src, home = sys.argv[1], sys.argv[2]
ws = Workspace.open(Settings(home=home))
store = ws.datasets  # imports the data layer, as the server did when it started
start = time.perf_counter()
version = store.ingest(src, name="bench")
print(json.dumps({"seconds": time.perf_counter() - start, "rows": version.row_count}))
"""

_PREPARE = """
import sys
from baryon import Settings, Workspace
from baryon.commerce.orgs import create_org
from baryon.commerce.plans import create_plan
from baryon.tenancy.keys import create_key
with Workspace.open(Settings(home=sys.argv[1])) as ws, ws.db.session() as s:
    create_plan(s, name="bench", quota=10**9, rate_per_minute=10**9)
    org = create_org(s, name="bench", plan="bench")
    print(create_key(s, org_id=org.id, role="developer").secret)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _vm_hwm_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _upload_once(csv: Path, home: Path) -> dict[str, Any]:
    """Start a server on a fresh ``home``, time one SDK upload of ``csv``, stop it."""
    from baryon.client import Client

    secret = subprocess.run(
        [sys.executable, "-c", _PREPARE, str(home)],
        capture_output=True, text=True, check=True, cwd=ROOT,
    ).stdout.strip().splitlines()[-1]  # fmt: skip
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BARYON_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "baryon", "--home", str(home), "serve", "--port", str(port),
         "--workers", "1", "--log-level", "warning"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"baryon serve exited with {proc.returncode}")
            try:
                if httpx.get(f"{base}/healthz", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("baryon serve not ready after 60 s")
            time.sleep(0.1)
        with Client(base, secret, timeout=600) as client:
            start = time.perf_counter()
            made = client.upload_dataset(csv, "bench")
            seconds = time.perf_counter() - start
        return {"seconds": seconds, "rows": made.rows, "hwm_mb": _vm_hwm_mb(proc.pid)}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run(quick: bool) -> dict[str, Any]:
    """Measure upload throughput (MiB/s) over HTTP against a local ingest of the same file.

    Parameters
    ----------
    quick : bool
        200,000 rows and 3 runs per side instead of 1,000,000 rows and 5 runs.

    Returns
    -------
    dict
        ``comparisons`` (one :class:`~benchmarks._harness.Comparison`, MiB/s) and the
        raw numbers: ``rows``, ``file_mb``, ``http_seconds`` and ``local_seconds`` (every
        run), ``throughput_ratio``, ``server_peak_rss_mb``, ``local_peak_rss_mb``.
    """
    rows = 200_000 if quick else 1_000_000
    repeats = 3 if quick else 5
    with tempfile.TemporaryDirectory(prefix="baryon-bench-upload-") as tmp:
        root = Path(tmp)
        csv = root / "ratings.csv"
        subprocess.run(
            [sys.executable, "-c", _GENERATE, str(csv), str(rows)],
            check=True, capture_output=True, cwd=ROOT,
        )  # fmt: skip
        mib = csv.stat().st_size / 2**20
        seconds: dict[str, list[float]] = {"http": [], "local": []}
        rss: dict[str, list[float]] = {"http": [], "local": []}
        counter = iter(range(10**6))

        def measure(side: str) -> float:
            home = root / f"home-{next(counter)}"
            if side == "http":
                result = _upload_once(csv, home)
            else:
                result = run_python(_LOCAL, str(csv), str(home))
            if int(result["rows"]) != rows:
                raise RuntimeError(f"{side} stored {result['rows']} rows, expected {rows}")
            seconds[side].append(float(result["seconds"]))
            peak = result.get("hwm_mb") or result.get("peak_rss_mb")
            if peak is not None:
                rss[side].append(float(peak))
            return mib / float(result["seconds"])

        http_rate, local_rate = alternate(
            lambda: measure("http"), lambda: measure("local"), repeats
        )
    comparison = Comparison(
        benchmark="upload",
        measure=f"CSV upload, {rows:,} rows ({mib:.0f} MiB)",
        unit="MiB/s",
        higher_is_better=True,
        baryon="POST /v1/datasets from the SDK (streamed to disk, then ingest)",
        baseline="local ws.datasets.ingest of the same file",
        baryon_samples=http_rate,
        baseline_samples=local_rate,
        baryon_peak_rss_mb=max(rss["http"]) if rss["http"] else None,
        baseline_peak_rss_mb=max(rss["local"]) if rss["local"] else None,
        note="loopback, 1 worker; peak RSS of the server / the local process",
    )
    return {
        "comparisons": [comparison],
        "rows": rows,
        "file_mb": mib,
        "http_seconds": seconds["http"],
        "local_seconds": seconds["local"],
        "http_median_seconds": statistics.median(seconds["http"]),
        "local_median_seconds": statistics.median(seconds["local"]),
        "throughput_ratio": comparison.ratio,
        "server_peak_rss_mb": max(rss["http"]) if rss["http"] else None,
        "local_peak_rss_mb": max(rss["local"]) if rss["local"] else None,
    }


if __name__ == "__main__":  # python -m benchmarks.upload [--quick]
    out = run(quick="--quick" in sys.argv)
    out["comparisons"] = [c.to_dict() for c in out["comparisons"]]
    print(json.dumps(out, indent=2))
