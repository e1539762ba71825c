from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NewsConfig(AppConfig):
    name = "apps.news"
    label = "news"
    verbose_name = _("Alumni news")

    def ready(self) -> None:
        from apps.notifications.roles import extend_role_permissions

        from .roles import NEWS_PERMISSIONS

        extend_role_permissions(NEWS_PERMISSIONS)
