"""Reading the list to check: pasted rows, or an uploaded CSV or XLSX file."""

import csv
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from apps.core.names import clean_text

MAX_ROWS = 5000
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_UNZIPPED_BYTES = 100 * 1024 * 1024

_HEADERS = {
    "name": {"姓名", "名字", "校友姓名", "name", "fullname"},
    "student_id": {"学号", "学籍号", "studentid", "studentno", "studentnumber", "id"},
    "graduation_year": {
        "毕业年份",
        "毕业年",
        "毕业年度",
        "毕业时间",
        "届",
        "届别",
        "毕业届别",
        "graduationyear",
        "year",
    },
    "college": {"学院", "院系", "所在学院", "毕业学院", "college", "school", "faculty", "department"},
}
_YEAR = re.compile(r"^(\d{4})(?:\.0+)?\s*(?:年|届)?(?:毕业)?$")
_STUDENT_ID = re.compile(r"^[A-Za-z]{0,4}\d[0-9A-Za-z-]{3,31}$")


@dataclass
class InputRow:
    row: int  # as staff see it: the line of the paste, or the spreadsheet row (header = 1)
    name: str = ""
    student_id: str = ""
    graduation_year: int | None = None
    college: str = ""
    year_text: str = ""  # what the year cell held when it was not a year


def _header_field(cell: object) -> str | None:
    key = re.sub(r"[\s_\-./()（）]", "", clean_text(_cell_text(cell)).lower())
    return next((field for field, names in _HEADERS.items() if key in names), None)


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    return clean_text(str(value))


def _parse_year(value: object) -> int | None:
    if isinstance(value, datetime | date):
        return value.year
    match = _YEAR.match(_cell_text(value))
    year = int(match.group(1)) if match else None
    return year if year is not None and 1895 <= year <= 2100 else None


def _guess_row(number: int, cells: list[object]) -> InputRow:
    """A row without a header: a 4-digit year, a student ID, then the name and the college in order."""
    row = InputRow(row=number)
    for cell in cells:
        text = _cell_text(cell)
        if not text:
            continue
        if row.graduation_year is None and _parse_year(cell) is not None:
            row.graduation_year = _parse_year(cell)
        elif not row.student_id and _STUDENT_ID.match(text) and sum(ch.isdigit() for ch in text) >= 5:
            row.student_id = text
        elif not row.name:
            row.name = text
        elif not row.college:
            row.college = text
    return row


def _mapped_row(number: int, cells: list[object], columns: dict[str, int]) -> InputRow:
    def cell(field: str) -> object:
        index = columns.get(field)
        return cells[index] if index is not None and index < len(cells) else None

    row = InputRow(
        row=number,
        name=_cell_text(cell("name")),
        student_id=_cell_text(cell("student_id")),
        college=_cell_text(cell("college")),
    )
    year_cell = cell("graduation_year")
    row.graduation_year = _parse_year(year_cell)
    if row.graduation_year is None and _cell_text(year_cell):
        row.year_text = _cell_text(year_cell)
    return row


def rows_from_cells(numbered: list[tuple[int, list[object]]]) -> list[InputRow]:
    """Input rows from (row number, cells); the first row is a header when it names our columns."""
    numbered = [(n, cells) for n, cells in numbered if any(_cell_text(c) for c in cells)]
    if not numbered:
        return []
    first = numbered[0][1]
    columns: dict[str, int] = {}
    for index, cell in enumerate(first):
        field = _header_field(cell)
        if field and field not in columns:
            columns[field] = index
    if not columns:
        rows = [_guess_row(n, cells) for n, cells in numbered]
    else:
        if "name" not in columns:
            raise ValidationError(_("The header row has no name column (姓名 or name)."), code="no_name_column")
        rows = [_mapped_row(n, cells, columns) for n, cells in numbered[1:]]
    if len(rows) > MAX_ROWS:
        raise ValidationError(
            _("A check takes at most %(max)s rows; this list has more. Split it into several checks.")
            % {"max": f"{MAX_ROWS:,}"},
            code="too_many_rows",
        )
    return rows


def _split_line(line: str) -> list[str]:
    line = unicodedata.normalize("NFKC", line)  # full-width commas, digits and spaces
    if "\t" in line:
        return line.split("\t")
    if "," in line or ";" in line:
        return re.split(r"[,;]", line)
    cells: list[str] = []
    for token in line.split():
        # "John Smith 2011001234": adjacent Latin words are one name.
        if (
            cells
            and token.isascii()
            and token.isalpha()
            and cells[-1].replace(" ", "").isalpha()
            and cells[-1].isascii()
        ):
            cells[-1] += " " + token
        else:
            cells.append(token)
    return cells


def parse_pasted(text: str) -> list[InputRow]:
    """Rows pasted from Excel or typed: tab, comma or space separated; numbered by line."""
    lines = text.splitlines()
    if len(lines) > MAX_ROWS * 2:
        raise ValidationError(_("The pasted list is too long."), code="too_many_rows")
    return rows_from_cells([(number, _split_line(line)) for number, line in enumerate(lines, start=1)])


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationError(_("The CSV file is neither UTF-8 nor GBK text."), code="bad_encoding")


def _csv_cells(data: bytes) -> list[tuple[int, list[object]]]:
    text = _decode(data)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    numbered = []
    for number, cells in enumerate(csv.reader(io.StringIO(text), dialect), start=1):
        numbered.append((number, cells))
        if number > MAX_ROWS + 1:
            break
    return numbered


def _xlsx_cells(data: bytes) -> list[tuple[int, list[object]]]:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNZIPPED_BYTES:
                raise ValidationError(_("The XLSX file unpacks to too much data."), code="too_large")
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ValidationError(_("The file is not a readable XLSX workbook."), code="bad_xlsx") from exc
    try:
        numbered = []
        for number, cells in enumerate(workbook.worksheets[0].iter_rows(values_only=True), start=1):
            numbered.append((number, list(cells)))
            if number > MAX_ROWS + 1:
                break
        return numbered
    finally:
        workbook.close()


def parse_upload(name: str, data: bytes) -> list[InputRow]:
    """Rows of an uploaded CSV or XLSX file, numbered as in the spreadsheet (header = row 1)."""
    if len(data) > MAX_FILE_BYTES:
        raise ValidationError(
            _("The file is larger than %(size)s MB.") % {"size": MAX_FILE_BYTES // (1024 * 1024)}, code="too_large"
        )
    lowered = name.lower()
    if lowered.endswith(".xlsx"):
        return rows_from_cells(_xlsx_cells(data))
    if lowered.endswith((".csv", ".txt")):
        return rows_from_cells(_csv_cells(data))
    raise ValidationError(_("Upload a .csv or .xlsx file."), code="bad_type")
