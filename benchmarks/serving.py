"""Serving: ``POST /v1/models/{name}/predict`` through the full stack vs a bare endpoint.

Baryon's side is exactly what ``baryon serve`` runs (``create_app_from_env``): API key
authentication, the database-backed rate limiter, quota and metering in one
transaction, the prediction log, the model. The baseline is a bare FastAPI endpoint
in its own process that loads **the same registered model version** from the same
workspace and calls the same inference function (``run_inference``) on the same
body, with nothing around it. Both run under uvicorn with identical settings (one
worker, loopback, log level ``warning``).

The load generator is a separate process (an asyncio + httpx client with one
connection per concurrent stream, kept alive), at concurrency 1 and 16, for a fixed
time after a warm-up; it reports throughput and p50/p99 latency. The two servers are
measured alternately. The issue's aim is full-stack throughput >= 0.7 x the bare
endpoint's; the ratio is reported, not an absolute number.

Caveat: on a 2-core machine the load generator, the server and the database share
the CPUs, and a Python client tops out at a few thousand requests per second; when
the bare endpoint is faster than the client can drive it, the ratio understates the
full stack's real overhead. ``client_ceiling_rps`` (the bare ``/healthz`` rate)
tells how close to that ceiling each run was.

**Before and after a change** (``python -m benchmarks.serving --quick --against REF``):
the full stack of this tree against the full stack of the git revision ``REF``
(extracted with ``git archive``; the repository is not touched), each server over its
own workspace prepared by its own code, loaded alternately in one run. The ratio is
this tree ÷ ``REF``; a serving change must not bring it below 1 beyond the noise.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from benchmarks._harness import Comparison, alternate

MODEL = "bench"
ROW = {"x1": 0.7, "x2": 0.4}

_SERVER = """
import sys, uvicorn
target, port = sys.argv[1], int(sys.argv[2])
uvicorn.run(target, factory=True, host="127.0.0.1", port=port, workers=1,
            log_level="warning", server_header=False)
"""

_BARE_APP = '''
"""A bare FastAPI endpoint over the same registered model (the baseline)."""
from typing import Any
from fastapi import FastAPI
from pydantic import BaseModel
from baryon.core.config import Settings
from baryon.predictions.inference import RegistryModelResolver, run_inference
from baryon.workspace import Workspace


class Body(BaseModel):
    inputs: list[Any]


def make_app() -> FastAPI:
    ws = Workspace.open(Settings()).for_org("bench")
    model = RegistryModelResolver(ws).resolve("__MODEL__", scope=ws.scope)
    app = FastAPI()

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/models/{name}/predict")
    def predict(name: str, body: Body) -> dict[str, Any]:
        inference = run_inference(model, body.inputs)
        return {"model_version": model.version, "outputs": inference.outputs,
                "flags": inference.flags}

    return app
'''.replace("__MODEL__", MODEL)

_LOADGEN = r"""
import asyncio, json, sys, time
import httpx

url, key = sys.argv[1], sys.argv[2]
concurrency, seconds, warmup = int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
method = "GET" if url.endswith("/healthz") else "POST"
body = json.loads(sys.argv[6]) if len(sys.argv) > 6 else None
headers = {"Authorization": f"Bearer {key}"} if key != "-" else {}


async def stream(client, until, lat, errors):
    while True:
        t = time.perf_counter()
        if t >= until:
            return
        r = await client.request(method, url, json=body, headers=headers)
        done = time.perf_counter()
        if r.status_code == 200:
            lat.append(done - t)
        else:
            errors.append(r.status_code)


