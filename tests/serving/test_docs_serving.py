"""docs/serving.md runs as written: every bash and Python block, in order, against a
real ``baryon serve`` on a free loopback port."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.server, pytest.mark.slow]

DOC = Path(__file__).resolve().parents[2] / "docs" / "serving.md"
BLOCK = re.compile(r"```(bash|python)\n(.*?)```", re.S)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def script_of(doc: str, port: int) -> str:
    """Join the doc's bash blocks (and Python blocks as heredocs) into one script."""
    parts = ["set -euo pipefail", "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT"]
    for lang, body in BLOCK.findall(doc):
        if lang == "bash":
            parts.append(body)
        else:
            parts.append(f"export KEY\npython - <<'PYTHON'\n{body}PYTHON")
    return "\n".join(parts).replace("8000", str(port))


def test_docs_serving_walkthrough_runs(tmp_path: Path) -> None:
    doc = DOC.read_text()
    assert "```bash" in doc
    script = script_of(doc, _free_port())
    bin_dir = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BARYON_")}
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    out = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-4000:]
    assert '"model":"points","model_version":1' in out.stdout
    assert "200 200 200 429" in out.stdout
    assert '"usage":{"units":2,"quota":5,"used":2,"remaining":3}' in out.stdout
    assert "Created plan analyst" in out.stdout
    assert '"code":"quota_exceeded"' in out.stdout.replace(" ", "")
    assert "HTTP/1.1 429" in out.stdout
    assert "retry-after: 30" in out.stdout.lower()
    assert "quota: quota_exceeded 5" in out.stdout
    assert "Traceback" not in text
