"""Reading files: every format, real-world CSV quirks and every bad input's error code."""

from __future__ import annotations

import gzip
import json
import math
import os
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from baryon.core.errors import InvalidFile, InvalidInput
from baryon.data import delimited
from baryon.data.sources import collect_table, open_source, read_table

WriteFile = Callable[[str, bytes | str], Path]


def _code(exc_info: pytest.ExceptionInfo[Exception]) -> str:
    return str(getattr(exc_info.value, "code", ""))


# --------------------------------------------------------------------- happy paths
def test_read_table_csv_types_are_inferred(write_file: WriteFile) -> None:
    path = write_file(
        "t.csv", "id,price,ok,when,name\n1,2.5,true,2024-01-02 03:04:05,a\n2,3,false,,b\n"
    )
    table = collect_table(open_source(path))
    types = {f.name: str(f.type) for f in table.schema}
    assert types == {
        "id": "int64",
        "price": "double",
        "ok": "bool",
        "when": "timestamp[s]",
        "name": "string",
    }
    assert table.column("when").null_count == 1


def test_read_table_bom_crlf_and_padded_headers_are_clean(write_file: WriteFile) -> None:
    path = write_file("bom.csv", b"\xef\xbb\xbf id , text \r\n1,hello\r\n2,world\r\n")
    frame = read_table(path)
    assert list(frame.columns) == ["id", "text"]
    assert frame["text"].tolist() == ["hello", "world"]


def test_read_table_quoted_delimiters_and_newlines_stay_in_their_cell(
    write_file: WriteFile,
) -> None:
    path = write_file("q.csv", 'id,text\n1,"a, b"\n2,"line 1\nline 2"\n3,"say ""hi"""\n')
    frame = read_table(path)
    assert frame["text"].tolist() == ["a, b", "line 1\nline 2", 'say "hi"']


def test_read_table_semicolon_file_with_commas_in_quotes_has_right_columns(
    write_file: WriteFile,
) -> None:
    path = write_file("semi.csv", 'price;label;note\n"1,5";cheap;"a,b"\n"2,75";dear;x\n')
    source = open_source(path)
    assert source.delimiter == ";"
    frame = read_table(path)
    assert frame.shape == (2, 3)
    assert frame["price"].tolist() == [1.5, 2.75]  # decimal commas, in a ;-file
    assert frame["note"].tolist() == ["a,b", "x"]


@pytest.mark.parametrize(("name", "delimiter"), [("t.tsv", "\t"), ("p.csv", "|")])
def test_read_table_tab_and_pipe_files_are_sniffed(
    write_file: WriteFile, name: str, delimiter: str
) -> None:
    path = write_file(name, f"a{delimiter}b\n1{delimiter}x y\n2{delimiter}z\n")
    assert open_source(path).delimiter == delimiter
    assert read_table(path).shape == (2, 2)


def test_read_table_explicit_delimiter_names_are_understood(write_file: WriteFile) -> None:
    path = write_file("t.txt", "a\tb\n1\t2\n")
    assert read_table(path, delimiter="\\t").shape == (1, 2)
    assert read_table(path, delimiter="tab").shape == (1, 2)


def test_read_table_gzipped_csv_reads_like_plain(tmp_path: Path) -> None:
    path = tmp_path / "data.csv.gz"
    path.write_bytes(gzip.compress(b"a,b\n1,x\n2,y\n"))
    source = open_source(path)
    assert source.gzipped
    assert source.format == "csv"
    assert read_table(path)["b"].tolist() == ["x", "y"]


def test_read_table_cp1252_file_is_detected_and_decoded(write_file: WriteFile) -> None:
    path = write_file("w.csv", "name,city\nRené,Zürich\nJosé,Málaga\n".encode("cp1252"))
    source = open_source(path)
    assert source.encoding == "cp1252"
    assert read_table(path)["city"].tolist() == ["Zürich", "Málaga"]


