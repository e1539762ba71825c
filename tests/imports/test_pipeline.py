"""The import pipeline on real files: matching rules one by one, derived fields, writes, dry runs.

Runs on SQLite (the ORM fallback) and on PostgreSQL (COPY + set-based SQL) with the same assertions.
"""

from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from apps.alumni.models import ContactChannel, Employment, Enrollment, Major, Person, SchoolClass
from apps.alumni.services import contact_derive, person_derive
from apps.core import crypto
from apps.core.models import AuditEvent
from apps.imports.models import ImportJob
from apps.imports.pipeline import run_roster
from apps.imports.services import import_file_run
from tests.alumni.factories import (
    ContactChannelFactory,
    EmploymentFactory,
    EnrollmentFactory,
    PersonFactory,
    valid_id_number,
)
from tests.imports.filemakers import sample_rows, write_roster_csv, write_roster_xlsx

pytestmark = pytest.mark.django_db

# The shared fixtures (colleges, media_root, on_postgres) live beside the factories.
pytest_plugins = ["tests.imports.factories"]


def _row(**fields) -> dict:
    """One roster row (ROSTER_HEADERS) with the given cells replaced."""
    row = sample_rows(1, seed=99)[0]
    row.update(
        {
            "学号": "2015010001",
            "姓名": "张伟",
            "出生日期": "1997-03-04",
            "学院": "计算机学院",
            "班级": "计算机2015级1班",
            "学历": "本科",
            "入学年份": "2015",
            "毕业年份": "2019",
        }
    )
    row.update(fields)
    return row


def _import(tmp_path: Path, rows: list[dict], *, dry_run: bool = False, name: str = "roster.csv", **kwargs):
    path = write_roster_csv(tmp_path / name, rows, **kwargs)
    result = import_file_run(path=path, dry_run=dry_run)
    assert result.refused is None, result.refused
    counts = dict(result.outcome.counts)
    errors = list(result.outcome.errors)
    flagged = list(result.outcome.flagged)
    result.outcome.close()
    return counts, errors, flagged, result.job


