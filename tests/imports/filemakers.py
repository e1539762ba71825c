"""Real roster files on disk, messy the way staff files are, for the import tests.

Every function writes a file at ``path`` (a ``pathlib.Path``, usually under ``tmp_path``) and returns
the path. Rows are dicts keyed by header (or lists in header order). Nothing here touches the
database. ``sample_rows`` makes realistic Chinese roster rows with unique student IDs.
"""

from __future__ import annotations

import csv
import io
import re
import struct
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from random import Random
from xml.sax.saxutils import escape

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import CALENDAR_MAC_1904

ROSTER_HEADERS = (
    "学号", "姓名", "性别", "出生日期", "学院", "专业", "班级", "学历",
    "入学年份", "毕业年份", "手机", "邮箱", "工作单位", "职务", "所在城市", "籍贯",
)  # fmt: skip
# The canonical field each ROSTER_HEADERS column maps to, in the same order.
ROSTER_FIELDS = (
    "student_id", "name", "gender", "birth_date", "college", "major", "school_class", "degree_level",
    "enrollment_year", "graduation_year", "mobile", "email", "organisation", "title", "city", "hometown",
)  # fmt: skip

DEFAULT_COLLEGES = ("计算机学院", "机械工程学院")
_MAJORS = {
    "计算机学院": (("计算机科学与技术", "计算机"), ("软件工程", "软件"), ("人工智能", "智能")),
    "机械工程学院": (("机械设计制造及其自动化", "机械"), ("车辆工程", "车辆"), ("工业设计", "工设")),
    "材料学院": (("材料科学与工程", "材料"), ("高分子材料与工程", "高分子")),
    "电子信息工程学院": (("电子信息工程", "电子"), ("通信工程", "通信")),
}
_GENERIC_MAJORS = (("工程力学", "力学"), ("应用数学", "数学"), ("英语", "英语"))
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
_COMPOUND = ("欧阳", "司马", "上官", "诸葛")
_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉梅文斌宇浩然子涵欣怡晨阳思远雨桐博文嘉怡"
_EMPLOYERS = (
    "中国航天科技集团", "华为技术有限公司", "国家电网有限公司", "中国科学院计算技术研究所", "腾讯科技（深圳）有限公司",
    "中国商用飞机有限责任公司", "北京大学", "中国移动通信集团", "阿里巴巴集团", "比亚迪股份有限公司",
)  # fmt: skip
_TITLES = ("工程师", "高级工程师", "研究员", "副教授", "项目经理", "总经理", "部门主管", "技术总监", "")
_CITIES = ("北京", "上海", "深圳", "西安", "成都", "武汉", "杭州", "南京", "广州", "沈阳")
_HOMETOWNS = ("河北石家庄", "山东济南", "河南郑州", "湖南长沙", "四川成都", "浙江温州", "江苏苏州", "陕西西安")
_DEGREES = (("本科", 4, 70), ("硕士", 3, 20), ("博士", 4, 5), ("专科", 3, 5))
_MAIL_DOMAINS = ("163.com", "qq.com", "126.com", "alumni.example.edu.cn", "gmail.com")


def sample_rows(
    n: int, seed: int = 0, *, colleges: Sequence[str] | None = None, native: bool = False
) -> list[dict[str, object]]:
    """``n`` realistic roster rows keyed by ROSTER_HEADERS, student IDs unique within the sample.

    Values are text, as in a CSV; with ``native=True`` the birth date is a ``date`` and the years are
    ``int`` (as typed into Excel), student IDs and phones stay text.
    """
    rng = Random(seed)
    colleges = tuple(colleges or DEFAULT_COLLEGES)
    degree_weights = [weight for _name, _years, weight in _DEGREES]
    rows = []
    for index in range(n):
        college_no = index % len(colleges)
        college = colleges[college_no]
        degree, years, _weight = rng.choices(_DEGREES, weights=degree_weights)[0]
        enrolled = rng.randint(1985, 2020)
        major, short = rng.choice(_MAJORS.get(college, _GENERIC_MAJORS))
        surname = rng.choice(_COMPOUND) if rng.random() < 0.02 else rng.choice(_SURNAMES)
        given = "".join(rng.choices(_GIVEN, k=rng.choice((1, 2, 2))))
        birth = date(enrolled - rng.randint(17, 19), rng.randint(1, 12), rng.randint(1, 28))
        local = "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(3, 8)))
        row: dict[str, object] = {
            "学号": f"{enrolled}{college_no + 1:02d}{index:06d}",
            "姓名": surname + given,
            "性别": rng.choice(("男", "女")),
            "出生日期": birth if native else birth.isoformat(),
            "学院": college,
            "专业": major,
            "班级": f"{short}{enrolled}级{rng.randint(1, 4)}班",
            "学历": degree,
            "入学年份": enrolled if native else str(enrolled),
            "毕业年份": enrolled + years if native else str(enrolled + years),
            "手机": f"1{rng.choice('35789')}{rng.randrange(10**9):09d}",
            "邮箱": f"{local}{rng.randint(1, 9999)}@{rng.choice(_MAIL_DOMAINS)}",
            "工作单位": rng.choice(_EMPLOYERS),
            "职务": rng.choice(_TITLES),
            "所在城市": rng.choice(_CITIES),
            "籍贯": rng.choice(_HOMETOWNS),
        }
        rows.append(row)
    return rows


