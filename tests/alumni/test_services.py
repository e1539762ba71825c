"""Writes: the contact-rate refresh, audited saves and deletes, and merging duplicate records."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.alumni import services
from apps.alumni.models import ContactChannel, ContactRateSnapshot, Enrollment, Person
from apps.alumni.tasks import contact_rate_refresh_task
from apps.core.errors import ApplicationError
from apps.core.models import AuditEvent
from tests.accounts.factories import UserFactory
from tests.alumni.factories import ContactChannelFactory, EnrollmentFactory, PersonFactory, alumnus_in

pytestmark = pytest.mark.django_db

Status = ContactChannel.Status


# --- contact_rate_refresh -----------------------------------------------------------------


def _graduate(college, year, *, also=None):
    person = PersonFactory()
    EnrollmentFactory(person=person, college=college, enrollment_year=year - 4, graduation_year=year)
    if also is not None:
        EnrollmentFactory(
            person=person,
            college=also[0],
            degree_level=Enrollment.DegreeLevel.MASTER,
            enrollment_year=also[1] - 3,
            graduation_year=also[1],
        )
    return person


@pytest.fixture
def cohort(college, other_college):
    """Nine people whose reachability is known by construction (window: the default 3 years)."""
    now = timezone.now()
    long_ago = now - timedelta(days=4 * 365)
    recent = _graduate(college, 2015)
    ContactChannelFactory(person=recent, status=Status.VERIFIED, verified_at=now - timedelta(days=30))
    stale = _graduate(college, 2015)
    ContactChannelFactory(person=stale, status=Status.VERIFIED, verified_at=long_ago)
    bounced = _graduate(college, 2016)
    ContactChannelFactory(person=bounced, status=Status.BOUNCED, verified_at=now)
    obsolete = _graduate(college, 2016)
    ContactChannelFactory(person=obsolete, status=Status.OBSOLETE, verified_at=now)
    unverified = _graduate(college, 2016)
    ContactChannelFactory(person=unverified, status=Status.UNVERIFIED, verified_at=None)
    two_channels = _graduate(college, 2015)
    ContactChannelFactory(person=two_channels, status=Status.VERIFIED, verified_at=now)
    ContactChannelFactory(person=two_channels, kind="email", value="a@example.com", status=Status.VERIFIED)
    two_degrees = _graduate(college, 2015, also=(other_college, 2018))
    ContactChannelFactory(person=two_degrees, status=Status.VERIFIED, verified_at=now)
    _graduate(other_college, 2018)  # no contact at all
    no_year = PersonFactory()
    EnrollmentFactory(person=no_year, college=college, enrollment_year=None, graduation_year=None)
    return {"stale": stale}


def _figures() -> dict[tuple[int | None, int | None], tuple[int, int]]:
    return {(r.college_id, r.graduation_year): (r.alumni, r.reachable) for r in ContactRateSnapshot.objects.all()}


def _expected(college, other_college):
    return {
        (college.pk, 2015): (4, 3),  # recent, stale, two_channels, two_degrees
        (college.pk, 2016): (3, 0),  # bounced, obsolete, unverified
        (college.pk, None): (8, 3),  # the college total includes the degree without a year
        (other_college.pk, 2018): (2, 1),
        (other_college.pk, None): (2, 1),
        (None, None): (9, 3),  # the person with two degrees counts once
    }


def test_contact_rate_refresh_counts_reachable_people(cohort, college, other_college):
    written = services.contact_rate_refresh()
    assert written == 6
    assert _figures() == _expected(college, other_college)
    row = ContactRateSnapshot.objects.get(college=college, graduation_year=2015)
    assert row.years_window == 3
    assert row.percent == 75.0


def test_contact_rate_refresh_twice_leaves_same_rows(cohort, college, other_college):
    services.contact_rate_refresh()
    first_ids = set(ContactRateSnapshot.objects.values_list("pk", flat=True))
    services.contact_rate_refresh()
    assert ContactRateSnapshot.objects.count() == 6
    assert _figures() == _expected(college, other_college)
    assert first_ids.isdisjoint(ContactRateSnapshot.objects.values_list("pk", flat=True))


def test_contact_rate_refresh_task_is_idempotent(cohort, college, other_college):
    assert contact_rate_refresh_task.delay().get() == 6
    assert contact_rate_refresh_task.delay().get() == 6
    assert _figures() == _expected(college, other_college)


def test_contact_rate_refresh_wider_window_counts_older_verification(cohort, college):
    services.contact_rate_refresh(years=5)
    assert _figures()[(college.pk, 2015)] == (4, 4)
    assert ContactRateSnapshot.objects.get(college=college, graduation_year=2015).years_window == 5


def test_contact_rate_refresh_follows_changes(cohort, college):
    services.contact_rate_refresh()
    cohort["stale"].contacts.update(verified_at=timezone.now())
    services.contact_rate_refresh()
    assert _figures()[(college.pk, 2015)] == (4, 4)


def test_contact_rate_refresh_with_no_alumni_writes_nothing():
    ContactRateSnapshot.objects.create(alumni=1, reachable=0, years_window=3, computed_at=timezone.now())
    assert services.contact_rate_refresh() == 0
    assert not ContactRateSnapshot.objects.exists()


# --- personal_data_save / personal_data_delete --------------------------------------------


def test_personal_data_save_derives_keys_and_audits_creation(staff):
    person = services.personal_data_save(instance=Person(name=" 張偉 "), old={}, actor=staff)
    person.refresh_from_db()
    assert (person.name, person.name_pinyin, person.name_initials) == ("張偉", "zhangwei", "zw")
    event = AuditEvent.objects.get(action="person.create")
    assert (event.actor, event.target_id) == (staff, str(person.pk))


def test_personal_data_save_audits_only_changed_fields(staff, college):
    person = alumnus_in(college, name="张伟")
    old = services.snapshot(person)
    person.city = "深圳"
    services.personal_data_save(instance=person, old=old, actor=staff)
    event = AuditEvent.objects.get(action="person.update")
    assert event.changes == [{"field": "city", "old": "北京", "new": "深圳"}]
    services.personal_data_save(instance=person, old=services.snapshot(person), actor=staff)
    assert AuditEvent.objects.filter(action="person.update").count() == 1


def test_personal_data_save_normalises_contact(staff, college):
    person = alumnus_in(college)
    contact = ContactChannel(person=person, kind="mobile", value="＋86 138-0013-8000", status=Status.VERIFIED)
    services.personal_data_save(instance=contact, old={}, actor=staff)
    contact.refresh_from_db()
    assert contact.value_normalised == "13800138000"
    assert contact.verified_at is not None


def test_personal_data_delete_records_last_values(staff, college):
    contact = ContactChannelFactory(person=alumnus_in(college), kind="email", value="li.na@example.com")
    services.personal_data_delete(instance=contact, actor=staff)
    assert not ContactChannel.objects.filter(pk=contact.pk).exists()
    event = AuditEvent.objects.get(action="contactchannel.delete")
    assert event.actor == staff
    assert {"field": "value", "old": "li.na@example.com", "new": None} in event.changes


# --- person_merge -------------------------------------------------------------------------


def test_person_merge_same_record_refused(staff, college):
    person = alumnus_in(college)
    with pytest.raises(ValidationError) as excinfo:
        services.person_merge(keep=person, other=person, actor=staff)
    assert excinfo.value.code == "merge_same"
    assert Person.objects.filter(pk=person.pk).exists()


def test_person_merge_two_portal_accounts_refused(staff, college):
    keep = alumnus_in(college, user=UserFactory())
    other = alumnus_in(college, user=UserFactory())
    with pytest.raises(ApplicationError) as excinfo:
        services.person_merge(keep=keep, other=other, actor=staff)
    assert excinfo.value.code == "merge_two_accounts"
    assert Person.objects.filter(pk__in=[keep.pk, other.pk]).count() == 2


def test_person_merge_moves_portal_account_to_kept_record(staff, college):
    account = UserFactory()
    keep = alumnus_in(college)
    other = alumnus_in(college, user=account)
    services.person_merge(keep=keep, other=other, actor=staff)
    keep.refresh_from_db()
    assert keep.user == account


def test_person_merge_taking_other_name_keeps_old_name_as_former(staff, college):
    keep = alumnus_in(college, name="张伟", former_names="张小伟")
    other = alumnus_in(college, name="张卫", former_names="张维")
    merged = services.person_merge(keep=keep, other=other, actor=staff, take_from_other=["name"])
    merged.refresh_from_db()
    assert merged.name == "张卫"
    assert merged.name_pinyin == "zhangwei"
    assert set(merged.former_names.split(",")) == {"张小伟", "张伟", "张维"}


def test_person_merge_takes_chosen_fields_and_fills_empty_ones(staff, college):
    keep = alumnus_in(college, birth_date=date(1990, 1, 1), hometown_city="")
    other = alumnus_in(college, birth_date=date(1991, 2, 2), hometown_city="保定", city="杭州")
    merged = services.person_merge(keep=keep, other=other, actor=staff, take_from_other=["birth_date"])
    merged.refresh_from_db()
    assert (merged.birth_date, merged.hometown_city, merged.city) == (date(1991, 2, 2), "保定", "北京")
    assert AuditEvent.objects.filter(action="person.merge").count() == 1
