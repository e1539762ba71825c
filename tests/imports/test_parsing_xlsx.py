"""XLSX rosters: date cells and serials in both epochs, numeric IDs, formulas, hidden sheets and rows,
merged titles and cells, Excel error cells."""

from datetime import date

import pytest
from openpyxl.utils.datetime import CALENDAR_MAC_1904, from_excel

from apps.imports.parsing import open_roster
from tests.alumni.factories import valid_id_number
from tests.imports.filemakers import (
    ROSTER_HEADERS,
    sample_rows,
    set_cached_formula_values,
    sheet_rows_xml,
    to_datetime,
    write_minimal_xlsx,
    write_roster_xlsx,
    write_xlsx_fast,
)


def parse(path, **options):
    roster = open_roster(path, **options)
    return roster, list(roster.rows())


def rows_with(overrides_by_row, seed=0, native=True):
    rows = sample_rows(len(overrides_by_row), seed=seed, native=native)
    return [row | overrides for row, overrides in zip(rows, overrides_by_row, strict=True)]


def errors_of(parsed_row):
    return {error.field: error.message for error in parsed_row.errors}


def test_xlsx_typed_cells_become_values(tmp_path):
    rows = sample_rows(3, seed=1, native=True)
    roster, parsed = parse(write_roster_xlsx(tmp_path / "roster.xlsx", rows))

    assert roster.kind == "xlsx"
    assert roster.sheet_name == "名单"
    assert roster.row_count_estimate == 3
    assert [p.row for p in parsed] == [2, 3, 4]
    assert parsed[0].values["birth_date"] == rows[0]["出生日期"]
    assert parsed[0].values["enrollment_year"] == rows[0]["入学年份"]
    assert parsed[0].raw["出生日期"] == rows[0]["出生日期"].isoformat()
    assert all(p.errors == [] for p in parsed)


def test_xlsx_excel_style_package_with_shared_strings(tmp_path):
    rows = sample_rows(50, seed=2, native=True)
    _roster, parsed = parse(write_xlsx_fast(tmp_path / "roster.xlsx", rows))

    assert [p.values["name"] for p in parsed] == [r["姓名"] for r in rows]
    assert [p.values["birth_date"] for p in parsed] == [r["出生日期"] for r in rows]


def test_xlsx_date_serial_numbers_in_a_general_column(tmp_path):
    rows = rows_with([{"出生日期": 36000}, {"出生日期": 36000.75}, {"出生日期": "36000"}], seed=3)
    _roster, parsed = parse(write_roster_xlsx(tmp_path / "roster.xlsx", rows))

    expected = from_excel(36000).date()
    assert expected == date(1998, 7, 24)
    assert [p.values.get("birth_date") for p in parsed] == [expected] * 3


def test_xlsx_serial_60_is_the_phantom_29_february_1900(tmp_path):
    rows = rows_with([{"出生日期": 60}, {"出生日期": 61}], seed=4)
    _roster, parsed = parse(write_roster_xlsx(tmp_path / "roster.xlsx", rows))

    assert "29 February 1900" in errors_of(parsed[0])["birth_date"]
    assert "birth_date" not in parsed[0].values
    assert parsed[1].values["birth_date"] == date(1900, 3, 1)  # Excel's 61: the day after the phantom


def test_xlsx_date_formatted_serial_60_is_refused_too(tmp_path):
    xml = sheet_rows_xml([("学号", "姓名", "出生日期"), ("2019010001", "张三", 60)])
    xml = xml.replace('<c r="C2"><v>60</v></c>', '<c r="C2" s="1"><v>60</v></c>')
    path = write_xlsx_fast(tmp_path / "roster.xlsx", [{"学号": "1", "姓名": "x", "出生日期": date(2000, 1, 1)}])
    # Same package, sheet replaced: keeps the date style at index 1.
    from tests.imports.filemakers import _rewrite_part

    _rewrite_part(
        path,
        "xl/worksheets/sheet1.xml",
        lambda data: data.split(b"<sheetData>")[0] + b"<sheetData>" + xml.encode() + b"</sheetData></worksheet>",
    )
    _roster, parsed = parse(path)

    assert "29 February 1900" in errors_of(parsed[0])["birth_date"]


def test_xlsx_1904_epoch_date_cells_and_serials(tmp_path):
    born = date(1998, 7, 27)
    serial_1904 = (born - date(1904, 1, 1)).days
    rows = rows_with([{"出生日期": born}, {"出生日期": serial_1904}], seed=5)
    path = write_roster_xlsx(tmp_path / "mac.xlsx", rows, epoch_1904=True)

    _roster, parsed = parse(path)

    assert from_excel(serial_1904, CALENDAR_MAC_1904).date() == born
    assert [p.values["birth_date"] for p in parsed] == [born, born]