def _as_lists(rows: Iterable[object], headers: Sequence[str]) -> Iterable[list]:
    for row in rows:
        if isinstance(row, dict):
            yield [row.get(header, "") for header in headers]
        else:
            yield list(row)


def _headers_of(rows: Sequence[object], headers: Sequence[str] | None) -> list[str]:
    if headers is not None:
        return list(headers)
    if rows and isinstance(rows[0], dict):
        return list(rows[0])
    return list(ROSTER_HEADERS)


# --- CSV --------------------------------------------------------------------------------------


def write_roster_csv(
    path: Path,
    rows: Sequence[object],
    *,
    headers: Sequence[str] | None = None,
    encoding: str = "utf-8-sig",
    delimiter: str = ",",
    title: str | None = None,
    line_terminator: str = "\r\n",
    errors: str = "strict",
) -> Path:
    """A CSV as Excel writes it: 'utf-8-sig' (CSV UTF-8), 'gb18030'/'gbk' (CSV on Chinese Windows),
    'utf-16' with tabs ("Unicode text"), or plain 'utf-8'. ``title`` puts a one-cell title line above
    the header. Written in chunks, so large files do not sit in memory."""
    headers = _headers_of(rows, headers)
    with path.open("w", encoding=encoding, errors=errors, newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter, lineterminator=line_terminator)
        if title is not None:
            writer.writerow([title] + [""] * (len(headers) - 1))
        writer.writerow(headers)
        for values in _as_lists(rows, headers):
            writer.writerow(["" if v is None else v.isoformat() if isinstance(v, date) else v for v in values])
    return path


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def csv_bytes(rows: Sequence[object], *, headers: Sequence[str] | None = None, delimiter: str = ",") -> str:
    """The text of a CSV (for building deliberately broken files by hand)."""
    headers = _headers_of(rows, headers)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows(_as_lists(rows, headers))
    return buffer.getvalue()


# --- XLSX -------------------------------------------------------------------------------------


def write_roster_xlsx(
    path: Path,
    rows: Sequence[object],
    headers: Sequence[str] | None = None,
    *,
    sheet_title: str = "名单",
    title: str | None = None,
    hidden_sheet: Sequence[Sequence[object]] | None = None,
    extra_sheets: dict[str, Sequence[Sequence[object]]] | None = None,
    epoch_1904: bool = False,
    hidden_rows: Iterable[int] = (),
    merges: Iterable[str] = (),
    number_formats: dict[str, str] | None = None,
    text_columns: Iterable[str] = (),
    sub_headers: Sequence[str] | None = None,
    fast: bool | None = None,
) -> Path:
    """An .xlsx roster written by openpyxl. Values keep their Python type (str, int, float, date);
    a string starting with '=' becomes a formula with no cached value, as openpyxl writes it.

    title: a title row above the header, merged across all columns ("2019届毕业生名单").
    sub_headers: a second header row under the header (e.g. '' under 学号, '手机' under 联系方式).
    hidden_sheet: rows of a hidden worksheet placed before the roster sheet.
    extra_sheets: further visible sheets after the roster sheet, by title.
    epoch_1904: a Mac workbook (dates counted from 1904-01-01).
    hidden_rows: spreadsheet row numbers to hide. merges: ranges such as "E3:E5" to merge.
    number_formats: header -> Excel number format for that column's data cells (e.g. 'yyyy-mm-dd').
    text_columns: headers whose data cells get the text format '@' (how staff protect IDs).
    fast: write the package directly as Excel does (shared strings, a date style) instead of through
    openpyxl, which manages only about 10,000 cells a second; the default for more than 2,000 rows
    when none of the layout options is used.
    """
    headers = _headers_of(rows, headers)
    plain = not (title or hidden_sheet or extra_sheets or hidden_rows or merges or sub_headers or number_formats)
    if fast or (fast is None and plain and not text_columns and len(rows) > 2000):
        return write_xlsx_fast(path, rows, headers, epoch_1904=epoch_1904)
    workbook = Workbook()
    if epoch_1904:
        workbook.epoch = CALENDAR_MAC_1904
    sheet = workbook.active
    if hidden_sheet is not None:
        sheet.title = "说明"
        for values in hidden_sheet:
            sheet.append(list(values))
        sheet.sheet_state = "hidden"
        sheet = workbook.create_sheet(sheet_title)
    else:
        sheet.title = sheet_title

    formats = dict(number_formats or {})
    formats.update(dict.fromkeys(text_columns, "@"))
    format_at = {headers.index(h): fmt for h, fmt in formats.items() if h in headers}

    if title is not None:
        sheet.append([title])
        if len(headers) > 1:
            sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
    sheet.append(list(headers))
    if sub_headers is not None:
        sheet.append(list(sub_headers))
    first_data_row = 2 + (title is not None) + (sub_headers is not None)
    for offset, values in enumerate(_as_lists(rows, headers)):
        sheet.append(values)
        for column, fmt in format_at.items():
            sheet.cell(row=first_data_row + offset, column=column + 1).number_format = fmt
    for row_number in hidden_rows:
        sheet.row_dimensions[row_number].hidden = True
    for cell_range in merges:
        sheet.merge_cells(cell_range)
    for name, sheet_rows in (extra_sheets or {}).items():
        extra = workbook.create_sheet(name)
        for values in sheet_rows:
            extra.append(list(values))
    workbook.save(path)
    return path


