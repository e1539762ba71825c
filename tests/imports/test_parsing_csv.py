"""CSV rosters as staff produce them: encodings, delimiters, damaged bytes, NULs, quoting, row numbers."""

from datetime import date

import pytest

from apps.imports.parsing import FileRefused, open_roster
from tests.imports.filemakers import (
    ROSTER_FIELDS,
    ROSTER_HEADERS,
    csv_bytes,
    sample_rows,
    write_bytes,
    write_roster_csv,
)


def parse(path, **options):
    roster = open_roster(path, **options)
    return roster, list(roster.rows())


def test_csv_utf8_bom_is_stripped_from_first_header(tmp_path):
    rows = sample_rows(3, seed=1)
    roster, parsed = parse(write_roster_csv(tmp_path / "roster.csv", rows, encoding="utf-8-sig"))

    assert roster.encoding == "utf-8-sig"
    assert roster.headers == list(ROSTER_HEADERS)
    assert roster.mapping == dict(zip(ROSTER_HEADERS, ROSTER_FIELDS, strict=True))
    assert roster.unknown_headers == []
    assert [p.values["student_id"] for p in parsed] == [r["学号"] for r in rows]
    assert all(p.errors == [] for p in parsed)


def test_csv_plain_utf8_without_bom(tmp_path):
    rows = sample_rows(2, seed=2)
    roster, parsed = parse(write_roster_csv(tmp_path / "roster.csv", rows, encoding="utf-8"))

    assert roster.encoding == "utf-8"
    assert parsed[0].values["name"] == rows[0]["姓名"]


@pytest.mark.parametrize("encoding", ["gbk", "gb18030"])
def test_csv_gbk_and_gb18030_from_chinese_windows_excel(tmp_path, encoding):
    rows = sample_rows(5, seed=3)
    roster, parsed = parse(write_roster_csv(tmp_path / "roster.csv", rows, encoding=encoding))

    assert roster.encoding == "gb18030"  # GB18030 decodes every GBK file
    assert [p.values["name"] for p in parsed] == [r["姓名"] for r in rows]
    assert parsed[0].values["college"] == rows[0]["学院"]


def test_csv_utf16_le_tab_separated_unicode_text(tmp_path):
    rows = sample_rows(4, seed=4)
    path = write_roster_csv(tmp_path / "roster.txt", rows, encoding="utf-16", delimiter="\t")
    assert path.read_bytes()[:2] == b"\xff\xfe"  # Excel's "Unicode text": UTF-16 LE with a BOM

    roster, parsed = parse(path)

    assert roster.encoding == "utf-16"
    assert roster.delimiter == "\t"
    assert roster.headers[0] == "学号"  # no BOM left in the first header
    assert [p.values["mobile"] for p in parsed] == [r["手机"] for r in rows]


def test_csv_utf16_be_with_bom(tmp_path):
    text = csv_bytes(sample_rows(2, seed=5), delimiter="\t")
    path = write_bytes(tmp_path / "roster.txt", b"\xfe\xff" + text.encode("utf-16-be"))

    roster, parsed = parse(path)

    assert roster.headers[0] == "学号"
    assert len(parsed) == 2


def test_csv_utf16_le_without_bom_is_recognised_by_its_zero_bytes(tmp_path):
    text = csv_bytes(sample_rows(2, seed=6), delimiter="\t")
    roster, parsed = parse(write_bytes(tmp_path / "roster.txt", text.encode("utf-16-le")))

    assert roster.encoding == "utf-16-le"
    assert len(parsed) == 2


@pytest.mark.parametrize("delimiter", [",", "\t", ";"])
def test_csv_delimiter_is_sniffed(tmp_path, delimiter):
    rows = sample_rows(3, seed=7)
    rows[0]["工作单位"] = "北京，海淀; 中关村"  # other candidates inside a value must not confuse the sniffer
    roster, parsed = parse(write_roster_csv(tmp_path / "roster.csv", rows, delimiter=delimiter))

    assert roster.delimiter == delimiter
    assert parsed[0].values["organisation"] == "北京,海淀; 中关村"  # NFKC turned the full-width comma


