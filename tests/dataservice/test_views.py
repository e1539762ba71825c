"""Downloads under /data/: only the requesting recipient's users, its college's staff and office staff,
only once delivered and before the link expires. Outsiders get 404."""

import hashlib
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from apps.core.models import AuditEvent
from apps.dataservice import services
from apps.dataservice.models import DataRequest

from .factories import data_request, delivered

pytestmark = pytest.mark.django_db


def _download(client, request: DataRequest):
    return client.get(reverse("dataservice:datarequest-download", args=[request.public_id]))


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.fixture
def delivery(staff, office_admin, publicity, cohort, django_capture_on_commit_callbacks):
    request = data_request(actor=staff, recipient=publicity)
    return delivered(request, submitter=staff, approver=office_admin, capture=django_capture_on_commit_callbacks)


def test_download_by_the_recipients_user(client, publicity_user, delivery):
    client.force_login(publicity_user)
    response = _download(client, delivery)
    assert response.status_code == 200
    body = _body(response)
    assert hashlib.sha256(body).hexdigest() == delivery.sha256
    assert response["Content-Disposition"] == f'attachment; filename="{delivery.number}.xlsx"'
    assert "no-store" in response["Cache-Control"]
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    delivery.refresh_from_db()
    assert delivery.download_count == 1
    event = AuditEvent.objects.get(action="datarequest.download")
    assert event.actor == publicity_user
    assert event.target_id == str(delivery.pk)


@pytest.mark.parametrize("user_fixture", ["staff", "office_admin"])
def test_download_by_office_staff(client, request, user_fixture, delivery):
    client.force_login(request.getfixturevalue(user_fixture))
    assert _download(client, delivery).status_code == 200


@pytest.mark.parametrize("user_fixture", ["museum_user", "college_staff", "liaison", "chapter_leader", "alumnus"])
def test_download_by_anyone_else_is_404(client, request, user_fixture, delivery):
    client.force_login(request.getfixturevalue(user_fixture))
    assert _download(client, delivery).status_code == 404
    assert not AuditEvent.objects.filter(action="datarequest.download").exists()


def test_download_anonymous_goes_to_sign_in(client, delivery):
    response = _download(client, delivery)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_download_not_before_approval(client, staff, office_admin, publicity, publicity_user, cohort):
    request = data_request(actor=staff, recipient=publicity)
    client.force_login(publicity_user)
    assert _download(client, request).status_code == 404
    services.datarequest_submit(request=request, actor=staff)
    assert _download(client, request).status_code == 404
    services.datarequest_approve(request=request, actor=office_admin)  # on-commit production not run
    assert _download(client, request).status_code == 404
    client.force_login(staff)
    assert _download(client, request).status_code == 404


def test_download_not_after_a_refusal(client, staff, office_admin, publicity, publicity_user):
    request = data_request(actor=staff, recipient=publicity)
    services.datarequest_submit(request=request, actor=staff)
    services.datarequest_refuse(request=request, actor=office_admin, reason="不必要")
    client.force_login(publicity_user)
    assert _download(client, request).status_code == 404


def test_download_not_after_expiry(client, publicity_user, delivery, settings, django_capture_on_commit_callbacks):
    client.force_login(publicity_user)
    path = settings.DATA_FILES_ROOT / delivery.file.name
    with time_machine.travel(delivery.link_expires_at - timedelta(minutes=1)):
        assert _download(client, delivery).status_code == 200
    with (
        time_machine.travel(delivery.link_expires_at + timedelta(seconds=1)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = _download(client, delivery)
    assert response.status_code == 410
    delivery.refresh_from_db()
    assert delivery.status == DataRequest.Status.EXPIRED
    assert not path.exists()
    assert _download(client, delivery).status_code == 410


def test_college_recipient_downloadable_by_its_college_staff_only(
    client,
    staff,
    office_admin,
    college_staff,
    other_college_staff,
    college_recipient,
    cohort,
    django_capture_on_commit_callbacks,
):
    request = data_request(actor=college_staff, recipient=college_recipient)
    request = delivered(
        request, submitter=college_staff, approver=office_admin, capture=django_capture_on_commit_callbacks
    )
    client.force_login(college_staff)
    assert _download(client, request).status_code == 200
    client.force_login(other_college_staff)
    assert _download(client, request).status_code == 404


# --- the list -------------------------------------------------------------------------------


def test_request_list_shows_the_recipients_own_requests(client, staff, publicity, museum, publicity_user, delivery):
    other = data_request(actor=staff, recipient=museum)
    client.force_login(publicity_user)
    response = client.get(reverse("dataservice:datarequest-list"))
    assert response.status_code == 200
    assert [r.pk for r in response.context["requests"]] == [delivery.pk]
    assert delivery.number.encode() in response.content
    assert other.number.encode() not in response.content
    assert reverse("dataservice:datarequest-download", args=[delivery.public_id]).encode() in response.content


def test_request_list_forbidden_to_people_with_nothing_to_collect(client, alumnus):
    client.force_login(alumnus)
    assert client.get(reverse("dataservice:datarequest-list")).status_code == 403


def test_request_list_anonymous_goes_to_sign_in(client):
    assert client.get(reverse("dataservice:datarequest-list")).status_code == 302


def test_export_job_pages_only_for_their_creator(client, staff, college_staff, alumnus):
    from apps.alumni.models import Person

    job = services.export_job_create(
        actor=staff, queryset=Person.objects.none(), fields=["name"], fmt="csv", filters={}
    )
    for name in ("exportjob-detail", "exportjob-status", "exportjob-download"):
        url = reverse(f"dataservice:{name}", args=[job.public_id])
        assert client.get(url).status_code == 302  # anonymous: sign in
        for user in (college_staff, alumnus):
            client.force_login(user)
            assert client.get(url).status_code == 404
        client.logout()
    client.force_login(staff)
    assert client.get(reverse("dataservice:exportjob-detail", args=[job.public_id])).status_code == 200
    assert client.get(reverse("dataservice:exportjob-status", args=[job.public_id])).json()["status"] == "pending"
    assert client.get(reverse("dataservice:exportjob-download", args=[job.public_id])).status_code == 404
