import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError

from . import services

logger = logging.getLogger(__name__)

# Only a lost database connection is worth retrying. Any other failure is recorded on the row
# (status and message, shown to staff) and logged, not raised: in eager mode (no Redis) raising
# would turn the approving user's page into a server error although nothing is left half-done.
_TRANSIENT = (OperationalError, InterfaceError)


@shared_task(acks_late=True, autoretry_for=_TRANSIENT, retry_backoff=True, max_retries=5, soft_time_limit=3600)
def export_job_run_task(job_id: int) -> None:
    try:
        services.export_job_run(job_id=job_id)
    except _TRANSIENT:
        raise
    except Exception as exc:
        logger.exception("export job %s failed", job_id)
        services.export_job_fail(job_id=job_id, error=str(exc))


@shared_task(acks_late=True, autoretry_for=_TRANSIENT, retry_backoff=True, max_retries=5, soft_time_limit=3600)
def datarequest_produce_task(request_id: int) -> None:
    try:
        services.datarequest_produce(request_id=request_id)
    except _TRANSIENT:
        raise
    except Exception as exc:
        logger.exception("production of data request %s failed", request_id)
        services.datarequest_production_failed(request_id=request_id, error=str(exc))


@shared_task(acks_late=True)
def data_links_expire_task() -> int:
    """Hourly: close download links past their time and delete the files behind them."""
    return services.data_links_expire()