def test_csv_gb18030_with_undecodable_bytes_gives_a_row_error_not_a_crash(tmp_path):
    rows = sample_rows(4, seed=8)
    rows[2]["姓名"] = "张@@"
    path = write_roster_csv(tmp_path / "roster.csv", rows, encoding="gb18030")
    # 0xFF never occurs in GB18030: a damaged byte inside row 4's name.
    write_bytes(path, path.read_bytes().replace("张@@".encode("gb18030"), "张".encode("gb18030") + b"\xff\xff"))

    roster, parsed = parse(path)

    assert roster.encoding == "gb18030"
    assert [p.row for p in parsed if p.errors] == [4]
    error = parsed[2].errors[0]
    assert (error.field, error.column) == ("name", "姓名")
    assert "GB18030" in error.message
    assert "\ufffd" in parsed[2].raw["姓名"]  # shown to staff in the error report, no lone surrogates
    assert parsed[3].values["name"] == rows[3]["姓名"]


def test_csv_utf8_with_one_damaged_byte_keeps_utf8(tmp_path):
    rows = sample_rows(30, seed=9)
    rows[5]["工作单位"] = "华为##"
    path = write_roster_csv(tmp_path / "roster.csv", rows, encoding="utf-8")
    write_bytes(path, path.read_bytes().replace("华为##".encode(), "华为".encode() + b"\xe4\xb8"))

    roster, parsed = parse(path)

    assert roster.encoding == "utf-8"  # not misread as GB18030 mojibake
    assert [(p.row, [e.field for e in p.errors]) for p in parsed if p.errors] == [(7, ["organisation"])]
    assert parsed[0].values["name"] == rows[0]["姓名"]


def test_csv_nul_bytes_in_cells_are_stripped(tmp_path):
    rows = sample_rows(2, seed=10)
    rows[0]["姓名"] = "李\x00娜"
    rows[0]["学号"] = "2019\x00010001"
    _roster, parsed = parse(write_roster_csv(tmp_path / "roster.csv", rows))

    assert parsed[0].values["name"] == "李娜"
    assert parsed[0].values["student_id"] == "2019010001"
    assert "\x00" not in "".join(parsed[0].raw.values())
    assert parsed[0].errors == []


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030", "utf-16"])
def test_csv_characters_outside_the_bmp_survive(tmp_path, encoding):
    rows = sample_rows(2, seed=11)
    rows[1]["姓名"] = "吉𠮷"
    rows[1]["籍贯"] = "𠀾𡈼村"
    delimiter = "\t" if encoding == "utf-16" else ","
    _roster, parsed = parse(write_roster_csv(tmp_path / "r.csv", rows, encoding=encoding, delimiter=delimiter))

    assert parsed[1].values["name"] == "吉𠮷"
    assert parsed[1].values["hometown"] == "𠀾𡈼村"
    assert parsed[1].raw["姓名"] == "吉𠮷"


def test_csv_title_row_above_header_counts_rows_as_excel_does(tmp_path):
    rows = sample_rows(3, seed=12)
    roster, parsed = parse(write_roster_csv(tmp_path / "roster.csv", rows, title="2019届毕业生名单"))

    assert roster.header_row == 2
    assert roster.headers[0] == "学号"
    assert [p.row for p in parsed] == [3, 4, 5]
    assert roster.row_count_estimate == 3


def test_csv_blank_lines_are_skipped_but_counted(tmp_path):
    rows = sample_rows(2, seed=13)
    text = csv_bytes(rows)
    lines = text.split("\r\n")
    text = "\r\n".join([lines[0], lines[1], ",,,,", "", lines[2]]) + "\r\n"
    _roster, parsed = parse(write_bytes(tmp_path / "roster.csv", text.encode("utf-8")))

    assert [p.row for p in parsed] == [2, 5]


