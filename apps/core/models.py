from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class AuditEvent(models.Model):
    """One append-only processing record (PIPL Art. 55-56): who did what to which record, when."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        # Audit rows are never updated, so an actor with history cannot be deleted: deactivate.
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    action = models.CharField(_("action"), max_length=64)
    target_type = models.CharField(_("target type"), max_length=64, blank=True)
    target_id = models.CharField(_("target id"), max_length=64, blank=True)
    target_repr = models.CharField(_("target"), max_length=200, blank=True)
    changes = models.JSONField(_("changes"), default=list, blank=True)
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit log")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["target_type", "target_id", "-created_at"], name="core_audit_target_idx"),
            models.Index(fields=["actor", "-created_at"], name="core_audit_actor_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.target_repr}"
