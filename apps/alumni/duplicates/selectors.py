"""Reads of the duplicate finder, scoped like everything else through visible_people()."""

from django.db.models import Prefetch, QuerySet

from apps.core.scoping import scope_for

from ..models import DuplicatePair, DuplicateScan, Enrollment
from ..selectors import visible_people


def visible_duplicate_pairs(user) -> QuerySet[DuplicatePair]:
    """Pairs ``user`` may review: both people must be visible to them."""
    pairs = DuplicatePair.objects.all()
    if scope_for(user).whole_school:
        return pairs
    people = visible_people(user)
    return pairs.filter(person_a__in=people, person_b__in=people)


def duplicate_pair_list(user) -> QuerySet[DuplicatePair]:
    """Visible pairs with both people, their degrees and colleges loaded for a list page."""
    enrollments = Enrollment.objects.select_related("college").order_by("enrollment_year", "id")
    return (
        visible_duplicate_pairs(user)
        .select_related("person_a", "person_b")
        .prefetch_related(
            Prefetch("person_a__enrollments", queryset=enrollments),
            Prefetch("person_b__enrollments", queryset=enrollments),
        )
    )


def duplicate_scan_latest() -> DuplicateScan | None:
    """The most recently requested scan, whatever its state."""
    return DuplicateScan.objects.order_by("-created_at", "-id").first()


def duplicate_scan_last_finished() -> DuplicateScan | None:
    return DuplicateScan.objects.filter(status=DuplicateScan.Status.DONE).order_by("-finished_at", "-id").first()
