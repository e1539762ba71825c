"""Person exports: the field catalogue, rows, the admin action and filtered-list export, export jobs
and the export_alumni command. Scope and fields always come from the user."""

import csv
import hashlib
import io
from datetime import date, timedelta

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from apps.alumni.exports import (
    DEFAULT_FIELDS,
    FIELDS,
    export_fields_allowed,
    export_fields_check,
    export_header,
    export_rows,
    people_matching,
)
from apps.alumni.models import ContactChannel, Enrollment, Honour, Person
from apps.core.models import AuditEvent
from apps.dataservice.models import ExportJob
from tests.alumni.factories import (
    ContactChannelFactory,
    EmploymentFactory,
    EnrollmentFactory,
    HonourFactory,
    alumnus_in,
    valid_id_number,
)

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:alumni_person_changelist"
EXPORT = "admin:alumni_person_export"
ID_NUMBER = valid_id_number("44030119850615123")


@pytest.fixture(autouse=True)
def _files(settings, tmp_path):
    settings.DATA_FILES_ROOT = tmp_path / "private"


@pytest.fixture
def mine(college):
    person = alumnus_in(college, name="张伟", id_number=ID_NUMBER)
    ContactChannelFactory(person=person, value="13800138000")
    return person


@pytest.fixture
def theirs(other_college):
    return alumnus_in(other_college, name="李娜")


@pytest.fixture
def formula(college):
    """Someone whose stored name would run as a formula in Excel."""
    return alumnus_in(college, name='=HYPERLINK("http://evil.example","点我")')


def _csv(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def _zh_header(keys) -> list[str]:
    with translation.override("zh-hans"):
        return export_header(keys)


def _export_events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="person.export").order_by("id"))


def _details(event: AuditEvent) -> dict:
    return {change["field"]: change["new"] for change in event.changes}


def _streamed(response) -> bytes:
    assert response.status_code == 200
    return b"".join(response.streaming_content) if response.streaming else response.content


# --- the catalogue ------------------------------------------------------------------------


def test_export_fields_office_admin_may_export_id_numbers(office_admin):
    keys = {f.key for f in export_fields_allowed(office_admin)}
    assert keys == set(FIELDS)


def test_export_fields_office_staff_and_college_staff_never_id_numbers(staff, college_staff):
    for user in (staff, college_staff):
        keys = {f.key for f in export_fields_allowed(user)}
        assert "id_number" not in keys
        assert {"name", "student_ids", "mobile", "email", "employer", "honours"} <= keys


@pytest.mark.parametrize("role_fixture", ["liaison", "chapter_leader", "alumnus"])
def test_export_fields_roles_without_the_export_right_get_none(request, role_fixture):
    user = request.getfixturevalue(role_fixture)
    assert export_fields_allowed(user) == []


def test_export_fields_check_names_forbidden_and_unknown_fields(college_staff):
    with pytest.raises(Exception, match="id_number") as forbidden:
        export_fields_check(college_staff, ["name", "id_number"])
    assert forbidden.value.code == "forbidden_fields"
    with pytest.raises(Exception, match="shoe_size") as unknown:
        export_fields_check(college_staff, ["name", "shoe_size"])
    assert unknown.value.code == "unknown_fields"
    assert export_fields_check(college_staff, ["name", " mobile ", "name"]) == ["name", "mobile"]


