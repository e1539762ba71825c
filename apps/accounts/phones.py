"""Mobile numbers as accounts store them: E.164, mainland numbers accepted as people type them."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from apps.core.names import clean_text, normalise_phone

_MAINLAND_MOBILE = re.compile(r"1[3-9]\d{9}")
_INTERNATIONAL = re.compile(r"[1-9]\d{6,14}")


def phone_e164(value: str | None) -> str:
    """'138 0013 8000', '+86 138-0013-8000', '008613800138000' -> '+8613800138000'.

    Numbers with another country code must start with + or 00. Raises ValidationError (code
    ``invalid_phone``) for anything else.
    """
    text = clean_text(value)
    international = text.startswith(("+", "00"))
    digits = normalise_phone(text)  # drops +86 / 0086 in front of 11 digits
    if _MAINLAND_MOBILE.fullmatch(digits):
        return f"+86{digits}"
    if international:
        digits = digits.removeprefix("00") if text.startswith("00") else digits
        if not digits.startswith("86") and _INTERNATIONAL.fullmatch(digits):
            return f"+{digits}"
    raise ValidationError(
        _("Enter a mainland mobile number (11 digits) or an international number starting with +."),
        code="invalid_phone",
    )


def phone_for_sms(value: str) -> str:
    """The form the SMS backends take: mainland numbers without +86, others as digits."""
    return normalise_phone(value)
