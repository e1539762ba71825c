from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DataserviceConfig(AppConfig):
    name = "apps.dataservice"
    label = "dataservice"
    verbose_name = _("Data services")
