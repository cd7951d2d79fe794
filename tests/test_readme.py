"""The README cannot rot: every setting and every command is in it."""

from __future__ import annotations

from pathlib import Path

import typer

from baryon.cli.main import app
from baryon.core.config import Settings

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_readme_documents_every_setting() -> None:
    missing = [
        f"BARYON_{name.upper()}"
        for name in Settings.model_fields
        if f"`BARYON_{name.upper()}`" not in README
    ]
    assert missing == []


def _commands(group: typer.Typer, prefix: str) -> list[str]:
    out = [f"{prefix} {c.name or c.callback.__name__}".strip() for c in group.registered_commands]
    for sub in group.registered_groups:
        assert sub.typer_instance is not None
        out.extend(_commands(sub.typer_instance, f"{prefix} {sub.name}"))
    return out


def test_readme_documents_every_command() -> None:
    commands = _commands(app, "baryon")
    assert len(commands) > 20
    missing = []
    lines = README.splitlines()
    for command in commands:
        *path, verb = command.split()
        group = " ".join(path)
        # a table row may list several verbs of one noun: "`baryon runs list\\|show ...`"
        rows = [line for line in lines if f"`{group} " in line or f"`{command}" in line]
        if not any(verb in row for row in rows) and f"`{command}" not in README:
            missing.append(command)
    assert missing == []


def test_readme_quick_start_has_exactly_the_two_commands() -> None:
    quick = README.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in quick.strip().splitlines()]
    assert commands == ["make demo", "make test"]
