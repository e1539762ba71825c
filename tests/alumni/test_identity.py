"""Identity checks (审核校友身份): parsing, matching, scope, the staff pages, XLSX download and audit."""

import io
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from apps.alumni import identity
from apps.alumni.identity import identity_check_run, parse_pasted, parse_upload
from apps.alumni.models import Enrollment, IdentityCheck
from apps.core.models import AuditEvent
from tests.alumni.factories import ContactChannelFactory, EnrollmentFactory, PersonFactory

pytestmark = pytest.mark.django_db

FORM = "alumni:identity-check"
PURPOSE = "宣传部约稿核实校友身份"


@pytest.fixture
def records(college, other_college):
    """Two 张伟 who graduated in 2005 from 计算机学院, a 李娜 of 机械工程学院, and a renamed 王芳."""
    zhang_a = PersonFactory(name="张伟")
    EnrollmentFactory(
        person=zhang_a, student_id="2001010101", college=college, enrollment_year=2001, graduation_year=2005
    )
    ContactChannelFactory(person=zhang_a, value="13812345678")
    zhang_b = PersonFactory(name="张伟")
    EnrollmentFactory(
        person=zhang_b, student_id="2001010102", college=college, enrollment_year=2001, graduation_year=2005
    )
    li = PersonFactory(name="李娜")
    EnrollmentFactory(
        person=li,
        student_id="2005020301",
        college=other_college,
        degree_level=Enrollment.DegreeLevel.MASTER,
        enrollment_year=2005,
        graduation_year=2008,
    )
    wang = PersonFactory(name="王芳", former_names="王小芳")
    EnrollmentFactory(person=wang, student_id="1999010101", college=college, enrollment_year=1999, graduation_year=2003)
    return {"zhang_a": zhang_a, "zhang_b": zhang_b, "li": li, "wang": wang}


PASTED = "\n".join(
    [
        "張偉\t2001010101",  # 1: traditional characters, tab separated (pasted from Excel)
        "张伟 2005",  # 2: two 张伟 graduated in 2005
        "",  # 3: blank lines keep their number
        "李娜,2005020301,机械工程学院",  # 4
        "王小芳 １９９９０１０１０１",  # 5: a former name and full-width digits
        "赵六 2010届",  # 6: nobody
        "张伟，2005年，计算机学院",  # 7: full-width commas, a college that does not narrow it down
        "李四",  # 8: neither a student ID nor a year
        "刘洋 2001010101",  # 9: the student ID exists under another name
    ]
)


def _by_row(check: IdentityCheck) -> dict[int, dict]:
    return {result["row"]: result for result in check.results}


def test_identity_check_answers_each_row(staff, records):
    check = identity_check_run(actor=staff, purpose=PURPOSE, rows=parse_pasted(PASTED))
    rows = _by_row(check)
    assert sorted(rows) == [1, 2, 4, 5, 6, 7, 8, 9]
    assert {n: r["status"] for n, r in rows.items()} == {
        1: "alumnus",
        2: "ambiguous",
        4: "alumnus",
        5: "alumnus",
        6: "not_found",
        7: "ambiguous",
        8: "invalid",
        9: "ambiguous",
    }
    assert rows[1]["matches"] == [
        {
            "person_id": records["zhang_a"].pk,
            "name": "张伟",
            "student_id": "2001010101",
            "degree": "bachelor",
            "college": "计算机学院",
            "graduation_year": 2005,
        }
    ]
    assert {m["student_id"] for m in rows[2]["matches"]} == {"2001010101", "2001010102"}
    assert rows[4]["matches"][0]["degree"] == "master"
    assert rows[5]["matches"][0]["name"] == "王芳"
    assert rows[5]["input"]["student_id"] == "1999010101"
    assert [n["code"] for n in rows[5]["notes"]] == ["former_name"]
    assert rows[6]["input"]["graduation_year"] == 2010
    assert [n["code"] for n in rows[8]["notes"]] == ["no_key"]
    assert [n["code"] for n in rows[9]["notes"]] == ["name_differs"]
    assert (check.row_count, check.alumni_count, check.ambiguous_count, check.not_found_count, check.invalid_count) == (
        8,
        3,
        3,
        1,
        1,
    )
    # Never contact details.
    assert "13812345678" not in str(check.results)


def test_identity_check_narrows_by_college_and_notes_mismatches(staff, records, other_college):
    EnrollmentFactory(
        person=PersonFactory(name="张伟"), college=other_college, enrollment_year=2001, graduation_year=2005
    )
    rows = _by_row(
        identity_check_run(
            actor=staff,
            purpose=PURPOSE,
            rows=parse_pasted("张伟 2005 机械工程学院\n张伟 2001010101 2006 机械工程学院\n张伟 2005 艺术学院"),
        )
    )
    assert rows[1]["status"] == "alumnus"
    assert rows[1]["matches"][0]["college"] == "机械工程学院"
    assert rows[2]["status"] == "alumnus"
    assert [n["code"] for n in rows[2]["notes"]] == ["year_differs", "college_differs"]
    assert rows[3]["status"] == "ambiguous"
    assert [n["code"] for n in rows[3]["notes"]] == ["college_unknown"]
    assert len(rows[3]["matches"]) == 3