def _rewrite_part(path: Path, part: str, rewrite) -> None:
    """Rewrite one part of a zip package in place (for what openpyxl cannot write)."""
    with zipfile.ZipFile(path) as source:
        items = [(info, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in items:
            target.writestr(info, rewrite(data) if info.filename == part else data)


def set_cached_formula_values(path: Path, values: dict[str, object], *, part: str = "xl/worksheets/sheet1.xml") -> Path:
    """Give formula cells (by reference, e.g. 'C2') a cached result, as Excel does on save."""

    def rewrite(xml: bytes) -> bytes:
        text = xml.decode("utf-8")
        for ref, value in values.items():
            type_attr = ' t="str"' if isinstance(value, str) else ""
            pattern = re.compile(rf'<c r="{ref}"([^>]*)>(<f>.*?</f>)<v\s*/>')
            replacement = f'<c r="{ref}"\\1{type_attr}>\\2<v>{escape(str(value))}</v>'
            text, count = pattern.subn(lambda m, r=replacement: m.expand(r), text)
            if count != 1:
                raise ValueError(f"no formula cell {ref} in {part}")
        return text.encode("utf-8")

    _rewrite_part(path, part, rewrite)
    return path


def write_xlsx_fast(
    path: Path, rows: Sequence[object], headers: Sequence[str] | None = None, *, epoch_1904: bool = False
) -> Path:
    """A workbook as Excel writes it (shared strings, dates as serials in a date style, a <dimension>),
    streamed part by part: fast enough for tens of thousands of rows."""
    headers = _headers_of(rows, headers)
    strings: dict[str, int] = {}
    base = date(1904, 1, 1) if epoch_1904 else date(1899, 12, 30)

    def cell(ref: str, value: object) -> str:
        if value is None or value == "":
            return ""
        if isinstance(value, bool):
            return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
        if isinstance(value, int | float):
            return f'<c r="{ref}"><v>{value}</v></c>'
        if isinstance(value, date):
            day = value.date() if isinstance(value, datetime) else value
            return f'<c r="{ref}" s="1"><v>{(day - base).days}</v></c>'
        index = strings.setdefault(str(value), len(strings))
        return f'<c r="{ref}" t="s"><v>{index}</v></c>'

    letters = [get_column_letter(i + 1) for i in range(len(headers))]
    all_rows = [list(headers), *_as_lists(rows, headers)]
    last = f"{letters[-1]}{len(all_rows)}" if letters else "A1"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(
                (
                    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                    f'<dimension ref="A1:{last}"/><sheetData>'
                ).encode()
            )
            for number, values in enumerate(all_rows, 1):
                cells = "".join(cell(f"{letter}{number}", v) for letter, v in zip(letters, values, strict=False))
                sheet.write(f'<row r="{number}">{cells}</row>'.encode())
            sheet.write(_SHEET_CLOSE.encode())
        shared = "".join(f'<si><t xml:space="preserve">{escape(text)}</t></si>' for text in strings)
        archive.writestr(
            "xl/sharedStrings.xml",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            f'count="{len(strings)}" uniqueCount="{len(strings)}">{shared}</sst>',
        )
        archive.writestr("xl/styles.xml", _STYLES)
        extra = (
            '<Override PartName="/xl/sharedStrings.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
            '<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        )
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES.format(main=XLSX_MAIN, extra=extra))
        archive.writestr("_rels/.rels", _ROOT_RELS)
        workbook_pr = '<workbookPr date1904="1"/>' if epoch_1904 else ""
        archive.writestr("xl/workbook.xml", _WORKBOOK.format(workbook_pr=workbook_pr))
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS_WITH_STYLES)
    return path


# --- hand-made packages -----------------------------------------------------------------------

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="{main}"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "{extra}</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '{workbook_pr}<sheets><sheet name="名单" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/></Relationships>'
)
_SHEET_OPEN = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>{prolog}'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
_SHEET_CLOSE = "</sheetData></worksheet>"
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<fonts count="1"><font><sz val="11"/><name val="等线"/></font></fonts>'
    '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
    '<borders count="1"><border/></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