def _state() -> dict[str, int]:
    return {
        "people": Person.objects.count(),
        "enrollments": Enrollment.objects.count(),
        "contacts": ContactChannel.objects.count(),
        "employments": Employment.objects.count(),
        "majors": Major.objects.count(),
        "classes": SchoolClass.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


# --- new rows ---------------------------------------------------------------------------------


def test_pipeline_new_rows_create_people_with_every_derived_field(tmp_path, colleges):
    rows = sample_rows(30, seed=1)
    rows[0].update({"手机": "+86 138-0013-8000", "邮箱": "Zhang.Wei@Example.COM", "籍贯": "湖南长沙"})
    counts, errors, flagged, job = _import(tmp_path, rows)

    assert counts == {"created": 30, "updated": 0, "unchanged": 0, "flagged": 0, "errors": 0}
    assert errors == []
    assert flagged == []
    assert Enrollment.objects.count() == 30
    enrollment = Enrollment.objects.select_related("person", "college", "major", "school_class").get(
        student_id=rows[0]["学号"]
    )
    person = enrollment.person
    assert person.name == rows[0]["姓名"]
    assert (person.hometown_province, person.hometown_city) == ("湖南", "长沙")
    expected = Person(name=person.name)
    person_derive(expected)
    assert (person.name_pinyin, person.name_initials) == (expected.name_pinyin, expected.name_initials)
    assert person.country == "中国"
    assert enrollment.college.name == rows[0]["学院"]
    assert enrollment.major.name == rows[0]["专业"]
    assert enrollment.school_class.name == rows[0]["班级"]
    assert enrollment.degree_level == Enrollment.DegreeLevel.BACHELOR or enrollment.degree_level
    contacts = {c.kind: c for c in person.contacts.all()}
    assert set(contacts) == {"mobile", "email"}
    for contact in contacts.values():
        assert contact.status == ContactChannel.Status.UNVERIFIED
        assert contact.source == f"import:{job.pk}"
        twin = ContactChannel(kind=contact.kind, value=contact.value)
        contact_derive(twin)
        assert contact.value_normalised == twin.value_normalised
    assert contacts["mobile"].value_normalised == "13800138000"
    assert contacts["email"].value_normalised == "zhang.wei@example.com"
    assert person.employments.get().organisation == rows[0]["工作单位"]
    # A first load audits the job once, not each of its new people.
    assert AuditEvent.objects.filter(action="import.apply").count() == 1
    assert not AuditEvent.objects.filter(action="person.import_update").exists()
    assert job.status == ImportJob.Status.DONE
    assert job.created_count == 30


def test_pipeline_id_number_is_encrypted_and_hashed_like_the_admin_does(tmp_path, colleges):
    number = valid_id_number("11010519970304001")
    _import(tmp_path, [_row(**{"身份证号": number})], headers=[*sample_rows(1)[0].keys(), "身份证号"])

    person = Person.objects.get()
    assert person.id_number == number  # the field decrypts
    assert person.id_number_hash == crypto.lookup_hash(number)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number FROM alumni_person WHERE id = %s", [person.pk])
        stored = cursor.fetchone()[0]
    assert stored != number
    assert crypto.decrypt(stored) == number


def test_pipeline_unknown_college_rejected_new_major_and_class_created_under_known_college(tmp_path, colleges):
    rows = [
        _row(**{"学号": "2015010001", "专业": "量子计算", "班级": "量子2015级1班"}),
        _row(**{"学号": "2015010002", "姓名": "李娜", "学院": "不存在学院"}),
    ]
    counts, errors, _flagged, _job = _import(tmp_path, rows)

    assert counts["created"] == 1
    assert counts["errors"] == 1
    assert errors[0].row == 3
    assert errors[0].field == "college"
    assert "不存在学院" in errors[0].message
    major = Major.objects.get(name="量子计算")
    klass = SchoolClass.objects.get(name="量子2015级1班")
    assert major.college.name == klass.college.name == "计算机学院"
    assert klass.major == major
    assert not Person.objects.filter(name="李娜").exists()


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("mobile", "13800138000"),
        ("mobile", "8613800138000"),
        ("mobile", "008613800138000"),
        ("mobile", "+86 138-0013-8000"),
        ("mobile", "１３８００１３８０００"),
        ("landline", "01062345678"),
        ("landline", "010-6234 5678"),
        ("email", "Zhang.Wei@Example.COM"),
        ("email", " zhang\u200bwei@example.com "),
        ("email", "ｚｈａｎｇ@example.com"),
        ("wechat", "Wx_ZhangWei"),
        ("address", "北京市 海淀区\u3000学院路37号"),
    ],
)
def test_pipeline_contact_fast_path_equals_contact_derive(kind, value):
    from apps.imports.pipeline.rows import derive_contact

    expected = ContactChannel(kind=kind, value=value)
    contact_derive(expected)
    assert derive_contact(kind, value) == (expected.value, expected.value_normalised)


# --- matching rules -------------------------------------------------------------------------


def test_pipeline_student_id_match_updates_fields_and_audits_old_to_new(tmp_path, colleges):
    cs = colleges[0]
    person = PersonFactory(name="张伟", birth_date=date(1997, 3, 4), city="北京", province="北京")
    EnrollmentFactory(person=person, student_id="2015010001", college=cs, enrollment_year=2015, graduation_year=2019)
    ContactChannelFactory(person=person, kind="mobile", value="13800138000")

    row = _row(**{"所在城市": "上海", "手机": "+86 138 0013 8000", "入学年份": "2015", "毕业年份": "2020"})
    counts, _errors, _flagged, job = _import(tmp_path, [row])

    assert counts == {"created": 0, "updated": 1, "unchanged": 0, "flagged": 0, "errors": 0}
    person.refresh_from_db()
    assert person.city == "上海"
    assert Enrollment.objects.get(student_id="2015010001").graduation_year == 2020
    # The same mobile written differently is not a new channel.
    assert person.contacts.filter(kind="mobile").count() == 1
    event = AuditEvent.objects.get(action="person.import_update")
    assert event.target_type == "alumni.person"
    assert event.target_id == str(person.pk)
    changes = {c["field"]: (c["old"], c["new"]) for c in event.changes}
    assert changes["city"] == ("北京", "上海")
    assert changes["graduation_year"] == (2019, 2020)
    assert f"#{job.pk}" in event.reason


