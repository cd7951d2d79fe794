"""docs/datasets.md cannot rot: its commands run and print what the page shows."""

from __future__ import annotations

import re
import runpy
import shlex
import sys
from pathlib import Path

import pytest
from clikit import run as _run

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "datasets.md"
API_EXAMPLE = REPO / "docs" / "examples" / "datasets" / "api.py"
_BOX = set("│┃┏┓┡┩└┘━─┳┻╇┼")
_ID = re.compile(r"dsv_[0-9a-z]{26}")


def _sessions(markdown: str) -> list[tuple[str, list[str]]]:
    """``(command, shown output lines)`` for every ``$ baryon`` line of console blocks."""
    sessions: list[tuple[str, list[str]]] = []
    for block in re.findall(r"```console\n(.*?)```", markdown, re.S):
        for line in block.splitlines():
            if line.startswith("$ "):
                sessions.append((line[2:], []))
            elif sessions:
                sessions[-1][1].append(line)
    return sessions


def _norm(text: str) -> str:
    # Version ids are derived from content and reproduce across workspaces, so the doc's
    # ids are compared as they are (they went stale once when the quality report changed).
    return " ".join(text.split())


def _replay(
    sessions: list[tuple[str, list[str]]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for command, shown in sessions:
        argv = shlex.split(command)
        assert argv[0] == "baryon"
        argv = [str(tmp_path / Path(a).name) if a.startswith("/tmp/") else a for a in argv[1:]]
        code, out, err = _run(argv, capsys)
        shown = [re.sub(r"/tmp/(\S+)", lambda m: str(tmp_path / m.group(1)), s) for s in shown]
        if shown and shown[0].startswith("error["):
            assert code == 1, command
            assert err.strip() == shown[0], command
            continue
        assert code == 0, f"{command}: {err}"
        for line in shown:
            if line.strip() in ("", "...") or _BOX & set(line):
                continue
            assert _norm(line) in _norm(out), f"{command}: {line!r} not in output:\n{out}"


@pytest.fixture
def doc_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("BARYON_HOME", str(tmp_path / "home"))
    return tmp_path


def _split_doc() -> tuple[str, str]:
    text = DOC.read_text(encoding="utf-8")
    head, _, tail = text.partition("## The bundled real datasets")
    return head, tail


def test_datasets_doc_worked_example_runs_as_shown(
    doc_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sessions = _sessions(_split_doc()[0])
    assert len(sessions) >= 8
    _replay(sessions, doc_home, capsys)


@pytest.mark.slow
def test_datasets_doc_bundled_datasets_run_as_shown(
    doc_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sessions = _sessions(_split_doc()[1])
    assert any("banking77" in command for command, _ in sessions)
    _replay(sessions, doc_home, capsys)


def test_datasets_doc_python_block_is_the_tested_example_file() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert API_EXAMPLE.read_text(encoding="utf-8") in blocks


def test_datasets_doc_api_example_runs(
    doc_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", [str(API_EXAMPLE), str(doc_home / "api-home")])
    runpy.run_path(str(API_EXAMPLE), run_name="__main__")
    out = capsys.readouterr().out
    assert [line.split()[0] for line in out.splitlines()[:3]] == [
        "tickets:1",
        "tickets:2",
        "tickets:3",
    ]


def test_datasets_doc_lists_every_cleaning_step_and_cli_command() -> None:
    from baryon.cli.data import app
    from baryon.data.recipes import STEPS

    text = DOC.read_text(encoding="utf-8")
    for name in STEPS:
        assert f"`{name}`" in text, name
    for command in app.registered_commands:
        assert f"baryon data {command.name}" in text, command.name
