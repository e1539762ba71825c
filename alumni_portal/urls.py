from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView

from apps.accounts.views import admin_login_redirect
from apps.portal.views import HomeView

admin.site.site_header = admin.site.site_title = "Alumni Portal"

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    # Browsers ask for /favicon.ico whatever the page says.
    path("favicon.ico", RedirectView.as_view(url=f"{settings.STATIC_URL}core/favicon.svg", permanent=True)),
    # Staff sign in through allauth, so rate limits, lockout and the TOTP step apply to the admin too.
    path("admin/login/", admin_login_redirect, name="admin-login-redirect"),
    path(
        "admin/password_change/",
        RedirectView.as_view(pattern_name="account_change_password"),
        name="admin-password-change-redirect",
    ),
    path("admin/reports/", include("apps.reports.urls")),
    path("admin/alumni-tools/", include("apps.alumni.urls")),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("_allauth/", include("allauth.headless.urls")),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/", include("alumni_portal.api_urls")),
    path("data/", include("apps.dataservice.urls")),
    path("me/claim/", include("apps.accounts.claim.urls")),
    path("", include("apps.notifications.urls")),
    path("", include("apps.portal.urls")),
    path("", HomeView.as_view(), name="home"),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
