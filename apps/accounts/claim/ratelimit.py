"""Per-account and per-IP limits on claim attempts, shared by the pages and the API.

The rates are ``ACCOUNT_RATE_LIMITS["claim_start"]`` and ``["claim_confirm"]``; counters live in
the cache through allauth's rate-limit helper, so both doors draw on the same allowance.
"""

from allauth.account.adapter import get_adapter
from allauth.core import ratelimit
from django.core.exceptions import PermissionDenied

CLAIM_START = "claim_start"
CLAIM_CONFIRM = "claim_confirm"


def claim_attempt_allowed(request, *, action: str, user) -> bool:
    """Count one attempt; False once the account or the address has used its allowance."""
    return ratelimit.consume(request, action=action, user=user)


def client_ip(request) -> str | None:
    try:
        return get_adapter(request).get_client_ip(request)
    except PermissionDenied:  # allauth's answer when no address can be read: record none
        return None