_WORKBOOK_RELS_WITH_STYLES = _WORKBOOK_RELS.replace(
    "</Relationships>",
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
    'Target="styles.xml"/>'
    '<Relationship Id="rId3" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
    'Target="sharedStrings.xml"/></Relationships>',
)
XLSX_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
XLSM_MAIN = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"


def sheet_rows_xml(rows: Sequence[Sequence[object]]) -> str:
    """<row> elements for a hand-made sheet: strings inline, numbers as numbers, an
    ('=formula', cached) tuple as a formula cell with its cached value."""
    parts = []
    for row_number, values in enumerate(rows, 1):
        cells = []
        for column, value in enumerate(values, 1):
            ref = f"{get_column_letter(column)}{row_number}"
            if value is None or value == "":
                continue
            if isinstance(value, tuple):
                formula, cached = value
                type_attr = ' t="str"' if isinstance(cached, str) else ""
                cached_xml = "<v/>" if cached is None else f"<v>{escape(str(cached))}</v>"
                cells.append(f'<c r="{ref}"{type_attr}><f>{escape(formula.lstrip("="))}</f>{cached_xml}</c>')
            elif isinstance(value, int | float):
                cells.append(f'<c r="{ref}"><v>{value}</v></c>')
            else:
                cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{escape(str(value))}</t></is></c>')
        parts.append(f'<row r="{row_number}">{"".join(cells)}</row>')
    return "".join(parts)


def write_minimal_xlsx(
    path: Path,
    rows: Sequence[Sequence[object]] = (),
    *,
    sheet_xml: str | None = None,
    prolog: str = "",
    workbook_pr: str = "",
    main_content_type: str = XLSX_MAIN,
    extra_parts: dict[str, bytes] | None = None,
) -> Path:
    """A smallest valid workbook package, built part by part (no styles, inline strings), for
    cells openpyxl cannot write (cached formula results) and for hostile variants (a DTD in the sheet
    prolog, a macro content type, extra parts)."""
    body = sheet_xml if sheet_xml is not None else sheet_rows_xml(rows)
    extra_types = ""
    if extra_parts and "xl/vbaProject.bin" in extra_parts:
        extra_types = '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>'
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES.format(main=main_content_type, extra=extra_types))
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK.format(workbook_pr=workbook_pr))
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        archive.writestr("xl/worksheets/sheet1.xml", _SHEET_OPEN.format(prolog=prolog) + body + _SHEET_CLOSE)
        for name, data in (extra_parts or {}).items():
            archive.writestr(name, data)
    return path


def write_xlsm(path: Path, rows: Sequence[Sequence[object]] = (("学号", "姓名"), ("2019010001", "张三"))) -> Path:
    """A macro-enabled workbook: macro content type and a vbaProject.bin part."""
    return write_minimal_xlsx(
        path, rows, main_content_type=XLSM_MAIN, extra_parts={"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0" + bytes(512)}
    )


def write_billion_laughs_xlsx(path: Path) -> Path:
    """A workbook whose sheet declares nested entities (the 'billion laughs' XML bomb)."""
    entities = ['<!ENTITY lol "lol">']
    entities += [f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)]
    prolog = "<!DOCTYPE worksheet [" + "".join(entities) + "]>"
    rows_xml = '<row r="1"><c r="A1" t="inlineStr"><is><t>学号</t></is></c></row>'
    rows_xml += '<row r="2"><c r="A2" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
    return write_minimal_xlsx(path, sheet_xml=rows_xml, prolog=prolog)


