"""Column encryption for sensitive identifiers (PIPL Art. 28) and keyed hashes to look them up."""

import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must hold at least one Fernet key.")
    return MultiFernet([Fernet(key.encode()) for key in keys])


def encrypt(value: str) -> str:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS)).encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS)).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured("An encrypted column cannot be read with the configured keys.") from exc


def lookup_hash(value: str) -> str:
    """A keyed hash, so an identifier can be found by equality without storing it in clear.

    Keyed on the oldest (last) key: rotation prepends a new key, and stored hashes must keep
    matching. Retiring that last key means recomputing every stored hash.
    """
    key = hashlib.sha256(b"lookup:" + settings.FIELD_ENCRYPTION_KEYS[-1].encode()).digest()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
