from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core import audit
from apps.core.crypto import lookup_hash
from apps.core.errors import ApplicationError
from apps.core.locks import advisory_xact_lock
from apps.core.names import clean_text, mask_id_number, normalise_contact, pinyin_keys

from .duplicates.services import duplicate_pairs_on_merge
from .models import ContactChannel, ContactRateSnapshot, Employment, Enrollment, Honour, Person, StaffNote
from .signals import person_merging

# Values that must never reach the audit log in clear.
_MASKED_IN_AUDIT = {"id_number": mask_id_number}


def snapshot(instance: models.Model) -> dict[str, Any]:
    """The audited field values of a saved row (empty for an unsaved one)."""
    if instance.pk is None:
        return {}
    fresh = type(instance).objects.filter(pk=instance.pk).first()
    return _values(fresh) if fresh is not None else {}


def _values(instance: models.Model) -> dict[str, Any]:
    values = {}
    for field in instance._meta.concrete_fields:
        if not field.editable or field.primary_key or field.name in ("created_at", "updated_at"):
            continue
        value = getattr(instance, field.attname)
        if field.name in _MASKED_IN_AUDIT and value:
            value = _MASKED_IN_AUDIT[field.name](value)
        values[field.name] = value
    return values


def person_derive(person: Person) -> None:
    """Fill the derived search keys: pinyin, initials and the keyed hash of the ID number."""
    person.name = clean_text(person.name)
    person.name_pinyin, person.name_initials = pinyin_keys(person.name)
    person.id_number = clean_text(person.id_number).upper()
    person.id_number_hash = lookup_hash(person.id_number) if person.id_number else ""


def contact_derive(contact: ContactChannel) -> None:
    contact.value = clean_text(contact.value)
    contact.value_normalised = normalise_contact(contact.kind, contact.value)
    if contact.status == ContactChannel.Status.VERIFIED and contact.verified_at is None:
        contact.verified_at = timezone.now()


_DERIVE = {Person: person_derive, ContactChannel: contact_derive}


@transaction.atomic
def personal_data_save(*, instance: models.Model, old: dict[str, Any], actor, reason: str = "") -> models.Model:
    """Save a person or one of their rows, deriving keys and auditing each changed field."""
    derive = _DERIVE.get(type(instance))
    if derive is not None:
        derive(instance)
    created = instance.pk is None
    instance.save()
    changes = audit.field_changes(old, _values(instance))
    if created or changes:
        audit.record(
            actor=actor,
            action=f"{instance._meta.model_name}.{'create' if created else 'update'}",
            target=instance,
            changes=changes,
            reason=reason,
        )
    return instance


@transaction.atomic
def personal_data_delete(*, instance: models.Model, actor, reason: str = "") -> None:
    last_values = _values(instance)
    audit.record(
        actor=actor,
        action=f"{instance._meta.model_name}.delete",
        target=instance,
        # Every field goes to None, so the log keeps what was deleted.
        changes=audit.field_changes(last_values, dict.fromkeys(last_values)),
        reason=reason,
    )
    instance.delete()


# Fields the merge screen lets staff choose between when both records have a value.
MERGE_FIELDS = [
    "name",
    "gender",
    "birth_date",
    "hometown_province",
    "hometown_city",
    "country",
    "province",
    "city",
    "id_number",
]


