"""Accounts by mobile number: sign-up, verification by SMS, password and code sign-in, lockout."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from apps.accounts.models import User
from apps.accounts.phones import phone_e164
from apps.core.models import AuditEvent
from tests.accounts.factories import PhoneUserFactory, UserFactory
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

IP = "203.0.113.9"
NEW_PASSWORD = "a-long-unusual-passphrase-42"


def _code(text: str) -> str:
    return re.search(r"\b(\d{6})\b", text).group(1)


def _signup(client, **data):
    payload = {"email": "", "phone": "", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD, **data}
    return client.post(reverse("account_signup"), payload, REMOTE_ADDR=IP)


def _signed_in_user_id(client):
    return client.session.get("_auth_user_id")


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("13800138000", "+8613800138000"),
        ("+86 138-0013-8000", "+8613800138000"),
        ("008613800138000", "+8613800138000"),
        ("１３８００１３８０００", "+8613800138000"),
        ("+61 412 345 678", "+61412345678"),
        ("0061412345678", "+61412345678"),
    ],
)
def test_phone_e164_accepts_what_people_type(typed, stored):
    assert phone_e164(typed) == stored


@pytest.mark.parametrize("typed", ["", "12345", "23800138000", "+8612345", "phone", "+86 138 0013 800"])
def test_phone_e164_rejects_non_mobile_numbers(typed):
    with pytest.raises(ValidationError) as error:
        phone_e164(typed)
    assert error.value.code == "invalid_phone"


def test_user_without_email_or_phone_stores_nulls_so_many_can_exist():
    first = User.objects.create_user(password=PASSWORD)
    second = User.objects.create_user(email="", password=PASSWORD)
    assert User.objects.filter(pk__in=[first.pk, second.pk], email__isnull=True, phone__isnull=True).count() == 2


def test_create_superuser_still_needs_email():
    with pytest.raises(ValueError, match="email"):
        User.objects.create_superuser(email="", password=PASSWORD)
    admin = User.objects.create_superuser(email="Root@Example.edu", password=PASSWORD)
    assert (admin.email, admin.is_staff, admin.is_superuser) == ("root@example.edu", True, True)


def test_signup_page_offers_email_and_mobile_with_labels(client):
    response = client.get(reverse("account_signup"))
    assert response.status_code == 200
    html = response.content.decode()
    for field in ("email", "phone", "password1", "password2"):
        assert re.search(rf'<label for="id_{field}"', html), field
    assert 'type="tel"' in html
    assert "csrfmiddlewaretoken" in html


def test_signup_with_mobile_only_verifies_by_sms_and_signs_in(client, sms_outbox):
    response = _signup(client, phone="138 0013 8000")
    assert response.status_code == 302
    assert response["Location"] == reverse("account_verify_phone")
    user = User.objects.get(phone="+8613800138000")
    assert user.email is None
    assert not user.phone_verified
    assert _signed_in_user_id(client) is None
    [(number, text)] = sms_outbox
    assert number == "13800138000"

    response = client.post(reverse("account_verify_phone"), {"code": _code(text)}, REMOTE_ADDR=IP)

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.phone_verified
    assert _signed_in_user_id(client) == str(user.pk)
    assert not EmailAddress.objects.filter(user=user).exists()


def test_signup_with_email_only_must_confirm_email_before_signing_in(client, sms_outbox):
    response = _signup(client, email="Li.Na@Example.edu")
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    user = User.objects.get(email="li.na@example.edu")
    assert user.phone is None
    assert _signed_in_user_id(client) is None
    assert sms_outbox == []
    [message] = mail.outbox
    key = re.search(r"/accounts/confirm-email/([^/\s]+)/", message.body).group(1)

    confirm_url = reverse("account_confirm_email", args=[key])
    assert client.get(confirm_url).status_code == 200
    response = client.post(confirm_url, REMOTE_ADDR=IP)

    assert response.status_code == 302
    assert EmailAddress.objects.get(user=user).verified
    assert _signed_in_user_id(client) == str(user.pk)


def test_signup_with_neither_email_nor_mobile_is_refused(client):
    response = _signup(client)
    assert response.status_code == 200
    assert response.context["form"].non_field_errors().as_data()[0].code == "email_or_phone"
    assert not User.objects.exists()


def test_signup_with_invalid_mobile_is_a_field_error(client):
    response = _signup(client, phone="12345")
    assert response.status_code == 200
    assert response.context["form"].errors["phone"]
    assert not User.objects.exists()


def test_signup_with_taken_email_looks_like_a_new_signup(client):
    UserFactory(email="taken@example.edu")
    fresh = _signup(Client(), email="fresh@example.edu")
    taken = _signup(client, email="taken@example.edu")
    assert (taken.status_code, taken["Location"]) == (fresh.status_code, fresh["Location"])
    assert User.objects.filter(email="taken@example.edu").count() == 1
    # The owner of the address is told instead.
    assert any(message.to == ["taken@example.edu"] for message in mail.outbox)


def test_signup_with_taken_mobile_looks_like_a_new_signup(client, sms_outbox):
    PhoneUserFactory(phone="+8613800138000")
    fresh = _signup(Client(), phone="13900139000")
    taken = _signup(client, phone="13800138000")
    assert (taken.status_code, taken["Location"]) == (fresh.status_code, fresh["Location"])
    assert User.objects.filter(phone="+8613800138000").count() == 1
    assert [number for number, _text in sms_outbox] == ["13900139000", "13800138000"]


@pytest.mark.parametrize("typed", ["13800138000", "+86 138 0013 8000", "+8613800138000"])
def test_login_with_mobile_and_password(client, typed):
    user = PhoneUserFactory(phone="+8613800138000")
    response = client.post(reverse("account_login"), {"login": typed, "password": PASSWORD}, REMOTE_ADDR=IP)
    assert response.status_code == 302
    assert _signed_in_user_id(client) == str(user.pk)


def test_login_page_offers_sms_code_sign_in(client):
    response = client.get(reverse("account_login"), HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert reverse("account_request_login_code") in html
    assert '<label for="id_login"' in html
    assert "Sign in with a code by SMS" in html


def test_login_by_sms_code(client, sms_outbox):
    user = PhoneUserFactory(phone="+8613800138000")
    response = client.post(reverse("account_request_login_code"), {"phone": "138-0013-8000"}, REMOTE_ADDR=IP)
    assert response.status_code == 302
    assert response["Location"] == reverse("account_confirm_login_code")
    [(number, text)] = sms_outbox
    assert number == "13800138000"
    assert _signed_in_user_id(client) is None

    response = client.post(reverse("account_confirm_login_code"), {"code": _code(text)}, REMOTE_ADDR=IP)

    assert response.status_code == 302
    assert _signed_in_user_id(client) == str(user.pk)


def test_login_by_sms_code_wrong_code_does_not_sign_in(client, sms_outbox):
    PhoneUserFactory(phone="+8613800138000")
    client.post(reverse("account_request_login_code"), {"phone": "13800138000"}, REMOTE_ADDR=IP)
    [(_number, text)] = sms_outbox
    wrong = f"{(int(_code(text)) + 1) % 1_000_000:06d}"
    response = client.post(reverse("account_confirm_login_code"), {"code": wrong}, REMOTE_ADDR=IP)
    assert response.status_code == 200
    assert _signed_in_user_id(client) is None


def test_login_by_sms_code_for_unknown_number_answers_alike_and_sends_nothing(client, sms_outbox):
    response = client.post(reverse("account_request_login_code"), {"phone": "13700137000"}, REMOTE_ADDR=IP)
    assert response.status_code == 302
    assert response["Location"] == reverse("account_confirm_login_code")
    assert sms_outbox == []


def test_login_by_sms_code_requests_are_rate_limited_per_number(client, sms_outbox):
    PhoneUserFactory(phone="+8613800138000")
    statuses = [
        Client().post(reverse("account_request_login_code"), {"phone": "13800138000"}, REMOTE_ADDR=IP).status_code
        for _ in range(4)
    ]
    # allauth's request_login_code limit: 3 per minute per number.
    assert statuses[:3] == [302, 302, 302]
    assert statuses[3] in (200, 429)
    assert len(sms_outbox) == 3


def test_login_by_sms_code_still_asks_for_totp(client, sms_outbox):
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    user = PhoneUserFactory(phone="+8613800138000")
    TOTP.activate(user, generate_totp_secret())
    assert Authenticator.objects.filter(user=user).exists()
    client.post(reverse("account_request_login_code"), {"phone": "13800138000"}, REMOTE_ADDR=IP)
    [(_number, text)] = sms_outbox
    response = client.post(reverse("account_confirm_login_code"), {"code": _code(text)}, REMOTE_ADDR=IP)
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")
    assert _signed_in_user_id(client) is None


def test_login_with_mobile_locked_out_after_failures_whatever_the_spelling(client):
    PhoneUserFactory(phone="+8613800138000")
    spellings = ["13800138000", "+86 138 0013 8000", "138-0013-8000", "+8613800138000", "0086 13800138000"]
    for n in range(settings.AXES_FAILURE_LIMIT):
        login = spellings[n % len(spellings)]
        client.post(reverse("account_login"), {"login": login, "password": f"wrong-{n}"}, REMOTE_ADDR=IP)
    response = client.post(reverse("account_login"), {"login": "13800138000", "password": PASSWORD}, REMOTE_ADDR=IP)
    assert response.status_code == 429
    assert _signed_in_user_id(client) is None


def test_login_failure_with_mobile_is_audited_masked(client):
    PhoneUserFactory(phone="+8613800138000")
    client.post(reverse("account_login"), {"login": "13800138000", "password": "wrong"}, REMOTE_ADDR=IP)
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert event.target_repr == "138****8000"
    assert "13800138000" not in str(event.changes) + event.target_repr + event.reason


def test_user_str_masks_phone():
    user = PhoneUserFactory(phone="+8613800138000")
    assert str(user) == "138****8000"


def test_signup_with_email_and_mobile_verifies_the_mobile_and_still_checks_the_email(client, sms_outbox):
    response = _signup(client, email="both@example.edu", phone="13800138000")
    assert response["Location"] == reverse("account_verify_phone")
    [(_number, text)] = sms_outbox
    response = client.post(reverse("account_verify_phone"), {"code": _code(text)}, REMOTE_ADDR=IP)
    user = User.objects.get(email="both@example.edu")
    # A verified mobile number is enough to sign in; the email address is confirmed by its link later.
    assert response.status_code == 302
    assert _signed_in_user_id(client) == str(user.pk)
    assert not EmailAddress.objects.get(user=user).verified
    assert [message.to for message in mail.outbox] == [["both@example.edu"]]


def test_account_pages_open_for_a_mobile_only_account(client):
    user = PhoneUserFactory()
    client.force_login(user)
    for name in ("account_email", "account_change_phone", "socialaccount_connections", "mfa_index"):
        response = client.get(reverse(name))
        assert response.status_code == 200, name
        assert reverse("claim:status") in response.content.decode(), name
