from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from apps.core import audit

from ..filters import filters_condition
from ..models import Segment


@transaction.atomic
def segment_save(*, segment: Segment, actor) -> Segment:
    """Create or update a segment after checking its filters; audited (it decides who gets mail)."""
    if not segment.name.strip():
        raise ValidationError({"name": [_("Give the segment a name.")]}, code="required")
    filters_condition(segment.filters)  # raises for unknown kinds or bad parameters
    created = segment.pk is None
    if created:
        segment.created_by = actor
    segment.save()
    audit.record(
        actor=actor,
        action="segment.create" if created else "segment.update",
        target=segment,
        changes=[{"field": "filters", "old": None, "new": segment.filters}],
    )
    return segment


@transaction.atomic
def segment_delete(*, segment: Segment, actor) -> None:
    if segment.messages.exists():
        raise ValidationError(_("This segment has messages; it is kept as their record."), code="in_use")
    audit.record(actor=actor, action="segment.delete", target=segment)
    segment.delete()
