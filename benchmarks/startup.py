"""Start-up: ``import baryon`` and ``baryon serve`` until ``/readyz`` answers 200.

Baselines: ``import fastapi`` (what any FastAPI service pays), and a bare FastAPI app
under the same uvicorn until its ``/healthz`` answers 200.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks._harness import Comparison, alternate, run_python

_BARE_APP = """
from fastapi import FastAPI
app = FastAPI()
@app.get("/healthz")
def healthz():
    return {"status": "ok"}
"""


def _import_seconds(module: str) -> float:
    code = (
        "import time, json\n"
        "t = time.perf_counter()\n"
        f"import {module}\n"
        "print(json.dumps({'seconds': time.perf_counter() - t}))\n"
    )
    return float(run_python(code)["seconds"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _time_to_200(cmd: list[str], url: str, env: dict[str, str], cwd: str) -> float:
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = start + 60
        while time.perf_counter() < deadline:
            try:
                if httpx.get(url, timeout=0.5).status_code == 200:
                    return time.perf_counter() - start
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                raise RuntimeError(f"{cmd[0]} exited with {proc.returncode} before ready")
            time.sleep(0.02)
        raise RuntimeError(f"{url} not ready after 60 s")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def run(quick: bool) -> list[Comparison]:
    """Measure import and serve start-up against their baselines."""
    repeats = 3 if quick else 7
    imp = Comparison(
        benchmark="start-up",
        measure="import time",
        unit="s",
        higher_is_better=False,
        baryon="import baryon",
        baseline="import fastapi",
    )
    imp.baryon_samples, imp.baseline_samples = alternate(
        lambda: _import_seconds("baryon"), lambda: _import_seconds("fastapi"), repeats
    )
    serve = Comparison(
        benchmark="start-up",
        measure="serve until ready (200)",
        unit="s",
        higher_is_better=False,
        baryon="baryon serve → /readyz",
        baseline="uvicorn bare FastAPI → /healthz",
    )
    baryon_bin = str(Path(sys.executable).with_name("baryon"))
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        env = {**os.environ, "BARYON_HOME": str(home)}
        subprocess.run([baryon_bin, "init"], env=env, check=True, capture_output=True)
        (Path(tmp) / "bare_app.py").write_text(_BARE_APP)

        def baryon_serve() -> float:
            port = _free_port()
            return _time_to_200(
                [baryon_bin, "serve", "--port", str(port)],
                f"http://127.0.0.1:{port}/readyz",
                env,
                tmp,
            )

        def bare_serve() -> float:
            port = _free_port()
            return _time_to_200(
                [sys.executable, "-m", "uvicorn", "bare_app:app", "--port", str(port)],
                f"http://127.0.0.1:{port}/healthz",
                env,
                tmp,
            )

        try:
            serve.baryon_samples, serve.baseline_samples = alternate(
                baryon_serve, bare_serve, repeats
            )
        except RuntimeError as exc:
            serve.skipped = str(exc)
    return [imp, serve]
