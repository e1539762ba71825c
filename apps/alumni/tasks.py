from celery import shared_task

from .duplicates import duplicate_scan_run
from .identity import identity_check_results_purge
from .services import contact_rate_refresh


@shared_task(acks_late=True, soft_time_limit=1800)
def contact_rate_refresh_task(years: int | None = None) -> int:
    """Nightly (and on demand) refresh of the effective contact-rate figures."""
    return contact_rate_refresh(years=years)


# Below the broker's visibility timeout (CELERY_VISIBILITY_TIMEOUT, 3600 s), so a running scan is
# never handed to a second worker; a redelivered copy finds the scan running or done and stops.
@shared_task(acks_late=True, soft_time_limit=3000, time_limit=3300)
def duplicate_scan_task(scan_id: int | None = None) -> int | None:
    """Run a queued duplicate scan (the admin's button), or queue and run one (the nightly beat)."""
    scan = duplicate_scan_run(scan_id=scan_id)
    return scan.pk if scan is not None else None


@shared_task(acks_late=True, soft_time_limit=600)
def identity_check_results_purge_task() -> int:
    """Nightly: clear the per-row results of identity checks older than the retention period."""
    return identity_check_results_purge()
