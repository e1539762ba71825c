import re

import pytest
from django.test import Client
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from apps.accounts.models import ClaimRequest
from tests.accounts.factories import UserFactory
from tests.claim.factories import BIRTH, ClaimRequestFactory, seeded_record

pytestmark = pytest.mark.django_db

GIVEN = {"name": "张伟", "birth_date": BIRTH.isoformat(), "student_id": "2008011234"}


def _api(user=None) -> APIClient:
    api = APIClient()
    if user is not None:
        api.force_authenticate(user)
    return api


def _code(sms_outbox) -> str:
    return re.search(r"\b(\d{6})\b", sms_outbox[-1][1]).group(1)


def test_claim_api_anonymous_gets_401():
    claim = ClaimRequestFactory()
    api = _api()
    assert api.get(reverse("claim-list")).status_code == 401
    assert api.post(reverse("claim-list"), GIVEN, format="json").status_code == 401
    assert api.get(reverse("claim-detail", args=[claim.pk])).status_code == 401
    response = api.post(reverse("claim-confirm", args=[claim.pk]), {"code": "123456"}, format="json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_claim_api_start_answers_202_submitted_and_lists_own_claims(django_capture_on_commit_callbacks):
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        response = _api(user).post(reverse("claim-list"), {**GIVEN, "student_id": " 2008011234 "}, format="json")
    assert response.status_code == 202
    body = response.json()
    assert body["state"] == "submitted"
    assert body["student_id"] == "2008011234"
    assert body["detail"]
    ClaimRequestFactory()  # someone else's
    listed = _api(user).get(reverse("claim-list")).json()
    assert [row["id"] for row in listed["results"]] == [body["id"]]
    assert set(listed["results"][0]) == {
        "id",
        "state",
        "name",
        "student_id",
        "birth_date",
        "college",
        "graduation_year",
        "created_at",
    }


def test_claim_api_validation_errors_use_the_error_body():
    response = _api(UserFactory()).post(
        reverse("claim-list"), {"name": "张伟", "birth_date": "1990-05-01"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "student_id_or_class"
    response = _api(UserFactory()).post(reverse("claim-list"), {**GIVEN, "birth_date": "not a date"}, format="json")
    assert response.status_code == 400
    assert "birth_date" in response.json()["error"]["fields"]
    assert not ClaimRequest.objects.exists()


def test_claim_api_by_college_code_and_year(django_capture_on_commit_callbacks, sms_outbox):
    person = seeded_record()
    user = UserFactory()
    given = {"name": "张伟", "birth_date": BIRTH.isoformat(), "college": "CS", "graduation_year": 2012}
    with django_capture_on_commit_callbacks(execute=True):
        response = _api(user).post(reverse("claim-list"), given, format="json")
    assert response.status_code == 202
    response = _api(user).post(
        reverse("claim-confirm", args=[response.json()["id"]]), {"code": _code(sms_outbox)}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["state"] == "approved"
    person.refresh_from_db()
    assert person.user == user


def test_claim_api_wrong_code_is_invalid_code():
    claim = ClaimRequestFactory(status=ClaimRequest.Status.PENDING_CODE)
    response = _api(claim.user).post(reverse("claim-confirm", args=[claim.pk]), {"code": "123456"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_code"


def test_claim_api_other_users_claim_is_404():
    claim = ClaimRequestFactory(status=ClaimRequest.Status.PENDING_CODE)
    intruder = _api(UserFactory())
    assert intruder.get(reverse("claim-detail", args=[claim.pk])).status_code == 404
    response = intruder.post(reverse("claim-confirm", args=[claim.pk]), {"code": "123456"}, format="json")
    assert response.status_code == 404
    claim.refresh_from_db()
    assert claim.code_attempts == 0


def test_claim_api_linked_alumnus_gets_403():
    user = UserFactory()
    seeded_record(user=user)
    response = _api(user).post(reverse("claim-list"), GIVEN, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "account_linked"
    assert not ClaimRequest.objects.exists()


def test_claim_api_start_throttled_429_per_account():
    api = _api(UserFactory())
    statuses = [
        api.post(reverse("claim-list"), GIVEN, format="json", REMOTE_ADDR=f"198.51.100.{n}").status_code
        for n in range(6)
    ]
    assert statuses == [202] * 5 + [429]


def test_claim_api_throttle_error_body():
    api = _api(UserFactory())
    for n in range(5):
        api.post(reverse("claim-list"), GIVEN, format="json", REMOTE_ADDR=f"198.51.100.{n}")
    response = api.post(reverse("claim-list"), GIVEN, format="json")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"


def test_claim_pages_and_api_share_one_allowance():
    user = UserFactory()
    page = Client()
    page.force_login(user)
    for n in range(3):
        assert page.post(reverse("claim:start"), GIVEN, REMOTE_ADDR=f"198.51.100.{n}").status_code == 302
    api = _api(user)
    statuses = [
        api.post(reverse("claim-list"), GIVEN, format="json", REMOTE_ADDR=f"198.51.100.{10 + n}").status_code
        for n in range(3)
    ]
    assert statuses == [202, 202, 429]


def test_claim_api_confirm_throttled_429():
    claim = ClaimRequestFactory(status=ClaimRequest.Status.PENDING_CODE)
    api = _api(claim.user)
    statuses = [
        api.post(
            reverse("claim-confirm", args=[claim.pk]), {"code": "123456"}, format="json", REMOTE_ADDR=f"198.51.100.{n}"
        ).status_code
        for n in range(11)
    ]
    assert statuses == [400] * 10 + [429]


def test_claim_api_in_schema_with_session_token():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert "/api/v1/claims/" in schema["paths"]
    assert "/api/v1/claims/{id}/confirm/" in schema["paths"]
    assert schema["components"]["securitySchemes"]["SessionToken"]["name"] == "X-Session-Token"