def test_read_table_explicit_encoding_is_used(write_file: WriteFile) -> None:
    path = write_file("l.csv", "name\nGöteborg\n".encode("latin-1"))
    assert read_table(path, encoding="latin-1")["name"].tolist() == ["Göteborg"]


def test_read_table_utf16_with_bom_is_decoded(write_file: WriteFile) -> None:
    path = write_file("u16.csv", "a;b\n1;é\n".encode("utf-16"))
    assert read_table(path)["b"].tolist() == ["é"]


def test_read_table_emoji_column_name_is_allowed(write_file: WriteFile) -> None:
    path = write_file("e.csv", "😀,score\n🙂,1\n🙃,2\n")
    frame = read_table(path)
    assert list(frame.columns) == ["😀", "score"]
    assert frame["😀"].tolist() == ["🙂", "🙃"]


def test_read_table_nan_and_inf_are_kept_not_turned_into_numbers(write_file: WriteFile) -> None:
    path = write_file("n.csv", "x\n1.5\nNaN\ninf\n-inf\n\n1e999\n")
    table = collect_table(open_source(path))
    values = table.column("x").to_pylist()
    assert values[0] == 1.5
    assert math.isnan(values[1])
    assert values[2:5] == [math.inf, -math.inf, math.inf]


def test_read_table_missing_markers_become_missing(write_file: WriteFile) -> None:
    path = write_file("m.csv", "a,b\n1,NA\n,null\n3,x\n")
    table = collect_table(open_source(path))
    assert table.column("a").to_pylist() == [1, None, 3]
    assert table.column("b").to_pylist() == [None, None, "x"]


def test_read_table_int_column_meeting_a_float_later_is_widened(
    write_file: WriteFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(delimited, "INFER_BLOCK", 64)
    monkeypatch.setattr(delimited, "BLOCK", 64)
    rows = "".join(f"{i},t{i}\n" for i in range(40))
    path = write_file("w.csv", "n,s\n" + rows + "2.5,late\nabc,later\n" + rows)
    table = collect_table(open_source(path))
    assert table.schema.field("n").type == pa.string()
    assert table.num_rows == 82


def test_read_table_declared_types_are_applied(write_file: WriteFile) -> None:
    path = write_file("d.csv", "zip,when\n01234,2024-01-02\n98765,2024-02-03\n")
    source = open_source(path, types={"zip": "string", "when": "datetime"})
    table = collect_table(source)
    assert table.column("zip").to_pylist() == ["01234", "98765"]
    assert pa.types.is_timestamp(table.schema.field("when").type)


def test_read_table_jsonl_with_nested_values_and_missing_keys(write_file: WriteFile) -> None:
    lines = [{"a": 1, "tags": ["x", "y"]}, {"a": 2, "extra": {"k": 1}}, {"a": None}]
    path = write_file("r.jsonl", "\n".join(json.dumps(r) for r in lines) + "\n\n")
    frame = read_table(path)
    assert list(frame.columns) == ["a", "tags", "extra"]
    assert frame["tags"].tolist()[0] == '["x", "y"]'
    assert frame["extra"].isna().tolist() == [True, False, True]


def test_read_table_json_array_of_records(write_file: WriteFile) -> None:
    path = write_file("r.json", json.dumps([{"text": "hi", "n": 1}, {"text": "yo", "n": 2.5}]))
    frame = read_table(path)
    assert frame["n"].tolist() == [1.0, 2.5]


def test_read_table_json_mixed_types_become_text(write_file: WriteFile) -> None:
    path = write_file("m.json", json.dumps([{"v": 1}, {"v": "two"}, {"v": None}]))
    assert read_table(path)["v"].tolist()[:2] == ["1", "two"]


def test_read_table_json_lone_surrogate_becomes_replacement_char(write_file: WriteFile) -> None:
    path = write_file("s.json", '[{"t": "ok"}, {"t": "bad \\ud800 char"}]')
    assert read_table(path)["t"].tolist()[1] == "bad \ufffd char"


def test_read_table_parquet(tmp_path: Path) -> None:
    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({" a ": [1, 2], "b": pa.array(["x", "y"]).dictionary_encode()}), path)
    frame = read_table(path)
    assert list(frame.columns) == ["a", "b"]
    assert frame["b"].tolist() == ["x", "y"]


