"""Test settings: the real settings, made faster. Nothing here changes behaviour under test."""

import os

os.environ.setdefault("DJANGO_DEBUG", "0")
os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdef")
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "dGVzdC1vbmx5LWZpZWxkLWtleS0wMDAwMDAwMDAwMDA=")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")
# WeChat sign-in is switched on so its flow is tested (the provider's HTTP calls are mocked).
os.environ.setdefault("WECHAT_APP_ID", "wx-test-app")
os.environ.setdefault("WECHAT_APP_SECRET", "wx-test-secret")

from .settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
MEDIA_ROOT = BASE_DIR / "var" / "test-media"  # noqa: F405
MFA_REQUIRED_ROLES = []
# Tasks run in the test process, with or without Redis, so every test behaves the same; the
# worker tests send through the real broker with the `real_broker` fixture.
CELERY_TASK_ALWAYS_EAGER = True
# Tests clear the cache between runs; keep that away from the Redis database Celery uses.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

SMS_BACKEND = "apps.notifications.sms.LocmemSmsBackend"
