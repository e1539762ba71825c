from smtplib import SMTPException

from celery import shared_task

from apps.notifications.sms import SmsDeliveryError

from .claim.services import claim_code_send, claim_codes_expire


@shared_task(
    acks_late=True,
    autoretry_for=(SMTPException, SmsDeliveryError, ConnectionError),
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=60,
)
def claim_code_send_task(claim_id: int) -> bool:
    """Send a claim's one-time code if it is waiting for one (a no-op otherwise, so safe to run twice)."""
    return claim_code_send(claim_id=claim_id)


@shared_task(acks_late=True, soft_time_limit=300)
def claim_codes_expire_task() -> int:
    """Every few minutes: claims whose code ran out go to staff review."""
    return claim_codes_expire()
