import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from .selectors import user_needs_mfa

_STARTED = "staff_session_started"
_SEEN = "staff_session_seen"


class StaffSessionPolicyMiddleware:
    """Staff sessions end after idle time or a fixed length; some roles must enrol TOTP first."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_staff:
            response = self._enforce(request, user)
            if response is not None:
                return response
        return self.get_response(request)

    def _enforce(self, request, user):
        now = int(time.time())
        session = request.session
        started = session.setdefault(_STARTED, now)
        seen = session.get(_SEEN, now)
        if now - seen > settings.STAFF_SESSION_IDLE_SECONDS or now - started > settings.STAFF_SESSION_MAX_SECONDS:
            logout(request)
            messages.info(request, _("Your session has ended. Please sign in again."))
            return redirect(f"{reverse('account_login')}?{urlencode({'next': request.path})}")
        session[_SEEN] = now
        if request.path.startswith("/admin/") and user_needs_mfa(user, settings.MFA_REQUIRED_ROLES):
            from allauth.mfa.models import Authenticator

            if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
                messages.warning(request, _("Your role requires a second factor. Please set up TOTP first."))
                return redirect("mfa_activate_totp")
        return None
