"""The duplicate rules applied to one new record before it is created (imports, portal sign-ups).

Only indexed lookups: (name, birth date), (contact kind, normalised value), (class, person). One
query per rule that has input, however many people there are.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from django.db.models import Q

from apps.core.names import clean_text, name_key, normalise_contact

from ..models import ContactChannel, DuplicatePair, Enrollment, Person
from .rules import ACTIVE_CONTACT_STATUSES, MAX_GROUP_SIZE, confidence_for, evidence_item, mask_contact


@dataclass(frozen=True)
class Candidate:
    """An existing person the new record may duplicate."""

    person_id: int
    confidence: int  # DuplicatePair.Confidence
    evidence: tuple[dict[str, str], ...]

    @property
    def confidence_label(self) -> str:
        return str(DuplicatePair.Confidence(self.confidence).label)


def _name_forms(name: str | None) -> list[str]:
    """The stored form of a name (cleaned) and its comparison form (simplified, no spaces or dots)."""
    return sorted({form for form in (clean_text(name), name_key(name)) if form})


def _split_former(former_names: str) -> set[str]:
    text = (former_names or "").replace("，", ",").replace("、", ",")
    return {part.strip() for part in text.split(",") if part.strip()}


def duplicate_candidates(
    *,
    name: str,
    birth_date: date | None = None,
    mobile: str | None = None,
    email: str | None = None,
    school_class_id: int | None = None,
    exclude_person_id: int | None = None,
    max_group_size: int = MAX_GROUP_SIZE,
) -> list[Candidate]:
    """Existing people a new record with these details may duplicate, best first (empty if none).

    The same rules and confidence as the full scan, except the former-name-and-birth-date rule
    (former names are not indexed). A phone, email or name-and-birth-date that more than
    ``max_group_size`` people would share is not evidence, as in the scan.
    """
    names = _name_forms(name)
    signals: dict[int, set[tuple[str, str]]] = defaultdict(set)
    # The new record joins each group, so at most max_group_size - 1 existing people may share a key.
    limit = max_group_size - 1

    if names and birth_date:
        rows = Person.objects.filter(name__in=names, birth_date=birth_date)
        if exclude_person_id is not None:
            rows = rows.exclude(pk=exclude_person_id)
        found = list(rows.values_list("id", "name")[: limit + 1])
        if len(found) <= limit:
            for person_id, person_name in found:
                signals[person_id].add(("name_birth", f"{person_name}, {birth_date.isoformat()}"))

    for kind, value in ((ContactChannel.Kind.MOBILE, mobile), (ContactChannel.Kind.EMAIL, email)):
        normalised = normalise_contact(kind, value)
        if not normalised:
            continue
        rows = ContactChannel.objects.filter(kind=kind, value_normalised=normalised, status__in=ACTIVE_CONTACT_STATUSES)
        if exclude_person_id is not None:
            rows = rows.exclude(person_id=exclude_person_id)
        found = list(rows.values_list("person_id", flat=True).distinct()[: limit + 1])
        if len(found) <= limit:
            for person_id in found:
                signals[person_id].add((str(kind), mask_contact(kind, normalised)))

    if names and school_class_id:
        by_name = Q(person__name__in=names)
        for form in names:
            by_name |= Q(person__former_names__contains=form)
        rows = Enrollment.objects.filter(by_name, school_class_id=school_class_id)
        if exclude_person_id is not None:
            rows = rows.exclude(person_id=exclude_person_id)
        found = list(rows.values_list("person_id", "person__name", "person__former_names", "school_class__name"))
        namesakes = {row[0] for row in found if row[1] in names}
        if len(namesakes) <= limit:
            for person_id, person_name, former_names, class_name in found:
                if person_name in names:
                    signals[person_id].add(("name_class", f"{person_name}, {class_name}"))
                elif matched := _split_former(former_names) & set(names):
                    signals[person_id].add(("former_name_class", f"{sorted(matched)[0]}, {class_name}"))

    candidates = [
        Candidate(
            person_id=person_id,
            confidence=confidence_for(rule for rule, _detail in items),
            evidence=tuple(evidence_item(rule, detail) for rule, detail in sorted(items)),
        )
        for person_id, items in signals.items()
    ]
    return sorted(candidates, key=lambda c: (-c.confidence, -len(c.evidence), c.person_id))