def test_export_rows_values(college, other_college):
    person = alumnus_in(college, name="王芳", gender=Person.Gender.FEMALE, birth_date=date(1990, 3, 4))
    EnrollmentFactory(
        person=person,
        college=other_college,
        degree_level=Enrollment.DegreeLevel.MASTER,
        student_id="S2015001",
        enrollment_year=2015,
        graduation_year=2018,
    )
    ContactChannelFactory(person=person, kind=ContactChannel.Kind.EMAIL, value="wf@example.com")
    ContactChannelFactory(
        person=person, kind=ContactChannel.Kind.EMAIL, value="old@example.com", status=ContactChannel.Status.BOUNCED
    )
    EmploymentFactory(person=person, organisation="旧单位", start_date=date(2015, 1, 1), end_date=date(2018, 1, 1))
    EmploymentFactory(person=person, organisation="中国科学院", title="研究员", start_date=date(2018, 2, 1))
    HonourFactory(person=person, kind=Honour.Kind.ACADEMICIAN_CAS, year=2021)
    keys = ["name", "gender", "birth_date", "colleges", "graduation_years", "enrollment_years", "email", "employer"]
    keys += ["job_title", "career", "honours", "student_ids"]
    with translation.override("en"):
        (row,) = list(export_rows(Person.objects.filter(pk=person.pk), keys))
    values = dict(zip(keys, row, strict=True))
    assert values["name"] == "王芳"
    assert values["gender"] == "Female"
    assert values["birth_date"] == date(1990, 3, 4)
    assert values["colleges"] == f"{college.name}; {other_college.name}"
    assert values["graduation_years"] == "2015; 2018"
    assert values["enrollment_years"] == "2011; 2015"
    assert values["email"] == "wf@example.com"  # the bounced address is left out
    assert values["employer"] == "中国科学院"
    assert values["job_title"] == "研究员"
    assert values["career"] == "中国科学院 研究员 (2018); 旧单位 工程师 (2015–2018)"
    assert values["honours"] == "Academician, Chinese Academy of Sciences 2021"
    assert values["student_ids"].endswith("; S2015001")


def test_export_rows_single_year_is_a_number(college):
    person = alumnus_in(college)
    (row,) = list(export_rows(Person.objects.filter(pk=person.pk), ["graduation_years"]))
    assert row == [2015]


def test_export_rows_query_count_does_not_grow_with_people(college, django_assert_max_num_queries):
    for index in range(25):
        person = alumnus_in(college, name=f"校友{index}")
        ContactChannelFactory(person=person)
        EmploymentFactory(person=person)
        HonourFactory(person=person)
    keys = ["name", "student_ids", "colleges", "mobile", "employer", "honours"]
    # 25 people in chunks of 10: one query for the people, at most four per chunk for the rest.
    with django_assert_max_num_queries(1 + 3 * 4):
        rows = list(export_rows(Person.objects.all(), keys, chunk_size=10))
    assert len(rows) == 25


def test_people_matching_applies_the_criteria_to_one_enrolment(college, other_college):
    bachelor_here = alumnus_in(college)  # bachelor 2011-2015 in college
    master_elsewhere = alumnus_in(other_college)
    EnrollmentFactory(person=master_elsewhere, college=college, degree_level="master", graduation_year=2019)
    honoured = alumnus_in(other_college, province="上海")
    HonourFactory(person=honoured, kind=Honour.Kind.ACADEMICIAN_CAE)
    everyone = Person.objects.all()

    def pks(**filters):
        return set(people_matching(everyone, **filters).values_list("pk", flat=True))

    assert pks(college_ids=[college.pk], degree_levels=["bachelor"]) == {bachelor_here.pk}
    assert pks(college_ids=[college.pk], graduation_year_from=2016) == {master_elsewhere.pk}
    assert pks(honour_kinds=["cae"]) == {honoured.pk}
    assert pks(provinces=["上海"]) == {honoured.pk}
    assert pks(person_ids=[bachelor_here.pk, honoured.pk], college_ids=[college.pk]) == {bachelor_here.pk}
    assert pks() == {bachelor_here.pk, master_elsewhere.pk, honoured.pk}


# --- admin: export selected ---------------------------------------------------------------


def _action(client, people, **data):
    payload = {"action": "export_selected", "_selected_action": [p.pk for p in people], **data}
    return client.post(reverse(CHANGELIST), payload)


def _confirm(client, people, *, fields, fmt="csv", query="", select_across=False):
    payload = {
        "action": "export_selected",
        "select_across": "1" if select_across else "0",
        "_selected_action": [p.pk for p in people],
        "export_confirm": "1",
        "format": fmt,
        "fields": fields,
    }
    return client.post(reverse(CHANGELIST) + query, payload)


def test_export_selected_offers_only_allowed_fields(client, college_staff, office_admin, mine):
    client.force_login(college_staff)
    page = _action(client, [mine], index="0")
    assert page.status_code == 200
    choices = {value for value, _label in page.context["form"].fields["fields"].choices}
    assert "id_number" not in choices
    assert "mobile" in choices
    assert b'value="id_number"' not in page.content
    client.force_login(office_admin)
    page = _action(client, [mine], index="0")
    assert b'value="id_number"' in page.content


