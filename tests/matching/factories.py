"""People to match against, and list files to match."""

import csv
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook

from apps.alumni.models import College, Major
from tests.alumni.factories import CollegeFactory, EmploymentFactory, EnrollmentFactory, MajorFactory, PersonFactory

HEADERS = ["姓名", "性别", "出生年月", "工作单位", "简介", "当选年份"]


def write_csv(path: Path, rows: list[dict], headers: list[str] = HEADERS, encoding: str = "utf-8-sig") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(headers)
        for row in rows:
            writer.writerow([row.get(h, "") for h in headers])
    return path


def write_xlsx(path: Path, rows: list[dict], headers: list[str] = HEADERS) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for row in rows:
        sheet.append([row.get(h, "") for h in headers])
    workbook.save(path)
    return path


def alumnus(
    name: str,
    *,
    born: date,
    college: College,
    major: Major | None = None,
    enrolled: int | None = None,
    employer: str = "",
    gender: str = "M",
    student_id: str | None = None,
    **person_kwargs,
):
    """A person with one bachelor's enrolment (from 18 to 22) and, optionally, an employer."""
    person = PersonFactory(name=name, birth_date=born, gender=gender, **person_kwargs)
    enrolled = enrolled or born.year + 18
    extra = {"student_id": student_id} if student_id else {}
    EnrollmentFactory(
        person=person, college=college, major=major, enrollment_year=enrolled, graduation_year=enrolled + 4, **extra
    )
    if employer:
        EmploymentFactory(person=person, organisation=employer)
    return person


@pytest.fixture
def aero(db):
    college = CollegeFactory(code="05", name="航空宇航学院")
    return college, MajorFactory(college=college, name="飞行器设计与工程")


@pytest.fixture
def computing(db):
    college = CollegeFactory(code="SW", name="软件学院")
    return college, MajorFactory(college=college, name="软件工程")


@pytest.fixture
def academician(aero):
    """张伟, born March 1940, 飞行器设计与工程 1958-1962, now at 中国航天科技集团有限公司."""
    college, major = aero
    return alumnus(
        "张伟", born=date(1940, 3, 5), college=college, major=major, employer="中国航天科技集团有限公司",
        student_id="1958050101",
    )  # fmt: skip


@pytest.fixture
def namesake(computing):
    """Another 张伟, born 1941, studied software engineering, works elsewhere."""
    college, major = computing
    return alumnus("张伟", born=date(1941, 8, 1), college=college, major=major, employer="华为技术有限公司")


ACADEMICIAN_ROW = {
    "姓名": "張偉",  # traditional characters
    "性别": "",
    "出生年月": "1940年3月",
    "工作单位": "中国航天科技集团公司",
    "简介": "1958年考入华北航空学院，1962年毕业于飞行器设计与工程专业。现任研究员。",
    "当选年份": "2019",
}
