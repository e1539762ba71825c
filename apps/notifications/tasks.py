from celery import shared_task
from django.db import InterfaceError, OperationalError

from .services import message_materialise, outbox_drain, outbox_relay
from .services.outbox import task_options

# Only a lost or broken database connection is worth a task retry; send failures are retried per row.
_TRANSIENT = (OperationalError, InterfaceError)


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=_TRANSIENT,
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=1800,
)
def message_materialise_task(message_id: int) -> str:
    """Write a queued message's outbox rows (resumable; a second copy waits or finds nothing to do)."""
    return message_materialise(message_id=message_id)


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=_TRANSIENT,
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=900,
)
def outbox_drain_task(self, kind: str, slot: int = 0) -> str:
    """Send due outbox rows of one kind in one slot; hands over to a fresh task when time is up."""
    outcome = outbox_drain(kind=kind, slot=slot)
    if outcome == "more":
        outbox_drain_task.apply_async(args=[kind, slot], **task_options())
    return outcome


@shared_task(acks_late=True, soft_time_limit=120)
def outbox_relay_task() -> dict:
    """Every 30 s (beat): start due schedules, resume materialisations, wake senders for due rows."""
    return outbox_relay()
