from celery import shared_task
from django.db import InterfaceError, OperationalError

from .services import match_job_run

# Only a lost or broken database connection is worth retrying; a bad list is not.
_TRANSIENT = (OperationalError, InterfaceError)


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=_TRANSIENT,
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=3600,
)
def match_job_run_task(job_id: int) -> str:
    """Match an uploaded list (a no-op unless the job is queued or its worker died)."""
    return match_job_run(job_id=job_id)