def test_read_table_xlsx_skips_blank_rows_and_columns(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["text", "label", None])
    sheet.append(["hello", 1, None])
    sheet.append([None, None, None])
    sheet.append(["world", 0, None])
    path = tmp_path / "s.xlsx"
    book.save(path)
    frame = read_table(path)
    assert list(frame.columns) == ["text", "label"]
    assert frame["text"].tolist() == ["hello", "world"]


def test_open_source_hash_is_of_the_bytes_on_disk(write_file: WriteFile) -> None:
    import hashlib

    data = b"a\n1\n"
    path = write_file("h.csv", data)
    assert open_source(path).sha256 == hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("empty.csv", b"", "empty_file"),
        ("blank.csv", b"\n \r\n\t\n", "empty_file"),
        ("bom-only.csv", b"\xef\xbb\xbf", "empty_file"),
        ("header.csv", b"a,b,c\n", "header_only"),
        ("header-crlf.csv", b"a,b,c\r\n\r\n", "header_only"),
        ("binary.csv", bytes(range(256)) * 8, "binary_file"),
        ("zip.csv", b"PK\x03\x04" + b"\x00" * 60, "binary_file"),
        ("dup.csv", b"a,b,a\n1,2,3\n", "duplicate_columns"),
        ("dup-trim.csv", b"a, a\n1,2\n", "duplicate_columns"),
        ("ragged.csv", b"a,b\n1,2\n3,4,5\n6,7\n8\n", "ragged_rows"),
        ("short-header.csv", b"a,b\n1,2,3\n4,5,6\n", "header_mismatch"),
        ("open-quote.csv", b'a,b\n1,2\n3,"never closed\n4,5\n', "unterminated_quote"),
        ("empty.jsonl", b"\n\n", "empty_file"),
        ("bad.jsonl", b'{"a": 1}\n{"a": \n', "invalid_json"),
        ("list.jsonl", b'{"a": 1}\n[1, 2]\n', "invalid_json"),
        ("empty.json", b"[]", "empty_file"),
        ("object.json", b'{"a": [1, 2]}', "invalid_json"),
        ("dup.json", b'[{"a": 1, "a": 2}]', "duplicate_columns"),
        ("fake.parquet", b"not parquet at all", "invalid_parquet"),
        ("fake.xlsx", b"not a workbook", "invalid_xlsx"),
        ("old.xls", b"\xd0\xcf\x11\xe0", "unsupported_format"),
    ],
)
def test_open_source_bad_file_raises_named_error(
    write_file: WriteFile, name: str, content: bytes, code: str
) -> None:
    path = write_file(name, content)
    with pytest.raises(InvalidFile) as info:
        collect_table(open_source(path))
    assert _code(info) == code


def test_open_source_ragged_rows_error_lists_line_numbers(write_file: WriteFile) -> None:
    path = write_file("r.csv", 'a,b\n1,"x\ny"\n2,3,4\n5,6\n7\n')
    with pytest.raises(InvalidFile) as info:
        collect_table(open_source(path))
    assert info.value.details["lines"] == [4, 6]
    assert "4, 6" in info.value.message


def test_open_source_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(InvalidFile) as info:
        open_source(tmp_path / "nope.csv")
    assert _code(info) == "file_not_found"
    with pytest.raises(InvalidFile) as info:
        open_source(tmp_path)
    assert _code(info) == "not_a_file"


def test_open_source_unknown_format_is_refused(write_file: WriteFile) -> None:
    with pytest.raises(InvalidInput) as info:
        open_source(write_file("a.csv", "a\n1\n"), format="sas7bdat")
    assert _code(info) == "invalid_format"


