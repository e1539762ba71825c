"""The mobile app's X-Session-Token (from allauth's headless API) for DRF, and its schema entry."""

from allauth.headless.contrib.rest_framework.authentication import XSessionTokenAuthentication
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class SessionTokenAuthentication(XSessionTokenAuthentication):
    """allauth's session-token authentication that answers anonymous callers with 401 (not 403)."""

    def authenticate_header(self, request) -> str:
        return "X-Session-Token"


class SessionTokenScheme(OpenApiAuthenticationExtension):
    """How the schema describes the token (registered by being defined)."""

    target_class = "allauth.headless.contrib.rest_framework.authentication.XSessionTokenAuthentication"
    match_subclasses = True
    name = "SessionToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-Session-Token",
            "description": "The session token the app receives from the sign-in endpoints under /_allauth/app/v1/.",
        }
