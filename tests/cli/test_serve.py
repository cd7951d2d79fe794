"""``baryon serve``: a real server process on a free loopback port, called over TCP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from baryon.cli.main import main

pytestmark = pytest.mark.server


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code = 0
    try:
        main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def _start(home: Path, port: int, workers: int, level: str = "warning") -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BARYON_")}
    log = home.parent / f"serve-{port}.log"
    with log.open("wb") as out:  # the child keeps its own descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "baryon", "--home", str(home), "serve", "--port", str(port),
             "--workers", str(workers), "--log-level", level, "--graceful-timeout", "5"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


def _wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
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


@pytest.fixture
def served(cli_home: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[tuple[str, str]]:
    """A home with org ``acme`` (plan ``tiny``: 5 requests/minute) served by 2 workers."""
    home = ["--home", str(cli_home)]
    _cli([*home, "plans", "create", "tiny", "--quota", "100", "--rate", "5"], capsys)
    _cli([*home, "orgs", "create", "acme", "--plan", "tiny"], capsys)
    secret = _cli([*home, "keys", "create", "--org", "acme", "--role", "developer"], capsys)
    port = _free_port()
    proc = _start(cli_home, port, workers=2)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, proc)
        yield base, secret.strip()
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_serve_two_workers_share_rate_limit_and_answer_problems_over_tcp(
    served: tuple[str, str],
) -> None:
    base, secret = served
    auth = {"Authorization": f"Bearer {secret}"}
    assert httpx.get(f"{base}/readyz").json()["status"] == "ready"
    assert httpx.get(f"{base}/openapi.json").json()["info"]["title"] == "Baryon API"
    unauth = httpx.get(f"{base}/v1/me")
    assert unauth.status_code == 401
    assert unauth.headers["www-authenticate"].startswith("Bearer")
    statuses = []
    for _ in range(8):  # a new connection each time: spread over both workers
        r = httpx.get(f"{base}/v1/me", headers=auth)
        statuses.append(r.status_code)
    assert statuses == [200] * 5 + [429] * 3  # one limit, shared through the database
    assert "server" not in {k.lower() for k in r.headers}


def test_serve_sigterm_shuts_down_gracefully(
    cli_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = _free_port()
    proc = _start(cli_home, port, workers=1, level="info")
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, proc)
        missing = httpx.post(f"{base}/v1/models/x/predict", json={"inputs": [1]})
        assert missing.status_code == 401
        proc.send_signal(signal.SIGTERM)
        # uvicorn finishes in-flight work, runs the app's shutdown, then re-raises the
        # signal so the exit status still says "terminated by SIGTERM"
        assert proc.wait(timeout=20) in (0, -signal.SIGTERM)
        log = (cli_home.parent / f"serve-{port}.log").read_text()
        assert "Application shutdown complete" in log
        assert "Traceback" not in log
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{base}/healthz", timeout=1.0)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
