"""The alumni card: a signed, expiring token for its QR code, and the check a guard's scan runs.

The token is ``<person id in base 62>:<timestamp>:<signature>`` from Django's TimestampSigner
(salted for this use), about 55 characters: small enough for a low-density QR code. It proves
only that this server issued it for a verified alumnus within PORTAL_CARD_DAYS; the verify page
says "valid" or "invalid or expired" and nothing else.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

import segno
from django.conf import settings
from django.core import signing
from django.utils import timezone

from apps.alumni.models import Person

_SALT = "portal.card"
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _b62(number: int) -> str:
    digits = ""
    while True:
        number, remainder = divmod(number, 62)
        digits = _ALPHABET[remainder] + digits
        if not number:
            return digits


def _from_b62(text: str) -> int:
    value = 0
    for char in text:
        value = value * 62 + _ALPHABET.index(char)
    return value


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=_SALT)


@dataclass(frozen=True)
class CardToken:
    token: str
    issued_at: datetime
    expires_at: datetime


def card_token(person: Person) -> CardToken:
    """A fresh token for ``person``'s card, valid PORTAL_CARD_DAYS days."""
    issued_at = timezone.now()
    token = _signer().sign(_b62(person.pk))
    return CardToken(token=token, issued_at=issued_at, expires_at=issued_at + timedelta(days=settings.PORTAL_CARD_DAYS))


def card_token_person_id(token: str) -> int | None:
    """The person id a token was issued for, if its signature is right and it has not expired."""
    try:
        value = _signer().unsign(token, max_age=timedelta(days=settings.PORTAL_CARD_DAYS))
        return _from_b62(value)
    except (signing.BadSignature, ValueError):
        return None


def card_token_valid(token: str) -> bool:
    """True for an unexpired token of a living alumnus whose portal account is still active."""
    person_id = card_token_person_id(token)
    if person_id is None:
        return False
    return Person.objects.filter(pk=person_id, is_deceased=False, user__is_active=True).exists()


def qr_svg(data: str) -> str:
    """An inline SVG QR code (no script, no style attribute) of ``data``."""
    qr = segno.make_qr(data, error="m")
    return qr.svg_inline(scale=4, border=2, dark="#000", light="#fff", svgclass="qr", lineclass=None, omitsize=True)
