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


class HttpGatewaySmsBackend(BaseSmsBackend):
    """Production: POST JSON to an HTTP SMS gateway (``SMS_GATEWAY_URL``), bearer key ``SMS_GATEWAY_KEY``.

    The request carries the number and the text only (PIPL: nothing else goes to the vendor). A
    2xx answer is a success; its JSON ``id`` (or ``message_id``), if any, is returned. Anything
    else, or no answer within ``SMS_GATEWAY_TIMEOUT`` seconds, raises SmsDeliveryError.
    """

    def send(self, number: str, text: str) -> str:
        import json
        import urllib.error
        import urllib.request

        if not settings.SMS_GATEWAY_URL:
            raise SmsDeliveryError("SMS_GATEWAY_URL is not set")
        payload = {"to": number, "text": text}
        if settings.SMS_GATEWAY_SENDER:
            payload["sender"] = settings.SMS_GATEWAY_SENDER
        request = urllib.request.Request(  # noqa: S310 - the operator's configured gateway URL
            settings.SMS_GATEWAY_URL,
            data=json.dumps(payload, ensure_ascii=False).encode(),
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Authorization": f"Bearer {settings.SMS_GATEWAY_KEY}",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=settings.SMS_GATEWAY_TIMEOUT) as response:  # noqa: S310
                body = response.read()
        except urllib.error.HTTPError as exc:
            raise SmsDeliveryError(f"gateway answered HTTP {exc.code}") from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise SmsDeliveryError(f"gateway unreachable: {exc}") from exc
        try:
            answer = json.loads(body or b"{}")
        except ValueError:
            return ""
        return str(answer.get("id") or answer.get("message_id") or "") if isinstance(answer, dict) else ""
