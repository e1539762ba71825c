import time
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from allauth.account.models import EmailAddress
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.conf import settings
from django.contrib.admin.sites import AdminSite
from django.contrib.auth import views as auth_views
from django.contrib.sessions.models import Session
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse

from apps.accounts.models import User
from apps.core.models import AuditEvent
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN_URL = reverse("account_login")
ATTACKER_IP = "203.0.113.7"
OTHER_IP = "198.51.100.23"


def _verified(user):
    EmailAddress.objects.update_or_create(user=user, email=user.email, defaults={"verified": True, "primary": True})
    return user


def _login(client, email, password, ip=ATTACKER_IP, next_url=None):
    data = {"login": email, "password": password}
    url = LOGIN_URL if next_url is None else f"{LOGIN_URL}?next={next_url}"
    return client.post(url, data, REMOTE_ADDR=ip)


def _is_authenticated(client) -> bool:
    return "_auth_user_id" in client.session


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_login_by_email_signs_in(client, staff):
    _verified(staff)
    response = _login(client, staff.email.upper(), PASSWORD, next_url="/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.session["_auth_user_id"] == str(staff.pk)
    assert client.get("/admin/").status_code == 200


def test_login_wrong_password_stays_anonymous(client, staff):
    _verified(staff)
    response = _login(client, staff.email, "not-the-password")
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not _is_authenticated(client)


def test_login_issues_new_session_key(client, staff):
    _verified(staff)
    client.get(LOGIN_URL)
    client.session.save()
    before = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert Session.objects.filter(session_key=before).exists()

    assert _login(client, staff.email, PASSWORD).status_code == 302

    after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert after != before
    assert not Session.objects.filter(session_key=before).exists()
    assert Session.objects.get(session_key=after).get_decoded()["_auth_user_id"] == str(staff.pk)


def test_admin_login_redirects_to_allauth_keeping_safe_next(client):
    response = client.get("/admin/login/?next=/admin/alumni/person/")
    assert response.status_code == 302
    location = response["Location"]
    assert urlsplit(location).path == LOGIN_URL
    assert _query(location)["next"] == ["/admin/alumni/person/"]


@pytest.mark.parametrize(
    "evil",
    ["https://evil.example.com/admin/", "//evil.example.com/", "/\\evil.example.com", "javascript:alert(1)"],
)
def test_admin_login_redirect_drops_offsite_next(client, evil):
    response = client.get("/admin/login/", {"next": evil})
    assert response.status_code == 302
    assert _query(response["Location"])["next"] == [reverse("admin:index")]


def test_admin_index_anonymous_goes_to_allauth_login(client):
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][1] == 302
    assert response.request["PATH_INFO"] == LOGIN_URL
    assert _query(response.redirect_chain[-1][0])["next"] == ["/admin/"]


def test_admin_login_post_does_not_authenticate(client, staff):
    # The admin's own form is unreachable: posting credentials there signs nobody in.
    _verified(staff)
    response = client.post("/admin/login/", {"username": staff.email, "password": PASSWORD}, REMOTE_ADDR=ATTACKER_IP)
    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == LOGIN_URL
    assert not _is_authenticated(client)


def _walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.callback


def _is_django_password_login(callback) -> bool:
    view_class = getattr(callback, "view_class", None)
    if view_class is not None and issubclass(view_class, auth_views.LoginView):
        return True
    return getattr(callback, "__func__", None) is AdminSite.login


def test_no_url_reaches_django_password_login_views():
    # Every password sign-in goes through allauth (rate limits, axes, TOTP step). The admin's own
    # login pattern still exists inside admin.site.urls; it must be shadowed by the redirect.
    found = [
        (route, callback)
        for route, callback in _walk(get_resolver().url_patterns)
        if _is_django_password_login(callback)
    ]
    assert [route for route, _callback in found] == ["admin/login/"]
    for route, callback in found:
        match = resolve("/" + route)
        assert match.func is not callback
        assert match.url_name == "admin-login-redirect"


def _lock_out(client, email, ip=ATTACKER_IP):
    responses = [_login(client, email, f"wrong-password-{n}", ip=ip) for n in range(settings.AXES_FAILURE_LIMIT)]
    assert all(r.status_code in (200, 429) for r in responses)
    assert not _is_authenticated(client)
    return responses


def test_login_locked_out_after_failure_limit_even_with_right_password(client, staff):
    _verified(staff)
    responses = _lock_out(client, staff.email)
    # The attempt that reaches the limit is already answered with the lockout page.
    assert responses[-1].status_code == 429
    assert all(r.status_code == 200 for r in responses[:-1])
    response = _login(client, staff.email, PASSWORD)
    assert response.status_code == 429
    assert "accounts/locked_out.html" in [t.name for t in response.templates]
    assert not _is_authenticated(client)
    assert client.get("/admin/").status_code == 302


def test_login_lockout_keyed_on_email_case_insensitively(client, staff):
    _verified(staff)
    _lock_out(client, staff.email.upper())
    assert _login(client, staff.email, PASSWORD).status_code == 429
    assert not _is_authenticated(client)


