"""Text messages through a pluggable backend, chosen by ``settings.SMS_BACKEND`` (a dotted class path).

Backends take a normalised mainland or international number and the text; they raise
``SmsDeliveryError`` when the gateway refuses, so callers (and the outbox) can retry.
"""

import logging

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class SmsDeliveryError(Exception):
    """The gateway did not accept the message."""


class BaseSmsBackend:
    def send(self, number: str, text: str) -> str:
        """Send one message; return the gateway's message id (may be empty)."""
        raise NotImplementedError


class ConsoleSmsBackend(BaseSmsBackend):
    """Development: log the message instead of sending it."""

    def send(self, number: str, text: str) -> str:
        logger.warning("SMS to %s: %s", number, text)
        return ""


class LocmemSmsBackend(BaseSmsBackend):
    """Tests: keep sent messages in ``LocmemSmsBackend.outbox`` as (number, text) pairs."""

    outbox: list[tuple[str, str]] = []

    def send(self, number: str, text: str) -> str:
        type(self).outbox.append((number, text))
        return str(len(type(self).outbox))


def get_sms_backend() -> BaseSmsBackend:
    return import_string(settings.SMS_BACKEND)()


def send_sms(number: str, text: str) -> str:
    return get_sms_backend().send(number, text)
