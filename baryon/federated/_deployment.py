"""Run a federated run on this machine with Flower's Deployment Engine, on loopback.

One ``flower-superlink`` and one ``flower-supernode`` per silo, each its own process
(and each SuperNode starts a ClientApp process per message), plus ``flwr run`` to
submit the Flower app. Everything listens on 127.0.0.1 only, on free ports, with
Flower's state in a private directory (``FLWR_HOME``) under the run's work directory;
every process is stopped (its whole process group) when the run ends, succeeds or not.

Loopback traffic is not encrypted (``--insecure``): it never leaves the machine. A
deployment across sites uses TLS and SuperNode authentication (docs/federated.md).
"""

from __future__ import annotations

import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from baryon.core.errors import BaryonError

__all__ = ["FederationFailed", "run_on_loopback"]

_APP_PACKAGE = "baryon_federated_app"
_PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "baryon-federated-app"
version = "1.0.0"
dependencies = []

[tool.hatch.build.targets.wheel]
packages = ["."]

[tool.flwr.app]
publisher = "baryon"

[tool.flwr.app.components]
serverapp = "baryon_federated_app.server:app"
clientapp = "baryon_federated_app.client:app"

[tool.flwr.app.config]
spec = ""
"""


class FederationFailed(BaryonError):
    """The Flower processes did not produce a result (the message tails their logs)."""

    code = "federation_failed"
    http_status = 500


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _write_app(directory: Path) -> Path:
    """Write the Flower app (a pyproject and two one-line modules) and return its dir."""
    app = directory / "app"
    package = app / _APP_PACKAGE
    package.mkdir(parents=True, exist_ok=True)
    (app / "pyproject.toml").write_text(_PYPROJECT, encoding="utf-8")
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "server.py").write_text(
        "from baryon.federated._flower_app import server_app\n\napp = server_app\n",
        encoding="utf-8",
    )
    (package / "client.py").write_text(
        "from baryon.federated._flower_app import client_app\n\napp = client_app\n",
        encoding="utf-8",
    )
    return app


def _wait_listening(port: int, deadline: float, alive: Callable[[], bool]) -> None:
    while time.monotonic() < deadline and alive():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.25)
    raise FederationFailed("the Flower SuperLink did not start")


logger = logging.getLogger("baryon.federated")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_EXCEPTION_LINE = re.compile(r"^\s*(?:[\w.]+\.)?\w*(?:Error|Exception|Failed)\w*: .+")


def _reason(logs: list[Path]) -> str:
    """The last exception line of the processes' logs (colour codes removed), or ''."""
    found = ""
    for path in logs:
        for line in _ANSI.sub("", _tail(path, 200)).splitlines():
            if _EXCEPTION_LINE.match(line):
                found = line.strip()
    return found[:300]


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def run_on_loopback(
    spec_path: Path,
    *,
    n_silos: int,
    workdir: Path,
    timeout: float,
    result: Path,
) -> None:
    """Start a SuperLink and ``n_silos`` SuperNodes, run the app, wait for ``result``.

    Parameters
    ----------
    spec_path : Path
        The run's spec JSON (given to the ServerApp and to each SuperNode; SuperNode
        ``i`` serves silo ``i``).
    n_silos : int
        Number of SuperNodes.
    workdir : Path
        Logs (``superlink.log``, ``supernode-<i>.log``, ``flwr-run.log``) and Flower's
        home go here.
    timeout : float
        Seconds before the run is abandoned.
    result : Path
        The file the ServerApp writes last; its existence ends the wait.

    Raises
    ------
    FederationFailed
        A process could not start, the run ended without a result, or the timeout
        passed. The message holds the tail of the logs.
    """
    bin_dir = Path(sys.executable).parent
    flwr_home = workdir / "flwr-home"
    flwr_home.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    (flwr_home / "config.toml").write_text(
        f'[superlink]\ndefault = "baryon"\n\n[superlink.baryon]\n'
        f'address = "127.0.0.1:{port}"\ninsecure = true\n',
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "FLWR_HOME": str(flwr_home),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "FLWR_DISABLE_UPDATE_CHECK": "1",
    }
    app = _write_app(workdir)
    processes: list[subprocess.Popen[bytes]] = []
    logs: list[Path] = []

    def start(name: str, args: list[str]) -> subprocess.Popen[bytes]:
        log = workdir / f"{name}.log"
        logs.append(log)
        with log.open("wb") as out:
            process = subprocess.Popen(  # noqa: S603 (our own executables, fixed arguments)
                args, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=workdir,
                start_new_session=True,
            )  # fmt: skip
        processes.append(process)
        return process

    deadline = time.monotonic() + timeout
    try:
        link = start(
            "superlink",
            [str(bin_dir / "flower-superlink"), "--insecure",
             "--disable-runtime-dependency-installation", "--port", str(port)],
        )  # fmt: skip
        for i in range(n_silos):
            start(
                f"supernode-{i}",
                [str(bin_dir / "flower-supernode"), "--insecure",
                 "--superlink", f"127.0.0.1:{port}", "--port", str(_free_port()),
                 "--node-config", f"silo={i} spec='{spec_path}'"],
            )  # fmt: skip
        _wait_listening(port, deadline, lambda: link.poll() is None)
        start(
            "flwr-run",
            [str(bin_dir / "flwr"), "run", str(app), "baryon",
             "--run-config", f"spec='{spec_path}'", "--stream"],
        )  # fmt: skip
        while time.monotonic() < deadline:
            if result.exists():
                return
            # ``flwr run --stream`` follows the run to its end: when it exits without
            # a result, the ServerApp failed (its traceback is in flwr-run.log).
            if any(p.poll() is not None for p in processes):
                time.sleep(1.0)  # the ServerApp may have written the result just now
                if result.exists():
                    return
                break
            time.sleep(0.5)
        # The operator's log gets the processes' last lines; the run's error (shown to
        # callers and on the CLI's one error line) gets the reason only.
        logger.warning(
            "federated run in %s ended without a result:\n%s",
            workdir,
            "\n".join(f"--- {p.name}\n{_ANSI.sub('', _tail(p))}" for p in logs),
        )
        reason = _reason(logs)
        raise FederationFailed(
            "the federated run ended without a result"
            + (f": {reason}" if reason else " (the server log has the Flower processes' output)")
        )
    finally:
        for process in processes:
            _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
