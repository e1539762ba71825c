"""A merge keeps the better of two memberships in the same chapter: never an active one or a leader role lost."""

from datetime import date

import pytest

from apps.alumni import services
from apps.chapters.models import ChapterMembership
from tests.alumni.factories import PersonFactory
from tests.portal.factories import ChapterFactory, MembershipFactory

pytestmark = pytest.mark.django_db

Role = ChapterMembership.Role


@pytest.fixture
def pair(db):
    return PersonFactory(name="张伟"), PersonFactory(name="张伟")


def _after_merge(staff, keep, other) -> dict[str, tuple]:
    services.person_merge(keep=keep, other=other, actor=staff)
    return {
        m.chapter.name: (m.role, m.joined_on, m.left_on)
        for m in ChapterMembership.objects.filter(person=keep).select_related("chapter")
    }


def test_an_active_membership_of_the_duplicate_beats_one_the_kept_record_left(staff, pair):
    keep, other = pair
    chapter = ChapterFactory(name="上海校友会")
    MembershipFactory(chapter=chapter, person=keep, joined_on=date(2010, 1, 1), left_on=date(2015, 1, 1))
    MembershipFactory(chapter=chapter, person=other, joined_on=date(2018, 1, 1))
    assert _after_merge(staff, keep, other) == {"上海校友会": (Role.MEMBER, date(2018, 1, 1), None)}


def test_the_kept_records_active_membership_survives_a_left_one(staff, pair):
    keep, other = pair
    chapter = ChapterFactory(name="上海校友会")
    MembershipFactory(chapter=chapter, person=keep, joined_on=date(2018, 1, 1))
    MembershipFactory(chapter=chapter, person=other, role=Role.LEADER, left_on=date(2015, 1, 1))
    assert _after_merge(staff, keep, other) == {"上海校友会": (Role.MEMBER, date(2018, 1, 1), None)}


def test_the_higher_role_then_the_earlier_join_wins_between_active_memberships(staff, pair):
    keep, other = pair
    leader, older = ChapterFactory(name="深圳校友会"), ChapterFactory(name="北京校友会")
    MembershipFactory(chapter=leader, person=keep, role=Role.MEMBER, joined_on=date(2010, 1, 1))
    MembershipFactory(chapter=leader, person=other, role=Role.LEADER, joined_on=date(2020, 1, 1))
    MembershipFactory(chapter=older, person=keep, role=Role.OFFICER, joined_on=date(2019, 1, 1))
    MembershipFactory(chapter=older, person=other, role=Role.OFFICER, joined_on=date(2012, 1, 1))
    assert _after_merge(staff, keep, other) == {
        "深圳校友会": (Role.LEADER, date(2020, 1, 1), None),
        "北京校友会": (Role.OFFICER, date(2012, 1, 1), None),
    }
    assert ChapterMembership.objects.count() == 2
