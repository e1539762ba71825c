"""Spreadsheet writers: formula neutralisation (a property over many strings), CSV, XLSX, downloads."""

import csv
import hashlib
import io
import random
import unicodedata
import zipfile
from datetime import date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from openpyxl.utils.escape import unescape

from apps.core.exporting import (
    FORMULA_TRIGGERS,
    UTF8_BOM,
    XlsxProperties,
    content_disposition,
    csv_chunks,
    is_formula_like,
    neutralise,
    safe_filename,
    unneutralise,
    write_csv,
    write_xlsx,
)

# Pieces that matter at the start of a cell: ASCII triggers, their full-width and small forms
# (NFKC turns them into triggers), look-alikes that are not triggers, the escape mark itself,
# combining marks, Chinese, digits, quotes, separators and line breaks.
_PIECES = [
    *"=+-@\t\r\n\0'",
    "＝",
    "＋",
    "－",
    "＠",
    "﹦",
    "﹢",
    "﹣",
    "＇",
    "\u2212",  # MINUS SIGN: not a trigger, Excel reads it as text
    "\u0338",  # COMBINING LONG SOLIDUS OVERLAY: "=" + this composes to "≠"
    "\u0301",
    "ｆｏｏ",
    "张伟",
    "北京大学",
    "-5",
    "5",
    "3.14",
    "SUM(A1:A9)",
    'HYPERLINK("http://x")',
    "cmd|' /C calc'!A0",
    '"',
    ",",
    ";",
    " ",
    "\u3000",
    "a",
    "Ω",
    "é",
    "\ufeff",
    "_x0041_",
]


def _strings(count: int = 5000, seed: int = 20260501) -> list[str]:
    rng = random.Random(seed)
    strings = ["", *_PIECES]
    for _ in range(count):
        strings.append("".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 5))))
    return strings


def _formula_start(text: str) -> bool:
    return bool(text) and (text[0] in FORMULA_TRIGGERS or unicodedata.normalize("NFKC", text)[:1] in FORMULA_TRIGGERS)


# --- neutralisation -----------------------------------------------------------------------


def test_neutralise_property_no_cell_starts_a_formula_and_the_escape_reverses():
    for text in _strings():
        cell = neutralise(text)
        assert not _formula_start(cell), repr(text)
        assert unneutralise(cell) == text, repr(text)
        # Only what needs it is touched: everything else is exported exactly as stored.
        assert cell == text or cell == "'" + text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+86 138 0013 8000", "'+86 138 0013 8000"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("\nx", "'\nx"),
        ("＝SUM(A1)", "'＝SUM(A1)"),  # full-width equals sign, an equals sign after NFKC
        ("﹢1", "'﹢1"),
        ("=\u0338", "'=\u0338"),  # NFKC makes it "≠", but Excel sees "=" first
        ("'=1", "''=1"),  # the mark itself, so that unneutralise stays exact
        ("张伟", "张伟"),
        ("a=b", "a=b"),
        ("\u22121", "\u22121"),
        ("", ""),
    ],
)
def test_neutralise_examples(text, expected):
    assert neutralise(text) == expected
    assert unneutralise(expected) == text


def test_is_formula_like_agrees_with_full_normalisation():
    # The fast paths (ASCII, CJK, cached first characters) must decide like normalising everything:
    # the first character alone ("﹦" before a combining slash) or the whole text.
    for text in _strings(2000, seed=7):
        marks = "=+-@\t\r\n\0'"
        expected = bool(text) and (
            text[0] in marks
            or unicodedata.normalize("NFKC", text[0])[:1] in marks
            or unicodedata.normalize("NFKC", text)[:1] in marks
        )
        assert is_formula_like(text) == expected, repr(text)


# --- CSV ----------------------------------------------------------------------------------


def _csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_csv_starts_with_bom_and_quotes_per_rfc4180():
    rows = [["张伟", 'say "hi", then\r\nleave', "-5", -5, Decimal("1.50"), date(1990, 1, 2), None, True]]
    data = b"".join(csv_chunks(["姓名", "note", "text", "int", "dec", "date", "none", "bool"], rows))
    assert data.startswith(UTF8_BOM.encode("utf-8"))
    assert data.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in data
    parsed = _csv_rows(data)
    assert parsed[0] == ["姓名", "note", "text", "int", "dec", "date", "none", "bool"]
    assert parsed[1] == ["张伟", 'say "hi", then\r\nleave', "'-5", "-5", "1.50", "1990-01-02", "", "1"]


def test_csv_property_every_text_cell_is_neutralised_and_round_trips():
    strings = _strings(3000, seed=11)
    rows = [[s] for s in strings]
    data = b"".join(csv_chunks(["text"], rows))
    parsed = _csv_rows(data)[1:]
    assert len(parsed) == len(strings)
    for original, (cell,) in zip(strings, parsed, strict=True):
        assert not _formula_start(cell), repr(original)
        # csv normalises nothing but a lone NUL: the text survives exactly.
        assert unneutralise(cell) == original


def test_csv_chunks_report_rows_and_the_hash_of_exactly_the_bytes_sent():
    results = []
    chunks = list(csv_chunks(["a"], ([str(i)] for i in range(2500)), on_finish=results.append, rows_per_chunk=1000))
    data = b"".join(chunks)
    assert len(chunks) == 3
    assert results == [results[0]]
    assert results[0].rows == 2500
    assert results[0].complete
    assert results[0].sha256 == hashlib.sha256(data).hexdigest()
    assert results[0].size == len(data)


def test_csv_chunks_closed_early_report_an_incomplete_export():
    results = []
    stream = csv_chunks(["a"], ([str(i)] for i in range(5000)), on_finish=results.append, rows_per_chunk=1000)
    first = next(stream)
    stream.close()
    assert len(results) == 1
    assert not results[0].complete
    assert results[0].sha256 == hashlib.sha256(first).hexdigest()


