"""Matching an external list (academicians, award winners, rich lists ...) against the alumni records.

A ``MatchJob`` is one uploaded list; each list row becomes a ``MatchRow`` with the hints read from
it, and its ranked ``MatchCandidate`` people with a score and the evidence per feature. Staff
decide candidates; each decision is also kept in ``MatchDecision`` under the row's fingerprint
(normalised name, birth year, organisation, honour kind), so running the same or an updated list
again shows the earlier decisions instead of asking twice.
"""

import uuid
from pathlib import PurePath

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from apps.alumni.models import YEAR_VALIDATORS, Honour
from apps.core.models import UploadJob

SAFE_EXTENSIONS = frozenset({".csv", ".xlsx", ".txt"})


def upload_to(instance: "MatchJob", filename: str) -> str:
    """matching/uploads/<uuid>.<ext>: never the uploader's file name (it may hold ../ or RTL marks)."""
    ext = PurePath(filename).suffix.lower()
    return f"matching/uploads/{uuid.uuid4().hex}{ext if ext in SAFE_EXTENSIONS else ''}"


class Band(models.TextChoices):
    HIGH = "high", _("High confidence")
    REVIEW = "review", _("Needs review")
    NONE = "none", _("No match")


class Decision(models.TextChoices):
    PENDING = "pending", _("Pending")
    CONFIRMED = "confirmed", _("Confirmed")
    REJECTED = "rejected", _("Rejected")


class MatchJob(UploadJob):
    """One uploaded list and the run that matched it."""

    class Source(models.TextChoices):
        ADMIN = "admin", _("Admin upload")
        COMMAND = "command", _("Command line")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Matching")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        REFUSED = "refused", _("Refused")

    file = models.FileField(_("file"), upload_to=upload_to, max_length=200, blank=True)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices, default=Source.ADMIN)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("uploaded by"),
        help_text=_("Candidates are looked for among the people this user may see; empty means the whole school."),
    )
    honour_kind = models.CharField(
        _("honour kind"),
        max_length=16,
        choices=Honour.Kind.choices,
        default=Honour.Kind.OTHER,
        help_text=_("Used for rows whose list gives no recognisable kind."),
    )
    honour_title = models.CharField(_("honour title"), max_length=200, blank=True)
    honour_year = models.PositiveSmallIntegerField(_("honour year"), null=True, blank=True, validators=YEAR_VALIDATORS)
    source_name = models.CharField(_("source"), max_length=200, blank=True)
    source_url = models.URLField(_("source URL"), blank=True)
    tag_name = models.CharField(_("tag for confirmed people"), max_length=50, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    columns = models.JSONField(_("recognised columns"), default=dict, blank=True)
    high_count = models.PositiveIntegerField(_("high confidence"), default=0)
    review_count = models.PositiveIntegerField(_("needs review"), default=0)
    none_count = models.PositiveIntegerField(_("no match"), default=0)
    carried_count = models.PositiveIntegerField(_("earlier decisions carried over"), default=0)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)

    class Meta(UploadJob.Meta):
        verbose_name = _("list matching job")
        verbose_name_plural = _("list matching jobs")
        indexes = [
            models.Index(fields=["created_by", "-created_at"], name="matching_job_creator_idx"),
            models.Index(fields=["status", "-created_at"], name="matching_job_status_idx"),
        ]

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED, self.Status.REFUSED)


class MatchRow(models.Model):
    """One row of the list: what it says, what was read from it, and how it was matched."""

    class Resolution(models.TextChoices):
        PENDING = "pending", _("To review")
        CONFIRMED = "confirmed", _("Confirmed")
        NO_MATCH = "no_match", _("Not an alumnus")
        NO_CANDIDATES = "none_found", _("No candidates")

    job = models.ForeignKey(MatchJob, on_delete=models.CASCADE, related_name="rows", verbose_name=_("job"))
    row = models.PositiveIntegerField(_("row"), help_text=_("Spreadsheet row number; the header is row 1."))
    name = models.CharField(_("name"), max_length=100, blank=True)
    fingerprint = models.CharField(_("fingerprint"), max_length=40, blank=True, editable=False)
    raw = models.JSONField(_("cells"), default=dict, blank=True)
    hints = models.JSONField(_("what was read"), default=dict, blank=True)
    band = models.CharField(_("band"), max_length=8, choices=Band.choices, default=Band.NONE)
    top_score = models.IntegerField(_("best score"), null=True, blank=True)
    resolution = models.CharField(_("decision"), max_length=16, choices=Resolution.choices, default=Resolution.PENDING)

    class Meta:
        verbose_name = _("list row")
        verbose_name_plural = _("list rows")
        ordering = ["job", "row"]
        constraints = [models.UniqueConstraint(fields=["job", "row"], name="matching_matchrow_unique_row")]
        indexes = [
            models.Index(fields=["job", "band", "row"], name="matching_row_band_idx"),
            models.Index(fields=["job", "resolution", "row"], name="matching_row_resolution_idx"),
            models.Index(fields=["fingerprint"], name="matching_row_fingerprint_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.job_id}:{self.row} {self.name}"


class MatchCandidate(models.Model):
    """A person who may be the one a list row names, with the score and the evidence for it."""

    row = models.ForeignKey(MatchRow, on_delete=models.CASCADE, related_name="candidates", verbose_name=_("row"))
    person = models.ForeignKey("alumni.Person", on_delete=models.CASCADE, related_name="+", verbose_name=_("alumnus"))
    rank = models.PositiveSmallIntegerField(_("rank"))
    score = models.IntegerField(_("score"))
    evidence = models.JSONField(_("evidence"), default=dict, blank=True)
    decision = models.CharField(_("decision"), max_length=16, choices=Decision.choices, default=Decision.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    honour = models.ForeignKey(
        "alumni.Honour", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("honour")
    )

    class Meta:
        verbose_name = _("candidate")
        verbose_name_plural = _("candidates")
        ordering = ["row", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["row", "person"], name="matching_matchcandidate_unique_person"),
            models.UniqueConstraint(fields=["row", "rank"], name="matching_matchcandidate_unique_rank"),
        ]

    def __str__(self) -> str:
        return f"{self.row_id} #{self.rank} {self.person_id}"


class MatchDecision(models.Model):
    """Staff's decision that a list entry (by fingerprint) is, or is not, a person; outlives the jobs.

    One row per (fingerprint, person), enforced by the database: confirming twice finds the row
    (and its honour) instead of writing a second honour.
    """

    fingerprint = models.CharField(_("fingerprint"), max_length=40)
    person = models.ForeignKey("alumni.Person", on_delete=models.CASCADE, related_name="+", verbose_name=_("alumnus"))
    decision = models.CharField(_("decision"), max_length=16, choices=Decision.choices)
    honour = models.ForeignKey(
        "alumni.Honour", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("honour")
    )
    job = models.ForeignKey(
        MatchJob, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("decided in job")
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"))

    class Meta:
        verbose_name = _("matching decision")
        verbose_name_plural = _("matching decisions")
        constraints = [
            models.UniqueConstraint(fields=["fingerprint", "person"], name="matching_matchdecision_unique_pair"),
            models.CheckConstraint(
                condition=Q(decision__in=["confirmed", "rejected"]), name="matching_matchdecision_decided"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.fingerprint[:8]} {self.person_id} {self.decision}"