def test_export_selected_csv_audited_with_count_and_hash(client, staff, mine, theirs, formula):
    client.force_login(staff)
    response = _confirm(client, [mine, formula], fields=["name", "student_ids", "mobile"])
    assert response["Content-Type"].startswith("text/csv")
    assert "filename*=UTF-8''" in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]
    assert _export_events() == []  # written when the stream ends, not before
    content = _streamed(response)
    rows = _csv(content)
    assert rows[0] == _zh_header(["name", "student_ids", "mobile"])
    names = sorted(r[0] for r in rows[1:])
    assert names == sorted(["张伟", "'" + formula.name])
    assert ["张伟", mine.enrollments.get().student_id, "13800138000"] in rows
    (event,) = _export_events()
    details = _details(event)
    assert event.actor == staff
    assert details["rows"] == 2
    assert details["sha256"] == hashlib.sha256(content).hexdigest()
    assert details["fields"] == ["name", "student_ids", "mobile"]
    assert details["format"] == "csv"
    assert sorted(details["filters"]["selected"]) == sorted([str(mine.pk), str(formula.pk)])


def test_export_selected_xlsx_neutralises_formulas(client, staff, formula):
    client.force_login(staff)
    response = _confirm(client, [formula], fields=["name", "graduation_years"], fmt="xlsx")
    content = _streamed(response)
    sheet = load_workbook(io.BytesIO(content)).active
    assert [c.value for c in sheet[2]] == ["'" + formula.name, 2015]
    assert sheet["A2"].data_type == "s"
    (event,) = _export_events()
    assert _details(event)["sha256"] == hashlib.sha256(content).hexdigest()
    assert _details(event)["rows"] == 1


def test_export_selected_college_staff_select_across_exports_only_their_college(
    client, college_staff, mine, theirs, formula
):
    client.force_login(college_staff)
    # Even with a foreign id posted and "select all" on, the queryset is the user's scope.
    response = _confirm(client, [mine, theirs], fields=["name"], select_across=True)
    names = sorted(r[0] for r in _csv(_streamed(response))[1:])
    assert names == sorted(["张伟", "'" + formula.name])


def test_export_selected_college_staff_cannot_force_id_numbers(client, college_staff, mine):
    client.force_login(college_staff)
    response = _confirm(client, [mine], fields=["name", "id_number"])
    assert response.status_code == 200
    assert not response.streaming
    assert "fields" in response.context["form"].errors
    assert _export_events() == []


def test_export_selected_office_admin_gets_id_numbers(client, office_admin, mine):
    client.force_login(office_admin)
    rows = _csv(_streamed(_confirm(client, [mine], fields=["name", "id_number"])))
    assert rows[1] == ["张伟", ID_NUMBER]


@pytest.mark.parametrize("role_fixture", ["liaison", "chapter_leader"])
def test_export_selected_not_offered_to_roles_without_the_right(client, request, role_fixture, mine):
    client.force_login(request.getfixturevalue(role_fixture))
    page = client.get(reverse(CHANGELIST))
    assert page.status_code == 200
    action_form = page.context["action_form"]
    assert action_form is None or "export_selected" not in dict(action_form.fields["action"].choices)
    assert b"export-list-link" not in page.content
    response = _confirm(client, [mine], fields=["name"])
    assert not getattr(response, "streaming", False)
    assert _export_events() == []


# --- admin: export this filtered list -----------------------------------------------------


def test_changelist_links_to_the_export_of_the_current_filters(client, staff, mine):
    client.force_login(staff)
    page = client.get(reverse(CHANGELIST), {"graduation_year": "2015", "q": "张"})
    assert page.status_code == 200
    assert f"{reverse(EXPORT)}?graduation_year=2015&amp;q=%E5%BC%A0".encode() in page.content


