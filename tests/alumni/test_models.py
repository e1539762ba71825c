"""Model-level guarantees: encrypted ID numbers, database constraints, row-local properties."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from apps.alumni.models import ContactRateSnapshot, Person
from apps.core.crypto import lookup_hash
from tests.alumni.factories import ContactChannelFactory, EnrollmentFactory, alumnus_in, valid_id_number

pytestmark = pytest.mark.django_db

ID_NUMBER = valid_id_number("44030119850615123")


def _raw_id_number(person: Person) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number FROM alumni_person WHERE id = %s", [person.pk])
        return cursor.fetchone()[0]


def test_person_id_number_stored_encrypted(college):
    person = alumnus_in(college, id_number=ID_NUMBER)
    stored = _raw_id_number(person)
    assert stored
    assert ID_NUMBER not in stored
    assert ID_NUMBER[:6] not in stored
    assert stored.startswith("gAAAA")  # a Fernet token
    assert Person.objects.get(pk=person.pk).id_number == ID_NUMBER


def test_person_id_number_same_value_encrypts_differently(college):
    first = alumnus_in(college, id_number=ID_NUMBER)
    second = alumnus_in(college, id_number=ID_NUMBER)
    assert _raw_id_number(first) != _raw_id_number(second)
    # Equality lookups go through the keyed hash instead.
    assert set(Person.objects.filter(id_number_hash=lookup_hash(ID_NUMBER))) == {first, second}


def test_person_without_id_number_stores_empty(college):
    person = alumnus_in(college)
    assert _raw_id_number(person) == ""
    assert person.id_number_masked == ""
    assert person.id_number_hash == ""


def test_person_id_number_masked_keeps_two_characters_each_end(college):
    person = alumnus_in(college, id_number=ID_NUMBER)
    assert person.id_number_masked == "44" + "*" * 14 + "38"


def test_enrollment_graduation_before_enrolment_rejected(college):
    with pytest.raises(IntegrityError), transaction.atomic():
        EnrollmentFactory(college=college, enrollment_year=2015, graduation_year=2011)


def test_enrollment_student_id_unique(college):
    EnrollmentFactory(college=college, student_id="2011000999")
    with pytest.raises(IntegrityError), transaction.atomic():
        EnrollmentFactory(college=college, student_id="2011000999")


def test_contact_channel_unique_per_person_after_normalising(college):
    person = alumnus_in(college)
    ContactChannelFactory(person=person, value="13800138000")
    with pytest.raises(IntegrityError), transaction.atomic():
        ContactChannelFactory(person=person, value="+86 138-0013-8000")
    ContactChannelFactory(person=alumnus_in(college), value="+86 138-0013-8000")  # another person may share it


def test_contact_rate_snapshot_reachable_cannot_exceed_alumni(college):
    with pytest.raises(IntegrityError), transaction.atomic():
        ContactRateSnapshot.objects.create(
            college=college, graduation_year=2015, alumni=2, reachable=3, years_window=3, computed_at=timezone.now()
        )


@pytest.mark.parametrize(("alumni", "reachable", "rate", "percent"), [(3, 2, 2 / 3, 66.7), (0, 0, 0.0, 0.0)])
def test_contact_rate_snapshot_rate_and_percent(alumni, reachable, rate, percent):
    snapshot = ContactRateSnapshot(alumni=alumni, reachable=reachable, years_window=3)
    assert snapshot.rate == pytest.approx(rate)
    assert snapshot.percent == percent
