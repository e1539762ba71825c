"""Security events (ASVS 16.3): every sign-in, sign-out and failed attempt leaves an audit row."""

from apps.core import audit
from apps.core.names import mask_phone


def _ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") if request is not None else None


def _clean(value: str) -> str:
    # Attempted usernames are attacker-controlled: no line breaks in the log.
    return "".join(ch for ch in str(value) if ch.isprintable())[:200]


def on_logged_in(sender, request, user, **kwargs) -> None:
    audit.record(actor=user, action="auth.login", target=user, ip_address=_ip(request))


def on_logged_out(sender, request, user, **kwargs) -> None:
    if user is not None:
        audit.record(actor=user, action="auth.logout", target=user, ip_address=_ip(request))


def on_login_failed(sender, credentials, request=None, **kwargs) -> None:
    # A full mobile number is personal data: the log keeps it masked.
    phone = credentials.get("phone")
    attempted = mask_phone(phone) if phone else credentials.get("email") or credentials.get("username") or ""
    audit.record(
        actor=None,
        action="auth.login_failed",
        target_type="accounts.user",
        target_repr=_clean(attempted),
        ip_address=_ip(request),
    )
