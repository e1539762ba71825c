from django.conf import settings


def absolute_url(path: str) -> str:
    """A link for an email: the site's configured base URL (the one mailings use) and ``path``."""
    return getattr(settings, "NOTIFICATIONS_BASE_URL", "").rstrip("/") + path
