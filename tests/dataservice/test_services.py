"""Data requests through the services: numbering, workflow, approval with trimmed fields, idempotent
production, provision log, profile sheets, expiry."""

import hashlib
import re
import threading
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone, translation
from openpyxl import load_workbook

from apps.alumni.exports import export_header
from apps.alumni.models import Honour
from apps.core.errors import ApplicationError
from apps.core.models import AuditEvent
from apps.dataservice import services
from apps.dataservice.models import DataRequest, ProvisionRecord
from apps.dataservice.tasks import data_links_expire_task, datarequest_produce_task
from tests.alumni.factories import EmploymentFactory, EnrollmentFactory, HonourFactory, alumnus_in

from .factories import data_request, delivered

pytestmark = pytest.mark.django_db
Status = DataRequest.Status


def _actions(request: DataRequest) -> list[str]:
    return list(
        AuditEvent.objects.filter(target_type="dataservice.datarequest", target_id=str(request.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )


def _sheet(request: DataRequest):
    with request.file.open("rb") as handle:
        return load_workbook(handle)


def _page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?!s)", pdf))


# --- numbering ------------------------------------------------------------------------------


def test_request_numbers_are_unique_and_sequential_per_year(staff, publicity):
    with time_machine.travel("2026-03-01 10:00 +0800"):
        first = data_request(actor=staff, recipient=publicity)
        second = data_request(actor=staff, recipient=publicity)
    with time_machine.travel("2027-01-02 10:00 +0800"):
        next_year = data_request(actor=staff, recipient=publicity)
    assert [first.number, second.number, next_year.number] == ["SJ-2026-0001", "SJ-2026-0002", "SJ-2027-0001"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="real concurrency needs PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_request_numbers_unique_under_concurrency(publicity, staff):
    numbers: list[str] = []
    errors: list[Exception] = []
    barrier = threading.Barrier(6)

    def create():
        try:
            barrier.wait()
            numbers.append(data_request(actor=staff, recipient=publicity).number)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=create) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(set(numbers)) == 6
    year = timezone.localdate().year
    assert sorted(numbers) == [f"SJ-{year}-{n:04d}" for n in range(1, 7)]


# --- drafts and decisions -------------------------------------------------------------------


def test_create_validates_fields_and_basis(staff, publicity):
    with pytest.raises(ValidationError) as unknown:
        data_request(actor=staff, recipient=publicity, fields=["name", "shoe_size"])
    assert "requested_fields" in unknown.value.message_dict
    with pytest.raises(ValidationError) as basis:
        data_request(actor=staff, recipient=publicity, legal_basis="other", legal_basis_detail="")
    assert "legal_basis_detail" in basis.value.message_dict
    with pytest.raises(ValidationError) as profile:
        data_request(actor=staff, recipient=publicity, kind=DataRequest.Kind.PROFILE_SHEETS, fields=["mobile"])
    assert "requested_fields" in profile.value.message_dict
    assert DataRequest.objects.count() == 0


def test_college_staff_may_ask_only_for_their_college_recipient(college_staff, college_recipient, publicity):
    assert data_request(actor=college_staff, recipient=college_recipient).status == Status.DRAFT
    with pytest.raises(ValidationError) as foreign:
        data_request(actor=college_staff, recipient=publicity)
    assert "recipient" in foreign.value.message_dict


def test_refusing_needs_a_reason(staff, office_admin, publicity):
    request = data_request(actor=staff, recipient=publicity)
    services.datarequest_submit(request=request, actor=staff)
    with pytest.raises(ValidationError):
        services.datarequest_refuse(request=request, actor=office_admin, reason="  ")
    request.refresh_from_db()
    assert request.status == Status.SUBMITTED
    services.datarequest_refuse(request=request, actor=office_admin, reason="用途与所请求字段不符")
    request.refresh_from_db()
    assert request.status == Status.REFUSED
    assert request.refusal_reason == "用途与所请求字段不符"
    assert request.decided_by == office_admin
    assert _actions(request) == ["datarequest.create", "datarequest.submit", "datarequest.refuse"]
    refusal = AuditEvent.objects.get(action="datarequest.refuse")
    assert refusal.reason == "用途与所请求字段不符"


def test_only_office_admins_decide(staff, college_staff, publicity):
    request = data_request(actor=staff, recipient=publicity)
    services.datarequest_submit(request=request, actor=staff)
    for user in (staff, college_staff):
        with pytest.raises(PermissionDenied):
            services.datarequest_approve(request=request, actor=user)
        with pytest.raises(PermissionDenied):
            services.datarequest_refuse(request=request, actor=user, reason="x")
    request.refresh_from_db()
    assert request.status == Status.SUBMITTED


def test_nothing_happens_out_of_order(staff, office_admin, publicity):
    request = data_request(actor=staff, recipient=publicity)
    with pytest.raises(ApplicationError):
        services.datarequest_approve(request=request, actor=office_admin)  # still a draft
    services.datarequest_submit(request=request, actor=staff)
    with pytest.raises(ApplicationError):
        services.datarequest_submit(request=request, actor=staff)
    request.status = Status.DRAFT  # a stale copy cannot edit a submitted request either
    with pytest.raises(ApplicationError):
        services.datarequest_save_draft(instance=request, actor=staff)


def test_approving_only_requested_fields(staff, office_admin, publicity):
    request = data_request(actor=staff, recipient=publicity, fields=["name", "colleges"])
    services.datarequest_submit(request=request, actor=staff)
    with pytest.raises(ValidationError, match="mobile"):
        services.datarequest_approve(request=request, actor=office_admin, fields=["name", "mobile"])
    request.refresh_from_db()
    assert request.status == Status.SUBMITTED


# --- production -----------------------------------------------------------------------------


def test_approved_with_trimmed_fields_the_file_holds_only_those_columns(
    staff, office_admin, publicity, cohort, django_capture_on_commit_callbacks
):
    request = data_request(actor=staff, recipient=publicity, fields=["name", "colleges", "mobile", "graduation_years"])
    request = delivered(
        request,
        submitter=staff,
        approver=office_admin,
        fields=["name", "graduation_years"],
        capture=django_capture_on_commit_callbacks,
    )
    assert request.status == Status.DELIVERED
    assert request.approved_fields == ["name", "graduation_years"]
    workbook = _sheet(request)
    sheet = workbook.active
    assert request.number in sheet["A1"].value
    with translation.override("zh-hans"):
        expected = [*export_header(["name", "graduation_years"]), "Request number"]
    header = [c.value for c in sheet[2]]
    assert header[:2] == expected[:2]
    assert len(header) == 3  # name, graduation years, and the hidden request-number column
    assert sheet.column_dimensions["C"].hidden
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=3)]
    assert sorted(r[0] for r in rows) == sorted(["张伟", "王芳", "'=cmd|' /C calc'!A0", "李娜"])
    assert {r[1] for r in rows} == {2015}
    assert {r[2] for r in rows} == {request.number}
    assert workbook.properties.title == request.number
    assert workbook.properties.keywords == request.number
    with request.file.open("rb") as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == request.sha256
    assert request.row_count == 4
    assert request.link_expires_at == request.produced_at + timedelta(hours=72)
    assert _actions(request) == [
        "datarequest.create",
        "datarequest.submit",
        "datarequest.approve",
        "datarequest.deliver",
    ]
    approval = AuditEvent.objects.get(action="datarequest.approve")
    trimmed = next(c["new"] for c in approval.changes if c["field"] == "trimmed_fields")
    assert trimmed == ["colleges", "mobile"]


