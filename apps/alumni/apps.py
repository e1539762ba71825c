from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AlumniConfig(AppConfig):
    name = "apps.alumni"
    label = "alumni"
    verbose_name = _("Alumni records")