def test_login_lockout_is_per_username_and_ip(client, staff):
    _verified(staff)
    _lock_out(client, staff.email, ip=ATTACKER_IP)
    other = Client()
    response = _login(other, staff.email, PASSWORD, ip=OTHER_IP)
    assert response.status_code == 302
    assert other.session["_auth_user_id"] == str(staff.pk)


def test_login_lockout_does_not_lock_other_accounts_from_same_ip(client, staff, office_admin):
    _verified(staff)
    _verified(office_admin)
    _lock_out(client, staff.email)
    response = _login(client, office_admin.email, PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(office_admin.pk)


def test_login_below_failure_limit_then_success_resets_count(client, staff):
    _verified(staff)
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, staff.email, f"wrong-{n}").status_code == 200
    assert _login(client, staff.email, PASSWORD).status_code == 302
    client.post(reverse("account_logout"), REMOTE_ADDR=ATTACKER_IP)
    # AXES_RESET_ON_SUCCESS: the count starts again after a successful sign-in.
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, staff.email, f"wrong-again-{n}").status_code == 200
    assert _login(client, staff.email, PASSWORD).status_code == 302


def test_login_failures_are_audited(client, staff):
    _verified(staff)
    _login(client, staff.email, "wrong-password")
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert event.ip_address == ATTACKER_IP
    assert "wrong-password" not in str(event.changes) + event.target_repr + event.reason


def test_reauthenticate_is_covered_by_lockout(client, staff):
    # allauth's re-authentication also checks a password: it must hit the same lockout.
    _verified(staff)
    _lock_out(Client(), staff.email)
    client.force_login(staff)
    response = client.post(reverse("account_reauthenticate"), {"password": PASSWORD}, REMOTE_ADDR=ATTACKER_IP)
    assert response.status_code == 429


@pytest.mark.parametrize("path", ["/admin/", "/admin/alumni/person/", "/admin/accounts/user/"])
def test_admin_alumnus_refused_without_redirect_loop(client, alumnus, path):
    client.force_login(alumnus)
    response = client.get(path, follow=True)
    assert response.status_code == 403
    assert [url for url, _status in response.redirect_chain] == [f"/admin/login/?next={path}"]
    assert _is_authenticated(client)


def test_admin_alumnus_signed_in_by_password_gets_no_admin(client, alumnus):
    _verified(alumnus)
    response = _login(client, alumnus.email, PASSWORD, next_url="/admin/")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(alumnus.pk)
    assert client.get("/admin/", follow=True).status_code == 403
    assert not User.objects.get(pk=alumnus.pk).is_staff


def test_admin_login_signed_in_staff_passes_through(client, staff):
    client.force_login(staff)
    response = client.get("/admin/login/?next=/admin/alumni/person/", follow=True)
    assert response.status_code == 200
    assert response.request["PATH_INFO"] == "/admin/alumni/person/"


# --- MFA --------------------------------------------------------------------------------


def _activate_totp(user) -> str:
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def _current_code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // mfa_settings.TOTP_PERIOD))


@override_settings(MFA_REQUIRED_ROLES=["office_admin"])
def test_mfa_office_admin_without_totp_sent_to_activation(client, office_admin):
    client.force_login(office_admin)
    for path in ("/admin/", reverse("admin:accounts_user_changelist")):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"] == reverse("mfa_activate_totp")
    # The enrolment flow itself is reachable (allauth asks for the password again first).
    response = client.get("/admin/", follow=True)
    assert response.status_code == 200
    assert response.request["PATH_INFO"] in (reverse("mfa_activate_totp"), reverse("account_reauthenticate"))


@override_settings(MFA_REQUIRED_ROLES=["office_admin"])
def test_mfa_office_admin_with_totp_opens_admin(client, office_admin):
    _activate_totp(office_admin)
    assert Authenticator.objects.filter(user=office_admin, type=Authenticator.Type.TOTP).exists()
    client.force_login(office_admin)
    assert client.get("/admin/").status_code == 200


@override_settings(MFA_REQUIRED_ROLES=["office_admin"])
def test_mfa_recovery_codes_alone_do_not_count(client, office_admin):
    Authenticator.objects.create(user=office_admin, type=Authenticator.Type.RECOVERY_CODES, data={"seed": "00"})
    client.force_login(office_admin)
    assert client.get("/admin/")["Location"] == reverse("mfa_activate_totp")


@override_settings(MFA_REQUIRED_ROLES=["office_admin"])
def test_mfa_not_forced_on_office_staff(client, staff):
    client.force_login(staff)
    assert client.get("/admin/").status_code == 200


@override_settings(MFA_REQUIRED_ROLES=["office_admin"])
def test_mfa_password_alone_does_not_open_admin_once_totp_enrolled(client, office_admin):
    _verified(office_admin)
    secret = _activate_totp(office_admin)
    response = _login(client, office_admin.email, PASSWORD, next_url="/admin/")
    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == reverse("mfa_authenticate")
    assert not _is_authenticated(client)
    assert client.get("/admin/").status_code == 302

    # Frozen clock: the code cannot roll over to the next period between computing and checking it.
    with time_machine.travel(time.time(), tick=False):
        code = _current_code(secret)
        response = client.post(reverse("mfa_authenticate"), {"code": code}, REMOTE_ADDR=ATTACKER_IP)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(office_admin.pk)
    assert client.get("/admin/").status_code == 200
