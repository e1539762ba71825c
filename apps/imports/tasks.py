from celery import shared_task
from django.db import InterfaceError, OperationalError

from .services import import_job_apply, import_job_preview

# Only a lost or broken database connection is worth retrying; a bad file or bad rows are not.
_TRANSIENT = (OperationalError, InterfaceError)


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=_TRANSIENT,
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=3 * 3600,
)
def import_job_preview_task(job_id: int) -> str:
    """Check and classify an uploaded roster without writing (a no-op unless the job waits for it)."""
    return import_job_preview(job_id=job_id)


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=_TRANSIENT,
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=3 * 3600,
)
def import_job_apply_task(job_id: int) -> str:
    """Write a previewed roster, exactly once however often the task is delivered."""
    return import_job_apply(job_id=job_id)
