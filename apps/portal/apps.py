from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# Model rights the office roles get on the portal's staff-facing models (row scope still applies).
PORTAL_ROLE_PERMISSIONS = {
    "office_admin": ["portal.view_datarightsrequest", "portal.change_datarightsrequest", "portal.view_lookupstat"],
    "office_staff": ["portal.view_datarightsrequest", "portal.change_datarightsrequest", "portal.view_lookupstat"],
    "college_staff": ["portal.view_datarightsrequest", "portal.change_datarightsrequest"],
}


class PortalConfig(AppConfig):
    name = "apps.portal"
    label = "portal"
    verbose_name = _("Alumni portal")

    def ready(self):
        # The role groups are synced from accounts' ROLE_PERMISSIONS after every migrate; the
        # portal adds its own models' rights there instead of editing the accounts app.
        from apps.notifications.roles import extend_role_permissions

        extend_role_permissions(PORTAL_ROLE_PERMISSIONS)
