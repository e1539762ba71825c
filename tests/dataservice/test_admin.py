"""The data-service admin: scoped lists, the request form, workflow pages and the delivery report."""

import pytest
import time_machine
from django.urls import reverse

from apps.core.models import AuditEvent
from apps.dataservice.models import DataRequest, Recipient

from .factories import RecipientFactory, data_request, delivered

pytestmark = pytest.mark.django_db
CHANGELIST = "admin:dataservice_datarequest_changelist"


def _url(name: str, request: DataRequest) -> str:
    return reverse(f"admin:dataservice_datarequest_{name}", args=[request.pk])


def _add_form(recipient, **overrides) -> dict:
    data = {
        "recipient": recipient.pk,
        "kind": DataRequest.Kind.SPREADSHEET,
        "purpose": "招生宣传：联系本省校友",
        "legal_basis": DataRequest.LegalBasis.CONSENT,
        "legal_basis_detail": "校友登记时的同意书",
        "impact_assessment": "",
        "requested_fields": ["name", "colleges", "mobile"],
        "filter_degree_levels": ["bachelor"],
        "filter_provinces": "河南，山东、 北京",
        "filter_graduation_year_from": "2010",
        "filter_graduation_year_to": "2015",
        "retention_until": "2027-06-30",
        "_save": "Save",
    }
    data.update(overrides)
    return data


# --- lists and forms ------------------------------------------------------------------------


def test_changelist_scoped_to_the_users_recipients(
    client, staff, college_staff, college_recipient, other_college_recipient, publicity
):
    mine = data_request(actor=staff, recipient=college_recipient)
    theirs = data_request(actor=staff, recipient=other_college_recipient)
    office = data_request(actor=staff, recipient=publicity)
    client.force_login(staff)
    assert {r.pk for r in client.get(reverse(CHANGELIST)).context["cl"].result_list} == {mine.pk, theirs.pk, office.pk}
    client.force_login(college_staff)
    assert {r.pk for r in client.get(reverse(CHANGELIST)).context["cl"].result_list} == {mine.pk}
    assert client.get(_url("change", theirs)).status_code == 404
    assert client.get(_url("change", office)).status_code == 404


@pytest.mark.parametrize("user_fixture", ["liaison", "chapter_leader"])
def test_changelist_forbidden_to_other_roles(client, request, user_fixture):
    client.force_login(request.getfixturevalue(user_fixture))
    assert client.get(reverse(CHANGELIST)).status_code == 403
    assert client.get(reverse("admin:dataservice_datarequest_report")).status_code == 403


def test_add_through_the_admin_numbers_and_audits(client, staff, publicity, college):
    client.force_login(staff)
    response = client.post(
        reverse("admin:dataservice_datarequest_add"), _add_form(publicity, filter_colleges=[college.pk])
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    request = DataRequest.objects.get()
    assert request.number.startswith("SJ-")
    assert request.status == DataRequest.Status.DRAFT
    assert request.created_by == staff
    assert request.requested_fields == ["name", "colleges", "mobile"]
    assert request.filter_provinces == ["河南", "山东", "北京"]
    assert list(request.filter_colleges.all()) == [college]
    assert AuditEvent.objects.filter(action="datarequest.create", target_id=str(request.pk)).exists()


def test_college_staff_recipient_choices_are_their_colleges(client, college_staff, college_recipient, publicity):
    client.force_login(college_staff)
    page = client.get(reverse("admin:dataservice_datarequest_add"))
    choices = {int(str(v)) for v, _label in page.context["adminform"].form.fields["recipient"].choices if v}
    assert choices == {college_recipient.pk}
    response = client.post(reverse("admin:dataservice_datarequest_add"), _add_form(publicity))
    assert response.status_code == 200
    assert "recipient" in response.context["adminform"].form.errors
    assert not DataRequest.objects.exists()


def test_other_basis_needs_detail_in_the_form(client, staff, publicity):
    client.force_login(staff)
    response = client.post(
        reverse("admin:dataservice_datarequest_add"), _add_form(publicity, legal_basis="other", legal_basis_detail="")
    )
    assert response.status_code == 200
    assert "legal_basis_detail" in response.context["adminform"].form.errors


def test_submitted_request_is_read_only(client, staff, publicity):
    request = data_request(actor=staff, recipient=publicity)
    client.force_login(staff)
    client.post(_url("submit", request), {})
    request.refresh_from_db()
    assert request.status == DataRequest.Status.SUBMITTED
    page = client.get(_url("change", request))
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    response = client.post(_url("change", request), _add_form(publicity, purpose="改过的"))
    assert response.status_code == 403
    request.refresh_from_db()
    assert request.purpose == "学科评估校友信息核对"


# --- workflow pages -------------------------------------------------------------------------


def test_approve_page_office_admin_trims_fields(
    client, staff, office_admin, publicity, cohort, django_capture_on_commit_callbacks
):
    request = data_request(actor=staff, recipient=publicity, fields=["name", "colleges", "mobile"])
    client.force_login(staff)
    client.post(_url("submit", request), {})
    assert client.get(_url("approve", request)).status_code == 403  # office staff may not approve
    client.force_login(office_admin)
    page = client.get(_url("approve", request))
    assert page.status_code == 200
    assert set(page.context["form"].fields["fields"].initial) == {"name", "colleges", "mobile"}
    assert page.context["matching"] == 4  # the approver sees how many people the file would hold
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_url("approve", request), {"fields": ["name", "colleges"], "note": "联系方式不必要"})
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == DataRequest.Status.DELIVERED
    assert request.approved_fields == ["name", "colleges"]
    assert request.decision_note == "联系方式不必要"


