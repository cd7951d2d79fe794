"""docs/labeling-interop.md cannot rot: its example files import, its config is the
one written, and every error code of the import and export is in its table."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from interopkit import make_queue, migrated_template, open_copy

from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.core.scope import SYSTEM
from baryon.labeling.interop import FORMATS, import_labels, label_config
from baryon.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "labeling-interop.md").read_text(encoding="utf-8")
CLASSES = ("card_arrival", "lost_or_stolen_card")


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC, re.S)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return migrated_template(tmp_path_factory.mktemp("template"))


@pytest.fixture
def ws(template: Path, settings: Settings, clock: FixedClock) -> Iterator[Workspace]:
    with open_copy(template, settings, clock) as workspace:
        yield workspace


@pytest.mark.parametrize(("fmt", "block", "lang"), [
    ("label-studio", 0, "json"), ("jsonl", 1, "json"), ("csv", 0, "csv"),
])  # fmt: skip
def test_docs_example_files_import(
    ws: Workspace, clock: FixedClock, fmt: str, block: int, lang: str
) -> None:
    data = _blocks(lang)[block].encode()
    with ws.db.session(SYSTEM) as s:
        queue = make_queue(s, clock, name="support-intent", classes=CLASSES)
        report = import_labels(s, queue, data, format=fmt, clock=clock, actor="docs")
    assert (report.bad, report.created, report.done) == (0, 1, 1)


def test_docs_label_config_is_the_one_written(ws: Workspace, clock: FixedClock) -> None:
    with ws.db.session(SYSTEM) as s:
        assert _blocks("xml")[0] == label_config(make_queue(s, clock, classes=CLASSES))


def test_docs_name_every_format_and_error_code() -> None:
    sources = [
        (ROOT / "baryon" / "labeling" / name).read_text(encoding="utf-8")
        for name in ("interop.py", "_interop_formats.py", "queue.py")
    ]
    for path in ("cli/labeling_io.py", "serving/routers/labeling_io.py"):
        sources.append((ROOT / "baryon" / path).read_text(encoding="utf-8"))
    codes = {c for text in sources for c in re.findall(r'code="([a-z_]+)"', text)}
    assert {"import_rejected", "malformed_import", "queue_not_found"} <= codes
    table = DOC.split("## Error codes", 1)[1]
    assert sorted(c for c in codes if f"`{c}`" not in table) == []
    assert all(f"`{fmt}`" in DOC for fmt in FORMATS)
