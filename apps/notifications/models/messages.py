from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from apps.core.models import TimeStampedModel

from .consent import MESSAGE_CHANNELS, Category, Channel


class Segment(TimeStampedModel):
    """A saved, named filter over people. Who is in it always depends on who is looking (scoping)."""

    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    # [{"kind": "enrollment", "params": {...}}, ...]: every entry must match (AND).
    filters = models.JSONField(_("filters"), default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by")
    )

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["created_by", "name"], name="notif_segment_owner_idx")]

    def __str__(self) -> str:
        return self.name


class Message(TimeStampedModel):
    """A mailing to a segment: draft → test sent → scheduled / queued → sending → done."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")
        QUEUED = "queued", _("Preparing recipients")
        SENDING = "sending", _("Sending")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    name = models.CharField(_("name"), max_length=200, help_text=_("For staff only; recipients never see it."))
    channel = models.CharField(
        _("channel"),
        max_length=8,
        choices=[(c.value, c.label) for c in MESSAGE_CHANNELS],
        default=Channel.EMAIL,
    )
    category = models.CharField(
        _("category"),
        max_length=16,
        choices=[(c.value, c.label) for c in Category if c != Category.SERVICE],
        default=Category.NEWS,
    )
    segment = models.ForeignKey(Segment, on_delete=models.PROTECT, related_name="messages", verbose_name=_("segment"))
    subject_zh = models.CharField(_("subject (Chinese)"), max_length=200, blank=True)
    subject_en = models.CharField(_("subject (English)"), max_length=200, blank=True)
    text_zh = models.TextField(
        _("text (Chinese)"), help_text=_("Placeholders: {{ name }}, {{ class }}, {{ college }}, {{ graduation_year }}.")
    )
    text_en = models.TextField(_("text (English)"), blank=True, help_text=_("Leave empty to send Chinese to everyone."))
    html_zh = models.TextField(_("HTML (Chinese)"), blank=True, help_text=_("Email only; optional."))
    html_en = models.TextField(_("HTML (English)"), blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by")
    )
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("sent by"),
        help_text=_("Recipients are the segment's people within this person's scope."),
    )
    test_sent_at = models.DateTimeField(_("test sent at"), null=True, blank=True)
    scheduled_at = models.DateTimeField(_("scheduled for"), null=True, blank=True)
    send_requested_at = models.DateTimeField(_("send requested at"), null=True, blank=True)
    started_at = models.DateTimeField(_("sending started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # Materialisation walks person ids in ranges up to the highest id at the send decision.
    materialise_cursor = models.BigIntegerField(default=0, editable=False)
    materialise_until = models.BigIntegerField(default=0, editable=False)
    audience_count = models.PositiveIntegerField(_("people in segment"), default=0)
    recipients_count = models.PositiveIntegerField(_("recipients"), default=0)
    no_channel_count = models.PositiveIntegerField(_("without a usable channel or consent"), default=0)
    sent_count = models.PositiveIntegerField(_("sent"), default=0)
    failed_count = models.PositiveIntegerField(_("failed"), default=0)
    skipped_count = models.PositiveIntegerField(_("skipped at sending"), default=0)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="scheduled") | Q(scheduled_at__isnull=False),
                name="notifications_message_scheduled_has_time",
            ),
            models.CheckConstraint(
                condition=Q(sent_count__lte=F("recipients_count")) | Q(recipients_count=0),
                name="notifications_message_sent_le_recipients",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "scheduled_at"], name="notif_message_status_idx"),
            models.Index(fields=["created_by", "-created_at"], name="notif_message_owner_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def percent(self) -> int:
        """Share of recipients handled (sent, failed or skipped), 0-100; 100 only when done."""
        if self.status == self.Status.DONE:
            return 100
        if not self.recipients_count:
            return 0
        handled = self.sent_count + self.failed_count + self.skipped_count
        return min(99, int(100 * handled / self.recipients_count))

    @property
    def is_editable(self) -> bool:
        return self.status == self.Status.DRAFT


class OutboxItem(models.Model):
    """One delivery to make: an email, a text, a portal notice or a webhook call. The outbox.

    Rows are written in the same transaction as the decision to send. Workers claim them with
    ``SELECT … FOR UPDATE SKIP LOCKED`` (pending → sending, with ``claimed_at`` and a fresh
    ``claim_token``) and mark each one sent the moment the other side accepted it, so a worker
    that dies leaves only its unfinished claims, which become claimable again once the lease ends.
    """

    class Kind(models.TextChoices):
        EMAIL = "email", _("Email")
        SMS = "sms", _("Text message")
        PORTAL = "portal", _("Portal notification")
        WEBHOOK = "webhook", _("Webhook")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped")

    class Priority(models.IntegerChoices):
        TRANSACTIONAL = 0, _("Transactional")
        BULK = 5, _("Mailing")

    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.PENDING)
    priority = models.PositiveSmallIntegerField(_("priority"), choices=Priority.choices, default=Priority.BULK)
    category = models.CharField(_("category"), max_length=16, choices=Category.choices, default=Category.SERVICE)
    message = models.ForeignKey(
        Message,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="outbox",
        db_index=False,
        verbose_name=_("message"),
    )
    person = models.ForeignKey(
        "alumni.Person",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        verbose_name=_("alumnus"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    channel = models.ForeignKey(
        "alumni.ContactChannel",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        verbose_name=_("contact channel"),
    )
    subscription = models.ForeignKey(
        "notifications.WebhookSubscription",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="deliveries",
        verbose_name=_("webhook subscription"),
    )
    address = models.CharField(_("address"), max_length=500, blank=True)
    language = models.CharField(_("language"), max_length=8, default="zh-hans")
    # Transactional rows carry their rendered text; mailing rows are rendered from the message when sent.
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    body_text = models.TextField(_("text"), blank=True)
    body_html = models.TextField(_("HTML"), blank=True)
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    dedupe_key = models.CharField(_("idempotency key"), max_length=200, null=True, blank=True, unique=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    next_attempt_at = models.DateTimeField(_("next attempt at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    provider_id = models.CharField(_("provider message id"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("outbox item")
        verbose_name_plural = _("outbox")
        ordering = ["-id"]
        constraints = [
            # A repeated materialisation of a mailing inserts nobody twice.
            models.UniqueConstraint(
                fields=["message", "person"],
                condition=Q(message__isnull=False, person__isnull=False),
                name="notifications_outbox_unique_recipient",
            ),
            models.CheckConstraint(
                condition=~Q(status="sending") | Q(claimed_at__isnull=False, claim_token__isnull=False),
                name="notifications_outbox_sending_is_claimed",
            ),
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False), name="notifications_outbox_sent_has_time"
            ),
        ]
        indexes = [
            # The claim query: pending rows of one kind, transactional first, oldest first.
            models.Index(
                fields=["kind", "priority", "id"], condition=Q(status="pending"), name="notif_outbox_pending_idx"
            ),
            models.Index(fields=["kind", "claimed_at"], condition=Q(status="sending"), name="notif_outbox_sending_idx"),
            models.Index(fields=["message", "status"], name="notif_outbox_message_idx"),
            models.Index(fields=["person", "-id"], name="notif_outbox_person_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} → {self.address}"


class Notification(models.Model):
    """An in-portal notice for one user (the bell in the portal)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("user")
    )
    category = models.CharField(_("category"), max_length=16, choices=Category.choices, default=Category.SERVICE)
    title = models.CharField(_("title"), max_length=255)
    body = models.TextField(_("text"), blank=True)
    url = models.CharField(_("link"), max_length=500, blank=True)
    message = models.ForeignKey(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("message")
    )
    # A mailing's portal notices are created from outbox rows; one notice per row, however often it is replayed.
    outbox_item = models.OneToOneField(
        OutboxItem, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    dedupe_key = models.CharField(max_length=200, null=True, blank=True, unique=True, editable=False)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("portal notification")
        verbose_name_plural = _("portal notifications")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at", "-created_at"], name="notif_notification_user_idx")]

    def __str__(self) -> str:
        return self.title
