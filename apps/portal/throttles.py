"""Rate limits of the portal, shared by the API (DRF throttles) and the HTML pages.

Rates come from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` read at request time (so a test or a
benchmark can change them); an empty rate (None) lifts the limit.
"""

from django.template.response import TemplateResponse
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


class PortalThrottle(SimpleRateThrottle):
    """Per signed-in user, else per client address."""

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view):
        user = getattr(request, "user", None)
        ident = f"u{user.pk}" if user is not None and user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class DirectoryThrottle(PortalThrottle):
    scope = "portal_directory"


class CardVerifyThrottle(PortalThrottle):
    """Per client address: guards scan without signing in."""

    scope = "portal_card_verify"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class PortalWriteThrottle(PortalThrottle):
    """Changes to my own record (contacts, codes, requests)."""

    scope = "portal_write"


def page_throttled(request, throttle_class) -> TemplateResponse | None:
    """For HTML views: None if allowed, else a 429 page with Retry-After."""
    throttle = throttle_class()
    if throttle.allow_request(request, None):
        return None
    wait = throttle.wait()
    response = TemplateResponse(request, "portal/throttled.html", {"wait": int(wait or 60)}, status=429)
    response["Retry-After"] = str(int(wait or 60))
    return response