def test_filters_select_the_people(staff, office_admin, publicity, college, cohort, django_capture_on_commit_callbacks):
    honoured = cohort["cs"][1]
    HonourFactory(person=honoured, kind=Honour.Kind.ACADEMICIAN_CAS)
    EnrollmentFactory(person=cohort["me"][0], college=college, degree_level="master", graduation_year=2020)
    request = data_request(
        actor=staff,
        recipient=publicity,
        filters={"filter_graduation_year_from": 2016, "filter_degree_levels": ["master"]},
        colleges=[college],
    )
    request = delivered(request, submitter=staff, approver=office_admin, capture=django_capture_on_commit_callbacks)
    assert set(request.provisions.values_list("person_pk", flat=True)) == {cohort["me"][0].pk}
    honours = data_request(actor=staff, recipient=publicity, filters={"filter_honour_kinds": ["cas"]})
    honours = delivered(honours, submitter=staff, approver=office_admin, capture=django_capture_on_commit_callbacks)
    assert list(honours.provisions.values_list("person_pk", flat=True)) == [honoured.pk]


def test_production_twice_one_provision_per_person_and_one_file(
    staff, office_admin, publicity, cohort, settings, django_capture_on_commit_callbacks
):
    request = data_request(actor=staff, recipient=publicity)
    request = delivered(request, submitter=staff, approver=office_admin, capture=django_capture_on_commit_callbacks)
    first_hash = request.sha256
    datarequest_produce_task(request.pk)  # a duplicate delivery of the task: nothing to do
    # A worker that died after writing the file but before committing: the task is redelivered.
    DataRequest.objects.filter(pk=request.pk).update(status=Status.PRODUCING)
    datarequest_produce_task(request.pk)
    request.refresh_from_db()
    assert request.status == Status.DELIVERED
    assert ProvisionRecord.objects.filter(request=request).count() == 4
    assert sorted(ProvisionRecord.objects.values_list("person_pk", flat=True)) == sorted(
        p.pk for p in cohort["cs"] + cohort["me"]
    )
    files = [p for p in (settings.DATA_FILES_ROOT / "deliveries").rglob("*") if p.is_file()]
    assert [f.name for f in files] == [f"{request.public_id}.xlsx"]
    assert len(request.sha256) == 64
    assert first_hash
    assert _actions(request).count("datarequest.deliver") == 2


