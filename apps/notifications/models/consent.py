from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.core.models import TimeStampedModel


class Category(models.TextChoices):
    """What a message is about; alumni consent to (or withdraw from) each one separately."""

    NEWS = "news", _("News")
    EVENTS = "events", _("Events")
    GIVING = "giving", _("Giving")
    CAREERS = "careers", _("Careers")
    # Account and service messages (an import finished, a request was approved): no consent asked.
    SERVICE = "service", _("Service messages")


# The categories an alumnus can subscribe to or leave (SERVICE is not one of them).
CONSENT_CATEGORIES = [Category.NEWS, Category.EVENTS, Category.GIVING, Category.CAREERS]


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("Text message")
    PORTAL = "portal", _("Portal notification")
    # Being named in published news and honour lists (PIPL Art. 25: separate consent, off by default).
    PUBLIC = "public", _("Named in published news")


MESSAGE_CHANNELS = [Channel.EMAIL, Channel.SMS, Channel.PORTAL]


class Consent(models.Model):
    """The current answer of one person for one channel and category (the history is ConsentEvent)."""

    person = models.ForeignKey(
        "alumni.Person", on_delete=models.CASCADE, related_name="consents", verbose_name=_("alumnus")
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    granted = models.BooleanField(_("granted"))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        constraints = [
            models.UniqueConstraint(fields=["person", "channel", "category"], name="notifications_consent_unique"),
        ]
        indexes = [models.Index(fields=["channel", "category", "granted", "person"], name="notif_consent_lookup_idx")]

    def __str__(self) -> str:
        return f"{self.person_id} {self.channel}/{self.category}: {self.granted}"


class ConsentEvent(models.Model):
    """One grant or withdrawal, with the statement shown and where it came from. Append-only."""

    class Source(models.TextChoices):
        PORTAL = "portal", _("Preference page")
        UNSUBSCRIBE_LINK = "unsubscribe", _("Unsubscribe link")
        API = "api", _("Mobile app / API")
        STAFF = "staff", _("Recorded by staff")
        IMPORT = "import", _("Imported")

    person = models.ForeignKey(
        "alumni.Person", on_delete=models.CASCADE, related_name="consent_events", verbose_name=_("alumnus")
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    granted = models.BooleanField(_("granted"), help_text=_("False records a withdrawal."))
    statement = models.TextField(_("statement shown"), blank=True)
    statement_version = models.CharField(_("statement version"), max_length=32, blank=True)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    created_at = models.DateTimeField(_("date"), auto_now_add=True)

    class Meta:
        verbose_name = _("consent history entry")
        verbose_name_plural = _("consent history")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["person", "-created_at"], name="notif_consentevent_person_idx")]

    def __str__(self) -> str:
        return f"{self.person_id} {self.channel}/{self.category} {'+' if self.granted else '-'}"


class ContactPreference(TimeStampedModel):
    """Per-person communication preferences beyond consent: the language messages come in."""

    class Language(models.TextChoices):
        ZH_HANS = "zh-hans", _("Simplified Chinese")
        EN = "en", _("English")

    person = models.OneToOneField(
        "alumni.Person", on_delete=models.CASCADE, related_name="contact_preference", verbose_name=_("alumnus")
    )
    language = models.CharField(_("language"), max_length=8, choices=Language.choices, default=Language.ZH_HANS)

    class Meta:
        verbose_name = _("contact preference")
        verbose_name_plural = _("contact preferences")

    def __str__(self) -> str:
        return f"{self.person_id}: {self.language}"