def write_zip_bomb(
    path: Path,
    *,
    uncompressed_mb: int = 300,
    forge_declared_size: int | None = None,
    part: str = "xl/worksheets/sheet1.xml",
    compresslevel: int = 1,
) -> Path:
    """A workbook package whose sheet part is ``uncompressed_mb`` of '0' characters: at the default
    level 1 about 220:1 (300 MB in 1.4 MB, like the 1.07 MB -> 315 MB bomb of the security notes),
    at level 9 about 1,000:1. ``forge_declared_size`` rewrites the size recorded in the central
    directory, as a crafted bomb does to slip past size checks."""
    block = b"0" * (1024 * 1024)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES.format(main=XLSX_MAIN, extra=""))
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK.format(workbook_pr=""))
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        with archive.open(part, "w") as handle:
            handle.write(_SHEET_OPEN.format(prolog="").encode())
            for _ in range(uncompressed_mb):
                handle.write(block)
    if forge_declared_size is not None:
        forge_declared_size(path, forge_declared_size, part=part)
    return path


def forge_declared_size(path: Path, size: int, *, part: str = "xl/worksheets/sheet1.xml") -> Path:
    """Rewrite the uncompressed size the central directory records for ``part`` (in place)."""
    data = bytearray(path.read_bytes())
    end = data.rfind(b"PK\x05\x06")
    cd_size, cd_offset = struct.unpack("<LL", data[end + 12 : end + 20])
    position = cd_offset
    while position < cd_offset + cd_size:
        name_length, extra_length, comment_length = struct.unpack("<HHH", data[position + 28 : position + 34])
        name = data[position + 46 : position + 46 + name_length].decode()
        if name == part:
            data[position + 24 : position + 28] = struct.pack("<L", size)
            path.write_bytes(bytes(data))
            return path
        position += 46 + name_length + extra_length + comment_length
    raise ValueError(f"{part} not in {path}")


def write_many_entries_zip(path: Path, entries: int = 1001) -> Path:
    """A workbook package padded with ``entries`` tiny parts (real workbooks have a few dozen)."""
    write_minimal_xlsx(path, (("学号", "姓名"), ("2019010001", "张三")))
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        for index in range(entries):
            archive.writestr(f"xl/media/pad{index}.xml", "<a/>")
    return path


# --- things that are not rosters --------------------------------------------------------------

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def write_legacy_xls(path: Path) -> Path:
    """An OLE2 compound file header, as every Excel 97-2003 .xls starts."""
    header = OLE2_MAGIC + bytes(16) + struct.pack("<HHHHH", 0x3E, 0x03, 0xFFFE, 0x09, 0x06) + bytes(6)
    return write_bytes(path, header.ljust(512, b"\x00") + b"Workbook".ljust(4096, b"\x00"))


def write_encrypted_workbook(path: Path) -> Path:
    """What Excel saves for a password-protected .xlsx: an OLE2 file with an EncryptedPackage stream."""
    directory = "EncryptedPackage".encode("utf-16-le") + bytes(64) + "EncryptionInfo".encode("utf-16-le")
    return write_bytes(path, OLE2_MAGIC + bytes(504) + directory.ljust(1024, b"\x00"))


def write_html_as_xls(path: Path, rows: Sequence[object], headers: Sequence[str] | None = None) -> Path:
    """An HTML table saved with an .xls name, as web systems "export to Excel"."""
    headers = _headers_of(rows, headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in values) + "</tr>" for values in _as_lists(rows, headers)
    )
    html = (
        '<html xmlns:o="urn:schemas-microsoft-com:office:office" '
        'xmlns:x="urn:schemas-microsoft-com:office:excel"><head><meta charset="utf-8"></head><body><table>'
        "<tr>" + "".join(f"<th>{escape(h)}</th>" for h in headers) + "</tr>" + body + "</table></body></html>"
    )
    return write_bytes(path, html.encode("utf-8"))


def write_fake_executable(path: Path, size: int = 4096, seed: int = 0) -> Path:
    """A Windows PE header followed by random bytes (a program renamed .xlsx or .csv)."""
    rng = Random(seed)
    stub = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(44) + struct.pack("<L", 0x80)
    return write_bytes(path, stub + bytes(rng.getrandbits(8) for _ in range(size - len(stub))))


def write_random_binary(path: Path, size: int = 4096, seed: int = 0) -> Path:
    rng = Random(seed)
    return write_bytes(path, bytes(rng.getrandbits(8) for _ in range(size)))


def to_datetime(value: date) -> datetime:
    return datetime(value.year, value.month, value.day)  # noqa: DTZ001 -- Excel cells have no time zone
