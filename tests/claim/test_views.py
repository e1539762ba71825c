import re

import pytest
from django.test import Client
from django.urls import reverse

from apps.accounts.models import ClaimRequest
from tests.accounts.factories import UserFactory
from tests.claim.factories import BIRTH, ClaimRequestFactory, seeded_record

pytestmark = pytest.mark.django_db

IP = "198.51.100.77"
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
GIVEN = {"name": "张伟", "birth_date": BIRTH.isoformat(), "student_id": "2008011234"}


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _code(sms_outbox) -> str:
    return re.search(r"\b(\d{6})\b", sms_outbox[-1][1]).group(1)


@pytest.mark.parametrize("name", ["claim:start", "claim:confirm", "claim:status"])
def test_claim_pages_send_anonymous_visitors_to_sign_in(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    response = client.post(reverse(name), {"code": "123456"})
    assert response.status_code == 302
    assert not ClaimRequest.objects.exists()


def test_claim_start_page_has_labelled_fields_and_csrf():
    response = _client(UserFactory()).get(reverse("claim:start"))
    assert response.status_code == 200
    html = response.content.decode()
    for field in ("name", "birth_date", "student_id", "college", "graduation_year"):
        assert f'<label for="id_{field}"' in html, field
    assert 'type="date"' in html
    assert "csrfmiddlewaretoken" in html


def test_claim_start_requires_csrf_token():
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory())
    assert client.post(reverse("claim:start"), GIVEN, REMOTE_ADDR=IP).status_code == 403
    assert not ClaimRequest.objects.exists()


def test_claim_start_needs_student_id_or_college_and_year():
    client = _client(UserFactory())
    response = client.post(reverse("claim:start"), {"name": "张伟", "birth_date": "1990-05-01"}, REMOTE_ADDR=IP)
    assert response.status_code == 200
    assert response.context["form"].non_field_errors().as_data()[0].code == "student_id_or_class"
    assert not ClaimRequest.objects.exists()


def test_claim_pages_full_flow_links_the_account(django_capture_on_commit_callbacks, sms_outbox):
    person = seeded_record()
    user = UserFactory()
    client = _client(user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("claim:start"), GIVEN, REMOTE_ADDR=IP, follow=True)
    assert response.redirect_chain == [(reverse("claim:confirm"), 302)]
    assert '<label for="id_code"' in response.content.decode()
    assert 'autocomplete="one-time-code"' in response.content.decode()

    response = client.post(reverse("claim:confirm"), {"code": _code(sms_outbox)}, REMOTE_ADDR=IP, follow=True)

    assert response.redirect_chain == [(reverse("claim:status"), 302)]
    person.refresh_from_db()
    assert person.user == user
    assert response.context["person"] == person
    assert person.name in response.content.decode()


def test_claim_confirm_wrong_code_same_page_with_error(django_capture_on_commit_callbacks, sms_outbox):
    seeded_record()
    client = _client(UserFactory())
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("claim:start"), GIVEN, REMOTE_ADDR=IP)
    wrong = f"{(int(_code(sms_outbox)) + 1) % 1_000_000:06d}"
    response = client.post(reverse("claim:confirm"), {"code": wrong}, REMOTE_ADDR=IP)
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()


def test_claim_confirm_without_open_claim_goes_to_status():
    client = _client(UserFactory())
    assert client.get(reverse("claim:confirm"))["Location"] == reverse("claim:status")
    response = client.post(reverse("claim:confirm"), {"code": "123456"}, REMOTE_ADDR=IP)
    assert response["Location"] == reverse("claim:status")


def test_claim_status_shows_submitted_for_code_and_review_claims_alike():
    claim = ClaimRequestFactory(status=ClaimRequest.Status.PENDING_CODE)
    client = _client(claim.user)
    pages = []
    for status in (ClaimRequest.Status.PENDING_CODE, ClaimRequest.Status.AWAITING_REVIEW):
        ClaimRequest.objects.filter(pk=claim.pk).update(status=status)
        response = client.get(reverse("claim:status"))
        assert response.context["state"] == "submitted"
        pages.append(CSRF.sub("", response.content.decode()))
    assert pages[0] == pages[1]


def test_claim_linked_alumnus_cannot_claim_again():
    user = UserFactory()
    seeded_record(user=user)
    client = _client(user)
    response = client.get(reverse("claim:start"))
    assert response.status_code == 200
    assert response.context["linked"] is True
    assert '<form method="post" action="/me/claim/"' not in response.content.decode()
    assert client.post(reverse("claim:start"), GIVEN, REMOTE_ADDR=IP).status_code == 403
    assert not ClaimRequest.objects.exists()


def test_claim_start_rate_limited_per_account():
    client = _client(UserFactory())
    statuses = [client.post(reverse("claim:start"), GIVEN, REMOTE_ADDR=f"198.51.100.{n}").status_code for n in range(6)]
    assert statuses == [302] * 5 + [429]
    assert ClaimRequest.objects.count() == 5


def test_claim_start_rate_limited_per_address_across_accounts():
    statuses = [
        _client(UserFactory()).post(reverse("claim:start"), GIVEN, REMOTE_ADDR=IP).status_code for _ in range(11)
    ]
    assert statuses == [302] * 10 + [429]
    # Another address is not affected.
    assert _client(UserFactory()).post(reverse("claim:start"), GIVEN, REMOTE_ADDR="203.0.113.1").status_code == 302


def test_claim_confirm_rate_limited_per_account():
    claim = ClaimRequestFactory()
    client = _client(claim.user)
    statuses = [
        client.post(reverse("claim:confirm"), {"code": "000000"}, REMOTE_ADDR=f"198.51.100.{n}").status_code
        for n in range(11)
    ]
    assert statuses == [200] * 10 + [429]
