"""docs/models-api.md runs as written: every bash and Python block, in order, against a
real ``baryon serve`` on a free loopback port; every plain (untagged) block is output
the walk-through must print."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.server, pytest.mark.slow]

DOC = Path(__file__).resolve().parents[2] / "docs" / "models-api.md"
BLOCK = re.compile(r"```(\w*)\n(.*?)```", re.S)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def script_of(doc: str, port: int) -> tuple[str, list[str]]:
    """The doc's bash and Python blocks as one script, and the output lines it shows."""
    parts = ["set -euo pipefail", "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT"]
    shown: list[str] = []
    for lang, body in BLOCK.findall(doc):
        if lang == "bash":
            parts.append(body)
        elif lang == "python":
            parts.append(f"python - <<'PYTHON'\n{body}PYTHON")
        elif not lang:
            shown += [line for line in body.splitlines() if line.strip()]
    return "\n".join(parts).replace("8000", str(port)), shown


def test_docs_models_api_walkthrough_runs_and_prints_what_it_shows(tmp_path: Path) -> None:
    script, shown = script_of(DOC.read_text(), _free_port())
    assert len(shown) >= 8
    bin_dir = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BARYON_")}
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    out = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=600, check=False,
    )  # fmt: skip
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-4000:]
    for line in shown:
        assert line in out.stdout, f"{line!r} not printed:\n{out.stdout[-3000:]}"
    assert "developer: 403" in out.stdout
    assert "before the grant: 404" in out.stdout
    assert '"code":"invalid_model_file"' in out.stdout.replace(" ", "")
    assert '"model_version":2' in out.stdout.replace(" ", "")
    assert "Traceback" not in text