def test_refuse_page_requires_a_reason(client, staff, office_admin, publicity):
    request = data_request(actor=staff, recipient=publicity)
    client.force_login(staff)
    client.post(_url("submit", request), {})
    assert client.post(_url("refuse", request), {"reason": "x"}).status_code == 403
    client.force_login(office_admin)
    response = client.post(_url("refuse", request), {"reason": ""})
    assert response.status_code == 200
    assert "reason" in response.context["form"].errors
    request.refresh_from_db()
    assert request.status == DataRequest.Status.SUBMITTED
    client.post(_url("refuse", request), {"reason": "目的不明确"})
    request.refresh_from_db()
    assert request.status == DataRequest.Status.REFUSED


def test_workflow_pages_of_other_colleges_are_404(client, staff, college_staff, other_college_recipient):
    request = data_request(actor=staff, recipient=other_college_recipient)
    client.force_login(college_staff)
    for name in ("submit", "approve", "refuse", "produce"):
        assert client.get(_url(name, request)).status_code == 404


def test_draft_can_be_deleted_but_not_a_submitted_request(client, office_admin, publicity):
    draft = data_request(actor=office_admin, recipient=publicity)
    submitted = data_request(actor=office_admin, recipient=publicity)
    client.force_login(office_admin)
    client.post(_url("submit", submitted), {})
    assert client.post(_url("delete", draft), {"post": "yes"}).status_code == 302
    assert not DataRequest.objects.filter(pk=draft.pk).exists()
    assert client.post(_url("delete", submitted), {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.filter(action="datarequest.delete").count() == 1


# --- the report -----------------------------------------------------------------------------


def test_report_batches_and_records_per_recipient_and_year(
    client, staff, office_admin, college_staff, publicity, college_recipient, cohort, django_capture_on_commit_callbacks
):
    def deliver(recipient, when, **filters):
        with time_machine.travel(when):
            request = data_request(actor=staff, recipient=recipient, filters=filters)
            return delivered(
                request, submitter=staff, approver=office_admin, capture=django_capture_on_commit_callbacks
            )

    deliver(publicity, "2025-05-01 10:00 +0800")  # 4 people
    deliver(publicity, "2026-01-05 10:00 +0800")  # 4
    deliver(publicity, "2026-03-05 10:00 +0800", filter_provinces=["北京"])  # 4 (the cohort lives in 北京)
    deliver(college_recipient, "2026-04-01 10:00 +0800", filter_degree_levels=["doctor"])  # nobody
    data_request(actor=staff, recipient=publicity)  # a draft counts for nothing

    client.force_login(staff)
    page = client.get(reverse("admin:dataservice_datarequest_report"))
    assert page.status_code == 200
    years = {y["year"]: y for y in page.context["years"]}
    assert set(years) == {2025, 2026}
    rows_2026 = {r["recipient__name"]: (r["batches"], r["records"]) for r in years[2026]["rows"]}
    assert rows_2026 == {publicity.name: (2, 8), college_recipient.name: (1, 0)}
    assert (years[2026]["batches"], years[2026]["records"]) == (3, 8)
    assert [(r["batches"], r["records"]) for r in years[2025]["rows"]] == [(1, 4)]
    assert b"<svg" in page.content
    assert b"<script" not in page.content.split(b"<body")[1].split(b"</body>")[0].replace(b"<script src=", b"")

    client.force_login(college_staff)
    page = client.get(reverse("admin:dataservice_datarequest_report"))
    assert [r["recipient__name"] for y in page.context["years"] for r in y["rows"]] == [college_recipient.name]


# --- recipients -------------------------------------------------------------------------------


def test_recipient_admin_scoped(client, staff, college_staff, college_recipient, publicity):
    client.force_login(college_staff)
    changelist = client.get(reverse("admin:dataservice_recipient_changelist"))
    assert {r.pk for r in changelist.context["cl"].result_list} == {college_recipient.pk}
    assert client.get(reverse("admin:dataservice_recipient_change", args=[publicity.pk])).status_code == 404
    assert client.get(reverse("admin:dataservice_recipient_add")).status_code == 403


def test_recipient_college_kind_needs_its_college(db):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        RecipientFactory(kind=Recipient.Kind.COLLEGE, college=None)


def test_change_page_of_a_delivery_shows_the_workflow_and_the_link(
    client, staff, office_admin, publicity, cohort, django_capture_on_commit_callbacks
):
    request = data_request(actor=staff, recipient=publicity, fields=["name", "mobile"])
    request = delivered(
        request, submitter=staff, approver=office_admin, fields=["name"], capture=django_capture_on_commit_callbacks
    )
    client.force_login(office_admin)
    page = client.get(_url("change", request))
    assert page.status_code == 200
    assert reverse("dataservice:datarequest-download", args=[request.public_id]).encode() in page.content
    assert request.sha256.encode() in page.content
    assert _url("approve", request).encode() not in page.content  # decided already
    draft = data_request(actor=staff, recipient=publicity)
    page = client.get(_url("change", draft))
    assert _url("submit", draft).encode() in page.content
    assert b'name="_save"' in page.content
