from django.core.exceptions import ValidationError

from .phones import phone_e164


def username_from_credentials(request, credentials) -> str | None:
    """allauth authenticates with ``email=`` or ``phone=``, the admin form with ``username=``: lock on any.

    Phone numbers are locked in E.164, so "138 0013 8000" and "+8613800138000" count together.
    """
    credentials = credentials or {}
    phone = credentials.get("phone")
    if phone:
        try:
            return phone_e164(phone)
        except ValidationError:
            return str(phone).strip()
    value = credentials.get("email") or credentials.get("username")
    if not value and request is not None and request.method == "POST":
        value = request.POST.get("login") or request.POST.get("username")
    return value.strip().lower() if value else None
