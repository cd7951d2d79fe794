"""Header-name cleaning and the counting reader."""

from __future__ import annotations

import io

import pytest

from baryon.core.errors import InvalidFile
from baryon.data._files import CountingReader, clean_column_names


def test_clean_column_names_trims_and_removes_bom_and_zero_width() -> None:
    names, renamed = clean_column_names(["\ufeffid", "  text ", "label\u200b"])
    assert names == ["id", "text", "label"]
    assert renamed == {"id": "\ufeffid", "text": "  text ", "label": "label\u200b"}


def test_clean_column_names_normalises_to_nfc() -> None:
    names, _ = clean_column_names(["cafe\u0301"])
    assert names == ["caf\u00e9"]


def test_clean_column_names_names_empty_headers_by_position() -> None:
    names, renamed = clean_column_names(["", "a", None, "  "])
    assert names == ["column_1", "a", "column_3", "column_4"]
    assert renamed["column_1"] == ""


def test_clean_column_names_invented_name_avoids_existing_one() -> None:
    names, _ = clean_column_names(["column_1", ""])
    assert names == ["column_1", "column_2"]
    names, _ = clean_column_names(["", "column_1"])
    assert len(set(names)) == 2


def test_clean_column_names_keeps_emoji_names() -> None:
    names, renamed = clean_column_names(["😀", "score"])
    assert names == ["😀", "score"]
    assert renamed == {}


def test_clean_column_names_duplicates_after_trimming_raise_naming_them() -> None:
    with pytest.raises(InvalidFile) as info:
        clean_column_names(["a", " a", "b", "b", "c"])
    assert info.value.code == "duplicate_columns"
    assert info.value.details["columns"] == ["a", "b"]
    assert "'a'" in info.value.message
    assert "'b'" in info.value.message


def test_counting_reader_counts_bytes_and_reports_progress() -> None:
    seen: list[tuple[int, int]] = []
    reader = CountingReader(
        io.BytesIO(b"x" * 10), 10, lambda done, total: seen.append((done, total))
    )
    buffered = io.BufferedReader(reader, 4)
    assert buffered.read() == b"x" * 10
    assert reader.bytes_read == 10
    assert seen[-1] == (10, 10)