def test_identity_check_falls_back_to_name_and_year_for_unknown_student_id(staff, records):
    rows = _by_row(identity_check_run(actor=staff, purpose=PURPOSE, rows=parse_pasted("李娜 9999999999 2008")))
    assert rows[1]["status"] == "alumnus"
    assert [n["code"] for n in rows[1]["notes"]] == ["student_id_unknown"]
    rows = _by_row(identity_check_run(actor=staff, purpose=PURPOSE, rows=parse_pasted("李娜 9999999999")))
    assert rows[1]["status"] == "not_found"


def test_identity_check_college_staff_match_only_their_colleges(college_staff, records):
    rows = _by_row(identity_check_run(actor=college_staff, purpose=PURPOSE, rows=parse_pasted(PASTED)))
    assert rows[4]["status"] == "not_found"  # 李娜 is in another college
    assert rows[4]["matches"] == []
    assert rows[1]["status"] == "alumnus"
    assert rows[2]["status"] == "ambiguous"


def test_identity_check_is_audited(staff, records):
    check = identity_check_run(actor=staff, purpose=PURPOSE, rows=parse_pasted(PASTED))
    event = AuditEvent.objects.get(action="identity.check")
    assert (event.actor, event.target_type, event.target_id, event.reason) == (
        staff,
        "alumni.identitycheck",
        str(check.pk),
        PURPOSE,
    )
    assert {"field": "rows", "old": None, "new": 8} in event.changes


def test_identity_check_refuses_missing_purpose_and_too_many_rows(staff, records):
    with pytest.raises(ValidationError):
        identity_check_run(actor=staff, purpose="  ", rows=parse_pasted("张伟 2005"))
    with pytest.raises(ValidationError) as excinfo:
        parse_pasted("\n".join(f"张伟 {2000 + i % 20}" for i in range(identity.MAX_ROWS + 1)))
    assert excinfo.value.code == "too_many_rows"
    assert len(parse_pasted("\n".join("张伟 2005" for _ in range(identity.MAX_ROWS)))) == identity.MAX_ROWS
    assert not IdentityCheck.objects.exists()
    assert not AuditEvent.objects.filter(action="identity.check").exists()


def test_identity_match_query_count_is_flat(staff, records, django_assert_max_num_queries):
    # scope, colleges, student IDs, (name, year) pairs: a thousand pairs per query, whatever the years
    for repeat in (10, 240):
        lines = ["张伟 2005", "张伟 2001010101", "李娜 2008", "赵六 2005020399"] * repeat
        lines += [f"路人{i} {1960 + i % 60}" for i in range(repeat)]
        with django_assert_max_num_queries(5):
            results = identity.identity_match(user=staff, rows=parse_pasted("\n".join(lines)))
        assert len(results) == 5 * repeat
        assert [r["status"] for r in results[:4]] == ["ambiguous", "alumnus", "alumnus", "not_found"]


# --- files ------------------------------------------------------------------------------------------


def test_parse_upload_csv_gbk_with_header_uses_spreadsheet_row_numbers(staff, records):
    data = "姓名,学号,毕业年份,学院\n张伟,2001010101,,\n\n李娜,,2008届,机械\n".encode("gb18030")
    rows = parse_upload("名单.csv", data)
    assert [(r.row, r.name, r.student_id, r.graduation_year, r.college) for r in rows] == [
        (2, "张伟", "2001010101", None, ""),
        (4, "李娜", "", 2008, "机械"),
    ]
    results = _by_row(identity_check_run(actor=staff, purpose=PURPOSE, rows=rows, source="名单.csv"))
    assert (results[2]["status"], results[4]["status"]) == ("alumnus", "alumnus")


def _xlsx(rows) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_parse_upload_xlsx_with_number_cells_and_english_headers():
    data = _xlsx([["Name", "Student ID", "Graduation year"], ["张伟", 2001010101, None], ["王芳", None, 2003.0]])
    rows = parse_upload("list.xlsx", data)
    assert [(r.row, r.name, r.student_id, r.graduation_year) for r in rows] == [
        (2, "张伟", "2001010101", None),
        (3, "王芳", "", 2003),
    ]


def test_parse_upload_refuses_bad_files():
    with pytest.raises(ValidationError) as excinfo:
        parse_upload("list.xlsx", b"this is not a zip")
    assert excinfo.value.code == "bad_xlsx"
    with pytest.raises(ValidationError) as excinfo:
        parse_upload("list.pdf", b"%PDF-1.4")
    assert excinfo.value.code == "bad_type"
    with pytest.raises(ValidationError) as excinfo:
        parse_upload("list.csv", "学号,毕业年份\n2001010101,2005\n".encode())
    assert excinfo.value.code == "no_name_column"
    with pytest.raises(ValidationError) as excinfo:
        parse_upload("list.xlsx", _xlsx([["姓名", "毕业年份"]] + [["张伟", 2005]] * (identity.MAX_ROWS + 1)))
    assert excinfo.value.code == "too_many_rows"