def test_xlsx_1904_epoch_in_an_excel_style_package(tmp_path):
    born = date(1985, 12, 1)
    _roster, parsed = parse(write_xlsx_fast(tmp_path / "mac.xlsx", rows_with([{"出生日期": born}]), epoch_1904=True))

    assert parsed[0].values["birth_date"] == born


def test_xlsx_dates_as_datetime_cells_and_text(tmp_path):
    rows = rows_with([{"出生日期": to_datetime(date(2001, 9, 1))}, {"出生日期": "2001年9月1日"}], seed=6)
    _roster, parsed = parse(write_roster_xlsx(tmp_path / "roster.xlsx", rows))

    assert [p.values["birth_date"] for p in parsed] == [date(2001, 9, 1)] * 2


def test_xlsx_numeric_student_id_cell_keeps_its_digits(tmp_path):
    rows = rows_with([{"学号": 2019010001}, {"学号": 201901000200.0}, {"学号": 123456789012345}], seed=7)
    _roster, parsed = parse(write_roster_xlsx(tmp_path / "roster.xlsx", rows))

    assert [p.values["student_id"] for p in parsed] == ["2019010001", "201901000200", "123456789012345"]


@pytest.mark.parametrize("value", [1.10101199001011e17, 110101199001011234, 2019010001.5])
def test_xlsx_numeric_student_id_too_long_or_fractional_is_refused(tmp_path, value):
    _roster, parsed = parse(write_roster_xlsx(tmp_path / "roster.xlsx", rows_with([{"学号": value}])))

    message = errors_of(parsed[0])["student_id"]
    assert "as text" in message
    assert "student_id" not in parsed[0].values


def test_xlsx_18_digit_id_number_stored_as_number_is_refused(tmp_path):
    headers = [*ROSTER_HEADERS, "身份证号"]
    number = valid_id_number("11010519491231002")
    rows = rows_with([{"身份证号": float(number[:17] + "0")}, {"身份证号": number}], seed=8)
    for row in rows:
        row["出生日期"] = date(1949, 12, 31)
    _roster, parsed = parse(write_roster_xlsx(tmp_path / "roster.xlsx", rows, headers, text_columns=["学号"]))

    message = errors_of(parsed[0])["id_number"]
    assert "format the column as text" in message
    assert number[:17] not in message  # never the whole number in a message
    assert parsed[1].values["id_number"] == number


def test_xlsx_formula_without_cached_value_is_a_row_error(tmp_path):
    rows = rows_with([{"工作单位": '="华为"&"技术"'}, {}], seed=9)
    _roster, parsed = parse(write_roster_xlsx(tmp_path / "roster.xlsx", rows))

    assert "formula" in errors_of(parsed[0])["organisation"]
    assert parsed[1].errors == []


def test_xlsx_formula_with_cached_value_uses_the_value(tmp_path):
    rows = rows_with([{"工作单位": '="华为"&"技术"', "入学年份": "=2015", "毕业年份": "=2015+4"}], seed=10)
    path = write_roster_xlsx(tmp_path / "roster.xlsx", rows)
    set_cached_formula_values(path, {"M2": "华为技术", "I2": 2015, "J2": 2019})

    _roster, parsed = parse(path)

    assert parsed[0].errors == []
    assert parsed[0].values["organisation"] == "华为技术"
    assert (parsed[0].values["enrollment_year"], parsed[0].values["graduation_year"]) == (2015, 2019)


def test_xlsx_formula_with_cached_empty_string_is_blank(tmp_path):
    path = write_minimal_xlsx(
        tmp_path / "roster.xlsx", [("学号", "姓名", "职务"), ("2019010001", "张三", ('=IF(1,"","x")', ""))]
    )
    _roster, parsed = parse(path)

    assert parsed[0].errors == []
    assert "title" not in parsed[0].values


def test_xlsx_excel_error_cells_are_row_errors(tmp_path):
    xml = sheet_rows_xml([("学号", "姓名", "所在城市"), ("2019010001", "张三", "x")])
    xml = xml.replace('<c r="C2" t="inlineStr"><is><t>x</t></is></c>', '<c r="C2" t="e"><v>#N/A</v></c>')
    _roster, parsed = parse(write_minimal_xlsx(tmp_path / "roster.xlsx", sheet_xml=xml))

    assert "#N/A" in errors_of(parsed[0])["city"]
    assert parsed[0].raw["所在城市"] == "#N/A"


