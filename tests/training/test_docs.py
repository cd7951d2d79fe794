"""docs/training.md cannot rot: its commands run as shown, its example runs, it lists
every command, option, kind and validation check."""

from __future__ import annotations

import os
import re
import runpy
import shlex
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from clikit import run as _run

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "training.md"
API_EXAMPLE = REPO / "docs" / "examples" / "training" / "api.py"
_BOX = set("│┃┏┓┡┩└┘━─┳┻╇┼")
_IDS = re.compile(r"\b(dsv|run)_[0-9a-z]{26}\b")


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
    return " ".join(_IDS.sub(r"\1_*", text).split())


def test_training_doc_worked_example_runs_as_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("BARYON_HOME", str(tmp_path / "home"))
    sessions = _sessions(DOC.read_text(encoding="utf-8"))
    assert len(sessions) >= 8
    for command, shown in sessions:
        argv = shlex.split(command)
        assert argv[0] == "baryon"
        code, out, err = _run(argv[1:], capsys)
        if shown and shown[0].startswith("error["):
            assert code == 1, command
            assert _norm(err) == _norm(shown[0]), command
            continue
        assert code == 0, f"{command}: {err}"
        for line in shown:
            text = line.strip(" " + "".join(_BOX))
            if not text or text == "...":
                continue
            if _BOX & set(line):  # a table row: its cells in order
                text = " ".join(c.strip() for c in line.split("│") if c.strip())
                assert _norm(text) in _norm(out.replace("│", " ")), f"{command}: {line!r}"
                continue
            assert _norm(line) in _norm(out), f"{command}: {line!r} not in output:\n{out}"


def test_training_doc_python_block_is_the_tested_example_file() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert API_EXAMPLE.read_text(encoding="utf-8") in blocks


def test_training_doc_api_example_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.setattr(sys, "argv", [str(API_EXAMPLE), str(tmp_path / "api-home")])
    runpy.run_path(str(API_EXAMPLE), run_name="__main__")
    assert capsys.readouterr().out.splitlines() == [
        "run succeeded 0.75",
        "True True",
        "champion 1 -> 2",
        "gate_refused 0.75 1.0",
        "quadrants:2 ['accuracy', 'ece', 'log_loss', 'macro_f1']",
    ]


def _options(command: object) -> list[str]:
    params = getattr(command, "params", [])
    return [opt for p in params for opt in p.opts if opt.startswith("--") and opt != "--help"]


def test_training_doc_lists_every_command_and_option() -> None:
    from baryon.cli import models, runs, train

    text = DOC.read_text(encoding="utf-8")
    single = typer.Typer(add_completion=False)
    single.command("train")(train.command)
    commands: list[tuple[str, object]] = [("baryon train", typer.main.get_command(single))]
    for noun, sub in (("runs", runs.app), ("models", models.app)):
        group = typer.main.get_command(sub)
        commands += [(f"baryon {noun} {name}", cmd) for name, cmd in group.commands.items()]  # type: ignore[attr-defined]
    assert len(commands) == 11  # train; runs list|show|cancel|compare; models x6
    for usage, command in commands:
        assert usage in text, usage
        options = _options(command)
        assert options or usage.endswith("show") or usage.endswith("list"), usage
        for option in options:
            assert option in text, f"{usage} {option}"


def test_training_doc_lists_every_kind_and_validation_check() -> None:
    from baryon.ml.kinds import estimator_kinds
    from baryon.training.validation import CHECKS

    text = DOC.read_text(encoding="utf-8")
    for kind in estimator_kinds():
        assert f"`{kind}`" in text, kind
    for check in CHECKS:
        assert f"`{check}`" in text, check


def _api_script(port: int) -> str:
    """The bash and Python blocks of "Training over the API", as one bash script."""
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## Training over the API") : text.index("## Metrics")]
    parts = ["set -euo pipefail", "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT"]
    for lang, body in re.findall(r"```(bash|python)\n(.*?)```", section, re.S):
        parts.append(body if lang == "bash" else f"python - <<'PYTHON'\n{body}PYTHON")
    return "\n".join(parts).replace("8000", str(port))


@pytest.mark.server
@pytest.mark.slow
def test_training_doc_api_walkthrough_runs_against_a_real_server() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {k: v for k, v in os.environ.items() if not k.startswith("BARYON_")}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    out = subprocess.run(
        ["bash", "-c", _api_script(port)], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=600, check=False,
    )  # fmt: skip
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-4000:]
    assert '"status":"queued"' in out.stdout
    assert "succeeded name='quadrants' version=1 1.0" in out.stdout
    assert "['max_depth'] [0.75, 1.0]" in out.stdout
    assert "Traceback" not in text
