from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from apps.core.models import TimeStampedModel


class LookupStat(models.Model):
    """How many directory lookups of one kind, with results in one size bucket, were made on one day.

    One row per (day, kind, bucket), incremented with an upsert: the office reports the figures,
    nobody needs to know who looked up whom.
    """

    class Kind(models.TextChoices):
        NAME = "name", _("Name")
        PINYIN = "pinyin", _("Pinyin")
        CLASS = "class", _("Class")
        COLLEGE = "college", _("College")
        YEAR = "year", _("Graduation year")
        CITY = "city", _("City")
        EMPLOYER = "employer", _("Employer")

    class Bucket(models.TextChoices):
        NONE = "0", _("No result")
        ONE = "1", _("One result")
        PAGE = "2-20", _("2 to 20 results")
        MORE = "21+", _("More than 20 results")

    day = models.DateField(_("day"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    bucket = models.CharField(_("results"), max_length=8, choices=Bucket.choices)
    count = models.PositiveIntegerField(_("lookups"), default=0)

    class Meta:
        verbose_name = _("directory lookup figure")
        verbose_name_plural = _("directory lookup figures")
        ordering = ["-day", "kind", "bucket"]
        constraints = [
            models.UniqueConstraint(fields=["day", "kind", "bucket"], name="portal_lookupstat_unique_day_kind_bucket"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.kind} {self.bucket}: {self.count}"


class ContactConfirmation(TimeStampedModel):
    """A one-time code sent to a newly added email address; the address is verified when it comes back."""

    contact = models.ForeignKey(
        "alumni.ContactChannel", on_delete=models.CASCADE, related_name="+", verbose_name=_("contact channel")
    )
    code_hash = models.CharField(max_length=64)
    expires_at = models.DateTimeField(_("expires at"))
    attempts = models.PositiveSmallIntegerField(_("wrong attempts"), default=0)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("contact confirmation")
        verbose_name_plural = _("contact confirmations")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["contact", "-created_at"], name="portal_confirm_contact_idx")]

    def __str__(self) -> str:
        return f"#{self.contact_id} {self.created_at:%Y-%m-%d %H:%M}"


class DataRightsRequest(TimeStampedModel):
    """An alumnus asks the office to correct or delete some of their data (PIPL Arts. 46-47)."""

    class Kind(models.TextChoices):
        CORRECTION = "correction", _("Correction")
        DELETION = "deletion", _("Deletion")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Done")
        REFUSED = "refused", _("Refused")

    person = models.ForeignKey(
        "alumni.Person", on_delete=models.CASCADE, related_name="rights_requests", verbose_name=_("alumnus")
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("requested by")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    fields = models.JSONField(_("fields"), default=list, blank=True)
    message = models.TextField(_("message"), max_length=2000, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("handled by"),
    )
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)
    response = models.TextField(_("answer to the alumnus"), max_length=2000, blank=True)

    class Meta:
        verbose_name = _("correction or deletion request")
        verbose_name_plural = _("correction and deletion requests")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="portal_rights_status_idx"),
            models.Index(fields=["person", "-created_at"], name="portal_rights_person_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()} {self.person_id}"


class Conversation(TimeStampedModel):
    """Messages between two alumni relayed by the portal; neither sees the other's address."""

    starter = models.ForeignKey(
        "alumni.Person", on_delete=models.CASCADE, related_name="+", verbose_name=_("started by")
    )
    recipient = models.ForeignKey("alumni.Person", on_delete=models.CASCADE, related_name="+", verbose_name=_("to"))
    subject = models.CharField(_("subject"), max_length=120)
    last_message_at = models.DateTimeField(_("last message"), null=True, blank=True)

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        ordering = ["-last_message_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(starter=F("recipient")), name="portal_conversation_two_people"),
        ]
        indexes = [
            models.Index(fields=["starter", "-last_message_at"], name="portal_conv_starter_idx"),
            models.Index(fields=["recipient", "-last_message_at"], name="portal_conv_recipient_idx"),
        ]

    def __str__(self) -> str:
        return self.subject

    def other(self, person_id: int) -> int:
        return self.recipient_id if person_id == self.starter_id else self.starter_id


class RelayMessage(models.Model):
    class Status(models.TextChoices):
        SENT = "sent", _("Sent")
        # The recipient blocked the author: stored for the author's own view, never delivered.
        WITHHELD = "withheld", _("Withheld")

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages", verbose_name=_("conversation")
    )
    author = models.ForeignKey("alumni.Person", on_delete=models.CASCADE, related_name="+", verbose_name=_("from"))
    body = models.TextField(_("message"), max_length=4000)
    shared_contacts = models.JSONField(_("contacts shared by the author"), default=list, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.SENT)
    created_at = models.DateTimeField(_("sent at"), auto_now_add=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("emailed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("relayed message")
        verbose_name_plural = _("relayed messages")
        ordering = ["created_at", "id"]
        indexes = [
            # The per-sender rate limit counts an author's messages of the last hour.
            models.Index(fields=["author", "-created_at"], name="portal_relay_author_idx"),
            models.Index(fields=["conversation", "created_at"], name="portal_relay_conv_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.created_at:%Y-%m-%d %H:%M}"


class RelayBlock(models.Model):
    """``blocker`` receives nothing more from ``blocked``; the blocked person is not told."""

    blocker = models.ForeignKey("alumni.Person", on_delete=models.CASCADE, related_name="+", verbose_name=_("blocker"))
    blocked = models.ForeignKey("alumni.Person", on_delete=models.CASCADE, related_name="+", verbose_name=_("blocked"))
    created_at = models.DateTimeField(_("blocked at"), auto_now_add=True)

    class Meta:
        verbose_name = _("blocked sender")
        verbose_name_plural = _("blocked senders")
        constraints = [
            models.UniqueConstraint(fields=["blocker", "blocked"], name="portal_relayblock_unique_pair"),
        ]

    def __str__(self) -> str:
        return f"{self.blocker_id} x {self.blocked_id}"
