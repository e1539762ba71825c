from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from apps.core.models import TimeStampedModel


class NewsItem(TimeStampedModel):
    """A news article, an alumni story or an achievement note, linked to the people it is about."""

    class Kind(models.TextChoices):
        ARTICLE = "article", _("News article")
        STORY = "story", _("Alumni story")
        ACHIEVEMENT = "achievement", _("Achievement note")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    title = models.CharField(_("title"), max_length=200)
    summary = models.CharField(_("summary"), max_length=300, blank=True)
    body = models.TextField(_("text"), help_text=_("Plain text; an empty line starts a new paragraph."))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.ARTICLE)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    college = models.ForeignKey(
        "alumni.College",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("college"),
        help_text=_("The college whose staff may edit this item; empty for the office's own."),
    )
    people = models.ManyToManyField(
        "alumni.Person", through="NewsPerson", related_name="news_items", blank=True, verbose_name=_("people")
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("author")
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("published by"),
    )

    class Meta:
        verbose_name = _("news item")
        verbose_name_plural = _("news items")
        ordering = ["-published_at", "-created_at", "-id"]
        permissions = [("publish_newsitem", _("Can publish news items"))]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="published") | Q(published_at__isnull=False),
                name="news_newsitem_published_has_time",
            )
        ]
        indexes = [models.Index(fields=["status", "-published_at"], name="news_item_status_idx")]

    def __str__(self) -> str:
        return self.title

    def paragraphs(self) -> list[str]:
        return [p.strip() for p in self.body.replace("\r\n", "\n").split("\n\n") if p.strip()]


class NewsPerson(models.Model):
    """A person an item is about, with the achievement noted (promotion, award, honour)."""

    class Achievement(models.TextChoices):
        NONE = "", _("None")
        PROMOTION = "promotion", _("Promotion or appointment")
        AWARD = "award", _("Award")
        HONOUR = "honour", _("Honour")
        OTHER = "other", _("Other")

    news = models.ForeignKey(NewsItem, on_delete=models.CASCADE, related_name="links", verbose_name=_("news item"))
    person = models.ForeignKey(
        "alumni.Person", on_delete=models.CASCADE, related_name="news_links", verbose_name=_("alumnus")
    )
    achievement = models.CharField(_("achievement"), max_length=16, choices=Achievement.choices, blank=True)
    note = models.CharField(
        _("note"), max_length=300, blank=True, help_text=_("Shown next to the name when published.")
    )

    class Meta:
        verbose_name = _("person in the news")
        verbose_name_plural = _("people in the news")
        constraints = [models.UniqueConstraint(fields=["news", "person"], name="news_newsperson_unique")]
        indexes = [models.Index(fields=["person", "news"], name="news_person_idx")]

    def __str__(self) -> str:
        return f"{self.person} · {self.news}"


class Publication(TimeStampedModel):
    """One publication of an item on one channel, with the reach staff read off that channel."""

    class Channel(models.TextChoices):
        WECHAT = "wechat", _("WeChat official account")
        WEBSITE = "website", _("Alumni website")
        WEIBO = "weibo", _("Weibo")

    news = models.ForeignKey(
        NewsItem, on_delete=models.PROTECT, related_name="publications", verbose_name=_("news item")
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    published_on = models.DateField(_("published on"))
    url = models.URLField(_("link"), max_length=500, blank=True)
    reads = models.PositiveIntegerField(_("reads"), default=0)
    likes = models.PositiveIntegerField(_("likes"), default=0)
    shares = models.PositiveIntegerField(_("shares"), default=0)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("entered by")
    )

    class Meta:
        verbose_name = _("publication")
        verbose_name_plural = _("publications")
        ordering = ["-published_on", "-id"]
        constraints = [models.UniqueConstraint(fields=["news", "channel"], name="news_publication_unique_channel")]
        indexes = [models.Index(fields=["published_on", "channel"], name="news_publication_year_idx")]

    def __str__(self) -> str:
        return f"{self.news} · {self.get_channel_display()}"