def test_pipeline_empty_cells_never_blank_out_existing_data(tmp_path, colleges):
    person = PersonFactory(name="张伟", birth_date=date(1997, 3, 4), city="北京", gender="M")
    EnrollmentFactory(person=person, student_id="2015010001", college=colleges[0])
    row = _row(
        **{"所在城市": "", "性别": "", "出生日期": "", "工作单位": "", "手机": "", "邮箱": "", "专业": "", "班级": ""}
    )
    counts, *_ = _import(tmp_path, [row])

    person.refresh_from_db()
    assert (person.city, person.gender, person.birth_date) == ("北京", "M", date(1997, 3, 4))
    assert counts["updated"] + counts["unchanged"] == 1


def test_pipeline_reimporting_the_same_file_changes_nothing_and_says_so(tmp_path, colleges):
    rows = sample_rows(60, seed=5)
    first, *_ = _import(tmp_path, rows, name="a.csv")
    before = _state()
    second, _errors, _flagged, job = _import(tmp_path, rows, name="b.csv")

    assert first["created"] == 60
    assert second == {"created": 0, "updated": 0, "unchanged": 60, "flagged": 0, "errors": 0}
    after = _state()
    assert {k: v for k, v in after.items() if k != "audit"} == {k: v for k, v in before.items() if k != "audit"}
    assert after["audit"] == before["audit"] + 1  # only the job's own summary row
    assert job.unchanged_count == 60


def test_pipeline_masters_after_bachelors_by_name_and_birth_date(tmp_path, colleges):
    person = PersonFactory(name="王芳", birth_date=date(1993, 5, 6))
    EnrollmentFactory(person=person, student_id="2011010099", college=colleges[0])
    row = _row(
        **{"学号": "2015020001", "姓名": "王芳", "出生日期": "1993-05-06", "学历": "硕士", "学院": "机械工程学院"}
    )
    counts, *_ = _import(tmp_path, [row])

    assert counts["created"] == 1
    assert Person.objects.count() == 1
    degrees = set(person.enrollments.values_list("student_id", "degree_level"))
    assert degrees == {("2011010099", "bachelor"), ("2015020001", "master")}
    event = AuditEvent.objects.get(action="person.import_update", target_id=str(person.pk))
    assert {"field": "enrollment", "old": None, "new": "2015020001"} in event.changes


def test_pipeline_namesakes_with_different_birth_dates_stay_two_people(tmp_path, colleges):
    person = PersonFactory(name="张伟", birth_date=date(1997, 3, 4))
    EnrollmentFactory(person=person, student_id="2015010001", college=colleges[0], enrollment_year=2015)
    row = _row(**{"学号": "2015010002", "姓名": "张伟", "出生日期": "1996-11-20", "入学年份": "2015"})
    counts, *_ = _import(tmp_path, [row])

    assert counts["created"] == 1
    assert counts["flagged"] == 0
    assert Person.objects.filter(name="张伟").count() == 2


def test_pipeline_partial_evidence_is_flagged_never_merged(tmp_path, colleges):
    undated = PersonFactory(name="刘洋", birth_date=None)
    EnrollmentFactory(person=undated, student_id="2010010001", college=colleges[0])
    dated = PersonFactory(name="陈静", birth_date=date(1990, 1, 2))
    EnrollmentFactory(person=dated, student_id="2010010002", college=colleges[0])
    before = _state()
    rows = [
        # The row has a birth date, the same-named person at the same college has none.
        _row(**{"学号": "2014010001", "姓名": "刘洋", "出生日期": "1992-02-02"}),
        # The row has no birth date, the same-named person at the same college has one.
        _row(**{"学号": "2014010002", "姓名": "陈静", "出生日期": ""}),
    ]
    counts, _errors, flagged, _job = _import(tmp_path, rows)

    assert counts == {"created": 0, "updated": 0, "unchanged": 0, "flagged": 2, "errors": 0}
    assert [f["row"] for f in flagged] == [2, 3]
    assert {f["reason"] for f in flagged} == {"partial"}
    assert {f["person"] for f in flagged} == {undated.pk, dated.pk}
    after = _state()
    assert {k: after[k] for k in ("people", "enrollments", "contacts")} == {
        k: before[k] for k in ("people", "enrollments", "contacts")
    }


def test_pipeline_two_people_sharing_name_and_birth_date_make_the_row_ambiguous(tmp_path, colleges):
    for sid in ("2010010001", "2010020001"):
        EnrollmentFactory(
            person=PersonFactory(name="李强", birth_date=date(1991, 7, 8)), student_id=sid, college=colleges[0]
        )
    counts, _errors, flagged, _job = _import(
        tmp_path, [_row(**{"学号": "2016010001", "姓名": "李强", "出生日期": "1991-07-08"})]
    )

    assert counts["flagged"] == 1
    assert flagged[0]["reason"] == "ambiguous"
    assert not Enrollment.objects.filter(student_id="2016010001").exists()


def test_pipeline_student_id_of_someone_else_is_flagged(tmp_path, colleges):
    other = PersonFactory(name="赵敏", birth_date=date(1980, 1, 1))
    EnrollmentFactory(person=other, student_id="2015010001", college=colleges[0])
    counts, _errors, flagged, _job = _import(tmp_path, [_row()])  # 张伟, 1997-03-04

    assert counts["flagged"] == 1
    assert flagged[0]["reason"] == "student_id_conflict"
    other.refresh_from_db()
    assert other.name == "赵敏"


def test_pipeline_rows_of_one_new_person_in_one_file_make_one_person(tmp_path, colleges):
    rows = [
        _row(
            **{
                "学号": "2011010001",
                "姓名": "孙丽",
                "出生日期": "1993-01-01",
                "学历": "本科",
                "工作单位": "华为技术有限公司",
                "所在城市": "深圳",
            }
        ),
        _row(
            **{
                "学号": "2015010009",
                "姓名": "孙丽",
                "出生日期": "1993-01-01",
                "学历": "硕士",
                "工作单位": "中国航天科技集团",
                "所在城市": "北京",
            }
        ),
        _row(**{"学号": "2011010002", "姓名": "周杰", "出生日期": ""}),
        _row(**{"学号": "2011010003", "姓名": "周杰", "出生日期": ""}),
    ]
    counts, *_ = _import(tmp_path, rows, name="a.csv")

    assert counts["created"] == 4
    sun = Person.objects.get(name="孙丽")
    assert sun.enrollments.count() == 2
    assert sun.city == "北京"  # the last row naming a person gives its fields
    assert sun.employments.count() == 2
    # Without a birth date rows are never merged.
    assert Person.objects.filter(name="周杰").count() == 2
    again, *_ = _import(tmp_path, rows, name="b.csv")
    assert again == {"created": 0, "updated": 0, "unchanged": 4, "flagged": 0, "errors": 0}


def test_pipeline_employer_added_once_and_title_updated(tmp_path, colleges):
    person = PersonFactory(name="张伟", birth_date=date(1997, 3, 4))
    EnrollmentFactory(person=person, student_id="2015010001", college=colleges[0])
    EmploymentFactory(person=person, organisation="华为技术有限公司", title="工程师")

    _import(tmp_path, [_row(**{"工作单位": "华为技术有限公司", "职务": "高级工程师"})], name="a.csv")
    assert person.employments.count() == 1
    assert person.employments.get().title == "高级工程师"
    _import(tmp_path, [_row(**{"工作单位": "中国航天科技集团", "职务": "研究员"})], name="b.csv")
    assert set(person.employments.values_list("organisation", flat=True)) == {"华为技术有限公司", "中国航天科技集团"}
    event = AuditEvent.objects.filter(action="person.import_update").latest("id")
    assert {"field": "employment", "old": "华为技术有限公司", "new": "中国航天科技集团"} in event.changes


def test_pipeline_student_id_repeated_in_file_keeps_the_first_row(tmp_path, colleges):
    rows = [_row(**{"学号": "2015010001", "姓名": "张伟"}), _row(**{"学号": "2015010001", "姓名": "李娜"})]
    counts, errors, *_ = _import(tmp_path, rows)

    assert counts["created"] == 1
    assert counts["errors"] == 1
    assert errors[0].row == 3
    assert errors[0].field == "student_id"
    assert Enrollment.objects.get(student_id="2015010001").person.name == "张伟"


# --- dry runs and failures -------------------------------------------------------------------


def test_pipeline_dry_run_reports_the_same_counts_and_writes_nothing(tmp_path, colleges):
    rows = sample_rows(40, seed=7)
    rows[3]["学院"] = "不存在学院"
    rows[4]["专业"] = "全新专业"
    before = _state()
    dry, dry_errors, *_ = _import(tmp_path, rows, dry_run=True)
    assert _state() == before
    assert not ImportJob.objects.exists()

    real, real_errors, *_ = _import(tmp_path, rows)
    assert dry == real == {"created": 39, "updated": 0, "unchanged": 0, "flagged": 0, "errors": 1}
    assert [(e.row, e.field) for e in dry_errors] == [(e.row, e.field) for e in real_errors]


def test_pipeline_refused_file_writes_nothing(tmp_path, colleges):
    before = _state()
    path = tmp_path / "roster.xlsx"
    path.write_bytes(b"MZ\x90\x00" + b"\x00" * 4096)  # an executable named .xlsx
    result = import_file_run(path=path, dry_run=False)

    assert result.refused is not None
    assert result.outcome is None
    assert _state() == before
    assert result.job.status == ImportJob.Status.REFUSED
    assert result.job.failure_code == result.refused.code


def test_pipeline_failure_in_the_middle_writes_nothing(tmp_path, colleges, monkeypatch):
    from apps.imports.pipeline import rows as rows_module

    original = rows_module.RowBuilder.build
    calls = {"n": 0}

    def crash_after_twenty(self, row_no, values):
        calls["n"] += 1
        if calls["n"] > 20:
            raise RuntimeError("worker died")
        return original(self, row_no, values)

    monkeypatch.setattr(rows_module.RowBuilder, "build", crash_after_twenty)
    before = _state()
    path = write_roster_csv(tmp_path / "roster.csv", sample_rows(50, seed=3))
    with pytest.raises(RuntimeError):
        import_file_run(path=path, dry_run=False)
    assert _state() == before
    assert ImportJob.objects.get().status == ImportJob.Status.FAILED


def test_pipeline_failure_after_the_writes_rolls_them_back(tmp_path, colleges):
    before = _state()
    path = write_roster_csv(tmp_path / "roster.csv", sample_rows(25, seed=4))

    def explode(outcome):
        assert Person.objects.count() == before["people"] + 25  # written, inside the transaction
        raise RuntimeError("the job row could not be updated")

    with pytest.raises(RuntimeError):
        run_roster(path, dry_run=False, on_written=explode)
    assert _state() == before


def test_pipeline_xlsx_error_report_has_bad_rows_with_reasons(tmp_path, colleges):
    rows = sample_rows(12, seed=8, native=True)
    rows[2]["出生日期"] = "2019-13-45"
    rows[5]["学院"] = "不存在学院"
    path = write_roster_xlsx(tmp_path / "roster.xlsx", rows)
    outcome = run_roster(path, dry_run=True)

    assert outcome.counts["errors"] == 2
    table = _sheet(outcome.report_path, 0)
    assert table[0][-2:] == ["行号", "错误原因"]
    assert [r[-2] for r in table[1:]] == [4, 7]
    assert "2019-13-45" in table[1][-1]
    assert "出生日期" in table[1][-1]
    assert table[1][table[0].index("学号")] == rows[2]["学号"]
    assert "不存在学院" in table[2][-1]
    outcome.report_path.unlink()
    outcome.close()


def test_pipeline_error_report_neutralises_formulas_from_the_file(tmp_path, colleges):
    rows = sample_rows(3, seed=9)
    rows[1]["学院"] = '=HYPERLINK("http://evil.example","点我")'
    rows[1]["工作单位"] = "＝cmd|' /C calc'!A0"
    outcome = run_roster(write_roster_csv(tmp_path / "roster.csv", rows), dry_run=True)

    table = _sheet(outcome.report_path, 0)
    cells = dict(zip(table[0], table[1], strict=True))
    assert cells["学院"] == "'" + rows[1]["学院"]
    assert cells["工作单位"] == "'" + rows[1]["工作单位"]
    outcome.report_path.unlink()
    outcome.close()


