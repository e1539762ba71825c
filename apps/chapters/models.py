from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.core.models import TimeStampedModel


class Chapter(TimeStampedModel):
    """An alumni association chapter (校友会分会): regional, overseas, college or industry."""

    class Kind(models.TextChoices):
        REGIONAL = "regional", _("Regional")
        OVERSEAS = "overseas", _("Overseas")
        COLLEGE = "college", _("College")
        INDUSTRY = "industry", _("Industry")

    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.REGIONAL)
    province = models.CharField(_("province"), max_length=32, blank=True)
    city = models.CharField(_("city"), max_length=64, blank=True)
    country = models.CharField(_("country or region"), max_length=64, blank=True, default="中国")
    college = models.ForeignKey(
        "alumni.College",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="chapters",
        verbose_name=_("college"),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("chapter")
        verbose_name_plural = _("chapters")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ChapterMembership(TimeStampedModel):
    class Role(models.TextChoices):
        MEMBER = "member", _("Member")
        OFFICER = "officer", _("Officer")
        LEADER = "leader", _("Leader")

    chapter = models.ForeignKey(
        Chapter, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("chapter")
    )
    person = models.ForeignKey(
        "alumni.Person", on_delete=models.CASCADE, related_name="chapter_memberships", verbose_name=_("alumnus")
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.MEMBER)
    joined_on = models.DateField(_("joined on"), null=True, blank=True)
    left_on = models.DateField(_("left on"), null=True, blank=True)

    class Meta:
        verbose_name = _("chapter membership")
        verbose_name_plural = _("chapter memberships")
        constraints = [
            models.UniqueConstraint(fields=["chapter", "person"], name="chapters_membership_unique_person"),
        ]
        indexes = [models.Index(fields=["person", "chapter"], name="chapters_membership_person_idx")]

    def __str__(self) -> str:
        return f"{self.person} @ {self.chapter}"
