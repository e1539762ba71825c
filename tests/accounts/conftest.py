import pytest
from django.utils import translation

from apps.notifications.sms import LocmemSmsBackend


@pytest.fixture(autouse=True)
def _english_and_empty_sms_outbox():
    """Messages are read in English; each test starts with no text messages sent."""
    LocmemSmsBackend.outbox.clear()
    with translation.override("en"):
        yield
    LocmemSmsBackend.outbox.clear()


@pytest.fixture
def sms_outbox():
    return LocmemSmsBackend.outbox
