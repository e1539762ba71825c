import re

from django.db.models import Exists, OuterRef, Q, QuerySet

from apps.core.names import clean_text, looks_like_pinyin, name_key, normalise_email, normalise_phone
from apps.core.scoping import scope_for

from .models import ContactChannel, ContactRateSnapshot, Enrollment, Person


def visible_people(user) -> QuerySet[Person]:
    """Every Person ``user`` may see: the whole school, their colleges' or classes' people, or none."""
    scope = scope_for(user)
    if scope.whole_school:
        return Person.objects.all()
    condition = Q(pk__in=[])
    if scope.college_ids:
        condition |= Exists(Enrollment.objects.filter(person=OuterRef("pk"), college_id__in=scope.college_ids))
    if scope.class_ids:
        condition |= Exists(Enrollment.objects.filter(person=OuterRef("pk"), school_class_id__in=scope.class_ids))
    return Person.objects.filter(condition)


def visible_enrollments(user) -> QuerySet[Enrollment]:
    scope = scope_for(user)
    if scope.whole_school:
        return Enrollment.objects.all()
    return Enrollment.objects.filter(person__in=visible_people(user))


_DIGITS = re.compile(r"^\d{4,}$")
_PHONE_IN_GROUPS = re.compile(r"^\+?[\d\s-]+$")


def person_search_terms(text: str) -> list[str]:
    """Split a search box into terms for person_search(); a phone in groups or spaced pinyin stays whole."""
    text = clean_text(text)
    if _PHONE_IN_GROUPS.match(text) or looks_like_pinyin(text):
        return [text] if text else []
    return text.split()


def person_search(queryset: QuerySet[Person], term: str) -> QuerySet[Person]:
    """Narrow ``queryset`` by one search term, using only indexed equality or prefix lookups.

    Digits look up student IDs (prefix) and phones; an address with @ looks up emails; Latin
    letters look up full pinyin (prefix) or initials (``zhangwei`` and ``zw`` find 张伟);
    anything else is the start of a name.
    """
    term = clean_text(term)
    if not term:
        return queryset
    # Identifier searches select the few matching person ids first (index scans), then the
    # people: an EXISTS per person would make PostgreSQL walk the whole person table.
    if _DIGITS.match(term.replace("-", "").replace("+", "").replace(" ", "")):
        by_student_id = _person_ids(Enrollment.objects.filter(student_id__startswith=term))
        by_phone = _person_ids(
            ContactChannel.objects.filter(kind__in=["mobile", "landline"], value_normalised=normalise_phone(term))
        )
        return queryset.filter(pk__in=by_student_id.union(by_phone))
    if "@" in term:
        by_email = ContactChannel.objects.filter(kind="email", value_normalised=normalise_email(term))
        return queryset.filter(pk__in=_person_ids(by_email))
    if looks_like_pinyin(term):
        letters = term.replace(" ", "").lower()
        return queryset.filter(Q(name_pinyin__startswith=letters) | Q(name_initials=letters))
    key = name_key(term)
    if term.isascii():
        return queryset.filter(pk__in=_person_ids(Enrollment.objects.filter(student_id=term)))
    return queryset.filter(name__startswith=key)


def _person_ids(rows: QuerySet) -> QuerySet:
    return rows.order_by().values("person_id")


def contact_rate_list(user) -> QuerySet[ContactRateSnapshot]:
    """The latest contact-rate figures for the colleges ``user`` governs."""
    scope = scope_for(user)
    rows = ContactRateSnapshot.objects.select_related("college").order_by("college__code", "-graduation_year")
    if scope.whole_school:
        return rows
    return rows.filter(college_id__in=scope.college_ids)
