from rest_framework.throttling import BaseThrottle

from ..claim.ratelimit import CLAIM_CONFIRM, CLAIM_START, claim_attempt_allowed


class _ClaimThrottle(BaseThrottle):
    """A DRF throttle over the claim rate limits the pages use too (per account and per IP)."""

    action = ""

    def allow_request(self, request, view) -> bool:
        return claim_attempt_allowed(request._request, action=self.action, user=request.user)


class ClaimStartThrottle(_ClaimThrottle):
    action = CLAIM_START


class ClaimConfirmThrottle(_ClaimThrottle):
    action = CLAIM_CONFIRM
