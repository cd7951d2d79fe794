"""Writing batches as a Parquet artifact with statistics; DataFrame → Arrow; progress."""

from __future__ import annotations

import glob
import math
import os
import tempfile
from collections.abc import Iterator

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from baryon.core.artifacts import MemoryArtifactStore
from baryon.core.errors import InvalidFile
from baryon.data import materialise as mat
from baryon.data._files import RestartRead


def _batches(n: int, chunk: int = 3) -> Iterator[pa.RecordBatch]:
    for start in range(0, n, chunk):
        values = list(range(start, min(n, start + chunk)))
        yield pa.record_batch({"x": values, "s": [f"v{v % 2}" for v in values]})


def test_materialise_stores_parquet_and_counts_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mat, "ROW_GROUP_ROWS", 4)  # several row groups on tiny data
    store = MemoryArtifactStore()
    built = mat.materialise(lambda: _batches(10), store)
    table = pq.read_table(pa.BufferReader(store.get_bytes(built.data_digest)))
    assert table.column("x").to_pylist() == list(range(10))
    groups = pq.ParquetFile(pa.BufferReader(store.get_bytes(built.data_digest))).num_row_groups
    assert groups == 2  # batches of 3 rows, flushed at 4 or more: 6 + 4
    assert built.stats["rows"] == 10
    assert built.stats["columns"]["s"]["distinct"] == 2
    assert built.data_bytes == store.size(built.data_digest)


def test_materialise_restarts_after_a_widened_column() -> None:
    calls: list[int] = []

    def make() -> Iterator[pa.RecordBatch]:
        calls.append(1)
        yield from _batches(4)
        if len(calls) == 1:
            raise RestartRead("x")

    built = mat.materialise(make, MemoryArtifactStore())
    assert len(calls) == 2
    assert built.stats["rows"] == 4


def test_materialise_no_rows_is_header_only_and_leaves_no_temp_file() -> None:
    before = set(glob.glob(os.path.join(tempfile.gettempdir(), "baryon-data-*")))
    with pytest.raises(InvalidFile) as info:
        mat.materialise(lambda: iter(()), MemoryArtifactStore())
    assert info.value.code == "header_only"
    assert set(glob.glob(os.path.join(tempfile.gettempdir(), "baryon-data-*"))) <= before


def test_materialise_error_mid_stream_propagates_and_stores_nothing() -> None:
    store = MemoryArtifactStore()

    def make() -> Iterator[pa.RecordBatch]:
        yield from _batches(3)
        raise InvalidFile("broken", code="ragged_rows")

    with pytest.raises(InvalidFile):
        mat.materialise(make, store)
    assert list(store.digests()) == []


def test_frame_to_table_arrow_backed_columns_round_trip_exactly() -> None:
    table = pa.table(
        {
            "f": pa.array([1.0, math.nan, None]),
            "i": pa.array([1, None, 3]),
            "s": pa.array(["a", None, "c"]),
            "t": pa.array([0, None, 2], pa.timestamp("s")),
        }
    )
    back = mat.frame_to_table(table.to_pandas(types_mapper=pd.ArrowDtype))
    assert back.schema == table.schema
    assert back.drop_columns(["f"]).equals(table.drop_columns(["f"]))
    assert math.isnan(back.column("f")[1].as_py())
    assert back.column("f")[2].as_py() is None


def test_frame_to_table_mixed_object_column_becomes_text() -> None:
    frame = pd.DataFrame({"m": pd.Series([1, "two", None], dtype=object)})
    back = mat.frame_to_table(frame)
    assert back.column("m").to_pylist() == ["1", "two", None]


def test_progress_bar_modes() -> None:
    seen: list[tuple[int, int]] = []

    def record(done: int, total: int) -> None:
        seen.append((done, total))

    with mat.progress_bar(record, 10, "x") as callback:
        assert callback is record
    with mat.progress_bar(False, 10 << 20, "x") as callback:
        assert callback is None
    with mat.progress_bar(True, 10, "x") as callback:
        assert callback is None  # small files finish before a bar would help
    with mat.progress_bar(True, 10 << 20, "x") as callback:
        assert callback is not None
        callback(5 << 20, 10 << 20)
