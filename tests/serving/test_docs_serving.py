"""docs/serving.md runs as written: every bash and Python block, in order, against a
real ``baryon serve`` on a free loopback port."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from serverkit import free_port, run_walkthrough

pytestmark = [pytest.mark.server, pytest.mark.slow]

DOC = Path(__file__).resolve().parents[2] / "docs" / "serving.md"
BLOCK = re.compile(r"```(bash|python)\n(.*?)```", re.S)


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
    script = script_of(doc, free_port())
    stdout = run_walkthrough(script, tmp_path, timeout=300)
    assert '"model":"points","model_version":1' in stdout
    assert "200 200 200 429" in stdout
    assert '"usage":{"units":2,"quota":5,"used":2,"remaining":3}' in stdout
    assert "Created plan analyst" in stdout
    assert '"code":"quota_exceeded"' in stdout.replace(" ", "")
    assert "HTTP/1.1 429" in stdout
    assert "retry-after: 30" in stdout.lower()
    assert "quota: quota_exceeded 5" in stdout
