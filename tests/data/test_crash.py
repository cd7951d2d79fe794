"""No partial version: a process killed mid-ingest, and a failure just before the commit;
no temporary file left behind by the killed process once a workspace opens again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pv
import pytest

from baryon.core.config import Settings
from baryon.data import versions
from baryon.workspace import Workspace

CHILD = textwrap.dedent(
    """
    import sys, time
    from baryon import Settings, Workspace

    ws = Workspace.open(Settings(home=sys.argv[1]))

    def progress(done, total):
        print("progress", done, total, flush=True)
        time.sleep(0.2)  # slow the ingest down so the kill lands in the middle of it

    ws.datasets.ingest(sys.argv[2], name="big", progress=progress)
    print("done", flush=True)
    """
)


#: An ingest that stops in its progress callback for ``argv[3]`` seconds.
PAUSED = textwrap.dedent(
    """
    import sys, time
    from baryon import Settings, Workspace

    ws = Workspace.open(Settings(home=sys.argv[1]))

    def progress(done, total):
        print("progress", flush=True)
        time.sleep(float(sys.argv[3]))

    ws.datasets.ingest(sys.argv[2], name="big", progress=progress)
    """
)


def _paused_ingest(home: Path, data: Path, pause: float) -> subprocess.Popen[str]:
    """Start an ingest in a child and return once it is building its file."""
    child = subprocess.Popen(
        [sys.executable, "-c", PAUSED, str(home), str(data), str(pause)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    assert line.startswith("progress"), line
    return child


def test_temp_file_of_a_killed_ingest_is_swept_a_live_ones_is_kept(tmp_path: Path) -> None:
    # a SIGKILLed ingest left its half-built file in the artifact store forever (issue 12)
    home = tmp_path / "home"
    Workspace.open(Settings(home=home)).close()
    data = tmp_path / "rows.csv"
    data.write_text("id,text\n" + "".join(f"{i},row number {i}\n" for i in range(120_000)))
    assert data.stat().st_size > 2 << 20  # more than one block: progress comes mid-way
    scratch = home / "artifacts" / "tmp"
    crashed = _paused_ingest(home, data, 600)
    live = _paused_ingest(home, data, 600)
    try:
        os.kill(crashed.pid, signal.SIGKILL)
        assert crashed.wait(timeout=30) == -signal.SIGKILL
        left = {p.name.split("-")[1]: p for p in scratch.iterdir()}
        assert set(left) == {str(crashed.pid), str(live.pid)}  # build-<pid>-...parquet
        an_hour_ago = time.time() - 3700
        for path in left.values():
            os.utime(path, (an_hour_ago, an_hour_ago))
        Workspace.open(Settings(home=home)).close()
        assert not left[str(crashed.pid)].exists()
        assert left[str(live.pid)].exists()  # held by a live process: never swept
    finally:
        for child in (crashed, live):
            if child.poll() is None:
                child.kill()
            child.wait()
            assert child.stdout is not None
            child.stdout.close()


def _big_csv(path: Path, rows: int = 150_000) -> Path:
    rng = np.random.default_rng(0)
    table = pa.table(
        {
            "id": np.arange(rows),
            "user": rng.integers(0, 1000, rows),
            "score": rng.normal(size=rows),
            "text": pa.array(np.char.add("row number ", np.arange(rows).astype(str))),
        }
    )
    pv.write_csv(table, path)
    return path


@pytest.mark.slow
def test_sigkill_during_ingest_leaves_no_version_and_next_ingest_works(tmp_path: Path) -> None:
    home = tmp_path / "home"
    Workspace.open(Settings(home=home)).close()  # migrate before the child starts
    data = _big_csv(tmp_path / "big.csv")
    assert data.stat().st_size > 4 << 20
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    with subprocess.Popen(
        [sys.executable, "-c", CHILD, str(home), str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    ) as child:
        try:
            assert child.stdout is not None
            line = child.stdout.readline()
            assert line.startswith("progress"), line
            os.kill(child.pid, signal.SIGKILL)
            assert child.wait(timeout=30) == -signal.SIGKILL
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
    with Workspace.open(Settings(home=home)) as ws:
        assert ws.db.table_counts()["dataset_versions"] == 0
        assert ws.datasets.list() == []
        version = ws.datasets.ingest(data, name="big")
        assert (version.version, version.row_count) == (1, 150_000)
        assert ws.datasets.ingest(data, name="big").id == version.id


def test_failure_inside_the_commit_rolls_everything_back(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,x\n2,y\n")

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("power cut")

    monkeypatch.setattr(versions, "record_audit", boom)
    with pytest.raises(RuntimeError):
        workspace.datasets.ingest(path, name="t")
    counts = workspace.db.table_counts()
    assert (counts["datasets"], counts["dataset_versions"]) == (0, 0)
    monkeypatch.undo()
    assert workspace.datasets.ingest(path, name="t").version == 1