def test_provision_log_survives_the_person(staff, office_admin, publicity, cohort, django_capture_on_commit_callbacks):
    request = data_request(actor=staff, recipient=publicity)
    request = delivered(request, submitter=staff, approver=office_admin, capture=django_capture_on_commit_callbacks)
    person = cohort["cs"][0]
    person_pk = person.pk
    person.delete()
    record = ProvisionRecord.objects.get(request=request, person_pk=person_pk)
    assert record.person is None


def test_production_failure_goes_back_to_approved_and_can_run_again(
    staff, office_admin, publicity, cohort, monkeypatch, django_capture_on_commit_callbacks
):
    request = data_request(actor=staff, recipient=publicity)
    services.datarequest_submit(request=request, actor=staff)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("apps.dataservice.services.requests._write_spreadsheet", broken)
    with django_capture_on_commit_callbacks(execute=True):
        services.datarequest_approve(request=request, actor=office_admin)
    request.refresh_from_db()
    assert request.status == Status.APPROVED
    assert request.production_error == "disk full"
    assert ProvisionRecord.objects.count() == 0
    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        services.datarequest_produce_again(request=request, actor=office_admin)
    request.refresh_from_db()
    assert request.status == Status.DELIVERED
    assert request.production_error == ""


def test_profile_sheets_one_page_per_person(
    staff, office_admin, publicity, college, django_capture_on_commit_callbacks
):
    people = [alumnus_in(college, name=name) for name in ("钱学森", "邓稼先", "黄旭华")]
    for person in people:
        HonourFactory(person=person, kind=Honour.Kind.ACADEMICIAN_CAS, title="两弹一星功勋奖章")
        for index in range(12):  # a long career still fits on its one page
            EmploymentFactory(person=person, organisation=f"第{index}研究所", title="总设计师")
    bystander = alumnus_in(college, name="路人甲")
    request = data_request(
        actor=staff,
        recipient=publicity,
        kind=DataRequest.Kind.PROFILE_SHEETS,
        fields=["name", "degrees", "career", "honours"],
        people=[*people, bystander],
        filters={"filter_honour_kinds": ["cas"]},
    )
    request = delivered(request, submitter=staff, approver=office_admin, capture=django_capture_on_commit_callbacks)
    with request.file.open("rb") as handle:
        pdf = handle.read()
    assert pdf.startswith(b"%PDF")
    assert _page_count(pdf) == 3
    assert b"STSong-Light" in pdf
    assert request.number.encode() in pdf  # title metadata
    assert request.row_count == 3
    assert request.file.name.endswith(".pdf")
    assert set(request.provisions.values_list("person_pk", flat=True)) == {p.pk for p in people}


def test_profile_sheets_with_nobody_is_one_page_saying_so(
    staff, office_admin, publicity, django_capture_on_commit_callbacks
):
    request = data_request(
        actor=staff, recipient=publicity, kind=DataRequest.Kind.PROFILE_SHEETS, fields=["name", "honours"]
    )
    request = delivered(request, submitter=staff, approver=office_admin, capture=django_capture_on_commit_callbacks)
    with request.file.open("rb") as handle:
        assert _page_count(handle.read()) == 1
    assert request.row_count == 0


# --- expiry -------------------------------------------------------------------------------


def test_links_expire_and_files_are_deleted(
    staff, office_admin, publicity, cohort, settings, django_capture_on_commit_callbacks
):
    request = data_request(actor=staff, recipient=publicity)
    request = delivered(request, submitter=staff, approver=office_admin, capture=django_capture_on_commit_callbacks)
    path = settings.DATA_FILES_ROOT / request.file.name
    assert path.exists()
    assert data_links_expire_task() == 0
    with time_machine.travel(timezone.now() + timedelta(hours=73)), django_capture_on_commit_callbacks(execute=True):
        assert data_links_expire_task() == 1
    request.refresh_from_db()
    assert request.status == Status.EXPIRED
    assert not request.file
    assert not path.exists()
    assert ProvisionRecord.objects.filter(request=request).count() == 4  # the log stays
    assert _actions(request)[-1] == "datarequest.expire"