def test_export_filtered_list_exports_exactly_the_filters_and_search(client, staff, college, other_college):
    zhang_2015 = alumnus_in(college, name="张三")
    alumnus_in(college, name="李四")  # same year, other name
    zhang_2019 = alumnus_in(other_college, name="张五")
    zhang_2019.enrollments.update(enrollment_year=2015, graduation_year=2019)
    client.force_login(staff)
    url = reverse(EXPORT) + "?graduation_year=2015&q=张"
    page = client.get(url)
    assert page.status_code == 200
    assert page.context["count"] == 1
    rows = _csv(_streamed(client.post(url, {"format": "csv", "fields": ["name", "graduation_years"]})))
    assert rows[1:] == [["张三", "2015"]]
    (event,) = _export_events()
    assert _details(event)["filters"] == {"query": {"graduation_year": "2015", "q": "张"}}
    assert _details(event)["rows"] == 1
    assert page.context["count"] == Person.objects.filter(pk=zhang_2015.pk).count()


def test_export_filtered_list_college_staff_other_college_filter_exports_nothing(
    client, college_staff, other_college, mine, theirs
):
    client.force_login(college_staff)
    url = reverse(EXPORT) + f"?college={other_college.pk}"
    rows = _csv(_streamed(client.post(url, {"format": "csv", "fields": ["name"]})))
    assert rows[1:] == []
    rows = _csv(_streamed(client.post(reverse(EXPORT), {"format": "csv", "fields": ["name"]})))
    assert [r[0] for r in rows[1:]] == ["张伟"]


@pytest.mark.parametrize("role_fixture", ["liaison", "chapter_leader"])
def test_export_filtered_list_forbidden_to_roles_without_the_right(client, request, role_fixture, mine):
    client.force_login(request.getfixturevalue(role_fixture))
    assert client.get(reverse(EXPORT)).status_code == 403
    assert client.post(reverse(EXPORT), {"format": "csv", "fields": ["name"]}).status_code == 403


def test_export_filtered_list_not_for_alumni(client, alumnus, mine):
    client.force_login(alumnus)
    response = client.get(reverse(EXPORT))
    assert response.status_code in (302, 403)
    assert _export_events() == []


# --- export jobs (large lists) ------------------------------------------------------------


@override_settings(EXPORT_SYNC_MAX_ROWS=1)
def test_large_export_runs_as_a_job_with_progress_and_an_expiring_link(
    client, staff, college_staff, mine, theirs, django_capture_on_commit_callbacks
):
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse(EXPORT), {"format": "xlsx", "fields": ["name", "mobile"]})
    job = ExportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("dataservice:exportjob-detail", args=[job.public_id])
    assert job.status == ExportJob.Status.DONE
    assert (job.total, job.row_count, job.progress) == (2, 2, 2)
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert b"export_progress.js" in page.content
    assert b"<script>" not in page.content  # CSP: no inline scripts
    status = client.get(reverse("dataservice:exportjob-status", args=[job.public_id])).json()
    assert status["status"] == "done"
    assert status["percent"] == 100
    download = client.get(status["download_url"])
    content = _streamed(download)
    assert "no-store" in download["Cache-Control"]
    sheet = load_workbook(io.BytesIO(content)).active
    assert sorted(c.value for c in sheet["A"][1:]) == sorted(["张伟", "李娜"])
    (event,) = _export_events()
    assert _details(event)["sha256"] == job.sha256 == hashlib.sha256(content).hexdigest()
    assert _details(event)["channel"] == "job"
    # Someone else (even office staff) cannot fetch it; after the link expires nobody can.
    client.force_login(college_staff)
    assert client.get(status["download_url"]).status_code == 404
    assert client.get(reverse("dataservice:exportjob-status", args=[job.public_id])).status_code == 404
    client.force_login(staff)
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        assert client.get(status["download_url"]).status_code == 410
    job.refresh_from_db()
    assert job.status == ExportJob.Status.EXPIRED
    assert not job.file


@override_settings(EXPORT_SYNC_MAX_ROWS=1)
def test_export_job_college_staff_scope_is_applied_again_when_it_runs(
    client, college_staff, mine, theirs, formula, django_capture_on_commit_callbacks
):
    client.force_login(college_staff)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse(EXPORT), {"format": "csv", "fields": ["name"]})
    job = ExportJob.objects.get()
    assert job.total == 2
    rows = _csv(_streamed(client.get(reverse("dataservice:exportjob-download", args=[job.public_id]))))
    assert sorted(r[0] for r in rows[1:]) == sorted(["张伟", "'" + formula.name])


