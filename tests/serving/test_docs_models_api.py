"""docs/models-api.md runs as written: every bash and Python block, in order, against a
real ``baryon serve`` on a free loopback port; every plain (untagged) block is output
the walk-through must print."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from serverkit import free_port, run_walkthrough

pytestmark = [pytest.mark.server, pytest.mark.slow]

DOC = Path(__file__).resolve().parents[2] / "docs" / "models-api.md"
BLOCK = re.compile(r"```(\w*)\n(.*?)```", re.S)


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
    script, shown = script_of(DOC.read_text(), free_port())
    assert len(shown) >= 8
    stdout = run_walkthrough(script, tmp_path, timeout=600)
    for line in shown:
        assert line in stdout, f"{line!r} not printed:\n{stdout[-3000:]}"
    assert "developer: 403" in stdout
    assert "before the grant: 404" in stdout
    assert '"code":"invalid_model_file"' in stdout.replace(" ", "")
    assert '"model_version":2' in stdout.replace(" ", "")
