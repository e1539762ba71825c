from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"
    verbose_name = _("Accounts and roles")

    def ready(self) -> None:
        from django.contrib.auth import signals as auth_signals

        from . import audit_hooks, services

        # Groups and their permissions are configuration, rebuilt after every migrate.
        post_migrate.connect(services.role_groups_sync_after_migrate, dispatch_uid="accounts.role_groups_sync")
        auth_signals.user_logged_in.connect(audit_hooks.on_logged_in, dispatch_uid="accounts.audit_login")
        auth_signals.user_logged_out.connect(audit_hooks.on_logged_out, dispatch_uid="accounts.audit_logout")
        auth_signals.user_login_failed.connect(audit_hooks.on_login_failed, dispatch_uid="accounts.audit_failed")
