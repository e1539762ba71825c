from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "apps.notifications"
    label = "notifications"
    verbose_name = _("Communications")

    def ready(self) -> None:
        from . import hooks, receivers, roles  # noqa: F401
        from .filters import register_builtin_kinds
        from .services.webhooks import register_builtin_events
        from .templates_registry import register_builtin_templates

        register_builtin_kinds()
        register_builtin_templates()
        register_builtin_events()
        roles.extend_role_permissions()
        hooks.connect()
