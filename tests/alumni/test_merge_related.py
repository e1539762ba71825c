"""A merge carries the rows other apps own: chapter memberships and consent (a refusal wins)."""

import pytest

from apps.alumni import services
from apps.chapters.models import ChapterMembership
from apps.notifications.models import Consent, ConsentEvent
from apps.notifications.services.consent import consent_set
from tests.alumni.factories import PersonFactory
from tests.portal.factories import ChapterFactory, MembershipFactory


@pytest.fixture
def pair(db):
    return PersonFactory(name="张伟"), PersonFactory(name="张伟")


def test_merge_moves_chapter_memberships_without_doubling(staff, pair):
    keep, other = pair
    shanghai, shenzhen = ChapterFactory(name="上海校友会"), ChapterFactory(name="深圳校友会")
    MembershipFactory(chapter=shanghai, person=keep)
    MembershipFactory(chapter=shanghai, person=other)
    MembershipFactory(chapter=shenzhen, person=other)

    services.person_merge(keep=keep, other=other, actor=staff)

    assert sorted(ChapterMembership.objects.filter(person=keep).values_list("chapter__name", flat=True)) == [
        "上海校友会",
        "深圳校友会",
    ]


def test_merge_keeps_an_unsubscribe_made_on_the_duplicate_and_its_history(staff, pair):
    keep, other = pair
    consent_set(person=keep, channel="email", category="news", granted=True, source="portal")
    consent_set(person=other, channel="email", category="news", granted=False, source="unsubscribe")
    consent_set(person=other, channel="sms", category="events", granted=False, source="portal")

    services.person_merge(keep=keep, other=other, actor=staff)

    answers = {(c.channel, c.category): c.granted for c in Consent.objects.filter(person=keep)}
    assert answers == {("email", "news"): False, ("sms", "events"): False}
    sources = sorted(ConsentEvent.objects.filter(person=keep).values_list("source", flat=True))
    assert sources == ["portal", "portal", "unsubscribe"]
