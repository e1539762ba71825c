"""Consent follows a person through a merge of duplicate records; a refusal on either record wins."""

from django.db import connection
from django.dispatch import receiver

from apps.alumni.signals import person_merging

from .models import Consent, ConsentEvent


@receiver(person_merging, dispatch_uid="notifications.consent_on_merge")
def move_consent(sender, keep, other, **kwargs):
    kept = {(c.channel, c.category): c for c in Consent.objects.filter(person=keep)}
    for theirs in Consent.objects.filter(person=other):
        mine = kept.get((theirs.channel, theirs.category))
        if mine is None:
            theirs.person = keep
            theirs.save(update_fields=["person"])
        elif mine.granted and not theirs.granted:
            mine.granted = False
            mine.save(update_fields=["granted"])
    _copy_history(keep.pk, other.pk)


def _copy_history(keep_id: int, other_id: int) -> None:
    """The history is append-only (PostgreSQL refuses UPDATE): copy it, dates included, to the kept
    record; the originals go with the merged record."""
    qn = connection.ops.quote_name
    table = qn(ConsentEvent._meta.db_table)
    columns = ", ".join(
        qn(field.column) for field in ConsentEvent._meta.concrete_fields if field.name not in ("id", "person")
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (person_id, {columns}) SELECT %s, {columns} FROM {table} WHERE person_id = %s",  # noqa: S608
            [keep_id, other_id],
        )
