from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChaptersConfig(AppConfig):
    name = "apps.chapters"
    label = "chapters"
    verbose_name = _("Chapters")

    def ready(self) -> None:
        from . import receivers  # noqa: F401
