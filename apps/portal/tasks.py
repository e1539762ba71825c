from smtplib import SMTPException

from celery import shared_task
from django.db import InterfaceError, OperationalError

from . import services

_TRANSIENT = (OperationalError, InterfaceError, SMTPException, ConnectionError)


@shared_task(acks_late=True, autoretry_for=_TRANSIENT, retry_backoff=True, max_retries=5)
def relay_message_deliver_task(message_id: int) -> bool:
    """Email one relayed message; safe to run twice (the message row is claimed once)."""
    return services.relay_message_deliver(message_id=message_id)
