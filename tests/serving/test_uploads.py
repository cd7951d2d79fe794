"""The upload receiver's pieces that need no app (the rest: test_datasets_api.py)."""

from __future__ import annotations

import pytest

from baryon.serving.uploads import safe_filename


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("tickets.csv", "tickets.csv"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\ana\\Fiche client.csv.gz", "Fiche_client.csv.gz"),
        (".hidden.csv", "hidden.csv"),
        ("données été.tsv", "donn_es_t_.tsv"),
        ("", "upload"),
        ("...", "upload"),
        ("x" * 300 + ".parquet", "x" * 92 + ".parquet"),
    ],
)
def test_safe_filename_keeps_last_component_and_extension(raw: str, safe: str) -> None:
    assert safe_filename(raw) == safe