async def main():
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30.0) as client:
        warm = time.perf_counter() + warmup
        await asyncio.gather(*(stream(client, warm, [], []) for _ in range(concurrency)))
        lat, errors = [], []
        start = time.perf_counter()
        until = start + seconds
        await asyncio.gather(*(stream(client, until, lat, errors) for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    lat.sort()
    pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else None
    print(json.dumps({"rps": len(lat) / elapsed, "p50_ms": pick(0.50), "p99_ms": pick(0.99),
                      "ok": len(lat), "errors": len(errors), "error_codes": sorted(set(errors))}))

asyncio.run(main())
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _prepare(home: Path) -> str:
    """Train and register model ``bench``; make an org on an unlimited plan; return a key."""
    import numpy as np

    from baryon.commerce.orgs import create_org
    from baryon.commerce.plans import create_plan
    from baryon.core.config import Settings
    from baryon.tenancy.keys import create_key
    from baryon.training.trainer import Trainer
    from baryon.workspace import Workspace

    ws = Workspace.open(Settings(home=home))
    try:
        # the organization owns the model its key calls (another org's model is 404)
        with ws.db.session() as s:
            create_plan(s, name="bench", quota=10**12, rate_per_minute=10**9)
            org = create_org(s, name="bench", plan="bench")
            secret = create_key(s, org_id=org.id, role="developer", name="bench").secret
        own = ws.for_org("bench")
        rng = np.random.default_rng(0)
        lines = ["x1,x2,label"] + [
            f"{a:.4f},{b:.4f},{'hi' if a + b > 1 else 'lo'}" for a, b in rng.random((400, 2))
        ]
        path = home / "bench.csv"
        path.write_text("\n".join(lines) + "\n")
        own.datasets.ingest(path, name="bench", roles={"label": "label"})
        own.datasets.split("bench", strategy="random", seed=0)
        run = Trainer(own).train("mlp", dataset="bench", register=MODEL, seed=0)
        if run.status != "succeeded":
            raise RuntimeError(f"training the benchmark model failed: {run.status}")
        return secret
    finally:
        ws.close()


@contextlib.contextmanager
def _server(target: str, env: dict[str, str], cwd: str) -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERVER, target, str(port)],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{target} exited with {proc.returncode}")
            try:
                if httpx.get(f"{base}/healthz", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{target} not ready after 60 s")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _load(url: str, key: str, concurrency: int, seconds: float, warmup: float) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", _LOADGEN, url, key, str(concurrency), str(seconds), str(warmup),
         json.dumps({"inputs": [ROW]})],
        capture_output=True, text=True, timeout=seconds + warmup + 120, check=False,
    )  # fmt: skip
    if out.returncode != 0:
        raise RuntimeError(f"load generator failed: {out.stderr[-1500:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    if result["errors"]:
        raise RuntimeError(f"{url}: {result['errors']} failed requests {result['error_codes']}")
    return result


def _compare(
    full: str,
    bare: str,
    key: str,
    concurrency: int,
    seconds: float,
    warmup: float,
    repeats: int,
    *,
    baseline_key: str = "-",
) -> dict[str, list[dict[str, Any]]]:
    """Load both servers alternately ``repeats`` times; return every load result.

    ``baseline_key`` is the API key sent to the ``bare`` server (``"-"``: none).
    """
    path = f"/v1/models/{MODEL}/predict"
    samples: dict[str, list[dict[str, Any]]] = {"full": [], "bare": []}

    def full_run() -> float:
        samples["full"].append(_load(full + path, key, concurrency, seconds, warmup))
        return float(samples["full"][-1]["rps"])

    def bare_run() -> float:
        samples["bare"].append(_load(bare + path, baseline_key, concurrency, seconds, warmup))
        return float(samples["bare"][-1]["rps"])

    alternate(full_run, bare_run, repeats)
    return samples


def run(quick: bool) -> dict[str, Any]:
    """Measure full-stack vs bare predict at concurrency 1 and 16 (see the module docstring).

    Returns
    -------
    dict
        ``{"comparisons": [Comparison, ...], "ratios": {"c1": ..., "c16": ...},
        "aim": 0.7, "client_ceiling_rps": {...}, "runs": [...]}``.
    """
    seconds, warmup, repeats = (3.0, 1.0, 2) if quick else (8.0, 2.0, 3)
    comparisons: list[Comparison] = []
    runs: list[dict[str, Any]] = []
    ceiling: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        key = _prepare(home)
        (Path(tmp) / "bare_app.py").write_text(_BARE_APP)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("BARYON_")},
            "BARYON_HOME": str(home),
            "PYTHONPATH": os.pathsep.join([tmp, os.environ.get("PYTHONPATH", "")]),
        }
        with (
            _server("baryon.serving.app:create_app_from_env", env, tmp) as full,
            _server("bare_app:make_app", env, tmp) as bare,
        ):
            for concurrency in (1, 16):
                samples = _compare(full, bare, key, concurrency, seconds, warmup, repeats)
                ceiling[f"c{concurrency}"] = _load(
                    bare + "/healthz", "-", concurrency, seconds, warmup
                )["rps"]
                note = f"concurrency {concurrency}, loopback, 1 uvicorn worker each"
                comparisons.append(
                    Comparison(
                        benchmark="serving", measure=f"predict throughput (c={concurrency})",
                        unit="req/s", higher_is_better=True,
                        baryon="full stack (auth, limits, metering, log, model)",
                        baseline="bare FastAPI endpoint, same model",
                        baryon_samples=[float(r["rps"]) for r in samples["full"]],
                        baseline_samples=[float(r["rps"]) for r in samples["bare"]], note=note,
                    )
                )  # fmt: skip
                for stat in ("p50_ms", "p99_ms"):
                    comparisons.append(
                        Comparison(
                            benchmark="serving",
                            measure=f"predict {stat[:3]} latency (c={concurrency})",
                            unit="ms", higher_is_better=False,
                            baryon="full stack", baseline="bare FastAPI endpoint",
                            baryon_samples=[float(r[stat]) for r in samples["full"]],
                            baseline_samples=[float(r[stat]) for r in samples["bare"]],
                            note=note,
                        )
                    )  # fmt: skip
                runs.append({"concurrency": concurrency, **samples})
    ratios = {
        f"c{c.note.split()[1].rstrip(',')}": c.ratio for c in comparisons if c.unit == "req/s"
    }
    return {
        "comparisons": comparisons,
        "ratios": ratios,
        "aim": 0.7,
        "client_ceiling_rps": ceiling,
        "runs": runs,
    }


