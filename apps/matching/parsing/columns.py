"""The columns of a list to match: Chinese and English header names for each kind of hint.

Headers are compared in the import layer's comparison form (``header_key``: case, width, spaces,
punctuation and bracketed notes ignored), so "出生年份（yyyy）", "Birth year" and "birth_year" all
name the same column. The first column naming a field gets it; several biography columns are read
together.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from apps.imports.parsing.headers import header_key

# fmt: off
SYNONYMS: dict[str, tuple[str, ...]] = {
    "name": (
        "姓名", "名字", "中文名", "中文姓名", "校友姓名", "人员姓名", "院士姓名", "获奖人", "获奖者", "获奖人姓名",
        "候选人", "候选人姓名", "当选人", "入选者", "劳模姓名", "Name", "Full Name", "Chinese Name", "Person",
    ),
    "former_names": ("曾用名", "原名", "Former Name", "Former Names", "Previous Name"),
    "latin_name": ("英文名", "英文姓名", "拼音", "姓名拼音", "English Name", "Pinyin", "Name in Pinyin"),
    "gender": ("性别", "Gender", "Sex"),
    "birth": (
        "出生年份", "出生年", "出生年月", "出生日期", "出生时间", "生日", "出生", "生年", "出生年月日",
        "Birth Year", "Year of Birth", "Born", "Birth Date", "Date of Birth", "DOB", "Birthday",
    ),
    "organisation": (
        "工作单位", "单位", "所在单位", "任职单位", "现工作单位", "现单位", "单位名称", "工作单位及职务", "公司",
        "企业", "企业名称", "Organisation", "Organization", "Employer", "Affiliation", "Institution", "Company",
        "Workplace",
    ),
    "title": ("职务", "职称", "职位", "现任职务", "头衔", "Title", "Job Title", "Position"),
    "university": (
        "毕业院校", "毕业学校", "毕业高校", "院校", "学校", "母校", "University", "Alma Mater", "School Graduated",
    ),
    "degree": ("学历", "学位", "最高学历", "学历学位", "学历/学位", "Degree", "Education Level"),
    "graduation_year": (
        "毕业年份", "毕业时间", "毕业年度", "毕业年", "届别", "届", "Graduation Year", "Year of Graduation",
        "Class of",
    ),
    "enrollment_year": (
        "入学年份", "入学时间", "入学年度", "入校时间", "Enrolment Year", "Enrollment Year", "Entry Year",
    ),
    "major": ("专业", "所学专业", "毕业专业", "专业名称", "Major", "Speciality", "Specialty", "Subject"),
    "college": ("学院", "院系", "毕业院系", "所在院系", "系别", "College", "Faculty"),
    "bio": (
        "简介", "个人简介", "简历", "个人简历", "履历", "主要经历", "学习经历", "教育经历", "教育背景", "人物简介",
        "事迹", "主要事迹", "备注", "Biography", "Bio", "Profile", "Resume", "Education", "Education History", "Notes",
    ),
    "honour": (
        "荣誉", "荣誉称号", "称号", "荣誉类别", "类别", "奖项", "奖项名称", "获奖名称", "榜单", "Honour", "Honor",
        "Honours", "Award", "Category", "Kind", "List",
    ),
    "honour_year": (
        "当选年份", "当选时间", "获奖年份", "获奖时间", "入选年份", "授予年份", "评选年份", "年份", "年度", "Year",
        "Award Year", "Year Elected", "Elected",
    ),
    "source_url": ("来源", "来源链接", "链接", "网址", "原文链接", "URL", "Link", "Source", "Source URL"),
}
# fmt: on

MULTI = frozenset({"bio"})  # every column of these fields is read, in file order
_KEY_TO_FIELD = {header_key(text): name for name, texts in SYNONYMS.items() for text in texts}
# Header texts that name the person, for the import layer's header-row detection (it knows 姓名/Name).
NAME_HEADERS = SYNONYMS["name"]


@dataclass
class Columns:
    """Which column (by header text) holds which field."""

    fields: dict[str, list[str]] = field(default_factory=dict)  # field -> header texts
    unknown: list[str] = field(default_factory=list)

    def first(self, name: str) -> str | None:
        headers = self.fields.get(name)
        return headers[0] if headers else None

    def as_json(self) -> dict:
        return {"fields": self.fields, "unknown": self.unknown}


def recognise_columns(headers: list[str]) -> Columns:
    """Map header texts to fields; unnamed and unrecognised columns are listed as unknown."""
    columns = Columns()
    for header in headers:
        if not header:
            continue
        target = _KEY_TO_FIELD.get(header_key(header))
        if target is None or (target in columns.fields and target not in MULTI):
            columns.unknown.append(header)
            continue
        columns.fields.setdefault(target, []).append(header)
    return columns
