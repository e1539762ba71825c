"""Header recognition: Chinese and English column names to canonical fields, and header-row detection.

Matching ignores case, width (NFKC), spaces, underscores, dashes, dots, slashes, trailing asterisks
and colons, and anything in brackets: "学号*", "出生日期(yyyy-mm-dd)", "Student ID", "student_no",
"E-mail", "学历/学位" all match.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

from .fields import CANONICAL_FIELDS, REQUIRED_FIELDS

HEADER_SEARCH_ROWS = 5  # the header must be within the first rows of the sheet

_SYNONYMS: dict[str, tuple[str, ...]] = {
    "student_id": (
        "学号", "学生学号", "学籍号", "学生编号", "学生证号", "学号/工号",
        "Student ID", "Student No", "Student Number", "Stu ID", "Stu No", "SID", "StudentID",
    ),
    "name": ("姓名", "名字", "学生姓名", "校友姓名", "中文名", "中文姓名", "Name", "Full Name", "Student Name"),
    "former_names": ("曾用名", "原名", "Former Name", "Former Names", "Previous Name", "Previous Names"),
    "gender": ("性别", "Gender", "Sex"),
    "birth_date": (
        "出生日期", "出生年月", "出生年月日", "生日", "出生时间",
        "Birth Date", "Date of Birth", "DOB", "Birthday", "Birthdate",
    ),
    "id_number": (
        "身份证号", "身份证号码", "身份证", "公民身份号码", "身份证件号", "证件号码", "证件号",
        "ID Card", "ID Number", "ID Card Number", "ID Card No",
    ),
    "college": (
        "学院", "院系", "院", "系", "所在学院", "所在院系", "学院名称", "院系名称", "培养单位",
        "College", "School", "Faculty", "Department",
    ),
    "major": ("专业", "专业名称", "所学专业", "Major", "Speciality", "Specialty", "Programme", "Program"),
    "school_class": ("班级", "班级名称", "所在班级", "行政班", "Class", "Class Name"),
    "degree_level": (
        "学历", "学位", "学历/学位", "学历学位", "学历层次", "培养层次", "学生类别", "层次",
        "Degree", "Degree Level", "Education", "Education Level", "Level",
    ),
    "enrollment_year": (
        "入学年份", "入学时间", "入学年度", "入学日期", "入学年月", "入校时间", "年级",
        "Enrollment Year", "Enrolment Year", "Entry Year", "Year of Entry", "Intake",
    ),
    "graduation_year": (
        "毕业年份", "毕业时间", "毕业年度", "毕业日期", "毕业年月", "届别", "毕业届别", "届",
        "Graduation Year", "Grad Year", "Class of", "Year of Graduation",
    ),
    "status": ("学籍状态", "状态", "毕业状态", "在读状态", "毕结业", "Status", "Student Status"),
    "mobile": (
        "手机", "手机号", "手机号码", "移动电话", "本人手机", "联系手机", "Mobile", "Mobile Phone", "Cell Phone",
    ),
    "landline": ("固定电话", "座机", "办公电话", "家庭电话", "单位电话", "Landline", "Office Phone", "Home Phone"),
    "email": ("邮箱", "电子邮箱", "电子邮件", "邮件", "邮箱地址", "Email", "E-mail", "Mail", "Email Address"),
    "wechat": ("微信", "微信号", "WeChat", "WeChat ID", "Weixin"),
    "address": (
        "通讯地址", "地址", "联系地址", "家庭地址", "家庭住址", "邮寄地址", "现住址",
        "Address", "Mailing Address", "Postal Address",
    ),
    "organisation": (
        "工作单位", "单位", "单位名称", "现工作单位", "就业单位", "任职单位", "公司",
        "Organisation", "Organization", "Employer", "Company", "Workplace",
    ),
    "title": ("职务", "职称", "职位", "岗位", "现任职务", "Title", "Job Title", "Position"),
    "city": ("所在城市", "现居城市", "城市", "工作城市", "常住城市", "所在地", "City", "Current City"),
    "province": ("所在省份", "省份", "现居省份", "所在省", "Province"),
    "country": ("所在国家/地区", "所在国家", "国家", "国家/地区", "国家或地区", "Country", "Country/Region"),
    "hometown": ("籍贯", "生源地", "家乡", "出生地", "Hometown", "Native Place", "Birthplace"),
    # "notes" is deliberately not recognised: remarks are ignored unless staff map the column.
}  # fmt: skip

# Headers that mean "a phone number" without saying which kind: the mobile column unless the file
# also has a column that says mobile, then the landline column.
_GENERIC_PHONE = ("电话", "联系电话", "联系方式", "电话号码", "联系号码", "Phone", "Tel", "Telephone", "Contact Number")
# Columns that carry nothing to import and need no mapping step.
_IGNORED = ("序号", "行号", "No", "#")

_BRACKETED = re.compile(r"\(.*?\)|\[.*?\]|【.*?】|<.*?>|〈.*?〉|《.*?》|\{.*?\}")
_NOISE = re.compile(r"[\s_\-./\\·•'’:：*※#()\[\]【】]+")
_INVISIBLE = dict.fromkeys(map(ord, "\x00\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)


def header_key(text: str) -> str:
    """The comparison form of a header: 'Student_No.*' -> 'studentno', '出生日期（yyyy-mm-dd）' -> '出生日期'."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    key = _NOISE.sub("", _BRACKETED.sub("", folded))
    return key or _NOISE.sub("", folded)


