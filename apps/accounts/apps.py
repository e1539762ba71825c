from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"
    verbose_name = _("Accounts and roles")

    def ready(self) -> None:
        from . import services

        # Groups and their permissions are configuration, rebuilt after every migrate.
        post_migrate.connect(services.role_groups_sync_after_migrate, dispatch_uid="accounts.role_groups_sync")
