"""The package surface and import hygiene."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import baryon


def test_public_api_is_pinned() -> None:
    assert baryon.__all__ == [
        "BaryonError",
        "Conflict",
        "Forbidden",
        "InvalidInput",
        "NotFound",
        "QuotaExceeded",
        "RateLimited",
        "Service",
        "Settings",
        "Unauthorized",
        "Workspace",
        "__version__",
        "endpoint",
    ]
    for name in baryon.__all__:
        assert hasattr(baryon, name)


_PROBE = """
import os, threading, sys
reads = []
class Spy(dict):
    def __getitem__(self, k):
        reads.append(k); return super().__getitem__(k)
    def get(self, k, d=None):
        reads.append(k); return super().get(k, d)
os.environ = Spy(os.environ)
before = threading.active_count()
import baryon, baryon.cli.main, baryon.workspace
assert threading.active_count() == before, "a thread was started at import"
bad = [k for k in reads if k.startswith("BARYON")]
assert not bad, f"environment read at import: {bad}"
print("ok")
"""


def test_import_reads_no_env_creates_no_file_starts_no_thread(tmp_path: Path) -> None:
    home = tmp_path / "missing-home"
    env = {**os.environ, "BARYON_HOME": str(home)}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
    assert not home.exists()
