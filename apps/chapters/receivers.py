"""Chapter memberships follow a person through a merge of duplicate records."""

from django.dispatch import receiver

from apps.alumni.signals import person_merging

from .models import ChapterMembership


@receiver(person_merging, dispatch_uid="chapters.memberships_on_merge")
def move_memberships(sender, keep, other, **kwargs):
    held = set(ChapterMembership.objects.filter(person=keep).values_list("chapter_id", flat=True))
    ChapterMembership.objects.filter(person=other).exclude(chapter_id__in=held).update(person=keep)
