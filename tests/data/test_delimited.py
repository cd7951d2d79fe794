"""Encoding detection, delimiter sniffing and bad-line finding for delimited text."""

from __future__ import annotations

import codecs
from collections.abc import Callable
from pathlib import Path

import pytest

from baryon.core.errors import InvalidFile, InvalidInput
from baryon.data.delimited import (
    CsvDialect,
    detect_dialect,
    detect_encoding,
    find_bad_lines,
    sniff_delimiter,
)

WriteFile = Callable[[str, bytes | str], Path]


def test_detect_encoding_plain_utf8_is_utf8() -> None:
    assert detect_encoding("name\ncafé\n".encode(), at_eof=True) == "utf-8"


def test_detect_encoding_utf8_bom_is_utf8_sig() -> None:
    assert detect_encoding(codecs.BOM_UTF8 + b"a,b\n1,2\n", at_eof=True) == "utf-8-sig"


def test_detect_encoding_utf16_bom_is_utf16() -> None:
    assert detect_encoding("a,b\n1,2\n".encode("utf-16"), at_eof=True) == "utf-16"


def test_detect_encoding_multibyte_char_cut_at_sample_end_is_still_utf8() -> None:
    sample = "x,y\n1,é".encode()[:-1]  # the sample ends inside "é"
    assert detect_encoding(sample, at_eof=False) == "utf-8"


@pytest.mark.parametrize(
    "text",
    [
        "name;city\nRené;Zürich\nJosé;Málaga\nFrançoise;Besançon\nÅsa;Göteborg\n",
        "id;name\n1;Müller\n2;Straße\n",
        "text,label\nCafé crème – très bon,pos\n“Déjà vu” à Paris,neg\n",
    ],
)
def test_detect_encoding_western_cp1252_text_is_cp1252(text: str) -> None:
    assert detect_encoding(text.encode("cp1252"), at_eof=True) == "cp1252"


def test_detect_encoding_polish_cp1250_text_is_not_read_as_cp1252() -> None:
    text = "miasto;opis\nŁódź;Zażółć gęślą jaźń\nKraków;Świętość\n" * 3
    try:
        outcome = detect_encoding(text.encode("cp1250"), at_eof=True)
    except InvalidFile as exc:  # undecidable: the user is asked for --encoding
        outcome = exc.code
    assert outcome != "cp1252"
    assert outcome != "binary_file"


def test_detect_encoding_nul_bytes_are_binary_file() -> None:
    with pytest.raises(InvalidFile) as info:
        detect_encoding(b"\x00\x01\x02binary\x00", at_eof=True)
    assert info.value.code == "binary_file"


def test_detect_encoding_zip_bytes_hint_at_xlsx() -> None:
    with pytest.raises(InvalidFile) as info:
        detect_encoding(b"PK\x03\x04\x14\x00\x00\x00", at_eof=True)
    assert info.value.code == "binary_file"
    assert "xlsx" in info.value.message


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_sniff_delimiter_finds_each_candidate(delimiter: str) -> None:
    text = delimiter.join(["a", "b", "c"]) + "\n" + delimiter.join(["1", "2", "3"]) + "\n"
    assert sniff_delimiter(text) == delimiter


def test_sniff_delimiter_semicolon_with_quoted_commas_is_semicolon() -> None:
    text = 'price;label\n"1,5";cheap\n"2,75";dear\n"10,0";dear\n'
    assert sniff_delimiter(text) == ";"


def test_sniff_delimiter_commas_with_quoted_semicolons_is_comma() -> None:
    text = 'text,label\n"hi; there",1\n"a;b;c",0\n'
    assert sniff_delimiter(text) == ","


def test_sniff_delimiter_quoted_newlines_do_not_confuse_it() -> None:
    text = 'id|note\n1|"line one\nline two"\n2|plain\n'
    assert sniff_delimiter(text) == "|"


def test_sniff_delimiter_one_column_file_gives_preferred() -> None:
    assert sniff_delimiter("text\nhello\nworld\n") == ","
    assert sniff_delimiter("text\nhello\nworld\n", preferred="\t") == "\t"


def test_detect_dialect_whitespace_only_is_empty_file() -> None:
    with pytest.raises(InvalidFile) as info:
        detect_dialect(b" \r\n\n", at_eof=True)
    assert info.value.code == "empty_file"


@pytest.mark.parametrize(
    "encoding",
    ["klingon-8", "utf\x008", "\udcff"],  # a NUL or a lone surrogate: ValueError, was a 500
)
def test_detect_dialect_unknown_encoding_is_refused(encoding: str) -> None:
    with pytest.raises(InvalidInput) as info:
        detect_dialect(b"a,b\n", at_eof=True, encoding=encoding)
    assert info.value.code == "unknown_encoding"


def test_detect_dialect_two_character_delimiter_is_refused() -> None:
    with pytest.raises(InvalidInput) as info:
        detect_dialect(b"a,b\n", at_eof=True, delimiter=";;")
    assert info.value.code == "invalid_delimiter"


def test_find_bad_lines_counts_physical_lines_across_quoted_newlines(
    write_file: WriteFile,
) -> None:
    path = write_file("bad.csv", 'a,b\n1,"x\ny"\n2,3,4\n5,6\n7\n')
    lines, bad, rows = find_bad_lines(path, CsvDialect("utf-8", ","), gzipped=False, expected=2)
    assert lines == [4, 6]
    assert (bad, rows) == (2, 4)


def test_find_bad_lines_unterminated_quote_names_its_line(write_file: WriteFile) -> None:
    path = write_file("open.csv", 'a,b\n1,2\n3,"never closed\n4,5\n')
    with pytest.raises(InvalidFile) as info:
        find_bad_lines(path, CsvDialect("utf-8", ","), gzipped=False, expected=2)
    assert info.value.code == "unterminated_quote"
    assert info.value.details["line"] == 3
