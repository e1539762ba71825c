"""Chapter memberships follow a person through a merge of duplicate records."""

from datetime import date

from django.dispatch import receiver
from django.utils import timezone

from apps.alumni.signals import person_merging

from .models import ChapterMembership

_ROLE_RANK = {ChapterMembership.Role.MEMBER: 0, ChapterMembership.Role.OFFICER: 1, ChapterMembership.Role.LEADER: 2}


def _merit(membership: ChapterMembership, today: date) -> tuple:
    """Higher is better: active over left, then leader > officer > member, then the earliest joined_on."""
    active = membership.left_on is None or membership.left_on > today
    joined = membership.joined_on.toordinal() if membership.joined_on else 0
    return (active, _ROLE_RANK.get(membership.role, 0), joined != 0, -joined)


@receiver(person_merging, dispatch_uid="chapters.memberships_on_merge")
def move_memberships(sender, keep, other, **kwargs):
    """Move other's memberships to keep; where both have one in a chapter, the better one survives."""
    held = {m.chapter_id: m for m in ChapterMembership.objects.filter(person=keep)}
    today = timezone.localdate()
    for theirs in ChapterMembership.objects.filter(person=other, chapter_id__in=held):
        if _merit(theirs, today) > _merit(held[theirs.chapter_id], today):
            held[theirs.chapter_id].delete()
        else:
            theirs.delete()
    ChapterMembership.objects.filter(person=other).update(person=keep)