def test_pipeline_error_report_lists_flagged_rows_on_a_second_sheet(tmp_path, colleges):
    for sid in ("2010010001", "2010020001"):
        EnrollmentFactory(
            person=PersonFactory(name="李强", birth_date=date(1991, 7, 8)), student_id=sid, college=colleges[0]
        )
    path = write_roster_csv(
        tmp_path / "roster.csv", [_row(**{"学号": "2016010001", "姓名": "李强", "出生日期": "1991-07-08"})]
    )
    outcome = run_roster(path, dry_run=True)

    flagged = _sheet(outcome.report_path, 1)
    assert flagged[1][:2] == ["2016010001", "李强"]
    assert flagged[1][-2] == 2
    assert "2" in flagged[1][-1]
    outcome.report_path.unlink()
    outcome.close()


def _sheet(path, index: int) -> list[list]:
    workbook = load_workbook(path, read_only=True)
    try:
        return [list(r) for r in workbook.worksheets[index].iter_rows(values_only=True)]
    finally:
        workbook.close()


def _schema() -> set[tuple]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT tablename, indexname, indexdef FROM pg_indexes
               WHERE tablename IN ('alumni_person', 'alumni_enrollment', 'alumni_contactchannel',
                                   'alumni_employment')"""
        )
        indexes = set(cursor.fetchall())
        cursor.execute(
            """SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
               WHERE conrelid IN ('alumni_person'::regclass, 'alumni_enrollment'::regclass,
                                  'alumni_contactchannel'::regclass, 'alumni_employment'::regclass)"""
        )
        return indexes | set(cursor.fetchall())


def test_pipeline_first_load_rebuilds_indexes_and_keys_exactly(tmp_path, colleges, settings, on_postgres):
    if not on_postgres:
        pytest.skip("the index rebuild of first loads is PostgreSQL-only")
    settings.IMPORT_BULK_LOAD_MIN_ROWS = 20
    before = _schema()
    counts, _errors, _flagged, job = _import(tmp_path, sample_rows(40, seed=11))

    assert counts["created"] == 40
    assert job.result["written"]["rebuilt_indexes"] > 10
    assert _schema() == before
    assert Person.objects.filter(enrollments__college=colleges[0]).count() == 20  # the rebuilt indexes answer
    # A second run into the now non-empty tables takes the ordinary path.
    again, _errors, _flagged, job = _import(tmp_path, sample_rows(40, seed=11), name="again.csv")
    assert again["unchanged"] == 40
    assert _schema() == before
    assert job.result["written"]["rebuilt_indexes"] == 0


def test_pipeline_parallel_parsing_gives_the_same_result_as_one_process(tmp_path, colleges, settings, on_postgres):
    if not on_postgres:
        pytest.skip("parallel parsing feeds PostgreSQL's COPY")
    rows = sample_rows(300, seed=41)
    rows[7]["出生日期"] = "2019-13-45"
    rows[150]["学院"] = "不存在学院"
    rows[299]["学号"] = rows[10]["学号"]  # repeated across the two workers' shares
    path = write_roster_csv(tmp_path / "roster.csv", rows)
    settings.IMPORT_PARALLEL_MIN_ROWS = 1

    settings.IMPORT_PARSE_WORKERS = 1
    single = run_roster(path, dry_run=True)
    settings.IMPORT_PARSE_WORKERS = 2
    parallel = run_roster(path, dry_run=True)
    assert parallel.timings["parse workers"] == 2
    assert parallel.counts == single.counts == {"created": 297, "updated": 0, "unchanged": 0, "flagged": 0, "errors": 3}
    single_errors = [(p.row, p.field) for p in single.errors]
    assert [(p.row, p.field) for p in parallel.errors] == [*single_errors[:2], (301, "student_id")]
    assert parallel.new_references == single.new_references
    assert _sheet(parallel.report_path, 0)[1:3] == _sheet(single.report_path, 0)[1:3]

    applied = run_roster(path, dry_run=False)
    assert applied.counts == single.counts
    assert Enrollment.objects.count() == 297
    # Classes named in both workers' shares exist once each.
    staged = [r for i, r in enumerate(rows) if i not in (7, 150)]  # the rows the parser and staging accepted
    assert SchoolClass.objects.count() == len({(r["学院"], r["班级"]) for r in staged})
    assert not Enrollment.objects.filter(school_class__isnull=True).exists()
    for outcome in (single, parallel, applied):
        outcome.report_path.unlink()
        outcome.close()
