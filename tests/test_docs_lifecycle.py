"""docs/lifecycle.md runs as written against a real ``baryon serve`` on loopback: one
developer key and one admin key take a model from a CSV to a shared, metered API."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from serverkit import free_port, run_walkthrough

pytestmark = [pytest.mark.server, pytest.mark.slow]

DOC = Path(__file__).resolve().parents[1] / "docs" / "lifecycle.md"
BLOCK = re.compile(r"```(bash|python)\n(.*?)```", re.S)


def script_of(doc: str, port: int) -> str:
    """The doc's bash blocks, and its Python blocks as heredocs, as one bash script."""
    parts = ["set -euo pipefail", "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT"]
    for lang, body in BLOCK.findall(doc):
        parts.append(body if lang == "bash" else f"python - <<'PYTHON'\n{body}PYTHON")
    return "\n".join(parts).replace("8000", str(port))


def test_docs_lifecycle_walkthrough_runs(tmp_path: Path) -> None:
    script = script_of(DOC.read_text(), free_port())
    stdout = run_walkthrough(script, tmp_path, timeout=600)
    assert "uploaded churn:1 600 rows" in stdout
    assert stdout.count(" succeeded test accuracy ") == 2
    assert "promoted: 2" in stdout
    assert "from version 2" in stdout
    assert "before the grant: model_not_found" in stdout
    assert "partner prediction" in stdout
    assert "after revoking: model_not_found" in stdout