@transaction.atomic
def person_merge(*, keep: Person, other: Person, actor, take_from_other: list[str] | tuple = ()) -> Person:
    """Fold ``other`` into ``keep``: every degree, contact, job, honour, note and tag moves over, and
    other apps move their own rows (chapter memberships, consent ...) on ``signals.person_merging``.

    Empty fields of ``keep`` are filled from ``other``; fields named in ``take_from_other`` are
    overwritten with ``other``'s value. ``other`` is deleted; one audit row records its last state.
    """
    if keep.pk == other.pk:
        raise ValidationError(_("Choose two different records to merge."), code="merge_same")
    keep, other = (
        Person.objects.select_for_update().get(pk=keep.pk),
        Person.objects.select_for_update().get(pk=other.pk),
    )
    if keep.user_id and other.user_id:
        raise ApplicationError(
            _("Both records are linked to portal accounts; unlink one before merging."), code="merge_two_accounts"
        )
    before = _values(keep)
    merged_snapshot = {**_values(other), "id": other.pk}
    for field in MERGE_FIELDS:
        theirs = getattr(other, field)
        if theirs and (field in take_from_other or not getattr(keep, field)):
            setattr(keep, field, theirs)
    former = [n for n in (keep.former_names or "").split(",") if n.strip()]
    # Every name either record went by survives, including keep's own when other's name was taken.
    for candidate in [before["name"], other.name, *(other.former_names or "").split(",")]:
        candidate = candidate.strip()
        if candidate and candidate != keep.name and candidate not in former:
            former.append(candidate)
    keep.former_names = ",".join(former)[:200]
    if other.user_id and not keep.user_id:
        keep.user_id, other.user_id = other.user_id, None
        other.save(update_fields=["user"])

    existing = set(keep.contacts.values_list("kind", "value_normalised"))
    for contact in other.contacts.all():
        if (contact.kind, contact.value_normalised) in existing:
            continue
        contact.person = keep
        contact.save(update_fields=["person"])
    for model in (Enrollment, Employment, Honour, StaffNote):
        model.objects.filter(person=other).update(person=keep)
    keep.tags.add(*other.tags.all())

    person_derive(keep)
    keep.save()
    audit.record(
        actor=actor,
        action="person.merge",
        target=keep,
        changes=[
            *audit.field_changes(before, _values(keep)),
            {"field": "merged_record", "old": merged_snapshot, "new": None},
        ],
        reason=_("Merged duplicate record #%(id)s") % {"id": other.pk},
    )
    # The pair of these two is resolved; other's pairs and decisions move to keep.
    duplicate_pairs_on_merge(keep_id=keep.pk, other_id=other.pk)
    person_merging.send(sender=Person, keep=keep, other=other)
    other.delete()
    return keep


def _reachable_subquery(cutoff):
    return ContactChannel.objects.filter(
        person=OuterRef("person_id"), status=ContactChannel.Status.VERIFIED, verified_at__gte=cutoff
    )


@transaction.atomic
def contact_rate_refresh(*, years: int | None = None) -> int:
    """Recompute the effective contact rate per college and graduation year; returns rows written.

    A person counts as reachable with at least one verified (hence not bounced or obsolete)
    channel confirmed within ``years``. Rows with no graduation year hold each college's total;
    the row with neither college nor year holds the whole school's. Safe to run concurrently.
    """
    advisory_xact_lock("alumni.contact_rate_refresh")
    years = years or settings.CONTACT_RATE_YEARS
    now = timezone.now()
    cutoff = now - timedelta(days=365 * years)
    enrollments = Enrollment.objects.annotate(ok=Exists(_reachable_subquery(cutoff)))
    counts = {
        "alumni": Count("person_id", distinct=True),
        "reachable": Count("person_id", distinct=True, filter=Q(ok=True)),
    }
    per_year = (
        enrollments.filter(graduation_year__isnull=False).values("college_id", "graduation_year").annotate(**counts)
    )
    per_college = enrollments.values("college_id").annotate(**counts)
    school = enrollments.aggregate(**counts)
    rows = [
        ContactRateSnapshot(
            college_id=r["college_id"],
            graduation_year=r["graduation_year"],
            alumni=r["alumni"],
            reachable=r["reachable"],
            years_window=years,
            computed_at=now,
        )
        for r in per_year
    ]
    rows += [
        ContactRateSnapshot(
            college_id=r["college_id"],
            graduation_year=None,
            alumni=r["alumni"],
            reachable=r["reachable"],
            years_window=years,
            computed_at=now,
        )
        for r in per_college
    ]
    if school["alumni"]:
        rows.append(
            ContactRateSnapshot(
                college_id=None,
                graduation_year=None,
                alumni=school["alumni"],
                reachable=school["reachable"],
                years_window=years,
                computed_at=now,
            )
        )
    ContactRateSnapshot.objects.all().delete()
    ContactRateSnapshot.objects.bulk_create(rows, batch_size=1000)
    return len(rows)