def test_open_source_utf8_declared_for_cp1252_bytes_is_encoding_error(
    write_file: WriteFile,
) -> None:
    path = write_file("c.csv", "name\nZürich\n".encode("cp1252"))
    with pytest.raises(InvalidFile) as info:
        collect_table(open_source(path, encoding="utf-8"))
    assert _code(info) == "encoding_error"
    assert "--encoding" in info.value.message


def test_open_source_declared_type_that_does_not_fit_is_refused(write_file: WriteFile) -> None:
    path = write_file("t.csv", "n\n1\ntwo\n")
    with pytest.raises(InvalidInput) as info:
        collect_table(open_source(path, types={"n": "int"}))
    assert _code(info) == "type_override_failed"


def test_open_source_type_for_unknown_column_is_refused(write_file: WriteFile) -> None:
    with pytest.raises(InvalidInput) as info:
        open_source(write_file("t.csv", "n\n1\n"), types={"m": "int"})
    assert _code(info) == "unknown_column"


def test_open_source_file_changed_while_reading_is_detected(write_file: WriteFile) -> None:
    path = write_file("c.csv", "a\n1\n2\n")
    source = open_source(path)
    path.write_text("a\n1\n2\n3\n")
    os.utime(path, ns=(1, 1))
    with pytest.raises(InvalidFile) as info:
        collect_table(source)
    assert _code(info) == "source_changed"


def test_read_table_returns_pandas_frame(write_file: WriteFile) -> None:
    frame = read_table(write_file("a.csv", "a,b\n1,x\n"))
    assert isinstance(frame, pd.DataFrame)


def test_open_source_xlsx_duplicate_header_and_header_only(tmp_path: Path) -> None:
    from openpyxl import Workbook

    for rows, code in ([[["a", "a"], [1, 2]], "duplicate_columns"], [[["a", "b"]], "header_only"]):
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        for row in rows:
            sheet.append(row)
        path = tmp_path / f"{code}.xlsx"
        book.save(path)
        with pytest.raises(InvalidFile) as info:
            collect_table(open_source(path))
        assert _code(info) == code


def test_open_source_parquet_without_rows_is_header_only(tmp_path: Path) -> None:
    path = tmp_path / "empty.parquet"
    pq.write_table(pa.table({"a": pa.array([], pa.int64())}), path)
    with pytest.raises(InvalidFile) as info:
        open_source(path)
    assert _code(info) == "header_only"


def test_read_table_detected_utf8_falls_back_to_cp1252_past_the_sample(
    write_file: WriteFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    from baryon.data import sources

    monkeypatch.setattr(sources, "SAMPLE_BYTES", 64)
    monkeypatch.setattr(delimited, "INFER_BLOCK", 64)
    monkeypatch.setattr(delimited, "BLOCK", 64)
    ascii_rows = "".join(f"{i},plain name {i}\n" for i in range(30))
    path = write_file("late.csv", ("id,name\n" + ascii_rows + "31,Zürich\n").encode("cp1252"))
    source = open_source(path)
    frame = collect_table(source).to_pandas()
    assert frame["name"].tolist()[-1] == "Zürich"
    assert source.describe()["encoding"] == "cp1252"


def test_read_table_named_utf8_never_falls_back(write_file: WriteFile) -> None:
    path = write_file("c.csv", "name\nZürich\n".encode("cp1252"))
    with pytest.raises(InvalidFile) as info:
        collect_table(open_source(path, encoding="utf-8"))
    assert _code(info) == "encoding_error"


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("deep.json", b'[{"a": ' + b"[" * 10_000 + b"]" * 10_000 + b"}]"),
        ("deep.jsonl", b'{"a": 1}\n{"a": ' + b"[" * 10_000 + b"]" * 10_000 + b"}\n"),
    ],
)
def test_open_source_json_nested_ten_thousand_deep_too_deep(
    write_file: WriteFile, name: str, content: bytes
) -> None:
    path = write_file(name, content)
    with pytest.raises(InvalidInput) as info:
        collect_table(open_source(path))
    assert _code(info) == "too_deep"
    assert name in info.value.message