# --- the pages ----------------------------------------------------------------------------------------


def test_identity_check_page_paste_then_results(client, staff, records):
    client.force_login(staff)
    assert client.get(reverse(FORM)).status_code == 200
    response = client.post(reverse(FORM), {"purpose": PURPOSE, "text": PASTED})
    check = IdentityCheck.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("alumni:identity-check-detail", args=[check.pk])
    page = client.get(response.url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "2001010102" in html  # a candidate of the ambiguous row
    assert "13812345678" not in html
    assert [line["row"] for line in page.context["lines"]].count(2) == 2  # one line per candidate


def test_identity_check_page_keeps_line_numbers_and_empty_first_columns(client, staff, records):
    client.force_login(staff)
    text = "\n姓名\t学号\t毕业年份\n\t2001010101\t2005\n张伟\t\t2005\r\n"
    client.post(reverse(FORM), {"purpose": PURPOSE, "text": text})
    rows = _by_row(IdentityCheck.objects.get())
    assert {n: r["status"] for n, r in rows.items()} == {3: "invalid", 4: "ambiguous"}
    assert [n["code"] for n in rows[3]["notes"]] == ["no_name"]


def test_identity_check_page_upload(client, college_staff, records):
    client.force_login(college_staff)
    upload = SimpleUploadedFile("list.xlsx", _xlsx([["姓名", "学号"], ["李娜", "2005020301"], ["张伟", "2001010102"]]))
    response = client.post(reverse(FORM), {"purpose": PURPOSE, "file": upload})
    assert response.status_code == 302
    rows = _by_row(IdentityCheck.objects.get())
    assert (rows[2]["status"], rows[3]["status"]) == ("not_found", "alumnus")


def test_identity_check_page_errors(client, staff, records):
    client.force_login(staff)
    response = client.post(reverse(FORM), {"purpose": "", "text": "张伟 2005"})
    assert response.status_code == 200
    assert "purpose" in response.context["form"].errors
    too_many = "\n".join("张伟 2005" for _ in range(identity.MAX_ROWS + 1))
    response = client.post(reverse(FORM), {"purpose": PURPOSE, "text": too_many})
    assert response.status_code == 200
    assert "5,000" in " ".join(response.context["form"].non_field_errors())
    response = client.post(reverse(FORM), {"purpose": PURPOSE, "text": ""})
    assert response.context["form"].non_field_errors()
    assert not IdentityCheck.objects.exists()


def test_identity_check_xlsx_download_neutralises_formulas_and_is_audited(client, staff, records):
    client.force_login(staff)
    text = '=HYPERLINK("http://x")\t2001010101\n+张伟\t2005\n@李娜 2008\n张伟\t-2005'
    client.post(reverse(FORM), {"purpose": PURPOSE, "text": text})
    check = IdentityCheck.objects.get()
    response = client.get(reverse("alumni:identity-check-download", args=[check.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    given_names = [row[1] for row in values[1:]]
    assert given_names[0] == '\'=HYPERLINK("http://x")'
    assert given_names[1] == "'+张伟"
    assert "'@李娜" in given_names
    assert all(not str(v).startswith(("=", "+", "-", "@")) for row in values for v in row if v is not None)
    event = AuditEvent.objects.get(action="identity.check_download")
    assert (event.actor, event.target_id) == (staff, str(check.pk))


def test_identity_check_results_are_private_and_cleared_after_retention(client, staff, office_admin, records):
    check = identity_check_run(actor=staff, purpose=PURPOSE, rows=parse_pasted("张伟 2005"))
    client.force_login(office_admin)
    assert client.get(reverse("alumni:identity-check-detail", args=[check.pk])).status_code == 404
    assert client.get(reverse("alumni:identity-check-download", args=[check.pk])).status_code == 404
    IdentityCheck.objects.filter(pk=check.pk).update(created_at=timezone.now() - timedelta(days=31))
    assert identity.identity_check_results_purge() == 1
    check.refresh_from_db()
    assert (check.results, check.row_count, check.ambiguous_count) == ([], 1, 1)
    client.force_login(staff)
    assert client.get(reverse("alumni:identity-check-detail", args=[check.pk])).status_code == 200
    assert client.get(reverse("alumni:identity-check-download", args=[check.pk])).status_code == 404


def test_identity_check_wrong_roles(client, liaison, chapter_leader, alumnus, records):
    for user in (liaison, chapter_leader):
        client.force_login(user)
        assert client.get(reverse(FORM)).status_code == 403
        assert client.post(reverse(FORM), {"purpose": PURPOSE, "text": "张伟 2005"}).status_code == 403
    client.force_login(alumnus)
    response = client.get(reverse(FORM))
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))
    client.logout()
    assert client.post(reverse(FORM), {"purpose": PURPOSE, "text": "张伟 2005"}).status_code == 302
    assert not IdentityCheck.objects.exists()
