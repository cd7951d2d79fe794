"""docs/sources.md cannot rot: every error code, setting and command of sources is in it."""

from __future__ import annotations

import re
from pathlib import Path

from baryon.cli.sources import app as sources_app
from baryon.core.config import Settings

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "sources.md").read_text()


def test_docs_sources_names_every_error_code() -> None:
    text = "".join(p.read_text() for p in (ROOT / "baryon" / "connectors").glob("*.py"))
    codes = set(re.findall(r'(?:code=|_fail\(|problem\([^,]+, )"([a-z_]+)"', text))
    assert len(codes) > 20
    assert sorted(c for c in codes if f"`{c}`" not in DOC) == []


def test_docs_sources_documents_its_settings_and_commands() -> None:
    for name in ("fetch_allow", "fetch_user_agent", "fetch_timeout", "fetch_max_bytes",
                 "secrets_key_file", "source_secrets"):  # fmt: skip
        assert name in Settings.model_fields
        assert f"`BARYON_{name.upper()}`" in DOC
    for command in sources_app.registered_commands:
        assert f"baryon sources {command.name}" in DOC
