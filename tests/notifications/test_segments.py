"""Segments: the filter kinds, the registry, and scoping (a segment never leaves the viewer's scope)."""

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q

from apps.alumni.models import Enrollment, Honour
from apps.chapters.models import Chapter, ChapterMembership
from apps.notifications import filters as segment_filters
from apps.notifications.models import OutboxItem
from apps.notifications.selectors import segment_count, segment_people, segment_preview
from apps.notifications.services import message_send_now, message_test_send
from tests.alumni.factories import EnrollmentFactory, HonourFactory, PersonFactory, SchoolClassFactory, TagFactory
from tests.notifications.factories import MessageFactory, SegmentFactory, alumnus_with_email

pytestmark = pytest.mark.django_db


def _ids(people) -> set[int]:
    return set(people.values_list("pk", flat=True))


def test_segment_of_college_staff_never_contains_another_colleges_people(college, other_college, college_staff, staff):
    mine = [alumnus_with_email(college=college, year=2012) for _ in range(3)]
    theirs = [alumnus_with_email(college=other_college, year=2012) for _ in range(3)]
    # The filter names both colleges (a segment saved by the office, reused by college staff).
    filters = [{"kind": "enrollment", "params": {"colleges": [college.pk, other_college.pk]}}]
    assert _ids(segment_people(filters, college_staff)) == {p.pk for p in mine}
    assert segment_count(filters, college_staff) == 3
    assert {row["pk"] for row in segment_preview(filters, college_staff)} == {p.pk for p in mine}
    assert _ids(segment_people(filters, staff)) == {p.pk for p in mine + theirs}
    # Filters on something else (graduation year) still stay inside the college.
    by_year = [{"kind": "enrollment", "params": {"graduation_year_from": 2012, "graduation_year_to": 2012}}]
    assert _ids(segment_people(by_year, college_staff)) == {p.pk for p in mine}


def test_mailing_by_college_staff_writes_outbox_rows_only_for_their_college(
    college, other_college, college_staff, django_capture_on_commit_callbacks
):
    mine = [alumnus_with_email(college=college) for _ in range(2)]
    alumnus_with_email(college=other_college)
    segment = SegmentFactory(created_by=college_staff, filters=[{"kind": "region", "params": {"provinces": "北京"}}])
    message = MessageFactory(segment=segment, created_by=college_staff)
    message_test_send(message=message, actor=college_staff, addresses=["me@example.com"])
    message.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        message_send_now(message=message, actor=college_staff)
    assert set(OutboxItem.objects.filter(message=message).values_list("person_id", flat=True)) == {p.pk for p in mine}


def test_enrollment_filter_matches_college_years_and_degree_on_the_same_degree(college, other_college, staff):
    switcher = PersonFactory()
    EnrollmentFactory(person=switcher, college=college, enrollment_year=2001, graduation_year=2005)
    EnrollmentFactory(
        person=switcher, college=other_college, graduation_year=2011, degree_level=Enrollment.DegreeLevel.MASTER
    )
    graduate = PersonFactory()
    EnrollmentFactory(person=graduate, college=college, graduation_year=2011)
    filters = [
        {
            "kind": "enrollment",
            "params": {"colleges": [college.pk], "graduation_year_from": 2010, "graduation_year_to": 2012},
        }
    ]
    assert _ids(segment_people(filters, staff)) == {graduate.pk}
    masters = [{"kind": "enrollment", "params": {"degree_levels": ["master"]}}]
    assert _ids(segment_people(masters, staff)) == {switcher.pk}


def test_class_region_chapter_tag_and_honour_filters(college, staff):
    school_class = SchoolClassFactory(college=college)
    in_class = PersonFactory(province="广东", city="深圳")
    EnrollmentFactory(person=in_class, college=college, school_class=school_class)
    other = PersonFactory(province="北京", city="北京")
    EnrollmentFactory(person=other, college=college)
    chapter = Chapter.objects.create(name="深圳校友会", province="广东", city="深圳")
    ChapterMembership.objects.create(chapter=chapter, person=other)
    tag = TagFactory()
    in_class.tags.add(tag)
    HonourFactory(person=other, kind=Honour.Kind.ACADEMICIAN_CAS, year=2021)

    def people(kind, params):
        return _ids(segment_people([{"kind": kind, "params": params}], staff))

    assert people("enrollment", {"classes": [school_class.pk]}) == {in_class.pk}
    assert people("region", {"provinces": "广东", "cities": "深圳"}) == {in_class.pk}
    assert people("region", {"provinces": "广东，北京"}) == {in_class.pk, other.pk}
    assert people("chapter", {"chapters": [chapter.pk]}) == {other.pk}
    assert people("tags", {"tags": [tag.pk]}) == {in_class.pk}
    assert people("honours", {"kinds": ["cas"], "year_from": 2020}) == {other.pk}
    assert people("honours", {"kinds": ["cas"], "year_from": 2022}) == set()
    # A member who left the chapter is not in it any more.
    ChapterMembership.objects.filter(person=other).update(left_on="2024-01-01")
    assert people("chapter", {"chapters": [chapter.pk]}) == set()


def test_deceased_people_are_never_in_a_segment(college, staff):
    alive, deceased = PersonFactory(), PersonFactory(is_deceased=True)
    for person in (alive, deceased):
        EnrollmentFactory(person=person, college=college)
    assert _ids(segment_people([{"kind": "enrollment", "params": {"colleges": [college.pk]}}], staff)) == {alive.pk}


def test_later_apps_register_their_own_filter_kind(college, staff):
    vip, ordinary = PersonFactory(name="王大伟"), PersonFactory(name="李小红")
    segment_filters.register_filter_kind(
        "name_is",
        label="Name is",
        form_fields=lambda user: {"name": forms.CharField(required=False)},
        condition=lambda params: Q(name=params["name"]),
    )
    try:
        assert _ids(segment_people([{"kind": "name_is", "params": {"name": "王大伟"}}], staff)) == {vip.pk}
        assert "name_is" in {kind.key for kind in segment_filters.filter_kinds()}
    finally:
        segment_filters._KINDS.pop("name_is")
    assert ordinary.pk


def test_unknown_or_malformed_filters_are_refused(staff):
    with pytest.raises(ValidationError):
        segment_people([{"kind": "no_such_kind", "params": {}}], staff)
    with pytest.raises(ValidationError):
        segment_people([{"kind": "enrollment", "params": {"graduation_year_from": "soon"}}], staff)
    with pytest.raises(ValidationError):
        segment_people(["enrollment"], staff)


def test_alumnus_and_unscoped_roles_see_nobody(college, alumnus, chapter_leader):
    alumnus_with_email(college=college)
    filters = [{"kind": "enrollment", "params": {"colleges": [college.pk]}}]
    assert segment_count(filters, alumnus) == 0
    assert segment_count(filters, chapter_leader) == 0
