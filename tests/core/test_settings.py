import json
import os
import re
import secrets
import string
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.urls import reverse

BASE_DIR = settings.BASE_DIR
PYTHON = sys.executable


def _production_env(**overrides) -> dict[str, str]:
    """A clean environment with only what production must set, plus ``overrides``."""
    alphabet = string.ascii_letters + string.digits + "!@#$%^&*(-_=+)"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME"),
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "".join(secrets.choice(alphabet) for _ in range(50)),
        "DJANGO_ALLOWED_HOSTS": "alumni.example.edu",
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "DJANGO_SETTINGS_MODULE": "alumni_portal.settings",
    }
    env.update(overrides)
    return {key: value for key, value in env.items() if value is not None}


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120, check=False)


def _dotenv_defines(name: str) -> bool:
    dotenv = BASE_DIR / ".env"
    return dotenv.exists() and re.search(rf"^{name}=.+", dotenv.read_text(), re.MULTILINE) is not None


def test_settings_production_pass_check_deploy():
    result = _run([PYTHON, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], _production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_settings_production_values():
    script = (
        "import json; from django.conf import settings as s; print(json.dumps({"
        "'debug': s.DEBUG, 'hsts': s.SECURE_HSTS_SECONDS, 'ssl_redirect': s.SECURE_SSL_REDIRECT, "
        "'session_secure': s.SESSION_COOKIE_SECURE, 'csrf_secure': s.CSRF_COOKIE_SECURE, "
        "'xfo': s.X_FRAME_OPTIONS, 'mfa': s.MFA_REQUIRED_ROLES, 'eager': s.CELERY_TASK_ALWAYS_EAGER, "
        "'keys': len(s.FIELD_ENCRYPTION_KEYS), 'proxy': getattr(s, 'SECURE_PROXY_SSL_HEADER', None), "
        "'hashers': s.PASSWORD_HASHERS[0]}))"
    )
    env = _production_env()
    result = _run([PYTHON, "-c", f"import django; django.setup(); {script}"], env)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["debug"] is False
    assert values["hsts"] >= 31536000
    assert values["ssl_redirect"] is True
    assert values["session_secure"] is True
    assert values["csrf_secure"] is True
    assert values["xfo"] == "DENY"
    assert "office_admin" in values["mfa"]
    assert values["eager"] is True  # no REDIS_URL in this environment
    assert values["keys"] == 1
    assert values["proxy"] is None  # only trusted when DJANGO_BEHIND_TLS_PROXY=1
    assert "MD5" not in values["hashers"]


@pytest.mark.parametrize("secret", ["", None], ids=["empty", "unset"])
def test_settings_refuse_to_start_without_secret_key(secret):
    if secret is None and _dotenv_defines("DJANGO_SECRET_KEY"):
        pytest.skip("a local .env sets DJANGO_SECRET_KEY")
    env = _production_env(DJANGO_SECRET_KEY=secret)
    result = _run([PYTHON, "-c", "import django; django.setup()"], env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_settings_debug_mode_starts_without_secret_key():
    env = _production_env(DJANGO_DEBUG="1", DJANGO_SECRET_KEY=None, FIELD_ENCRYPTION_KEYS=None)
    result = _run(
        [PYTHON, "-c", "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"], env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_settings_every_environment_variable_in_env_example():
    source = (BASE_DIR / "alumni_portal" / "settings.py").read_text()
    names = set(re.findall(r"env(?:\.\w+)?\(\s*\"([A-Z0-9_]+)\"", source))
    assert names
    example = (BASE_DIR / ".env.example").read_text()
    listed = set(re.findall(r"^([A-Z0-9_]+)=", example, re.MULTILINE))
    assert names <= listed, sorted(names - listed)


def _csp(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        tokens = part.split()
        if tokens:
            directives[tokens[0]] = tokens[1:]
    return directives


@pytest.mark.django_db
@pytest.mark.parametrize("signed_in", [False, True])
def test_settings_responses_carry_strict_csp_and_frame_headers(client, staff, signed_in):
    if signed_in:
        client.force_login(staff)
    paths = [reverse("home"), reverse("account_login"), "/admin/login/"]
    if signed_in:
        paths += ["/admin/", reverse("admin:alumni_person_changelist")]
    for path in paths:
        response = client.get(path)
        csp = _csp(response)
        assert csp["frame-ancestors"] == ["'none'"], path
        script_src = csp.get("script-src", csp.get("default-src"))
        assert script_src, path
        assert "'unsafe-inline'" not in script_src, path
        assert "'unsafe-eval'" not in script_src, path
        assert "*" not in script_src, path
        assert csp["default-src"] == ["'self'"], path
        assert response["X-Frame-Options"] == "DENY", path
        assert response["X-Content-Type-Options"] == "nosniff", path
        assert response["Referrer-Policy"] == "same-origin", path


@pytest.mark.django_db
def test_settings_error_pages_carry_csp(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert _csp(response)["frame-ancestors"] == ["'none'"]
    assert response["X-Frame-Options"] == "DENY"


def test_settings_secrets_starting_with_a_dollar_are_read_exactly():
    """django-environ would read "$name" as another variable; Django's generated keys can start with "$"."""
    key = "$" + "".join(secrets.choice(string.ascii_letters + "$%^&*") for _ in range(49))
    env = _production_env(DJANGO_SECRET_KEY=key, SMS_GATEWAY_KEY="$gateway", WECHAT_APP_SECRET="$wechat")
    script = (
        "import json; from django.conf import settings as s; "
        "print(json.dumps([s.SECRET_KEY, s.SMS_GATEWAY_KEY, s.WECHAT_APP_SECRET]))"
    )
    result = _run([PYTHON, "-c", f"import django; django.setup(); {script}"], env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [key, "$gateway", "$wechat"]
