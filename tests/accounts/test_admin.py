import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from apps.accounts.models import Role, RoleAssignment, User
from apps.core.models import AuditEvent
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

INLINE = "role_assignments"


def _change_data(user: User, *, rows: list[dict], initial: int = 0) -> dict:
    data = {
        "email": user.email,
        "display_name": user.display_name,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "is_active": "on" if user.is_active else "",
        f"{INLINE}-TOTAL_FORMS": str(len(rows)),
        f"{INLINE}-INITIAL_FORMS": str(initial),
        f"{INLINE}-MIN_NUM_FORMS": "0",
        f"{INLINE}-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    for index, row in enumerate(rows):
        data.update({f"{INLINE}-{index}-{key}": value for key, value in row.items()})
        data[f"{INLINE}-{index}-user"] = str(user.pk)
    return data


def _session_user_ids() -> list[str]:
    return [session.get_decoded().get("_auth_user_id") for session in Session.objects.all()]


def test_user_admin_changelist_opens_for_office_admin(client, office_admin):
    target = UserFactory(email="zhang.wei@example.edu")
    client.force_login(office_admin)
    response = client.get(reverse("admin:accounts_user_changelist"))
    assert response.status_code == 200
    assert target in response.context["cl"].result_list


def test_user_admin_inline_role_assignment_gives_access(client, office_admin, college):
    target = UserFactory()
    client.force_login(office_admin)
    url = reverse("admin:accounts_user_change", args=[target.pk])
    assert client.get(url).status_code == 200

    data = _change_data(target, rows=[{"id": "", "role": Role.COLLEGE_STAFF, "college": str(college.pk)}])
    response = client.post(url, data)

    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    assignment = RoleAssignment.objects.get(user=target)
    assert (assignment.role, assignment.college_id) == (Role.COLLEGE_STAFF, college.pk)
    target = User.objects.get(pk=target.pk)
    assert target.is_staff
    assert set(target.groups.values_list("name", flat=True)) == {Role.COLLEGE_STAFF}
    assert target.has_perm("alumni.view_person")
    event = AuditEvent.objects.get(action="role.assign", target_id=str(assignment.pk))
    assert event.actor == office_admin


def test_user_admin_inline_delete_role_removes_access(client, office_admin, college_staff):
    assignment = RoleAssignment.objects.get(user=college_staff)
    client.force_login(office_admin)
    url = reverse("admin:accounts_user_change", args=[college_staff.pk])
    row = {
        "id": str(assignment.pk),
        "role": assignment.role,
        "college": str(assignment.college_id),
        "DELETE": "on",
    }
    response = client.post(url, _change_data(college_staff, rows=[row], initial=1))
    assert response.status_code == 302
    assert not RoleAssignment.objects.filter(user=college_staff).exists()
    user = User.objects.get(pk=college_staff.pk)
    assert not user.is_staff
    assert not user.groups.exists()
    assert AuditEvent.objects.filter(action="role.revoke", target_id=str(assignment.pk), actor=office_admin).exists()


def test_user_admin_inline_college_staff_without_college_is_a_form_error(client, office_admin):
    target = UserFactory()
    client.force_login(office_admin)
    url = reverse("admin:accounts_user_change", args=[target.pk])
    response = client.post(url, _change_data(target, rows=[{"id": "", "role": Role.COLLEGE_STAFF, "college": ""}]))
    # The check constraint is validated by the form: a page with errors, not a 500.
    assert response.status_code == 200
    assert response.context["errors"]
    assert not RoleAssignment.objects.filter(user=target).exists()
    assert not User.objects.get(pk=target.pk).is_staff


def test_user_admin_is_staff_cannot_be_set_by_hand(client, office_admin):
    target = UserFactory()
    client.force_login(office_admin)
    url = reverse("admin:accounts_user_change", args=[target.pk])
    data = _change_data(target, rows=[])
    data["is_staff"] = "on"
    assert client.post(url, data).status_code == 302
    assert not User.objects.get(pk=target.pk).is_staff


def test_user_admin_end_sessions_action_deletes_that_users_sessions(client, office_admin, college_staff, alumnus):
    target_clients = [Client(), Client()]
    for target_client in target_clients:
        target_client.force_login(college_staff)
    bystander = Client()
    bystander.force_login(alumnus)
    client.force_login(office_admin)
    assert _session_user_ids().count(str(college_staff.pk)) == 2

    response = client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "end_sessions", "_selected_action": [str(college_staff.pk)]},
    )

    assert response.status_code == 302
    remaining = _session_user_ids()
    assert str(college_staff.pk) not in remaining
    assert str(alumnus.pk) in remaining
    assert str(office_admin.pk) in remaining
    # The ended sessions no longer authenticate: the next admin request goes to sign-in.
    response = target_clients[0].get(reverse("admin:index"))
    assert response.status_code == 302
    assert "_auth_user_id" not in target_clients[0].session
    assert bystander.get(reverse("home"))["Cache-Control"].startswith("no-store")


@pytest.mark.parametrize("role_fixture", ["college_staff", "staff", "liaison", "chapter_leader"])
def test_user_admin_forbidden_without_user_permissions(client, request, role_fixture):
    user = request.getfixturevalue(role_fixture)
    target = UserFactory()
    client.force_login(user)
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 403
    assert client.get(reverse("admin:accounts_user_change", args=[target.pk])).status_code == 403
    response = client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "end_sessions", "_selected_action": [str(target.pk)]},
    )
    assert response.status_code == 403


def test_user_admin_college_staff_cannot_grant_themselves_a_role(client, college_staff):
    client.force_login(college_staff)
    url = reverse("admin:accounts_user_change", args=[college_staff.pk])
    response = client.post(url, _change_data(college_staff, rows=[{"id": "", "role": Role.OFFICE_ADMIN}]))
    assert response.status_code == 403
    assert list(RoleAssignment.objects.filter(user=college_staff).values_list("role", flat=True)) == [
        Role.COLLEGE_STAFF
    ]
