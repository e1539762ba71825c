from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import override_settings
from django.urls import reverse

from apps.accounts import services
from apps.accounts.models import RoleAssignment

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
IDLE = timedelta(seconds=settings.STAFF_SESSION_IDLE_SECONDS)
MAX_AGE = timedelta(seconds=settings.STAFF_SESSION_MAX_SECONDS)
SECOND = timedelta(seconds=1)


def _signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def _assert_sent_to_login(response, path):
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == reverse("account_login")
    assert parse_qs(location.query)["next"] == [path]


def test_staff_session_limits_are_within_policy():
    # SECURITY item 8: staff idle <= 30 min and absolute <= 8 h; alumni sessions <= 14 days.
    assert 0 < settings.STAFF_SESSION_IDLE_SECONDS <= 30 * 60
    assert settings.STAFF_SESSION_IDLE_SECONDS < settings.STAFF_SESSION_MAX_SECONDS <= 8 * 3600
    assert settings.SESSION_COOKIE_AGE <= 14 * 24 * 3600


def test_staff_session_active_within_idle_limit(client, staff):
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(staff)
        assert client.get("/admin/").status_code == 200
        traveller.shift(IDLE - SECOND)
        assert client.get("/admin/").status_code == 200
        traveller.shift(IDLE - SECOND)
        assert client.get("/admin/").status_code == 200
        assert _signed_in(client)


def test_staff_session_ends_after_idle_limit(client, staff):
    path = reverse("admin:alumni_person_changelist")
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(staff)
        assert client.get("/admin/").status_code == 200
        old_key = client.session.session_key
        traveller.shift(IDLE + SECOND)
        response = client.get(path)
        _assert_sent_to_login(response, path)
        assert not _signed_in(client)
        assert not Session.objects.filter(session_key=old_key).exists()
        # The next request is anonymous: the admin asks for a sign-in again.
        assert client.get("/admin/").status_code == 302


def test_staff_session_idle_limit_applies_outside_admin(client, college_staff):
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(college_staff)
        assert client.get(reverse("home")).status_code == 200
        traveller.shift(IDLE + SECOND)
        _assert_sent_to_login(client.get(reverse("home")), reverse("home"))
        assert not _signed_in(client)


def test_staff_session_ends_at_absolute_limit_despite_activity(client, staff):
    step = IDLE / 2
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(staff)
        assert client.get("/admin/").status_code == 200
        elapsed = timedelta(0)
        while elapsed + step <= MAX_AGE:
            traveller.shift(step)
            elapsed += step
            assert client.get("/admin/").status_code == 200, elapsed
        traveller.shift(MAX_AGE - elapsed + SECOND)
        _assert_sent_to_login(client.get("/admin/"), "/admin/")
        assert not _signed_in(client)


@override_settings(STAFF_SESSION_IDLE_SECONDS=60, STAFF_SESSION_MAX_SECONDS=120)
def test_staff_session_limits_read_from_settings(client, staff):
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(staff)
        assert client.get("/admin/").status_code == 200
        traveller.shift(timedelta(seconds=61))
        assert client.get("/admin/").status_code == 302
        assert not _signed_in(client)


def test_alumni_session_not_subject_to_staff_idle_limit(client, alumnus):
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(alumnus)
        assert client.get(reverse("home")).status_code == 200
        traveller.shift(MAX_AGE + IDLE * 4)
        response = client.get(reverse("home"))
        assert response.status_code == 200
        assert response.context["user"] == alumnus
        assert _signed_in(client)


def test_alumni_session_expires_with_cookie_age(client, alumnus):
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(alumnus)
        traveller.shift(timedelta(seconds=settings.SESSION_COOKIE_AGE) + SECOND)
        response = client.get(reverse("home"))
        assert not response.context["user"].is_authenticated


def test_deactivated_staff_member_loses_existing_session(client, staff):
    client.force_login(staff)
    assert client.get("/admin/").status_code == 200
    staff.is_active = False
    staff.save(update_fields=["is_active"])
    response = client.get("/admin/")
    assert response.status_code == 302
    assert not client.get(reverse("home")).context["user"].is_authenticated


def test_revoked_staff_member_loses_admin_on_next_request(client, college_staff):
    client.force_login(college_staff)
    assert client.get("/admin/").status_code == 200
    services.role_revoke(assignment=RoleAssignment.objects.get(user=college_staff), actor=None)
    assert client.get("/admin/", follow=True).status_code == 403


def test_authenticated_responses_not_stored(client, staff, alumnus):
    client.force_login(staff)
    for path in ("/admin/", reverse("admin:alumni_person_changelist"), reverse("home")):
        response = client.get(path)
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"], path
    client.force_login(alumnus)
    response = client.get(reverse("home"))
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


def test_authenticated_redirects_and_errors_not_stored(client, college_staff):
    client.force_login(college_staff)
    response = client.get(reverse("admin:accounts_user_changelist"))
    assert response.status_code == 403
    assert "no-store" in response["Cache-Control"]


def test_anonymous_pages_not_marked_no_store(client):
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
