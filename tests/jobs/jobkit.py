"""Helpers of the job tests (imported by the tests and their conftest)."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from baryon.commerce.orgs import create_org
from baryon.core.scope import SYSTEM
from baryon.workspace import Workspace


def make_org(ws: Workspace, name: str | None = None) -> str:
    """Create an organization and return its id."""
    with ws.db.session(SYSTEM) as session:
        return create_org(session, name=name or f"org-{secrets.token_hex(4)}", clock=ws.clock).id


def wait_until(condition: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    """Poll ``condition`` every 20 ms until it is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")


def start_worker(home: Path, *extra: str, lease: float = 1.0) -> subprocess.Popen[bytes]:
    """Start ``baryon --home HOME worker [extra...]`` in a new process.

    The worker's lease is ``lease`` seconds and it polls every 0.1 s (both short, so a
    killed worker's job is recovered quickly); ``BARYON_*`` variables of the test
    process are not passed on. Its stderr is a pipe (read it when it fails).
    """
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("BARYON_")},
        "BARYON_JOB_LEASE_SECONDS": str(lease),
        "BARYON_JOB_POLL_INTERVAL": "0.1",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "baryon", "--home", str(home), "worker", *extra],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def kill9(proc: subprocess.Popen[bytes]) -> None:
    """``kill -9`` a worker process and wait for it to die."""
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    if proc.stderr is not None:
        proc.stderr.close()


def record_handlers() -> dict[str, Callable[..., object]]:
    """``baryon worker --handlers jobkit:record_handlers``: one kind, ``record``.

    The handler appends ``<job id> <pid>`` to the file ``payload["log"]`` (one
    ``O_APPEND`` write per line, so lines from several processes never interleave)
    and returns its pid.
    """

    def record(ctx: object) -> dict[str, int]:
        payload = ctx.payload  # type: ignore[attr-defined]
        time.sleep(float(payload.get("seconds", 0.0)))
        fd = os.open(payload["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, f"{ctx.job.id} {os.getpid()}\n".encode())  # type: ignore[attr-defined]
        finally:
            os.close(fd)
        return {"pid": os.getpid()}

    return {"record": record}