def test_write_csv_to_a_file():
    buffer = io.BytesIO()
    result = write_csv(buffer, ["a", "b"], [["=x", 1], ["y", 2]])
    assert result.rows == 2
    assert result.sha256 == hashlib.sha256(buffer.getvalue()).hexdigest()
    assert _csv_rows(buffer.getvalue())[1:] == [["'=x", "1"], ["y", "2"]]


# --- XLSX ---------------------------------------------------------------------------------


def _xlsx(rows, header=("text",), **kwargs):
    buffer = io.BytesIO()
    result = write_xlsx(buffer, list(header), rows, **kwargs)
    return buffer, result


def test_xlsx_numbers_stay_numbers_and_text_is_neutralised():
    wall_clock = datetime(2024, 5, 6, 7, 8, 9)  # noqa: DTZ001 - spreadsheets hold wall-clock times
    buffer, result = _xlsx(
        [["-5", -5, 2.5, Decimal("3.25"), date(1990, 1, 2), wall_clock, True, None, "=1+1"]],
        header=["text", "int", "float", "dec", "date", "datetime", "bool", "none", "formula"],
    )
    assert result.rows == 1
    sheet = load_workbook(buffer).active
    values = [cell.value for cell in sheet[2]]
    assert values[:4] == ["'-5", -5, 2.5, 3.25]
    assert values[4] == datetime(1990, 1, 2)  # noqa: DTZ001
    assert sheet["E2"].number_format == "yyyy-mm-dd"
    assert values[5] == wall_clock
    assert values[6] is True
    assert values[7] is None
    assert values[8] == "'=1+1"
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    assert sheet["A1"].font.b
    assert sheet.freeze_panes == "A2"


def test_xlsx_property_every_text_cell_is_neutralised_and_round_trips():
    strings = _strings(3000, seed=13)
    buffer, result = _xlsx([[s] for s in strings])
    assert result.rows == len(strings)
    sheet = load_workbook(buffer, read_only=True).active
    cells = [row[0] if row else None for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert len(cells) == len(strings)
    for original, cell in zip(strings, cells, strict=True):
        text = unescape(cell or "")  # OOXML writes control characters as _xHHHH_
        assert not _formula_start(text), repr(original)
        # XML has no place for lone surrogates or U+FFFE/U+FFFF; nothing in the pieces produces them.
        assert unneutralise(text) == original, repr(original)


def test_xlsx_properties_preamble_and_hidden_column():
    props = XlsxProperties(title="SJ-2026-0007", keywords="SJ-2026-0007", subject="招生宣传", identifier="SJ-2026-0007")
    buffer, _result = _xlsx(
        [["张伟", "SJ-2026-0007"]],
        header=["姓名", "编号"],
        preamble=[["数据提供 SJ-2026-0007"]],
        properties=props,
        hidden_columns=[1],
        sheet_title="SJ-2026-0007",
    )
    workbook = load_workbook(buffer)
    sheet = workbook.active
    assert sheet.title == "SJ-2026-0007"
    assert workbook.properties.title == "SJ-2026-0007"
    assert workbook.properties.keywords == "SJ-2026-0007"
    assert workbook.properties.subject == "招生宣传"
    assert sheet["A1"].value == "数据提供 SJ-2026-0007"
    assert [c.value for c in sheet[2]] == ["姓名", "编号"]
    assert [c.value for c in sheet[3]] == ["张伟", "SJ-2026-0007"]
    assert sheet.column_dimensions["B"].hidden
    assert sheet.freeze_panes == "A3"


def test_xlsx_is_a_complete_package():
    buffer, result = _xlsx([["a"]])
    data = buffer.getvalue()
    assert data.startswith(b"PK\x03\x04")
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    assert {"[Content_Types].xml", "xl/workbook.xml", "xl/worksheets/sheet1.xml", "docProps/core.xml"} <= names


def test_xlsx_sheet_title_is_made_valid():
    buffer, _ = _xlsx([["a"]], sheet_title="a/b:c*d?[e]" + "x" * 40)
    title = load_workbook(buffer).active.title
    assert len(title) <= 31
    assert not set(title) & set("/:*?[]\\")


# --- downloads ----------------------------------------------------------------------------


def test_content_disposition_chinese_name_uses_rfc6266_extended_value():
    header = content_disposition("校友-20260301-1030.xlsx")
    assert header.startswith("attachment; ")
    assert "filename*=UTF-8''%E6%A0%A1%E5%8F%8B-20260301-1030.xlsx" in header
    fallback = header.split('filename="')[1].split('"')[0]
    assert fallback.isascii()
    assert fallback.endswith("-20260301-1030.xlsx")


def test_content_disposition_ascii_name_is_quoted_plainly():
    assert content_disposition("SJ-2026-0001.xlsx") == 'attachment; filename="SJ-2026-0001.xlsx"'
    assert content_disposition("a.pdf", attachment=False) == 'inline; filename="a.pdf"'


@pytest.mark.parametrize("name", ["../../etc/passwd.xlsx", "a\\b.xlsx", 'x";\r\nSet-Cookie: a=b.xlsx', "\x00.csv"])
def test_content_disposition_never_carries_paths_quotes_or_line_breaks(name):
    header = content_disposition(name)
    assert "/" not in header.replace("%2F", "")
    assert "\\" not in header
    assert "\r" not in header
    assert "\n" not in header
    assert header.count('"') == 2


def test_safe_filename_keeps_the_extension_of_long_names():
    name = safe_filename("校友" * 200 + ".xlsx")
    assert len(name) <= 150
    assert name.endswith(".xlsx")
    assert safe_filename("...") == "export"
