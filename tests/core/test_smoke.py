import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_admin_changelist_in_scope_for_staff(client, staff):
    client.force_login(staff)
    response = client.get(reverse("admin:alumni_person_changelist"))
    assert response.status_code == 200
