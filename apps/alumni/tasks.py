from celery import shared_task

from .services import contact_rate_refresh


@shared_task(acks_late=True, soft_time_limit=1800)
def contact_rate_refresh_task(years: int | None = None) -> int:
    """Nightly (and on demand) refresh of the effective contact-rate figures."""
    return contact_rate_refresh(years=years)
