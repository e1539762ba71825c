import uuid
from pathlib import PurePath

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from apps.core.models import TimeStampedModel, UploadJob

# Extensions kept on stored files (the stored name is a UUID; the original name is only shown).
SAFE_EXTENSIONS = frozenset({".csv", ".xlsx", ".txt"})


def upload_to(instance: "ImportJob", filename: str) -> str:
    """imports/uploads/<uuid>.<ext>: never the uploader's name, which may hold ../ or RTL marks."""
    ext = PurePath(filename).suffix.lower()
    return f"imports/uploads/{uuid.uuid4().hex}{ext if ext in SAFE_EXTENSIONS else ''}"


def report_to(instance: "ImportJob", filename: str) -> str:
    return f"imports/reports/{uuid.uuid4().hex}.xlsx"


class ImportJob(UploadJob):
    """One roster file on its way into the alumni tables: upload, mapping, preview, apply, result."""

    class Source(models.TextChoices):
        ADMIN = "admin", _("Admin upload")
        API = "api", _("API feed")
        COMMAND = "command", _("Command line")

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Uploaded")
        MAPPING_NEEDED = "mapping_needed", _("Columns to map")
        PREVIEWING = "previewing", _("Checking")
        PREVIEWED = "previewed", _("Ready to apply")
        APPLYING = "applying", _("Applying")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        REFUSED = "refused", _("Refused")
        CANCELLED = "cancelled", _("Cancelled")

    file = models.FileField(_("file"), upload_to=upload_to, max_length=200, blank=True)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices, default=Source.ADMIN)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    api_token = models.ForeignKey(
        "imports.ApiToken",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="jobs",
        verbose_name=_("API token"),
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.UPLOADED)
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    mapping_confirmed = models.BooleanField(_("mapping confirmed"), default=False)
    phase = models.CharField(_("current step"), max_length=32, blank=True)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    unchanged_count = models.PositiveIntegerField(_("unchanged"), default=0)
    flagged_count = models.PositiveIntegerField(_("flagged"), default=0)
    error_count = models.PositiveIntegerField(_("rejected"), default=0)
    preview = models.JSONField(_("preview"), default=dict, blank=True)
    result = models.JSONField(_("result"), default=dict, blank=True)
    error_report = models.FileField(_("error report"), upload_to=report_to, max_length=200, blank=True)
    previewed_at = models.DateTimeField(_("previewed at"), null=True, blank=True)
    apply_requested_at = models.DateTimeField(_("apply requested at"), null=True, blank=True)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("applied by"),
    )
    # Set by the conditional UPDATE that starts an apply; an apply that finds another token there
    # lost the race. ``applied_at`` is written in the same transaction as the rows themselves.
    apply_token = models.UUIDField(_("apply token"), null=True, blank=True, editable=False)
    apply_attempts = models.PositiveSmallIntegerField(_("apply attempts"), default=0)
    applied_at = models.DateTimeField(_("applied at"), null=True, blank=True)

    COMPLETE_STATUSES = (Status.DONE, Status.PREVIEWED)

    class Meta(UploadJob.Meta):
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")
        constraints = [
            *UploadJob.Meta.constraints,
            # Applied means done: a job is never marked applied while still in another state.
            models.CheckConstraint(
                condition=Q(applied_at__isnull=True) | Q(status="done"), name="imports_importjob_applied_is_done"
            ),
            models.CheckConstraint(
                condition=~Q(status="done") | Q(applied_at__isnull=False), name="imports_importjob_done_is_applied"
            ),
            models.CheckConstraint(
                condition=~Q(source="api") | Q(api_token__isnull=False), name="imports_importjob_api_has_token"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="imports_job_status_idx"),
            models.Index(fields=["api_token", "-created_at"], name="imports_job_token_idx"),
        ]

    @property
    def is_running(self) -> bool:
        return self.status in (self.Status.PREVIEWING, self.Status.APPLYING)

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.REFUSED, self.Status.CANCELLED)

    def counts(self) -> dict[str, int]:
        return {
            "created": self.created_count,
            "updated": self.updated_count,
            "unchanged": self.unchanged_count,
            "flagged": self.flagged_count,
            "errors": self.error_count,
        }


class ApiToken(TimeStampedModel):
    """A key another system (the registrar's) uses to push rosters; only its SHA-256 is stored."""

    class Scope(models.TextChoices):
        IMPORT = "import", _("Push rosters (import)")

    name = models.CharField(_("name"), max_length=100)
    key_prefix = models.CharField(_("key prefix"), max_length=12, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(_("scopes"), default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("created by"),
    )
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])
