from urllib.parse import urlencode

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme


def admin_login_redirect(request):
    """Send the admin's login to allauth's, keeping a safe ``next``."""
    target = request.GET.get("next") or reverse("admin:index")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("admin:index")
    if request.user.is_authenticated and not admin.site.has_permission(request):
        # allauth sends a signed-in user straight back to ``next``: for someone the admin refused
        # (an alumnus, say) that would loop between the two, so refuse here instead.
        raise PermissionDenied
    return redirect(f"{reverse('account_login')}?{urlencode({'next': target})}")