# ------------------------------------------------------------------ decimal commas
EURO = "id;price;name\n1;12,5;a\n2;-0,75;b\n3;1.234,5;c\n4;;d\n5;7;e\n"


def test_read_table_semicolon_file_with_decimal_commas_is_numeric(write_file: WriteFile) -> None:
    # "12,5" in a ;-file was a text column, and --type price=float failed (issue 12)
    source = open_source(write_file("e.csv", EURO))
    table = collect_table(source)
    assert table.schema.field("price").type == pa.float64()
    assert table.column("price").to_pylist() == [12.5, -0.75, 1234.5, None, 7.0]
    assert table.schema.field("name").type == pa.string()
    assert source.decimal_comma == {"price": "12,5"}
    assert source.describe()["decimal_comma_columns"] == ["price"]


def test_read_table_decimal_commas_with_float_type_override_are_read(
    write_file: WriteFile,
) -> None:
    table = collect_table(open_source(write_file("e.csv", EURO), types={"price": "float"}))
    assert table.column("price").to_pylist() == [12.5, -0.75, 1234.5, None, 7.0]


def test_read_table_decimal_commas_declared_string_stay_text(write_file: WriteFile) -> None:
    source = open_source(write_file("e.csv", EURO), types={"price": "string"})
    table = collect_table(source)
    assert table.column("price").to_pylist() == ["12,5", "-0,75", "1.234,5", None, "7"]
    assert source.decimal_comma == {}


@pytest.mark.parametrize(
    ("content", "column"),
    [
        ('id,price\n1,"12,5"\n2,"3,25"\n', ["12,5", "3,25"]),  # a ,-file: not decimal
        ("id;price\n1;12,5\n2;n/a later\n", ["12,5", "n/a later"]),  # one value is text
        ("id;price\n1;12,5\n2;1.5\n", ["12,5", "1.5"]),  # two conventions: ambiguous
        ("id;code\n1;١٢,٥\n2;3,5\n", ["١٢,٥", "3,5"]),  # non-ASCII digits
    ],
)
def test_read_table_commas_that_are_not_decimal_stay_text(
    write_file: WriteFile, content: str, column: list[str]
) -> None:
    source = open_source(write_file("t.csv", content))
    table = collect_table(source)
    assert table.column(table.column_names[1]).to_pylist() == column
    assert source.decimal_comma == {}


def test_read_table_decimal_commas_after_the_inferred_block_are_read(
    write_file: WriteFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(delimited, "INFER_BLOCK", 64)
    monkeypatch.setattr(delimited, "BLOCK", 64)
    rows = "".join(f"{i};{i}\n" for i in range(40))
    source = open_source(write_file("w.csv", "n;x\n" + rows + "41;2,5\n"))
    table = collect_table(source)
    assert table.schema.field("x").type == pa.float64()
    assert table.column("x").to_pylist()[-1] == 2.5
    assert source.decimal_comma == {"x": "2,5"}


def test_read_table_decimal_comma_column_meeting_text_later_is_text(
    write_file: WriteFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(delimited, "INFER_BLOCK", 64)
    monkeypatch.setattr(delimited, "BLOCK", 64)
    rows = "".join(f"{i};{i},5\n" for i in range(40))
    source = open_source(write_file("w.csv", "n;x\n" + rows + "41;unknown\n"))
    table = collect_table(source)
    assert table.schema.field("x").type == pa.string()
    assert table.column("x").to_pylist()[:2] == ["0,5", "1,5"]
    assert source.decimal_comma == {}


def test_read_table_declared_float_meeting_text_is_type_override_failed(
    write_file: WriteFile,
) -> None:
    path = write_file("w.csv", "n;x\n1;2,5\n2;none of it\n")
    with pytest.raises(InvalidInput) as info:
        collect_table(open_source(path, types={"x": "float"}))
    assert _code(info) == "type_override_failed"
    assert "'x'" in str(info.value)
