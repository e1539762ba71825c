"""WeChat sign-in through allauth's weixin provider, with WeChat's HTTP answers mocked."""

import json
import subprocess
import sys
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from allauth.socialaccount.models import SocialAccount
from django.conf import settings
from django.urls import reverse

from apps.accounts.models import User
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

OPENID = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"
NICKNAME = "张伟"


def _json_response(payload: dict) -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    response._content = json.dumps(payload).encode()
    response.headers["Content-Type"] = "application/json"
    return response


def _wechat(calls: list):
    """Stand-in for WeChat's token and user-info endpoints (the only HTTP the provider makes)."""

    def request(self, method, url, params=None, data=None, **kwargs):
        calls.append((method, url, params or data))
        if url.startswith("https://api.weixin.qq.com/sns/oauth2/access_token"):
            return _json_response(
                {
                    "access_token": "ACCESS",
                    "expires_in": 7200,
                    "refresh_token": "REFRESH",
                    "openid": OPENID,
                    "scope": "snsapi_login",
                }
            )
        if url.startswith("https://api.weixin.qq.com/sns/userinfo"):
            # requests decodes WeChat's UTF-8 body as Latin-1; the provider undoes that.
            return _json_response({"openid": OPENID, "nickname": NICKNAME.encode().decode("latin-1"), "sex": 1})
        raise AssertionError(f"unexpected request to {url}")

    return request


def _sign_in_with_wechat(client) -> tuple:
    response = client.post(reverse("weixin_login"), {"process": "login"})
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.netloc == "open.weixin.qq.com"
    query = parse_qs(location.query)
    assert query["appid"] == [settings.WECHAT_APP_ID]
    calls: list = []
    with mock.patch.object(requests.Session, "request", _wechat(calls)):
        response = client.get(reverse("weixin_callback"), {"code": "CODE-FROM-WECHAT", "state": query["state"][0]})
    return response, calls


def test_wechat_sign_in_creates_account_without_email_and_signs_in(client):
    response, calls = _sign_in_with_wechat(client)

    assert response.status_code == 302, response.content[:500]
    account = SocialAccount.objects.get(provider="weixin", uid=OPENID)
    user = account.user
    assert user.email is None
    assert user.phone is None
    assert user.display_name == NICKNAME
    assert client.session["_auth_user_id"] == str(user.pk)
    # The secret went to WeChat's token endpoint, never to the browser.
    token_call = calls[0]
    assert token_call[2]["secret"] == settings.WECHAT_APP_SECRET
    assert token_call[2]["code"] == "CODE-FROM-WECHAT"


def test_wechat_sign_in_again_reuses_the_account(client):
    _sign_in_with_wechat(client)
    client.post(reverse("account_logout"))
    response, _calls = _sign_in_with_wechat(client)
    assert response.status_code == 302
    assert User.objects.count() == 1
    assert client.session["_auth_user_id"] == str(SocialAccount.objects.get(uid=OPENID).user_id)


def test_wechat_callback_with_forged_state_signs_nobody_in(client):
    client.post(reverse("weixin_login"), {"process": "login"})
    calls: list = []
    with mock.patch.object(requests.Session, "request", _wechat(calls)):
        response = client.get(reverse("weixin_callback"), {"code": "CODE", "state": "forged"})
    assert "_auth_user_id" not in client.session
    assert not SocialAccount.objects.exists()
    assert calls == []
    assert response.status_code == 401  # allauth's authentication-error page


def test_wechat_login_button_on_sign_in_page(client):
    html = client.get(reverse("account_login")).content.decode()
    assert f'action="{reverse("weixin_login")}' in html


def test_wechat_accounts_sign_in_without_email_even_with_other_users_around(client):
    UserFactory()
    response, _calls = _sign_in_with_wechat(client)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(SocialAccount.objects.get(uid=OPENID).user_id)


@pytest.mark.parametrize(("app_id", "enabled"), [("", False), ("wx123", True)])
def test_wechat_provider_is_switched_on_by_settings_only(app_id, enabled):
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "alumni_portal.settings",
        "DJANGO_DEBUG": "1",
        "WECHAT_APP_ID": app_id,
        "WECHAT_APP_SECRET": "secret" if app_id else "",
    }
    script = (
        "import django; django.setup(); from django.conf import settings; "
        "print('allauth.socialaccount.providers.weixin' in settings.INSTALLED_APPS, "
        "bool(settings.SOCIALACCOUNT_PROVIDERS))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(enabled), str(enabled)]
