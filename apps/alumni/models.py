from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from apps.core.fields import EncryptedTextField
from apps.core.models import TimeStampedModel
from apps.core.names import mask_id_number

YEAR_VALIDATORS = [MinValueValidator(1895), MaxValueValidator(2100)]


class College(TimeStampedModel):
    code = models.CharField(_("code"), max_length=16, unique=True)
    name = models.CharField(_("name"), max_length=100, unique=True)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("college")
        verbose_name_plural = _("colleges")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Major(TimeStampedModel):
    college = models.ForeignKey(College, on_delete=models.PROTECT, related_name="majors", verbose_name=_("college"))
    code = models.CharField(_("code"), max_length=16)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        verbose_name = _("major")
        verbose_name_plural = _("majors")
        ordering = ["college__code", "code"]
        constraints = [models.UniqueConstraint(fields=["college", "name"], name="alumni_major_unique_name")]

    def __str__(self) -> str:
        return self.name


class SchoolClass(TimeStampedModel):
    college = models.ForeignKey(College, on_delete=models.PROTECT, related_name="classes", verbose_name=_("college"))
    major = models.ForeignKey(
        Major, on_delete=models.PROTECT, null=True, blank=True, related_name="classes", verbose_name=_("major")
    )
    name = models.CharField(_("name"), max_length=100)
    graduation_year = models.PositiveSmallIntegerField(
        _("graduation year"), null=True, blank=True, validators=YEAR_VALIDATORS
    )

    class Meta:
        verbose_name = pgettext_lazy("school class", "class")
        verbose_name_plural = pgettext_lazy("school class", "classes")
        ordering = ["college__code", "-graduation_year", "name"]
        constraints = [models.UniqueConstraint(fields=["college", "name"], name="alumni_schoolclass_unique_name")]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=50, unique=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Visibility(models.TextChoices):
    """Who besides the office may see a group of a person's fields; later levels include earlier."""

    OFFICE = "office", _("Alumni office only")
    CLASSMATES = "classmates", _("My classmates")
    CHAPTERS = "chapters", _("My chapters' members")
    VERIFIED_ALUMNI = "verified", _("All verified alumni")