def _build(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    keys: dict[str, str] = {}
    for field_name, variants in table.items():
        for variant in variants:
            keys.setdefault(header_key(variant), field_name)
    return keys


_KEY_TO_FIELD = _build(_SYNONYMS)
_GENERIC_PHONE_KEYS = frozenset(header_key(h) for h in _GENERIC_PHONE)
_IGNORED_KEYS = frozenset(header_key(h) for h in _IGNORED) | {""}


def recognise_header(text: str) -> str | None:
    """The canonical field a header names by itself, or None ('电话' gives 'mobile')."""
    key = header_key(text)
    if key in _GENERIC_PHONE_KEYS:
        return "mobile"
    return _KEY_TO_FIELD.get(key)


def header_text(value: object) -> str:
    """The header as staff see it, on one line: 'Student ID*', '出生日期 (yyyy-mm-dd)'."""
    if value is None:
        return ""
    if value.__class__ is float and value.is_integer():
        value = int(value)
    elif isinstance(value, datetime):
        value = value.date() if value.time() == datetime.min.time() else value
    if isinstance(value, date | datetime):
        value = value.isoformat()
    return " ".join(str(value).translate(_INVISIBLE).split())


def unique_headers(cells: list[str]) -> list[str]:
    """Repeated header texts get ' (2)', ' (3)' ... so each column has its own key; empty stays empty."""
    seen: dict[str, int] = {}
    result = []
    for text in cells:
        if text:
            seen[text] = seen.get(text, 0) + 1
            if seen[text] > 1:
                text = f"{text} ({seen[text]})"
        result.append(text)
    return result


@dataclass
class Recognition:
    mapping: dict[str, str]  # header -> canonical field
    columns: dict[str, int]  # canonical field -> column index
    unknown: list[str]
    missing: list[str]


def recognise(headers: list[str], given: dict[str, str] | None = None) -> Recognition:
    """Map header texts to canonical fields; ``given`` (header -> field, or '' to ignore) wins.

    The first column naming a field gets it; later columns naming the same field are reported as
    unknown so the mapping step can place them. Raises ValueError for a given mapping that names an
    unknown field or maps two columns to one field (a programming error in the caller, not bad input).
    """
    given = given or {}
    columns: dict[str, int] = {}
    mapping: dict[str, str] = {}
    taken_by_given: set[str] = set()
    for header, target in given.items():
        if target and target not in CANONICAL_FIELDS:
            raise ValueError(f"unknown canonical field {target!r} for column {header!r}")
        if target and header in headers:
            if target in taken_by_given:
                raise ValueError(f"two columns are mapped to {target!r}")
            taken_by_given.add(target)
    for index, header in enumerate(headers):
        if header in given and given[header] in CANONICAL_FIELDS:
            columns[given[header]] = index
            mapping[header] = given[header]

    keys = [header_key(h) for h in headers]
    has_specific_mobile = any(
        _KEY_TO_FIELD.get(key) == "mobile" for header, key in zip(headers, keys, strict=True) if header not in given
    )
    unknown: list[str] = []
    for index, (header, key) in enumerate(zip(headers, keys, strict=True)):
        if header in given or key in _IGNORED_KEYS:
            continue
        if key in _GENERIC_PHONE_KEYS:
            target = "landline" if has_specific_mobile or "mobile" in columns else "mobile"
        else:
            target = _KEY_TO_FIELD.get(key)
        if target is None or target in columns:
            unknown.append(header)
            continue
        columns[target] = index
        mapping[header] = target
    missing = [f for f in REQUIRED_FIELDS if f not in columns]
    return Recognition(mapping=mapping, columns=columns, unknown=unknown, missing=missing)


def header_score(cells: list[str], given: dict[str, str] | None = None) -> tuple[int, int]:
    """(required fields named, all fields named) by a candidate header row."""
    fields = set()
    for text in cells:
        if not text:
            continue
        target = (given or {}).get(text) or recognise_header(text)
        if target:
            fields.add(target)
    return sum(1 for f in REQUIRED_FIELDS if f in fields), len(fields)


def is_sub_header(header: list[str], below: list[str], given: dict[str, str] | None = None) -> bool:
    """True when ``below`` is a second header row: '联系方式' over '手机' and '邮箱', with 学号 and 姓名
    merged down over both rows (so blank below them)."""
    named = [text for text in below if text]
    if not named or not all((given or {}).get(t) or recognise_header(t) for t in named):
        return False
    for index, text in enumerate(header):
        if recognise_header(text) in REQUIRED_FIELDS and index < len(below) and below[index]:
            return False
    return True


_DATA_LIKE = re.compile(r"\d{6,}[Xx]?|\d{4}[-/.年]\d{1,2}(?:[-/.月]\d{1,2}日?)?|[^@\s]+@[^@\s]+\.\w+|1[3-9]\d{9}")


def looks_like_data(values: list[object]) -> bool:
    """A first row that holds values (IDs, dates, numbers, emails) rather than column names."""
    hits = 0
    for value in values:
        if value is None or value == "":
            continue
        if value.__class__ in (int, float, datetime, date) or _DATA_LIKE.fullmatch(str(value).strip()):
            hits += 1
    return hits >= 2
