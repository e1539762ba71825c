"""Which alumni record a claim's evidence identifies (a read; the claim services act on it).

Every outcome runs the same two queries (candidates, then the contact of a unique candidate or
of nobody), so the time a claim takes does not tell whether a record exists.
"""

from dataclasses import dataclass
from datetime import date

from django.db.models import Exists, OuterRef

from apps.alumni.models import College, ContactChannel, Enrollment, Person
from apps.core.names import clean_text, name_key

from ..models import ClaimRequest

Outcome = ClaimRequest.Outcome
# More people than this sharing a birth date and a student ID or class year is not a real claim.
MAX_CANDIDATES = 50


@dataclass(frozen=True)
class ClaimEvidence:
    name: str
    birth_date: date
    student_id: str = ""
    college: College | None = None
    graduation_year: int | None = None


@dataclass(frozen=True)
class ClaimMatch:
    outcome: str
    person: Person | None = None
    contact: ContactChannel | None = None


def normalise_student_id(value: str | None) -> str:
    """Student IDs as the roster import stores them: NFKC, no spaces, upper case."""
    return clean_text(value).replace(" ", "").upper()


def claim_match(evidence: ClaimEvidence) -> ClaimMatch:
    """Exact normalised name + birth date + (student ID | college and graduation year)."""
    people = Person.objects.filter(birth_date=evidence.birth_date)
    if evidence.student_id:
        people = people.filter(enrollments__student_id=normalise_student_id(evidence.student_id))
    else:
        same_class = Enrollment.objects.filter(
            person=OuterRef("pk"), college=evidence.college, graduation_year=evidence.graduation_year
        )
        people = people.filter(Exists(same_class))
    key = name_key(evidence.name)
    candidates = [
        person
        for person in people.only("pk", "name", "user_id").order_by("pk")[:MAX_CANDIDATES]
        if name_key(person.name) == key
    ]
    unique = candidates[0] if len(candidates) == 1 else None
    contact = (
        ContactChannel.objects.filter(
            person_id=unique.pk if unique is not None else 0,
            status=ContactChannel.Status.VERIFIED,
            kind__in=[ContactChannel.Kind.MOBILE, ContactChannel.Kind.EMAIL],
        )
        .exclude(value_normalised="")
        .order_by("-verified_at", "-pk")
        .first()
    )
    if not candidates:
        return ClaimMatch(Outcome.NO_MATCH)
    if unique is None:
        return ClaimMatch(Outcome.AMBIGUOUS)
    if unique.user_id is not None:
        return ClaimMatch(Outcome.ALREADY_LINKED, person=unique)
    if contact is None:
        return ClaimMatch(Outcome.NO_CONTACT, person=unique)
    return ClaimMatch(Outcome.MATCHED, person=unique, contact=contact)