class Person(TimeStampedModel):
    """One human being, however many degrees they hold."""

    class Gender(models.TextChoices):
        MALE = "M", _("Male")
        FEMALE = "F", _("Female")
        UNKNOWN = "", _("Unknown")

    name = models.CharField(_("name"), max_length=100)
    former_names = models.CharField(
        _("former names"), max_length=200, blank=True, help_text=_("Separate several with commas.")
    )
    name_pinyin = models.CharField(_("pinyin"), max_length=120, blank=True, editable=False)
    name_initials = models.CharField(_("pinyin initials"), max_length=40, blank=True, editable=False)
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    hometown_province = models.CharField(_("hometown province"), max_length=32, blank=True)
    hometown_city = models.CharField(_("hometown city"), max_length=64, blank=True)
    country = models.CharField(_("country or region"), max_length=64, blank=True, default="中国")
    province = models.CharField(_("province"), max_length=32, blank=True)
    city = models.CharField(_("city"), max_length=64, blank=True)
    id_number = EncryptedTextField(_("ID-card number"), blank=True)
    id_number_hash = models.CharField(max_length=64, blank=True, editable=False)
    photo = models.ImageField(_("photo"), upload_to="photos/%Y/", blank=True)
    is_deceased = models.BooleanField(_("deceased"), default=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="person",
        verbose_name=_("portal account"),
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="people", verbose_name=_("tags"))
    privacy_contacts = models.CharField(
        _("who may see my contacts"), max_length=16, choices=Visibility.choices, default=Visibility.OFFICE
    )
    privacy_employment = models.CharField(
        _("who may see my employer and title"), max_length=16, choices=Visibility.choices, default=Visibility.OFFICE
    )
    privacy_location = models.CharField(
        _("who may see my current city"), max_length=16, choices=Visibility.choices, default=Visibility.OFFICE
    )
    show_in_directory = models.BooleanField(_("listed in the alumni directory"), default=False)

    class Meta:
        verbose_name = _("alumnus")
        verbose_name_plural = _("alumni")
        ordering = ["-id"]
        permissions = [
            ("merge_person", _("Can merge duplicate alumni records")),
            ("view_id_number", _("Can see full ID-card numbers")),
        ]
        # One index per lookup: the pattern-ops indexes serve both equality and prefix (LIKE 'x%')
        # searches under any collation, so the plain twin Django would add for db_index is not kept.
        indexes = [
            models.Index(fields=["name", "birth_date"], name="alumni_person_name_birth_idx"),
            models.Index(fields=["name"], opclasses=["varchar_pattern_ops"], name="alumni_person_name_prefix_idx"),
            models.Index(fields=["name_pinyin"], opclasses=["varchar_pattern_ops"], name="alumni_person_pinyin_idx"),
            models.Index(
                fields=["name_initials"], opclasses=["varchar_pattern_ops"], name="alumni_person_initials_idx"
            ),
            models.Index(fields=["province"], name="alumni_person_province_idx"),
            models.Index(fields=["id_number_hash"], condition=~Q(id_number_hash=""), name="alumni_person_id_hash_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def id_number_masked(self) -> str:
        return mask_id_number(self.id_number or "")


class Enrollment(TimeStampedModel):
    """One degree (or other course of study) of a person, with its own student ID."""

    class DegreeLevel(models.TextChoices):
        JUNIOR_COLLEGE = "junior", _("Junior college (专科)")
        BACHELOR = "bachelor", _("Bachelor (本科)")
        MASTER = "master", _("Master (硕士)")
        DOCTOR = "doctor", _("Doctorate (博士)")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        STUDYING = "studying", _("Studying")
        GRADUATED = "graduated", _("Graduated")
        COMPLETED = "completed", _("Completed without degree")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    # The person, college and class foreign keys are served by the composite indexes below.
    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="enrollments", verbose_name=_("alumnus"), db_index=False
    )
    student_id = models.CharField(_("student ID"), max_length=32, unique=True)
    degree_level = models.CharField(_("degree level"), max_length=16, choices=DegreeLevel.choices)
    college = models.ForeignKey(
        College, on_delete=models.PROTECT, related_name="enrollments", verbose_name=_("college"), db_index=False
    )
    major = models.ForeignKey(Major, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("major"))
    school_class = models.ForeignKey(
        SchoolClass,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="enrollments",
        verbose_name=pgettext_lazy("school class", "class"),
        db_index=False,
    )
    enrollment_year = models.PositiveSmallIntegerField(
        _("enrolment year"), null=True, blank=True, validators=YEAR_VALIDATORS
    )
    graduation_year = models.PositiveSmallIntegerField(
        _("graduation year"), null=True, blank=True, validators=YEAR_VALIDATORS
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.GRADUATED)

    class Meta:
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")
        ordering = ["enrollment_year", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(graduation_year__isnull=True)
                | Q(enrollment_year__isnull=True)
                | Q(graduation_year__gte=F("enrollment_year")),
                name="alumni_enrollment_years_ordered",
            ),
            models.CheckConstraint(
                condition=Q(graduation_year__isnull=True) | Q(graduation_year__gte=1895, graduation_year__lte=2100),
                name="alumni_enrollment_graduation_year_range",
            ),
        ]
        indexes = [
            models.Index(fields=["person", "college"], name="alumni_enr_person_college_idx"),
            # person_id makes "graduated from this college in that year" an index-only lookup.
            models.Index(fields=["college", "graduation_year", "person"], name="alumni_enr_college_year_idx"),
            models.Index(fields=["school_class", "person"], name="alumni_enr_class_person_idx"),
            models.Index(fields=["graduation_year", "person"], name="alumni_enr_year_person_idx"),
            models.Index(fields=["degree_level", "person"], name="alumni_enr_degree_person_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.student_id} {self.get_degree_level_display()}"


class ContactChannel(TimeStampedModel):
    class Kind(models.TextChoices):
        MOBILE = "mobile", _("Mobile")
        EMAIL = "email", _("Email")
        WECHAT = "wechat", _("WeChat")
        ADDRESS = "address", _("Postal address")
        LANDLINE = "landline", _("Landline")

    class Status(models.TextChoices):
        UNVERIFIED = "unverified", _("Unverified")
        VERIFIED = "verified", _("Verified")
        BOUNCED = "bounced", _("Bounced")
        OBSOLETE = "obsolete", _("Obsolete")

    # Served by the (person, kind, value) unique constraint.
    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="contacts", verbose_name=_("alumnus"), db_index=False
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    value = models.CharField(_("value"), max_length=255)
    value_normalised = models.CharField(max_length=255, editable=False, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.UNVERIFIED)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("contact channel")
        verbose_name_plural = _("contact channels")
        ordering = ["kind", "-verified_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "kind", "value_normalised"], name="alumni_contactchannel_unique_per_person"
            ),
        ]
        indexes = [
            models.Index(fields=["kind", "value_normalised"], name="alumni_contact_lookup_idx"),
            models.Index(fields=["person", "status", "verified_at"], name="alumni_contact_reach_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.value}"


class Employment(TimeStampedModel):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="employments", verbose_name=_("alumnus"))
    organisation = models.CharField(_("organisation"), max_length=200)
    title = models.CharField(_("title"), max_length=100, blank=True)
    city = models.CharField(_("city"), max_length=64, blank=True)
    start_date = models.DateField(_("from"), null=True, blank=True)
    end_date = models.DateField(_("to"), null=True, blank=True)

    class Meta:
        verbose_name = _("employment")
        verbose_name_plural = _("employment history")
        ordering = ["-start_date", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(start_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="alumni_employment_dates_ordered",
            )
        ]

    def __str__(self) -> str:
        return f"{self.organisation} {self.title}".strip()


class Honour(TimeStampedModel):
    class Kind(models.TextChoices):
        ACADEMICIAN_CAS = "cas", _("Academician, Chinese Academy of Sciences")
        ACADEMICIAN_CAE = "cae", _("Academician, Chinese Academy of Engineering")
        MODEL_WORKER = "model_worker", _("National model worker")
        LABOUR_MEDAL = "labour_medal", _("May Day labour medal")
        AWARD = "award", _("Award")
        LIST = "list", _("Ranked list (Forbes, Hurun ...)")
        OTHER = "other", _("Other")

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="honours", verbose_name=_("alumnus"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=200, blank=True)
    year = models.PositiveSmallIntegerField(_("year"), null=True, blank=True, validators=YEAR_VALIDATORS)
    source = models.CharField(_("source"), max_length=200, blank=True)
    source_url = models.URLField(_("source URL"), blank=True)

    class Meta:
        verbose_name = _("honour")
        verbose_name_plural = _("honours")
        ordering = ["-year", "id"]
        indexes = [models.Index(fields=["kind", "person"], name="alumni_honour_kind_person_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.year or ''}".strip()


class StaffNote(TimeStampedModel):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="notes", verbose_name=_("alumnus"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("author")
    )
    text = models.TextField(_("note"))

    class Meta:
        verbose_name = _("staff note")
        verbose_name_plural = _("staff notes")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.text[:40]


class ContactRateSnapshot(models.Model):
    """Effective contact rate for one college and graduation year, as computed at ``computed_at``."""

    college = models.ForeignKey(
        College, on_delete=models.CASCADE, null=True, related_name="+", verbose_name=_("college")
    )
    graduation_year = models.PositiveSmallIntegerField(_("graduation year"), null=True)
    alumni = models.PositiveIntegerField(_("alumni"))
    reachable = models.PositiveIntegerField(_("reachable"))
    years_window = models.PositiveSmallIntegerField(_("verified within (years)"))
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("contact-rate figure")
        verbose_name_plural = _("contact-rate figures")
        constraints = [
            models.UniqueConstraint(fields=["college", "graduation_year"], name="alumni_contactrate_unique"),
            models.CheckConstraint(
                condition=Q(reachable__lte=F("alumni")), name="alumni_contactrate_reachable_le_alumni"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.college} {self.graduation_year}"

    @property
    def rate(self) -> float:
        return self.reachable / self.alumni if self.alumni else 0.0

    @property
    def percent(self) -> float:
        return round(100 * self.rate, 1)


# --- Duplicate finder and identity checks ------------------------------------------------


class DuplicateScan(TimeStampedModel):
    """One run of the duplicate finder over every person, with its progress and summary."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    max_group_size = models.PositiveIntegerField(
        _("largest group compared"),
        help_text=_("People sharing one phone, email or name and birth date beyond this are skipped."),
    )
    step = models.CharField(_("current step"), max_length=32, blank=True)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    pairs_found = models.PositiveIntegerField(_("pairs found"), default=0)
    pairs_new = models.PositiveIntegerField(_("new pairs"), default=0)
    pairs_removed = models.PositiveIntegerField(_("pairs no longer found"), default=0)
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("duplicate scan")
        verbose_name_plural = _("duplicate scans")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="alumni_duplicatescan_progress_range"),
        ]
        indexes = [models.Index(fields=["status", "-created_at"], name="alumni_dupscan_status_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_status_display()}"


class DuplicatePair(TimeStampedModel):
    """Two records that may be the same human, as found by the duplicate finder.

    ``person_a`` always has the smaller id, so a pair is stored once. A "not the same person"
    decision stays on the row and later scans never reopen it; merging the two removes the row.
    """

    class Confidence(models.IntegerChoices):
        LOW = 1, _("Low")
        MEDIUM = 2, _("Medium")
        HIGH = 3, _("High")

    class Status(models.TextChoices):
        PENDING = "pending", _("To review")
        NOT_SAME = "not_same", _("Not the same person")

    person_a = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="+", db_index=False, verbose_name=_("record A")
    )
    person_b = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+", verbose_name=_("record B"))
    confidence = models.PositiveSmallIntegerField(_("confidence"), choices=Confidence.choices)
    evidence = models.JSONField(_("evidence"), default=list, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("likely duplicate")
        verbose_name_plural = _("likely duplicates")
        ordering = ["-confidence", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["person_a", "person_b"], name="alumni_duplicatepair_unique_pair"),
            models.CheckConstraint(condition=Q(person_a__lt=F("person_b")), name="alumni_duplicatepair_ordered"),
        ]
        indexes = [
            models.Index(fields=["status", "-confidence", "-id"], name="alumni_duppair_queue_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.person_a_id} ~ #{self.person_b_id}"


class IdentityCheck(TimeStampedModel):
    """One identity check (审核校友身份): a list from another office checked against the records.

    The per-row results are kept for a few weeks so staff can download them again, then cleared;
    the counts and the audit rows stay.
    """

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("checked by")
    )
    purpose = models.CharField(_("purpose"), max_length=200)
    source = models.CharField(_("source"), max_length=200, blank=True)
    row_count = models.PositiveIntegerField(_("rows"))
    alumni_count = models.PositiveIntegerField(_("alumni"))
    ambiguous_count = models.PositiveIntegerField(_("ambiguous"))
    not_found_count = models.PositiveIntegerField(_("not found"))
    invalid_count = models.PositiveIntegerField(_("not checkable"), default=0)
    results = models.JSONField(_("results"), default=list, blank=True)
    results_cleared_at = models.DateTimeField(_("results cleared at"), null=True, blank=True)

    class Meta:
        verbose_name = _("identity check")
        verbose_name_plural = _("identity checks")
        ordering = ["-created_at", "-id"]
        permissions = [("check_identity", _("Can check whether people are alumni"))]
        indexes = [models.Index(fields=["actor", "-created_at"], name="alumni_idcheck_actor_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.purpose}"