def test_csv_quoted_multiline_cell_is_one_row(tmp_path):
    rows = sample_rows(3, seed=14)
    path = write_roster_csv(tmp_path / "roster.csv", rows, headers=[*ROSTER_HEADERS, "通讯地址"])
    text = path.read_text(encoding="utf-8-sig")
    rows_with_address = [{**r, "通讯地址": "北京市海淀区\n学院路37号"} for r in rows]
    write_roster_csv(path, rows_with_address, headers=[*ROSTER_HEADERS, "通讯地址"])
    assert text.count("\n") < path.read_text(encoding="utf-8-sig").count("\n")

    _roster, parsed = parse(path)

    assert [p.row for p in parsed] == [2, 3, 4]  # records, as Excel numbers them, not text lines
    assert parsed[0].values["address"] == "北京市海淀区 学院路37号"


def test_csv_unclosed_quote_is_refused_with_its_row(tmp_path):
    text = csv_bytes(sample_rows(3, seed=15))
    lines = text.split("\r\n")
    lines[2] = lines[2].replace(",", ',"', 1)  # row 3 opens a quote that never closes
    path = write_bytes(tmp_path / "roster.csv", "\r\n".join(lines).encode("utf-8"))

    with pytest.raises(FileRefused) as refused:  # from open_roster when in the first rows, else from rows()
        list(open_roster(path).rows())

    assert refused.value.code == "unreadable"
    assert "3" in refused.value.message


def test_csv_unclosed_quote_in_a_large_file_is_refused_with_its_row(tmp_path):
    lines = csv_bytes(sample_rows(3000, seed=15)).split("\r\n")
    lines[1500] = lines[1500].replace(",", ',"', 1)  # row 1501; the rest of the file would run into one cell
    path = write_bytes(tmp_path / "roster.csv", "\r\n".join(lines).encode("utf-8"))

    roster = open_roster(path)
    with pytest.raises(FileRefused) as refused:
        list(roster.rows())

    assert refused.value.code == "unreadable"
    assert "Row 1501 " in refused.value.message
    assert "quotation mark" in refused.value.message


def test_csv_column_without_header_is_ignored(tmp_path):
    headers = ["学号", "", "姓名"]
    roster = open_roster(write_roster_csv(tmp_path / "r.csv", [["2019010001", "x", "张三"]], headers=headers))

    assert roster.headers == headers
    assert roster.unknown_headers == []
    parsed = next(roster.rows())
    assert parsed.values == {"student_id": "2019010001", "name": "张三"}
    assert parsed.raw == {"学号": "2019010001", "姓名": "张三"}


def test_csv_unquoted_comma_shifting_columns_is_a_row_error(tmp_path):
    rows = sample_rows(2, seed=16)
    lines = csv_bytes(rows).split("\r\n")
    lines[1] = lines[1].replace(rows[0]["工作单位"], "北京,海淀")  # Excel would have quoted this
    _roster, parsed = parse(write_bytes(tmp_path / "roster.csv", "\r\n".join(lines).encode("utf-8")))

    whole_row = [e for e in parsed[0].errors if e.field == ""]
    assert len(whole_row) == 1
    assert "17" in whole_row[0].message
    assert "16" in whole_row[0].message
    assert parsed[1].errors == []


def test_csv_without_extension_is_read_by_content(tmp_path):
    path = write_roster_csv(tmp_path / "0b7c4d2e-upload", sample_rows(2, seed=17))
    roster, parsed = parse(path, original_name="毕业生名单.csv")

    assert roster.kind == "csv"
    assert len(parsed) == 2


def test_csv_rows_can_be_read_again(tmp_path):
    rows = sample_rows(3, seed=18)
    rows[2]["学号"] = rows[0]["学号"]
    roster = open_roster(write_roster_csv(tmp_path / "roster.csv", rows))

    first, second = list(roster.rows()), list(roster.rows())

    assert first == second  # the second pass forgets the first pass's student IDs
    assert [p.row for p in first if p.errors] == [4]


def test_csv_values_are_typed(tmp_path):
    row = sample_rows(1, seed=19)[0] | {"出生日期": "1990/3/5", "入学年份": "2008", "毕业年份": "2012年"}
    _roster, parsed = parse(write_roster_csv(tmp_path / "roster.csv", [row]))

    values = parsed[0].values
    assert values["birth_date"] == date(1990, 3, 5)
    assert (values["enrollment_year"], values["graduation_year"]) == (2008, 2012)
    assert parsed[0].raw["毕业年份"] == "2012年"
