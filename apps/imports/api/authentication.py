"""Token authentication for system-to-system feeds: ``Authorization: Token <key>``.

Only the key's SHA-256 is stored. A missing, wrong or revoked key is a 401 (with a
``WWW-Authenticate: Token`` challenge); a valid key without the needed scope is a 403.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from ..models import ApiToken
from ..services import api_token_authenticate


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid token header."))
        try:
            key = header[1].decode("ascii")
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed(_("Invalid token header.")) from exc
        token = api_token_authenticate(key=key)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked token."))
        return token.created_by, token

    def authenticate_header(self, request):
        return self.keyword


class HasImportScope(permissions.BasePermission):
    """Token callers need the "import" scope; session callers need to be office staff who may view jobs.

    Session users may only read (GET); pushing files is for tokens.
    """

    message = _("This token may not push rosters.")

    def has_permission(self, request, view):
        if isinstance(request.auth, ApiToken):
            return request.auth.has_scope(ApiToken.Scope.IMPORT)
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if request.method not in permissions.SAFE_METHODS:
            self.message = _("Rosters are pushed with an API token.")
            return False
        return user.has_perm("imports.view_importjob")


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """How the schema describes the token (registered by being defined)."""

    target_class = ApiTokenAuthentication
    name = "ApiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'Send "Token <key>"; keys are created by an office administrator in the admin.',
        }