ROOT = Path(__file__).resolve().parent.parent
_PREPARE = """
import sys
from pathlib import Path
from benchmarks.serving import _prepare
print(_prepare(Path(sys.argv[1])))
"""


def _source_tree(ref: str, dest: Path) -> Path:
    """Extract git revision ``ref`` of this repository into ``dest`` (nothing else changes)."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", ref],
        capture_output=True, check=False, timeout=120,
    )  # fmt: skip
    if archive.returncode != 0:
        raise RuntimeError(f"git archive {ref}: {archive.stderr.decode()[-500:]}")
    dest.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def _env_for(tree: Path, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BARYON_")}
    env["BARYON_HOME"] = str(home)
    env["PYTHONPATH"] = str(tree)
    return env


def run_against(ref: str, quick: bool) -> dict[str, Any]:
    """Predict throughput and latency of this tree's full stack vs revision ``ref``'s.

    Returns
    -------
    dict
        ``{"comparisons": [Comparison, ...], "ratios": {"c1": ..., "c16": ...}}``;
        ``baryon`` is this tree, ``baseline`` is ``ref``.
    """
    seconds, warmup, repeats = (3.0, 1.0, 3) if quick else (8.0, 2.0, 5)
    comparisons: list[Comparison] = []
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"after": ROOT, "before": _source_tree(ref, Path(tmp) / "before-src")}
        keys, envs = {}, {}
        for side, tree in trees.items():
            home = Path(tmp) / f"{side}-home"
            home.mkdir()
            envs[side] = _env_for(tree, home)
            out = subprocess.run(
                [sys.executable, "-c", _PREPARE, str(home)], env=envs[side], cwd=str(tree),
                capture_output=True, text=True, check=False, timeout=600,
            )  # fmt: skip
            if out.returncode != 0:
                raise RuntimeError(f"preparing the {side} workspace failed: {out.stderr[-1500:]}")
            keys[side] = out.stdout.strip().splitlines()[-1]
        target = "baryon.serving.app:create_app_from_env"
        with (
            _server(target, envs["after"], str(trees["after"])) as after,
            _server(target, envs["before"], str(trees["before"])) as before,
        ):
            for concurrency in (1, 16):
                # _compare's "full" side is this tree, its "bare" side is ref
                samples = _compare(
                    after, before, keys["after"], concurrency, seconds, warmup, repeats,
                    baseline_key=keys["before"],
                )  # fmt: skip
                note = f"concurrency {concurrency}, loopback, 1 uvicorn worker each, one run"
                for stat, unit, higher in (
                    ("rps", "req/s", True), ("p50_ms", "ms", False), ("p99_ms", "ms", False),
                ):  # fmt: skip
                    comparisons.append(
                        Comparison(
                            benchmark="serving", unit=unit, higher_is_better=higher,
                            measure=f"predict {stat} (c={concurrency}) vs {ref}",
                            baryon="this tree (full stack)", baseline=f"{ref} (full stack)",
                            baryon_samples=[float(r[stat]) for r in samples["full"]],
                            baseline_samples=[float(r[stat]) for r in samples["bare"]],
                            note=note,
                        )
                    )  # fmt: skip
    ratios = {
        f"c{c.measure.split('(c=')[1].split(')')[0]}": c.ratio
        for c in comparisons
        if c.unit == "req/s"
    }
    return {"comparisons": comparisons, "ratios": ratios}


if __name__ == "__main__":  # python -m benchmarks.serving [--quick] [--against REF]
    quick = "--quick" in sys.argv
    if "--against" in sys.argv:
        ref = sys.argv[sys.argv.index("--against") + 1]
        result = run_against(ref, quick)
        for row in result["comparisons"]:
            spread = row.to_dict()
            print(
                f"{row.measure:40s} this tree {row.baryon_median:9.2f}  {ref} "
                f"{row.baseline_median:9.2f}  ratio {row.ratio:.3f}  "
                f"(this tree {spread['baryon_spread']}, {ref} {spread['baseline_spread']})"
            )
        sys.exit(0)
    result = run(quick)
    for row in result["comparisons"]:
        print(
            f"{row.measure:36s} full {row.baryon_median:10.2f}  bare {row.baseline_median:10.2f}"
            f"  ratio {row.ratio:.2f}"
        )
    print("client ceiling (bare /healthz req/s):", result["client_ceiling_rps"])
