"""The bounce webhook's credential: an HMAC-SHA256 of "<timestamp>.<raw body>" under a shared secret."""

import hmac
import time

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed

from ..services.senders import webhook_signature

MAX_SKEW_SECONDS = 300


class BounceProvider:
    """The mail provider calling the bounce webhook (not a user)."""

    is_authenticated = True
    is_active = True
    pk = None

    def __str__(self) -> str:
        return "bounce-webhook"


class BounceWebhookAuthentication(BaseAuthentication):
    """Headers ``X-Bounce-Timestamp`` (unix seconds, within 5 minutes) and ``X-Bounce-Signature``."""

    def authenticate(self, request):
        secret = settings.NOTIFICATIONS_BOUNCE_WEBHOOK_SECRET
        if not secret:
            raise AuthenticationFailed("the bounce webhook is not configured")
        timestamp = request.headers.get("X-Bounce-Timestamp", "")
        signature = request.headers.get("X-Bounce-Signature", "")
        if not timestamp or not signature:
            return None
        try:
            skew = abs(time.time() - int(timestamp))
        except ValueError:
            raise AuthenticationFailed("bad timestamp") from None
        if skew > MAX_SKEW_SECONDS:
            raise AuthenticationFailed("stale timestamp")
        if not hmac.compare_digest(webhook_signature(secret, timestamp, request.body), signature):
            raise AuthenticationFailed("bad signature")
        return BounceProvider(), None

    def authenticate_header(self, request):
        return "HMAC-SHA256"


class BounceSignatureScheme(OpenApiAuthenticationExtension):
    """How the schema describes the bounce webhook's signature (registered by being defined)."""

    target_class = BounceWebhookAuthentication
    name = "BounceSignature"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-Bounce-Signature",
            "description": 'HMAC-SHA256 of "<X-Bounce-Timestamp>.<raw body>" under the shared secret, '
            'as "sha256=<hex>".',
        }
