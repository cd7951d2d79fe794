"""Turning a stream of record batches into a stored Parquet artifact and statistics.

:func:`materialise` writes batches to a temporary Parquet file (row groups of about
128k rows or 64 MiB), feeds the same batches to a
:class:`~baryon.data.quality.ReportBuilder`, then streams the file into the artifact
store (which writes atomically) and deletes it. A reader that widens a column type
mid-file (:class:`~baryon.data._files.RestartRead`) makes it start over.
"""

from __future__ import annotations

import contextlib
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from baryon.core.artifacts import ArtifactStore
from baryon.core.errors import InvalidFile
from baryon.data._files import ProgressCallback, RestartRead
from baryon.data.quality import ReportBuilder
from baryon.data.sources import column_array, normalise_array

__all__ = ["Materialised", "frame_to_table", "materialise", "progress_bar", "table_batches"]

ROW_GROUP_ROWS = 131_072
ROW_GROUP_BYTES = 64 << 20
MAX_RESTARTS = 64
PROGRESS_MIN_BYTES = 1 << 20


@dataclass(frozen=True)
class Materialised:
    """A stored data artifact: digest, size in bytes, Arrow schema and statistics."""

    data_digest: str
    data_bytes: int
    schema: pa.Schema
    stats: dict[str, Any]


def _dictionary_columns(first: pa.RecordBatch) -> list[str]:
    """Columns worth Parquet dictionary encoding: text, booleans, and columns whose
    first batch repeats values (at most one distinct value in ten).

    Dictionary-encoding a column of mostly distinct numbers or timestamps builds a
    dictionary per row group only to abandon it (Parquet falls back past 1 MiB): on
    a million-row file that doubles the encoding time for no saving.
    """
    chosen = []
    for field, column in zip(first.schema, first.columns, strict=True):
        t = field.type
        text_or_flag = pa.types.is_string(t) or pa.types.is_large_string(t)
        text_or_flag = text_or_flag or pa.types.is_boolean(t)
        if text_or_flag or pc.count_distinct(column).as_py() * 10 <= len(column):
            chosen.append(field.name)
    return chosen


class _GroupWriter:
    """Writes row groups and updates the report on two worker threads.

    Parsing (the caller's thread), Parquet encoding and statistics (one worker each)
    overlap; all three spend their time in pyarrow/numpy code that releases the GIL.
    Each worker handles groups in order; at most two groups wait per worker, so memory
    stays bounded.
    """

    def __init__(self, path: str, schema: pa.Schema, first: pa.RecordBatch) -> None:
        self.writer = pq.ParquetWriter(path, schema, use_dictionary=_dictionary_columns(first))
        self.builder = ReportBuilder(schema)
        self.pools = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="baryon-parquet"),
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="baryon-stats"),
        )
        self.waiting: deque[tuple[Future[None], Future[None]]] = deque()

    def submit(self, group: pa.Table) -> None:
        while len(self.waiting) >= 2:
            for future in self.waiting.popleft():
                future.result()
        write, stats = self.pools
        self.waiting.append(
            (write.submit(self.writer.write_table, group), stats.submit(self.builder.update, group))
        )

    def finish(self) -> dict[str, Any]:
        while self.waiting:
            for future in self.waiting.popleft():
                future.result()
        return self.builder.finish()

    def close(self) -> None:
        for pair in self.waiting:
            for future in pair:
                future.cancel()
        for pool in self.pools:
            pool.shutdown(wait=True)
        self.writer.close()


def _write(batches: Iterable[pa.RecordBatch], path: str) -> tuple[pa.Schema, dict[str, Any]]:
    sink: _GroupWriter | None = None
    schema: pa.Schema | None = None
    pending: list[pa.RecordBatch] = []
    rows = size = 0
    try:
        for batch in batches:
            if sink is None:
                schema = batch.schema
                sink = _GroupWriter(path, schema, batch)
            pending.append(batch)
            rows += batch.num_rows
            size += batch.nbytes
            if rows >= ROW_GROUP_ROWS or size >= ROW_GROUP_BYTES:
                sink.submit(pa.Table.from_batches(pending, schema))
                pending, rows, size = [], 0, 0
        if sink is None or schema is None:
            raise InvalidFile("there are no rows to store", code="header_only")
        if pending:
            sink.submit(pa.Table.from_batches(pending, schema))
        stats = sink.finish()
    finally:
        if sink is not None:
            sink.close()
    return schema, stats


def materialise(
    make_batches: Callable[[], Iterable[pa.RecordBatch]], artifacts: ArtifactStore
) -> Materialised:
    """Write the batches from ``make_batches()`` as one Parquet artifact, with statistics.

    Parameters
    ----------
    make_batches : callable
        Returns a fresh iterable of record batches (called again after a restart).
    artifacts : ArtifactStore
        Receives the Parquet bytes as a stream.

    Raises
    ------
    InvalidFile
        ``header_only`` if there are no rows; whatever the batches raise.
    """
    for _ in range(MAX_RESTARTS):
        # built in the store's scratch space: held while we write, swept after a crash
        with artifacts.scratch_file(suffix=".parquet") as scratch:
            path = str(scratch)
            try:
                schema, stats = _write(make_batches(), path)
                with open(path, "rb") as fh:
                    digest = artifacts.put_stream(fh)
                return Materialised(digest, os.path.getsize(path), schema, stats)
            except RestartRead:
                continue
    raise InvalidFile("column types kept changing while reading the file", code="unparseable_csv")


def _series_array(series: pd.Series) -> pa.Array:
    if isinstance(series.dtype, pd.ArrowDtype):
        array: Any = pa.array(series.array)
    else:
        try:
            array = pa.array(series, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, UnicodeEncodeError):
            values = series.astype(object).where(series.notna(), None).tolist()
            array = column_array(values)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return normalise_array(array)


def frame_to_table(frame: pd.DataFrame) -> pa.Table:
    """Convert a (cleaned) DataFrame to an Arrow table with normalised column types.

    Arrow-backed columns convert exactly (NaN stays NaN, missing stays missing);
    NumPy-backed float columns treat NaN as missing; mixed object columns become text.
    """
    arrays = [_series_array(frame[c]) for c in frame.columns]
    return pa.Table.from_arrays(arrays, names=[str(c) for c in frame.columns])


def table_batches(table: pa.Table, rows: int = 65_536) -> Iterator[pa.RecordBatch]:
    """Yield ``table`` as record batches of at most ``rows`` rows."""
    yield from table.combine_chunks().to_batches(max_chunksize=rows)


@contextlib.contextmanager
def progress_bar(
    progress: bool | ProgressCallback, total: int, description: str
) -> Iterator[ProgressCallback | None]:
    """Yield the callback for a read of ``total`` bytes.

    ``False`` gives none, a callable is used as is, ``True`` draws a Rich progress bar
    on stderr when ``total`` is at least 1 MiB (smaller files finish at once).
    """
    if callable(progress):
        yield progress
        return
    if not progress or total < PROGRESS_MIN_BYTES:
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=total)

        def update(done: int, _total: int) -> None:
            bar.update(task, completed=done)

        yield update
