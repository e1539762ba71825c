import pytest
from django.utils import translation

from apps.notifications.sms import LocmemSmsBackend


@pytest.fixture(autouse=True)
def _english_messages():
    """Assertions read English texts; the default language (zh-hans) is translated centrally later."""
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _outbox_settings(settings):
    settings.NOTIFICATIONS_EMAIL_RATE = 0
    settings.NOTIFICATIONS_SMS_RATE = 0
    settings.NOTIFICATIONS_EMAIL_URL = ""
    settings.NOTIFICATIONS_QUEUE = ""
    settings.NOTIFICATIONS_BASE_URL = "https://alumni.example.edu"
    LocmemSmsBackend.outbox.clear()
    yield
    LocmemSmsBackend.outbox.clear()
