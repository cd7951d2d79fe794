"""docs/jobs.md cannot rot: its example runs as shown, it names every job setting,
every ``baryon worker`` option and every built-in job kind."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest
import typer

from baryon.cli.worker import command
from baryon.core.config import Settings
from baryon.jobs import builtin_handlers

REPO = Path(__file__).resolve().parents[2]
DOC = (REPO / "docs" / "jobs.md").read_text(encoding="utf-8")
EXAMPLE = REPO / "docs" / "examples" / "jobs" / "api.py"


def test_jobs_doc_shows_the_example_file_verbatim() -> None:
    assert f"```python\n{EXAMPLE.read_text(encoding='utf-8')}```" in DOC


def test_jobs_doc_example_runs_and_prints_what_its_comments_say(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BARYON_HOME", str(tmp_path / "home"))
    runpy.run_path(str(EXAMPLE), run_name="__main__")
    printed = capsys.readouterr().out.splitlines()
    promised = re.findall(r"print\(.*\)  # (.+)", EXAMPLE.read_text(encoding="utf-8"))
    assert len(printed) == len(promised) == 3
    for line, comment in zip(printed, promised, strict=True):
        assert line == comment.split(":")[0]


@pytest.mark.parametrize(
    "name", ["inprocess_worker", "job_lease_seconds", "job_poll_interval", "redis_url"]
)
def test_jobs_doc_names_every_job_setting(name: str) -> None:
    assert name in Settings.model_fields
    assert f"`BARYON_{name.upper()}`" in DOC


def test_jobs_doc_names_every_worker_option_and_builtin_kind() -> None:
    app = typer.Typer(add_completion=False)
    app.command()(command)
    click_command = typer.main.get_command(app)
    options = [opt for p in click_command.params for opt in p.opts if opt.startswith("--")]
    assert options
    assert [o for o in options if f"`{o}" not in DOC] == []
    assert [k for k in builtin_handlers() if f"`{k}`" not in DOC] == []
