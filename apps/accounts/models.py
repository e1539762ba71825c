from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from apps.core.models import TimeStampedModel
from apps.core.names import mask_phone


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        email = self.normalize_email(email).lower() if email else None
        user = self.model(email=email, **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email=None, password=None, **extra_fields):
        """An account may have no email address (phone or WeChat sign-in)."""
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        if not email:
            raise ValueError("A superuser needs an email address.")
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)


class User(AbstractUser):
    """A person who signs in: office staff, college staff, liaisons, chapter leaders, alumni."""

    username = None
    # Unique when present; NULL (never "") when the account signs in by phone or WeChat only.
    email = models.EmailField(_("email address"), unique=True, null=True, blank=True)
    # E.164 ("+8613800138000"), unique when present; allauth's phone login and verification use it.
    phone = models.CharField(_("mobile number"), max_length=16, unique=True, null=True, blank=True)
    phone_verified = models.BooleanField(_("mobile number verified"), default=False)
    display_name = models.CharField(_("display name"), max_length=100, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(condition=~Q(email=""), name="accounts_user_email_null_not_blank"),
            models.CheckConstraint(condition=~Q(phone=""), name="accounts_user_phone_null_not_blank"),
        ]

    def __str__(self) -> str:
        return self.display_name or self.email or (mask_phone(self.phone) if self.phone else f"#{self.pk}")

    def save(self, *args, **kwargs):
        # Forms and allauth hand over "" for an absent address; the unique columns store NULL.
        self.email = self.email or None
        self.phone = self.phone or None
        super().save(*args, **kwargs)


class Role(models.TextChoices):
    OFFICE_ADMIN = "office_admin", _("Office administrator")
    OFFICE_STAFF = "office_staff", _("Office staff")
    COLLEGE_STAFF = "college_staff", _("College staff")
    CLASS_LIAISON = "class_liaison", _("Class liaison")
    CHAPTER_LEADER = "chapter_leader", _("Chapter leader")
    ALUMNUS = "alumnus", _("Alumnus")


# Roles that work in the Django admin (alumni use the portal only).
ADMIN_ROLES = frozenset(
    {Role.OFFICE_ADMIN, Role.OFFICE_STAFF, Role.COLLEGE_STAFF, Role.CLASS_LIAISON, Role.CHAPTER_LEADER}
)


class RoleAssignment(TimeStampedModel):
    """A user holds a role, bound to the college or class it governs where the role needs one."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_assignments", verbose_name=_("user"))
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    college = models.ForeignKey(
        "alumni.College", on_delete=models.CASCADE, null=True, blank=True, verbose_name=_("college")
    )
    school_class = models.ForeignKey(
        "alumni.SchoolClass",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        verbose_name=pgettext_lazy("school class", "class"),
    )

    class Meta:
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        constraints = [
            models.CheckConstraint(
                condition=~Q(role="college_staff") | Q(college__isnull=False),
                name="accounts_roleassignment_college_staff_has_college",
            ),
            models.CheckConstraint(
                condition=~Q(role="class_liaison") | Q(school_class__isnull=False),
                name="accounts_roleassignment_liaison_has_class",
            ),
            models.UniqueConstraint(
                fields=["user", "role"],
                condition=Q(college__isnull=True, school_class__isnull=True),
                name="accounts_roleassignment_unique_plain",
            ),
            models.UniqueConstraint(
                fields=["user", "role", "college"],
                condition=Q(college__isnull=False),
                name="accounts_roleassignment_unique_college",
            ),
            models.UniqueConstraint(
                fields=["user", "role", "school_class"],
                condition=Q(school_class__isnull=False),
                name="accounts_roleassignment_unique_class",
            ),
        ]

    def __str__(self) -> str:
        target = self.college or self.school_class
        label = self.get_role_display()
        return f"{label} · {target}" if target else str(label)


class ClaimRequest(TimeStampedModel):
    """A signed-in user asks to be linked to their alumni record, with the evidence they gave.

    A unique match with a verified contact gets a one-time code (``pending_code``); everything else
    waits for staff (``awaiting_review``). The claimant is never told which: the outcome, the
    matched person and the contact used are for staff only.
    """

    class Status(models.TextChoices):
        PENDING_CODE = "pending_code", _("Waiting for the code")
        AWAITING_REVIEW = "awaiting_review", _("Waiting for staff review")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        EXPIRED = "expired", _("Expired")

    class Outcome(models.TextChoices):
        MATCHED = "matched", _("Unique match with a verified contact")
        NO_CONTACT = "no_contact", _("Unique match without a verified contact")
        NO_MATCH = "no_match", _("No matching record")
        AMBIGUOUS = "ambiguous", _("Several matching records")
        ALREADY_LINKED = "already_linked", _("Record already linked to an account")
        CODE_FAILED = "code_failed", _("Code expired or too many wrong codes")

    OPEN_STATUSES = (Status.PENDING_CODE, Status.AWAITING_REVIEW)

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="claim_requests", verbose_name=_("account"))
    # Evidence, as given (cleaned); student ID or college + graduation year.
    name = models.CharField(_("name"), max_length=100)
    student_id = models.CharField(_("student ID"), max_length=32, blank=True)
    birth_date = models.DateField(_("birth date"))
    college = models.ForeignKey(
        "alumni.College", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("college")
    )
    graduation_year = models.PositiveSmallIntegerField(_("graduation year"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.AWAITING_REVIEW)
    outcome = models.CharField(_("matching outcome"), max_length=16, choices=Outcome.choices, blank=True)
    matched_person = models.ForeignKey(
        "alumni.Person",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="claim_requests",
        verbose_name=_("matched alumnus"),
    )
    contact = models.ForeignKey(
        "alumni.ContactChannel",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("contact the code goes to"),
    )
    channel = models.CharField(_("code sent to"), max_length=64, blank=True, help_text=_("Masked."))
    code_hash = models.CharField(max_length=128, blank=True, editable=False)
    code_sent_at = models.DateTimeField(_("code sent at"), null=True, blank=True)
    code_expires_at = models.DateTimeField(_("code expires at"), null=True, blank=True)
    code_attempts = models.PositiveSmallIntegerField(_("wrong codes entered"), default=0)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    decided_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("decided by")
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    review_note = models.TextField(_("review note"), blank=True)

    class Meta:
        verbose_name = _("record claim")
        verbose_name_plural = _("record claims")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(status__in=["pending_code", "awaiting_review"]),
                name="accounts_claimrequest_one_open_per_user",
            ),
            models.CheckConstraint(
                condition=~Q(status="approved") | Q(matched_person__isnull=False),
                name="accounts_claimrequest_approved_has_person",
            ),
            models.CheckConstraint(
                condition=~Q(student_id="") | Q(college__isnull=False, graduation_year__isnull=False),
                name="accounts_claimrequest_has_identifier",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="accounts_claim_queue_idx"),
            models.Index(fields=["status", "code_expires_at"], name="accounts_claim_expiry_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_status_display()})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES
