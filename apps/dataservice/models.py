import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from apps.core.models import TimeStampedModel

from .storage import delivery_file_path, export_file_path, private_storage

YEAR_VALIDATORS = [MinValueValidator(1895), MaxValueValidator(2100)]


class Recipient(TimeStampedModel):
    """A college, office or outside body that receives alumni data, and the users who collect it."""

    class Kind(models.TextChoices):
        COLLEGE = "college", _("College")
        OFFICE = "office", _("University office")
        EXTERNAL = "external", _("External organisation")

    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    college = models.ForeignKey(
        "alumni.College",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("college"),
        help_text=_("For a college recipient: the college it is."),
    )
    contact_person = models.CharField(_("contact person"), max_length=100)
    contact_phone = models.CharField(_("contact phone"), max_length=32, blank=True)
    contact_email = models.EmailField(_("contact email"), blank=True)
    users = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="data_recipients",
        verbose_name=_("users who collect deliveries"),
        help_text=_("Only these users (besides office staff and the college's own staff) may download its files."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("data recipient")
        verbose_name_plural = _("data recipients")
        ordering = ["kind", "name"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="college") & Q(college__isnull=False))
                | (~Q(kind="college") & Q(college__isnull=True)),
                name="dataservice_recipient_college_iff_kind_college",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class DataRequest(TimeStampedModel):
    """A request for alumni data (PIPL Art. 23, 55-56): who, why, on what basis, which fields and people."""

    class Kind(models.TextChoices):
        SPREADSHEET = "spreadsheet", _("Alumni list (spreadsheet)")
        PROFILE_SHEETS = "profile_sheets", _("Distinguished-alumni profile sheets (PDF)")

    class LegalBasis(models.TextChoices):
        CONSENT = "consent", _("Consent of the people concerned")
        STATUTORY_DUTY = "statutory", _("Statutory duty or obligation")
        OTHER = "other", _("Other basis (state it)")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")
        APPROVED = "approved", _("Approved")
        REFUSED = "refused", _("Refused")
        PRODUCING = "producing", _("Producing")
        DELIVERED = "delivered", _("Delivered")
        EXPIRED = "expired", _("Expired")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    year = models.PositiveSmallIntegerField(_("year"), editable=False)
    sequence = models.PositiveIntegerField(_("sequence"), editable=False)
    number = models.CharField(_("request number"), max_length=32, unique=True, editable=False)
    recipient = models.ForeignKey(
        Recipient, on_delete=models.PROTECT, related_name="requests", verbose_name=_("recipient")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.SPREADSHEET)
    purpose = models.TextField(_("purpose"))
    legal_basis = models.CharField(_("legal basis"), max_length=16, choices=LegalBasis.choices)
    legal_basis_detail = models.TextField(
        _("basis in detail"),
        blank=True,
        help_text=_("The statute or duty, where the consents are kept, or the other basis that applies."),
    )
    impact_assessment = models.CharField(
        _("impact assessment"),
        max_length=200,
        blank=True,
        help_text=_("Reference or link to the PI impact assessment."),
    )
    requested_fields = models.JSONField(_("requested fields"), default=list)
    approved_fields = models.JSONField(_("approved fields"), default=list, blank=True)
    filter_colleges = models.ManyToManyField("alumni.College", blank=True, related_name="+", verbose_name=_("colleges"))
    filter_degree_levels = models.JSONField(_("degree levels"), default=list, blank=True)
    filter_enrollment_year_from = models.PositiveSmallIntegerField(
        _("enrolled from"), null=True, blank=True, validators=YEAR_VALIDATORS
    )
    filter_enrollment_year_to = models.PositiveSmallIntegerField(
        _("enrolled until"), null=True, blank=True, validators=YEAR_VALIDATORS
    )
    filter_graduation_year_from = models.PositiveSmallIntegerField(
        _("graduated from"), null=True, blank=True, validators=YEAR_VALIDATORS
    )
    filter_graduation_year_to = models.PositiveSmallIntegerField(
        _("graduated until"), null=True, blank=True, validators=YEAR_VALIDATORS
    )
    filter_honour_kinds = models.JSONField(_("honours"), default=list, blank=True)
    filter_provinces = models.JSONField(_("provinces"), default=list, blank=True)
    people = models.ManyToManyField(
        "alumni.Person",
        blank=True,
        related_name="+",
        verbose_name=_("selected alumni"),
        help_text=_("Optional: only these people (the filters still apply)."),
    )
    retention_until = models.DateField(
        _("kept by the recipient until"), help_text=_("The recipient deletes the data by this date.")
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        verbose_name=_("created by"),
        editable=False,
    )
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True, editable=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
        editable=False,
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True, editable=False)
    decision_note = models.TextField(_("approval note"), blank=True, editable=False)
    refusal_reason = models.TextField(_("reason for refusal"), blank=True, editable=False)
    file = models.FileField(
        _("file"), storage=private_storage, upload_to=delivery_file_path, blank=True, editable=False, max_length=200
    )
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True, editable=False)
    row_count = models.PositiveIntegerField(_("records"), null=True, blank=True, editable=False)
    produced_at = models.DateTimeField(_("produced at"), null=True, blank=True, editable=False)
    link_expires_at = models.DateTimeField(_("link expires at"), null=True, blank=True, editable=False)
    download_count = models.PositiveIntegerField(_("downloads"), default=0, editable=False)
    production_error = models.TextField(_("production error"), blank=True, editable=False)

    class Meta:
        verbose_name = _("data request")
        verbose_name_plural = _("data requests")
        ordering = ["-year", "-sequence"]
        permissions = [("approve_datarequest", _("Can approve or refuse data requests"))]
        constraints = [
            models.UniqueConstraint(fields=["year", "sequence"], name="dataservice_datarequest_unique_sequence"),
            models.CheckConstraint(
                condition=~Q(status="refused") | ~Q(refusal_reason=""),
                name="dataservice_datarequest_refusal_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(filter_graduation_year_from__isnull=True)
                | Q(filter_graduation_year_to__isnull=True)
                | Q(filter_graduation_year_to__gte=F("filter_graduation_year_from")),
                name="dataservice_datarequest_graduation_range_ordered",
            ),
            models.CheckConstraint(
                condition=Q(filter_enrollment_year_from__isnull=True)
                | Q(filter_enrollment_year_to__isnull=True)
                | Q(filter_enrollment_year_to__gte=F("filter_enrollment_year_from")),
                name="dataservice_datarequest_enrolment_range_ordered",
            ),
        ]
        indexes = [
            models.Index(fields=["recipient", "status"], name="dataservice_req_recipient_idx"),
            models.Index(fields=["status", "link_expires_at"], name="dataservice_req_expiry_idx"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def file_extension(self) -> str:
        return "pdf" if self.kind == self.Kind.PROFILE_SHEETS else "xlsx"


class ProvisionRecord(models.Model):
    """One person's data went to one request's recipient (PIPL Art. 23, 56; kept at least 3 years).

    ``person_pk`` keeps the record's id even if the person is later merged or deleted, and makes a
    retried production idempotent: one row per (request, person), whatever happens.
    """

    request = models.ForeignKey(
        DataRequest, on_delete=models.PROTECT, related_name="provisions", verbose_name=_("data request")
    )
    person = models.ForeignKey(
        "alumni.Person",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("alumnus"),
    )
    person_pk = models.BigIntegerField(_("alumnus record id"))
    created_at = models.DateTimeField(_("provided at"), auto_now_add=True)

    class Meta:
        verbose_name = _("provision record")
        verbose_name_plural = _("provision log")
        constraints = [
            models.UniqueConstraint(fields=["request", "person_pk"], name="dataservice_provision_once_per_person"),
        ]
        indexes = [models.Index(fields=["person_pk", "created_at"], name="dataservice_prov_person_idx")]

    def __str__(self) -> str:
        return f"{self.request_id}:{self.person_pk}"


class ExportJob(TimeStampedModel):
    """An export too large to stream in one request, written by a Celery task and downloaded later."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        RUNNING = "running", _("Running")
        DONE = "done", _("Ready")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Expired")

    class Format(models.TextChoices):
        CSV = "csv", _("CSV (UTF-8)")
        XLSX = "xlsx", _("Excel workbook (XLSX)")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("created by")
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    format = models.CharField(_("format"), max_length=8, choices=Format.choices)
    fields = models.JSONField(_("fields"), default=list)
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    # The people as they were listed when the export was asked for, as [first, last] id ranges;
    # the task intersects them with the user's scope again when it runs.
    person_ranges = models.JSONField(default=list, blank=True, editable=False)
    language = models.CharField(_("language"), max_length=16, blank=True)
    total = models.PositiveIntegerField(_("people"), default=0)
    progress = models.PositiveIntegerField(_("rows written"), default=0)
    row_count = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    file = models.FileField(_("file"), storage=private_storage, upload_to=export_file_path, blank=True, max_length=200)
    file_name = models.CharField(_("file name"), max_length=200, blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("link expires at"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("export job")
        verbose_name_plural = _("export jobs")
        ordering = ["-created_at"]
        permissions = [("export_people", _("Can export alumni lists"))]
        constraints = [
            models.CheckConstraint(
                condition=Q(row_count__isnull=True) | Q(row_count__lte=F("total")),
                name="dataservice_exportjob_rows_le_total",
            ),
        ]
        indexes = [models.Index(fields=["status", "expires_at"], name="dataservice_job_expiry_idx")]

    def __str__(self) -> str:
        return self.file_name or str(self.public_id)

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return min(99, int(100 * self.progress / self.total)) if self.total else 0
