"""A real ``baryon serve`` process on a free loopback port, for the ``server``-marked tests.

``tests/`` is on ``sys.path`` (the root ``conftest.py`` lives there), so every test
module imports this as ``serverkit``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx
import pytest

import baryon

__all__ = [
    "free_port",
    "memory_kib",
    "run_walkthrough",
    "start_redis",
    "start_server",
    "stop_server",
    "wait_ready",
]


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    home: Path,
    port: int,
    workers: int = 1,
    level: str = "warning",
    env: dict[str, str] | None = None,
    services: Sequence[str] = (),
    org: str | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``baryon --home HOME [--org ORG] serve [SERVICES]`` (no ``BARYON_*``
    variables but ``env``).

    Its output goes to ``home.parent / f"serve-{port}.log"``.
    """
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BARYON_")}
    clean.update(env or {})
    log = home.parent / f"serve-{port}.log"
    with log.open("wb") as out:  # the child keeps its own descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "baryon", "--home", str(home),
             *(() if org is None else ("--org", org)), "serve", *services, "--port", str(port),
             "--workers", str(workers), "--log-level", level, "--graceful-timeout", "5"],
            env=clean, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


def run_walkthrough(script: str, cwd: Path, timeout: float = 600) -> str:
    """Run a docs walk-through ``script`` in bash as a user would; return its output.

    The environment has no ``BARYON_*`` variable, this interpreter's ``bin`` first on
    ``PATH`` (its ``baryon``, ``python``) and the tested ``baryon`` package first on
    ``PYTHONPATH`` (the server's workers and a user's service files import it). Fails
    the test, with the output's end, unless the script exits 0 and prints no traceback.

    Returns
    -------
    str
        Standard output.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("BARYON_")}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    package_root = str(Path(baryon.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    out = subprocess.run(
        ["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=timeout, check=False,
    )  # fmt: skip
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-4000:]
    assert "Traceback" not in text, text[-4000:]
    return out.stdout


def wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """Wait until ``GET base/healthz`` answers 200; fail the test if the server died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited early ({proc.returncode}); see serve-*.log")
        try:
            if httpx.get(f"{base}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail("server did not become ready")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server and wait for it (SIGKILL after 20 s)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def memory_kib(pid: int | str = "self") -> dict[str, int]:
    """Return ``{"VmRSS": ..., "VmHWM": ...}`` of process ``pid`` (default: this one) in KiB."""
    out: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    return out


def start_redis(port: int, log_dir: Path) -> subprocess.Popen[bytes]:
    """Start a throw-away ``redis-server`` on ``127.0.0.1:port`` (no persistence) and wait
    until it answers; stop it with :func:`stop_server`. Fails the test without the binary
    (``scripts/start-redis.sh`` installs it)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: run scripts/start-redis.sh")
    with (log_dir / f"redis-{port}.log").open("ab") as out:
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
             "no"],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return proc
        except OSError:
            time.sleep(0.05)
    stop_server(proc)
    pytest.fail(f"redis-server did not start on port {port}")
