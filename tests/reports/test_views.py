"""The contact-rate dashboard: figures per role, and the on-demand recompute."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.alumni import services
from apps.alumni.models import ContactChannel, ContactRateSnapshot
from tests.alumni.factories import ContactChannelFactory, alumnus_in

pytestmark = pytest.mark.django_db

URL = reverse("reports:contact-rate")


@pytest.fixture
def figures(college, other_college):
    """计算机学院: 1 of 2 reachable (50.0%); 机械工程学院: 1 of 4 (25.0%); school 2 of 6."""
    ContactChannelFactory(person=alumnus_in(college))
    alumnus_in(college)
    ContactChannelFactory(person=alumnus_in(other_college))
    stale = alumnus_in(other_college)
    ContactChannelFactory(person=stale, verified_at=timezone.now() - timedelta(days=5 * 365))
    bounced = alumnus_in(other_college)
    ContactChannelFactory(person=bounced, status=ContactChannel.Status.BOUNCED)
    alumnus_in(other_college)
    services.contact_rate_refresh()


def _college_bars(response) -> dict[str, tuple[float, int, int]]:
    return {
        bar["label"]: (bar["percent"], bar["row"].reachable, bar["row"].alumni) for bar in response.context["colleges"]
    }


def test_contact_rate_page_office_staff_sees_school_and_every_college(client, staff, figures):
    client.force_login(staff)
    response = client.get(URL)
    assert response.status_code == 200
    assert (response.context["school"].reachable, response.context["school"].alumni) == (2, 6)
    assert _college_bars(response) == {"计算机学院": (50.0, 1, 2), "机械工程学院": (25.0, 1, 4)}
    html = response.content.decode()
    assert "50.0%" in html
    assert "25.0%" in html
    assert "机械工程学院" in html
    assert 'name="csrfmiddlewaretoken"' in html  # the recompute form


def test_contact_rate_page_by_year_for_chosen_college(client, staff, other_college, figures):
    client.force_login(staff)
    response = client.get(URL, {"college": other_college.pk})
    assert response.context["selected_college"] == other_college
    assert [(bar["label"], bar["percent"]) for bar in response.context["by_year"]] == [("2015", 25.0)]


def test_contact_rate_page_college_staff_sees_only_own_college(client, college_staff, other_college, figures):
    client.force_login(college_staff)
    response = client.get(URL)
    assert response.status_code == 200
    assert response.context["school"] is None
    assert _college_bars(response) == {"计算机学院": (50.0, 1, 2)}
    html = response.content.decode()
    assert "机械工程学院" not in html
    assert "25.0%" not in html
    assert not response.context["can_refresh"]


def test_contact_rate_page_college_staff_cannot_open_other_college_years(client, college_staff, other_college, figures):
    client.force_login(college_staff)
    response = client.get(URL, {"college": other_college.pk})
    assert response.context["selected_college"] is None
    assert response.context["by_year"] == []
    assert "机械工程学院" not in response.content.decode()


@pytest.mark.parametrize("role_fixture", ["liaison", "chapter_leader"])
def test_contact_rate_page_forbidden_without_permission(client, request, figures, role_fixture):
    client.force_login(request.getfixturevalue(role_fixture))
    assert client.get(URL).status_code == 403
    assert client.post(URL).status_code == 403


def test_contact_rate_page_anonymous_redirected_to_login(client, figures):
    response = client.get(URL)
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))
    assert "next=" in response.url


def test_contact_rate_page_alumnus_redirected_to_login(client, alumnus, figures):
    client.force_login(alumnus)
    response = client.get(URL)
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_contact_rate_recompute_by_office_staff_runs_task(client, staff, college, django_capture_on_commit_callbacks):
    ContactChannelFactory(person=alumnus_in(college))
    alumnus_in(college)
    client.force_login(staff)
    assert client.get(URL).context["school"] is None
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(URL)
    assert response.status_code == 302
    assert response.url == URL
    assert len(callbacks) == 1
    school = ContactRateSnapshot.objects.get(college=None, graduation_year=None)
    assert (school.reachable, school.alumni) == (1, 2)
    assert client.get(URL).context["school"] == school


def test_contact_rate_recompute_forbidden_to_college_staff(
    client, college_staff, college, django_capture_on_commit_callbacks
):
    alumnus_in(college)
    client.force_login(college_staff)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(URL)
    assert response.status_code == 403
    assert callbacks == []
    assert not ContactRateSnapshot.objects.exists()


def test_contact_rate_page_without_figures_says_so(client, staff):
    client.force_login(staff)
    response = client.get(URL)
    assert response.status_code == 200
    assert response.context["school"] is None
    assert response.context["colleges"] == []
