"""docs/datasets.md "Over the HTTP API" runs as written: its bash and Python blocks, in
order, against a real ``baryon serve`` on a free loopback port, print what its
``text`` blocks show."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from serverkit import free_port

pytestmark = [pytest.mark.server, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "datasets.md"
BLOCK = re.compile(r"```(bash|python|text)\n(.*?)```", re.S)


def section() -> str:
    """The "Over the HTTP API" section of docs/datasets.md."""
    text = DOC.read_text(encoding="utf-8")
    start = text.index("## Over the HTTP API")
    return text[start : text.index("\n## ", start + 1)]


def script_of(doc: str, port: int) -> str:
    """Join the bash blocks (and Python blocks as heredocs) into one script."""
    parts = ["set -euo pipefail", "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT"]
    for lang, body in BLOCK.findall(doc):
        if lang == "bash":
            parts.append(body)
        elif lang == "python":
            parts.append(f"export KEY\npython - <<'PYTHON'\n{body}PYTHON")
    return "\n".join(parts).replace("8000", str(port))


def test_docs_datasets_over_http_run_as_shown(tmp_path: Path) -> None:
    doc = section()
    shown = [
        line for lang, body in BLOCK.findall(doc) if lang == "text" for line in body.splitlines()
    ]
    assert len(shown) >= 8
    (tmp_path / "docs").symlink_to(
        REPO / "docs"
    )  # "from the repository root", writing nothing there
    env = {k: v for k, v in os.environ.items() if not k.startswith("BARYON_")}
    env["BARYON_HOME"] = str(tmp_path / "home")
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    out = subprocess.run(
        ["bash", "-c", script_of(doc, free_port())], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-4000:]
    lines = out.stdout.splitlines()
    for line in shown:
        assert line in lines, f"{line!r} not printed:\n{out.stdout[-3000:]}"
    compact = out.stdout.replace(" ", "")
    assert '"created":true' in compact
    assert '"code":"header_only"' in compact
    assert "200" in lines
    assert (tmp_path / "train.parquet").is_file()
    assert "Traceback" not in text + (tmp_path / "serve.log").read_text()
