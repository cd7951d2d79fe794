"""docs/labeling.md cannot rot: every route, command, error code and setting is in it
(agreement, label files and active learning are documented on their own pages)."""

from __future__ import annotations

import re
from pathlib import Path

from baryon.cli.labeling import app as labeling_app
from baryon.client import Client
from baryon.core.config import Settings
from baryon.serving.routers.labeling import router

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "labeling.md").read_text()
#: The labeling pages together: the core, label files and agreement, active learning.
PAGES = DOC + "".join(
    (ROOT / "docs" / page).read_text() for page in ("labeling-interop.md", "active-learning.md")
)


def test_docs_labeling_lists_every_route() -> None:
    for route in router.routes:
        for method in route.methods:  # type: ignore[attr-defined]
            assert f"`{method} {route.path}" in DOC, (method, route.path)  # type: ignore[attr-defined]


def test_docs_labeling_shows_every_command() -> None:
    shown = {v for group in re.findall(r"labeling ([a-z|]+)", PAGES) for v in group.split("|")}
    assert {c.name for c in labeling_app.registered_commands} <= shown


def test_docs_labeling_names_every_error_code() -> None:
    sources = "".join(p.read_text() for p in (ROOT / "baryon" / "labeling").glob("*.py"))
    codes = set(re.findall(r'code="([a-z_]+)"', sources)) - {"no_labels", "task_busy"}
    missing = sorted(c for c in codes if f"`{c}`" not in PAGES)
    assert missing == []


def test_docs_labeling_documents_its_settings() -> None:
    for name in Settings.model_fields:
        if name.startswith("labeling_"):
            assert f"`BARYON_{name.upper()}`" in DOC


def test_docs_labeling_python_example_uses_real_client_methods() -> None:
    example = DOC.split("```python", 1)[1].split("```", 1)[0]
    for method in re.findall(r"client\.([a-z_]+)\(", example):
        assert callable(getattr(Client, method, None)), method
