import pytest
from django.utils import translation

from apps.notifications.sms import LocmemSmsBackend


@pytest.fixture(autouse=True)
def _english_and_empty_sms_outbox():
    LocmemSmsBackend.outbox.clear()
    with translation.override("en"):
        yield
    LocmemSmsBackend.outbox.clear()


@pytest.fixture
def sms_outbox():
    return LocmemSmsBackend.outbox
