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


def test_jobs_doc_schedules_table_is_every_schedule_route_with_its_permission() -> None:
    from baryon.serving.app import create_app, route_permissions

    routes = route_permissions(create_app(Settings(home=Path("/nonexistent/baryon-docs"))))
    mine = {(m, p): perm for (m, p), perm in routes.items() if p.startswith("/v1/schedules")}
    assert len(mine) == 6
    section = DOC.split("## Schedules", 1)[1].split("\n## ", 1)[0]
    for (method, path), permission in mine.items():
        rows = [
            line
            for line in section.splitlines()
            if line.startswith(f"| `{method} {path}`") or line.startswith(f"| `{method} {path}?")
        ]
        assert len(rows) == 1, (method, path)
        assert f"`{permission}`" in rows[0]


def test_jobs_doc_schedule_sdk_calls_and_codes_exist() -> None:
    from baryon.client import Client

    section = DOC.split("## Schedules", 1)[1].split("\n## ", 1)[0]
    calls = set(re.findall(r"client\.([a-z_]+)\(", section))
    assert calls >= {"create_schedule", "pause_schedule", "resume_schedule", "schedules"}
    assert [c for c in calls if not callable(getattr(Client, c, None))] == []
    source = "".join(p.read_text(encoding="utf-8") for p in (REPO / "baryon" / "jobs").glob("*.py"))
    codes = re.findall(r"^\| `([a-z_]+)`(?:, `([a-z_]+)`)? \| \d{3} \|", section, re.MULTILINE)
    named = {c for pair in codes for c in pair if c}
    assert len(named) >= 9
    assert [c for c in named if f'"{c}"' not in source] == []
