from celery import shared_task
from django.db import InterfaceError, OperationalError

from .services import match_job_accept_high, match_job_run

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


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=_TRANSIENT,
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=3600,
)
def match_job_accept_high_task(job_id: int, actor_id: int) -> int:
    """Confirm the best candidate of every undecided high-confidence row (confirming twice is a no-op)."""
    from django.contrib.auth import get_user_model

    from .models import MatchJob
    from .selectors import people_scope

    job = MatchJob.objects.filter(pk=job_id).first()
    actor = get_user_model().objects.filter(pk=actor_id).first()
    if job is None or actor is None:
        return 0
    return match_job_accept_high(job=job, actor=actor, visible_person_ids=people_scope(actor).values("pk"))
