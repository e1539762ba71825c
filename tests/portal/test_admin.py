import pytest
from django.urls import reverse

from apps.core.models import AuditEvent
from apps.portal import services
from apps.portal.models import DataRightsRequest
from tests.alumni.factories import CollegeFactory, EnrollmentFactory

from .factories import verified_alumnus

pytestmark = pytest.mark.django_db


def _request_of(college):
    person = verified_alumnus()
    EnrollmentFactory(person=person, college=college)
    return services.rights_request_create(
        person=person, kind="correction", fields=["name"], message="名字写错了", actor=person.user
    )


def test_rights_requests_admin_is_scoped(client, college_staff, staff, college):
    mine = _request_of(college)
    theirs = _request_of(CollegeFactory())
    client.force_login(college_staff)
    listing = client.get(reverse("admin:portal_datarightsrequest_changelist")).content.decode()
    assert reverse("admin:portal_datarightsrequest_change", args=[mine.pk]) in listing
    assert reverse("admin:portal_datarightsrequest_change", args=[theirs.pk]) not in listing
    assert client.get(reverse("admin:portal_datarightsrequest_change", args=[theirs.pk])).status_code == 302
    client.force_login(staff)
    listing = client.get(reverse("admin:portal_datarightsrequest_changelist")).content.decode()
    assert reverse("admin:portal_datarightsrequest_change", args=[theirs.pk]) in listing


def test_rights_requests_admin_action_closes_with_audit(client, staff, college):
    request = _request_of(college)
    client.force_login(staff)
    client.post(
        reverse("admin:portal_datarightsrequest_changelist"),
        {"action": "mark_done", "_selected_action": [request.pk]},
    )
    request.refresh_from_db()
    assert request.status == DataRightsRequest.Status.DONE
    assert request.handled_by == staff
    assert AuditEvent.objects.filter(action="portal.rights_request_done").exists()


def test_rights_requests_admin_refused_to_alumni(client, viewer):
    client.force_login(viewer.user)
    response = client.get(reverse("admin:portal_datarightsrequest_changelist"))
    assert response.status_code == 302  # the admin sends non-staff to sign in


def test_lookup_report_for_office_staff_only(client, staff, college_staff):
    services.lookup_count(kind="name", bucket="1")
    services.lookup_count(kind="name", bucket="21+")
    services.lookup_count(kind="college", bucket="0")
    client.force_login(staff)
    page = client.get(reverse("admin:portal_lookupstat_report"), HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    lines = {line["kind"]: line for line in page.context["lines"]}
    assert page.context["total"] == 3
    assert lines["Name"]["total"] == 2
    assert lines["College"]["cells"][0] == 1
    client.force_login(college_staff)
    assert client.get(reverse("admin:portal_lookupstat_report")).status_code == 403
