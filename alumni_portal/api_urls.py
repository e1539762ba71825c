"""REST API v1: each app mounts its own api/urls.py here."""

from django.urls import include, path

urlpatterns = [
    path("", include("apps.imports.api.urls")),
    path("", include("apps.accounts.api.urls")),
    path("", include("apps.portal.api.urls")),
    path("", include("apps.notifications.api.urls")),
]