def test_xlsx_hidden_first_sheet_is_skipped(tmp_path):
    rows = sample_rows(2, seed=11, native=True)
    hidden = [("学号", "姓名"), ("9999999999", "不该导入")]
    roster, parsed = parse(write_roster_xlsx(tmp_path / "roster.xlsx", rows, hidden_sheet=hidden))

    assert roster.sheet_name == "名单"
    assert [p.values["student_id"] for p in parsed] == [r["学号"] for r in rows]


def test_xlsx_instructions_sheet_before_the_roster_is_skipped(tmp_path):
    rows = sample_rows(2, seed=12, native=True)
    path = write_roster_xlsx(tmp_path / "roster.xlsx", [], headers=["填表说明：请勿修改表头"], sheet_title="说明")
    write_roster_xlsx(
        path, [["填表说明：请勿修改表头"]], headers=["说明"], sheet_title="说明", extra_sheets={"名单": []}
    )
    from openpyxl import load_workbook

    workbook = load_workbook(path)
    sheet = workbook["名单"]
    sheet.append(list(ROSTER_HEADERS))
    for row in rows:
        sheet.append(list(row.values()))
    workbook.save(path)

    roster, parsed = parse(path)

    assert roster.sheet_name == "名单"
    assert len(parsed) == 2


def test_xlsx_hidden_rows_are_still_data(tmp_path):
    rows = sample_rows(4, seed=13, native=True)
    _roster, parsed = parse(write_roster_xlsx(tmp_path / "roster.xlsx", rows, hidden_rows=[3, 4]))

    assert [p.row for p in parsed] == [2, 3, 4, 5]


def test_xlsx_merged_title_row_and_row_numbers(tmp_path):
    rows = sample_rows(3, seed=14, native=True)
    roster, parsed = parse(write_roster_xlsx(tmp_path / "roster.xlsx", rows, title="2019届毕业生名单"))

    assert (roster.header_row, roster.data_start_row) == (2, 3)
    assert [p.row for p in parsed] == [3, 4, 5]
    assert roster.row_count_estimate == 3


def test_xlsx_vertically_merged_college_cells_fill_down(tmp_path):
    rows = sample_rows(4, seed=15, native=True)
    for row in rows[1:3]:
        row["学院"] = None
    _roster, parsed = parse(write_roster_xlsx(tmp_path / "roster.xlsx", rows, merges=["E2:E4"]))

    assert [p.values.get("college") for p in parsed] == [rows[0]["学院"]] * 3 + [rows[3]["学院"]]


def test_xlsx_two_level_header(tmp_path):
    headers = ["学号", "姓名", "联系方式", ""]
    sub_headers = ["", "", "手机", "邮箱"]
    rows = [["2019010001", "张三", "13800138000", "zs@163.com"]]
    path = write_roster_xlsx(
        tmp_path / "roster.xlsx", rows, headers, sub_headers=sub_headers, merges=["A1:A2", "B1:B2", "C1:D1"]
    )
    roster, parsed = parse(path)

    assert roster.headers == ["学号", "姓名", "手机", "邮箱"]
    assert roster.data_start_row == 3
    assert parsed[0].row == 3
    assert parsed[0].values["mobile"] == "13800138000"
    assert parsed[0].values["email"] == "zs@163.com"


def test_xlsx_full_width_digits_and_numbers_typed_as_numbers(tmp_path):
    rows = rows_with(
        [{"手机": 13800138000, "入学年份": 2015.0, "毕业年份": "２０１９", "性别": 2, "学号": "２０１５０１０００１"}],
        seed=16,
    )
    _roster, parsed = parse(write_roster_xlsx(tmp_path / "roster.xlsx", rows))

    values = parsed[0].values
    assert parsed[0].errors == []
    assert values["mobile"] == "13800138000"
    assert (values["enrollment_year"], values["graduation_year"]) == (2015, 2019)
    assert values["gender"] == "F"
    assert values["student_id"] == "2015010001"


def test_xlsx_stored_under_a_generated_name(tmp_path):
    path = write_roster_xlsx(tmp_path / "3f2a9c-upload", sample_rows(2, seed=17, native=True))
    roster, parsed = parse(path, original_name="名单.xlsx")

    assert roster.kind == "xlsx"
    assert len(parsed) == 2


def test_xlsx_minimal_package_without_styles(tmp_path):
    path = write_minimal_xlsx(tmp_path / "roster.xlsx", [("Student ID", "Name"), ("a2019x", "Zhang San")])
    _roster, parsed = parse(path)

    assert parsed[0].values == {"student_id": "A2019X", "name": "Zhang San"}