@override_settings(EXPORT_SYNC_MAX_ROWS=1)
def test_export_job_task_twice_writes_one_file_and_one_audit_row(staff, mine, theirs, settings):
    from apps.dataservice import services
    from apps.dataservice.tasks import export_job_run_task

    job = services.export_job_create(
        actor=staff, queryset=Person.objects.all(), fields=["name"], fmt="csv", filters={"query": {}}
    )
    export_job_run_task(job.pk)
    export_job_run_task(job.pk)
    job.refresh_from_db()
    assert job.status == ExportJob.Status.DONE
    assert len(_export_events()) == 1
    files = list((settings.DATA_FILES_ROOT / "exports").iterdir())
    assert [f.name for f in files] == [f"{job.public_id}.csv"]


# --- the command ----------------------------------------------------------------------------


def _file_events() -> dict:
    (event,) = _export_events()
    return _details(event)


def test_command_exports_csv_with_bom_and_audit(tmp_path, college, mine, theirs, formula):
    out = tmp_path / "alumni.csv"
    call_command("export_alumni", "--out", str(out), "--fields", "name,student_ids", "--college", "CS")
    content = out.read_bytes()
    rows = _csv(content)
    assert rows[0] == _zh_header(["name", "student_ids"])
    assert sorted(r[0] for r in rows[1:]) == sorted(["张伟", "'" + formula.name])
    details = _file_events()
    assert details["rows"] == 2
    assert details["sha256"] == hashlib.sha256(content).hexdigest()
    assert details["filters"] == {"command": "export_alumni", "college": "CS"}


def test_command_xlsx_from_the_extension(tmp_path, mine, theirs):
    out = tmp_path / "alumni.xlsx"
    call_command("export_alumni", "--out", str(out))
    sheet = load_workbook(out).active
    assert [c.value for c in sheet[1]] == _zh_header(DEFAULT_FIELDS)
    assert sheet.max_row == 3
    assert _file_events()["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()


def test_command_user_college_staff_exports_only_their_college(tmp_path, college_staff, mine, theirs, formula):
    out = tmp_path / "mine.csv"
    call_command("export_alumni", "--out", str(out), "--fields", "name", "--user", college_staff.email)
    assert sorted(r[0] for r in _csv(out.read_bytes())[1:]) == sorted(["张伟", "'" + formula.name])
    assert _export_events()[0].actor == college_staff


def test_command_user_forbidden_field_is_an_error_not_dropped(tmp_path, college_staff, mine):
    out = tmp_path / "x.csv"
    with pytest.raises(CommandError, match="id_number"):
        call_command("export_alumni", "--out", str(out), "--fields", "name,id_number", "--user", college_staff.email)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no half-written temporary file either
    assert _export_events() == []


def test_command_user_other_college_is_an_error(tmp_path, college_staff, other_college, theirs):
    with pytest.raises(CommandError, match="ME"):
        call_command(
            "export_alumni", "--out", str(tmp_path / "x.csv"), "--college", "ME", "--user", college_staff.email
        )


def test_command_unknown_field_or_college(tmp_path, mine):
    with pytest.raises(CommandError, match="shoe_size"):
        call_command("export_alumni", "--out", str(tmp_path / "x.csv"), "--fields", "name,shoe_size")
    with pytest.raises(CommandError, match="NOPE"):
        call_command("export_alumni", "--out", str(tmp_path / "x.csv"), "--college", "NOPE")


def test_command_user_without_the_export_right(tmp_path, liaison, mine):
    with pytest.raises(CommandError, match="may not export"):
        call_command("export_alumni", "--out", str(tmp_path / "x.csv"), "--user", liaison.email)


def test_command_without_user_may_export_id_numbers(tmp_path, mine):
    out = tmp_path / "ids.csv"
    call_command("export_alumni", "--out", str(out), "--fields", "name,id_number", "--format", "csv")
    assert _csv(out.read_bytes())[1] == ["张伟", ID_NUMBER]
    assert _export_events()[0].actor is None
