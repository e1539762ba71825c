from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class UploadJob(TimeStampedModel):
    """A job over one uploaded spreadsheet: its name and size, progress in rows, failure, finish.

    Subclasses add their ``file`` (where it is stored), ``status`` with its choices and
    ``COMPLETE_STATUSES`` (the statuses shown as 100 %), and keep ``UploadJob.Meta.constraints``.
    """

    COMPLETE_STATUSES: tuple[str, ...] = ("done",)

    original_name = models.CharField(_("original file name"), max_length=255)
    file_size = models.PositiveBigIntegerField(_("file size (bytes)"), default=0)
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    rows_done = models.PositiveIntegerField(_("rows processed"), default=0)
    failure_code = models.CharField(_("failure code"), max_length=64, blank=True)
    failure_message = models.TextField(_("failure message"), blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rows_done__lte=models.F("rows_total")),
                name="%(app_label)s_%(class)s_rows_done_le_total",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.original_name}"

    @property
    def percent(self) -> int:
        """Progress 0-100; 100 only once the job has finished."""
        if self.status in self.COMPLETE_STATUSES:
            return 100
        if not self.rows_total:
            return 0
        return min(99, int(100 * self.rows_done / self.rows_total))


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
