from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.core.fields import EncryptedTextField
from apps.core.models import TimeStampedModel


class WebhookSubscription(TimeStampedModel):
    """Another university system that wants to hear about events (person updated, gift recorded ...)."""

    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("URL"), max_length=500)
    # Kept encrypted; signs every delivery with HMAC-SHA256 so the receiver can check it came from us.
    secret = EncryptedTextField(_("signing secret"))
    events = models.JSONField(_("events"), default=list, help_text=_("The event names this system receives."))
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by")
    )

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class BounceEvent(models.Model):
    """A report that an address does not work (from the mail provider, the SMTP reply or staff)."""

    class Source(models.TextChoices):
        WEBHOOK = "webhook", _("Provider webhook")
        COMMAND = "command", _("Command line")
        SMTP = "smtp", _("SMTP reply")
        STAFF = "staff", _("Staff")

    class Kind(models.TextChoices):
        HARD = "hard", _("Permanent (hard bounce)")
        SOFT = "soft", _("Temporary (soft bounce)")
        COMPLAINT = "complaint", _("Spam complaint")

    channel_kind = models.CharField(_("channel kind"), max_length=16)
    address = models.CharField(_("address"), max_length=255)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.HARD)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    channels_marked = models.PositiveIntegerField(_("channels marked bounced"), default=0)
    created_at = models.DateTimeField(_("received at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("bounce")
        verbose_name_plural = _("bounces")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["address"], name="notif_bounce_address_idx")]

    def __str__(self) -> str:
        return f"{self.address} ({self.get_kind_display()})"
