"""Who may use the alumni portal's own pages and endpoints: verified alumni (an active account
linked to a living person's record). Staff roles give no access to other alumni's portal data."""

from django.contrib.auth.mixins import AccessMixin
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _
from rest_framework import permissions

from .selectors import viewer_person


def is_verified_alumnus(user) -> bool:
    return viewer_person(user) is not None


def claim_url() -> str | None:
    """Where an unlinked account claims its record (part of the accounts app, when installed)."""
    try:
        return reverse("claim:start")
    except NoReverseMatch:
        return None


class IsVerifiedAlumnus(permissions.BasePermission):
    message = _("Only verified alumni may use this; claim your alumni record first.")

    def has_permission(self, request, view):
        return is_verified_alumnus(request.user)


class VerifiedAlumnusRequiredMixin(AccessMixin):
    """Anonymous visitors go to the sign-in page; signed-in users without a linked record get 403."""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.person = viewer_person(request.user)
        if self.person is None:
            return TemplateResponse(request, "portal/not_verified.html", {"claim_url": claim_url()}, status=403)
        return super().dispatch(request, *args, **kwargs)
