"""The mobile app's sign-up and sign-in through allauth's headless API, then a DRF call with its token."""

import re

import pytest
from django.core import mail
from django.urls import reverse
from rest_framework.test import APIClient

from apps.accounts.models import User
from tests.accounts.factories import PhoneUserFactory, UserFactory
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

APP = "/_allauth/app/v1"
NEW_PASSWORD = "a-long-unusual-passphrase-42"


def _post(client, path, data, token=None):
    headers = {"HTTP_X_SESSION_TOKEN": token} if token else {}
    return client.post(f"{APP}{path}", data, format="json", **headers)


def _pending_flows(body) -> set[str]:
    return {flow["id"] for flow in body["data"].get("flows", []) if flow.get("is_pending")}


def test_headless_app_signup_by_email_verify_then_call_the_api():
    client = APIClient()
    response = _post(client, "/auth/signup", {"email": "wang.fang@example.edu", "password": NEW_PASSWORD})
    assert response.status_code == 401
    body = response.json()
    assert _pending_flows(body) == {"verify_email"}
    token = body["meta"]["session_token"]
    key = re.search(r"/accounts/confirm-email/([^/\s]+)/", mail.outbox[0].body).group(1)

    response = _post(client, "/auth/email/verify", {"key": key}, token=token)

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["meta"]["is_authenticated"] is True
    token = body["meta"]["session_token"]
    user = User.objects.get(email="wang.fang@example.edu")
    assert body["data"]["user"]["id"] == user.pk

    api = APIClient()
    response = api.get(reverse("claim-list"), HTTP_X_SESSION_TOKEN=token)
    assert response.status_code == 200
    assert response.json()["results"] == []
    assert APIClient().get(reverse("claim-list")).status_code == 401
    assert APIClient().get(reverse("claim-list"), HTTP_X_SESSION_TOKEN="not-a-token").status_code in (401, 403)


def test_headless_app_signup_with_mobile_only_verifies_by_sms(sms_outbox):
    client = APIClient()
    response = _post(client, "/auth/signup", {"phone": "+8613800138000", "password": NEW_PASSWORD})
    assert response.status_code == 401
    body = response.json()
    assert _pending_flows(body) == {"verify_phone"}
    token = body["meta"]["session_token"]
    [(number, text)] = sms_outbox
    assert number == "13800138000"
    code = re.search(r"\b(\d{6})\b", text).group(1)

    response = _post(client, "/auth/phone/verify", {"code": code}, token=token)

    assert response.status_code == 200, response.json()
    user = User.objects.get(phone="+8613800138000")
    assert user.email is None
    assert user.phone_verified
    assert response.json()["meta"]["is_authenticated"] is True


def test_headless_app_login_by_mobile_then_start_a_claim_with_the_token():
    user = PhoneUserFactory(phone="+8613800138000")
    client = APIClient()
    response = _post(client, "/auth/login", {"phone": "+8613800138000", "password": PASSWORD})
    assert response.status_code == 200, response.json()
    token = response.json()["meta"]["session_token"]

    api = APIClient(enforce_csrf_checks=True)
    response = api.post(
        reverse("claim-list"),
        {"name": "王芳", "birth_date": "1990-01-02", "student_id": "2008011234"},
        format="json",
        HTTP_X_SESSION_TOKEN=token,
    )

    assert response.status_code == 202, response.json()
    assert response.json()["state"] == "submitted"
    assert user.claim_requests.count() == 1


def test_headless_app_login_wrong_password_is_refused():
    UserFactory(email="li.lei@example.edu")
    response = _post(APIClient(), "/auth/login", {"email": "li.lei@example.edu", "password": "wrong-password"})
    assert response.status_code == 400
    assert "session_token" not in response.json().get("meta", {})


def test_headless_app_signup_with_taken_email_answers_like_a_new_one():
    UserFactory(email="taken@example.edu")
    fresh = _post(APIClient(), "/auth/signup", {"email": "fresh@example.edu", "password": NEW_PASSWORD})
    taken = _post(APIClient(), "/auth/signup", {"email": "taken@example.edu", "password": NEW_PASSWORD})
    assert taken.status_code == fresh.status_code == 401
    assert _pending_flows(taken.json()) == _pending_flows(fresh.json()) == {"verify_email"}
    assert User.objects.filter(email="taken@example.edu").count() == 1
