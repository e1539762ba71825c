"""No page or endpoint shows another person's hidden field: every group x level x relation, field by field."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.alumni.models import ContactChannel, Visibility
from apps.portal import selectors
from tests.alumni.factories import (
    CollegeFactory,
    ContactChannelFactory,
    EmploymentFactory,
    EnrollmentFactory,
    PersonFactory,
    SchoolClassFactory,
)

from .factories import ChapterFactory, MembershipFactory

pytestmark = pytest.mark.django_db

TARGET_NAME = "欧阳目标"
SECRETS = {
    "contacts": ["secret-target@example.com", "13912345678"],
    "employment": ["秘密科技有限公司", "首席保密官"],
    "location": ["保密城"],
}
ADDRESS = "保密路1号"  # never shown to other alumni, whatever the settings
GROUP_FIELD = {"contacts": "privacy_contacts", "employment": "privacy_employment", "location": "privacy_location"}
RELATIONS = ["stranger", "classmate", "chaptermate"]
# Which relations may see a group at each level (levels include the ones before them).
SEES = {
    Visibility.OFFICE: set(),
    Visibility.CLASSMATES: {"classmate"},
    Visibility.CHAPTERS: {"classmate", "chaptermate"},
    Visibility.VERIFIED_ALUMNI: {"stranger", "classmate", "chaptermate"},
}


def _world(viewer, *, relation: str, group: str, level: str):
    """The viewer in a class and a chapter; a listed target related to them as ``relation``, with
    every group at "office" except ``group`` at ``level``."""
    college = CollegeFactory()
    school_class = SchoolClassFactory(college=college)
    EnrollmentFactory(person=viewer, college=college, school_class=school_class)
    chapter = ChapterFactory()
    MembershipFactory(chapter=chapter, person=viewer)
    levels = dict.fromkeys(GROUP_FIELD.values(), Visibility.OFFICE)
    levels[GROUP_FIELD[group]] = level
    target = PersonFactory(name=TARGET_NAME, city=SECRETS["location"][0], show_in_directory=True, **levels)
    if relation == "classmate":
        EnrollmentFactory(person=target, college=college, school_class=school_class)
    else:
        # Same college and year, another class: still not a classmate.
        EnrollmentFactory(person=target, college=college, school_class=SchoolClassFactory(college=college))
    if relation == "chaptermate":
        MembershipFactory(chapter=chapter, person=target)
    else:
        MembershipFactory(person=target)  # a chapter of their own
    ContactChannelFactory(person=target, kind=ContactChannel.Kind.EMAIL, value=SECRETS["contacts"][0])
    ContactChannelFactory(person=target, kind=ContactChannel.Kind.MOBILE, value=SECRETS["contacts"][1])
    ContactChannelFactory(person=target, kind=ContactChannel.Kind.ADDRESS, value=ADDRESS)
    EmploymentFactory(person=target, organisation=SECRETS["employment"][0], title=SECRETS["employment"][1])
    return target


def _assert_text(text: str, visible: set[str], where: str) -> None:
    assert ADDRESS not in text, where
    for group, values in SECRETS.items():
        for value in values:
            if group in visible:
                assert value in text, (where, group, value)
            else:
                assert value not in text, (where, group, value)


@pytest.mark.parametrize("relation", RELATIONS)
@pytest.mark.parametrize("level", Visibility.values)
@pytest.mark.parametrize("group", list(GROUP_FIELD))
def test_privacy_every_group_level_and_relation(client, api_client, viewer, group, level, relation):
    target = _world(viewer, relation=relation, group=group, level=level)
    visible = {group} if relation in SEES[level] else set()

    # Selector
    entry = selectors.directory_entry(viewer, target.pk)
    assert entry.visible == frozenset(visible)
    assert (entry.contacts is not None) == ("contacts" in visible)
    assert (entry.employer is not None) == ("employment" in visible)
    assert (entry.title is not None) == ("employment" in visible)
    assert (entry.city is not None) == ("location" in visible)
    assert selectors.visible_fields(viewer, target) == frozenset(visible)

    # API: search by name, field by field and in the raw body
    api_client.force_authenticate(viewer.user)
    response = api_client.get(reverse("api-directory"), {"q": TARGET_NAME})
    assert response.status_code == 200
    [result] = [r for r in response.json()["results"] if r["id"] == target.pk]
    assert (result["contacts"] is not None) == ("contacts" in visible)
    assert (result["employer"] is not None) == ("employment" in visible)
    assert (result["title"] is not None) == ("employment" in visible)
    assert (result["city"] is not None) == ("location" in visible)
    assert set(result["visible"]) == visible
    if "contacts" in visible:
        assert {c["value"] for c in result["contacts"]} == set(SECRETS["contacts"])
    _assert_text(response.content.decode(), visible, "api")

    # API: filters on a hidden field find nobody (a search must not reveal it either)
    by_city = api_client.get(reverse("api-directory"), {"city": SECRETS["location"][0]}).json()["results"]
    assert ([r["id"] for r in by_city] == [target.pk]) == ("location" in visible)
    by_employer = api_client.get(reverse("api-directory"), {"employer": "秘密科技"}).json()["results"]
    assert ([r["id"] for r in by_employer] == [target.pk]) == ("employment" in visible)

    # Pages: the directory results and the person's page
    client.force_login(viewer.user)
    page = client.get(reverse("portal:directory"), {"q": TARGET_NAME})
    assert page.status_code == 200
    assert TARGET_NAME in page.content.decode()
    _assert_text(page.content.decode(), visible, "directory page")
    fragment = client.get(reverse("portal:directory"), {"q": TARGET_NAME}, HTTP_HX_REQUEST="true")
    assert "<html" not in fragment.content.decode()
    _assert_text(fragment.content.decode(), visible, "htmx fragment")
    detail = client.get(reverse("portal:directory-person", args=[target.pk]))
    assert detail.status_code == 200
    _assert_text(detail.content.decode(), visible, "person page")
    city_page = client.get(reverse("portal:directory"), {"city": SECRETS["location"][0]})
    assert (TARGET_NAME in city_page.content.decode()) == ("location" in visible)


def test_privacy_defaults_are_the_most_private(viewer):
    person = PersonFactory()
    assert (person.privacy_contacts, person.privacy_employment, person.privacy_location) == ("office",) * 3
    assert person.show_in_directory is False


def _pair(viewer, **membership):
    chapter = ChapterFactory(is_active=membership.pop("chapter_active", True))
    MembershipFactory(chapter=chapter, person=viewer, left_on=membership.pop("viewer_left", None))
    target = PersonFactory(name=TARGET_NAME, show_in_directory=True, privacy_location=Visibility.CHAPTERS)
    MembershipFactory(chapter=chapter, person=target, left_on=membership.pop("target_left", None))
    return target


def test_privacy_active_chapter_membership_counts(viewer):
    target = _pair(viewer)
    assert selectors.visible_fields(viewer, target) == {"location"}


@pytest.mark.parametrize(
    "membership",
    [
        {"viewer_left": timezone.localdate() - timedelta(days=1)},
        {"target_left": timezone.localdate() - timedelta(days=30)},
        {"chapter_active": False},
    ],
    ids=["viewer-left", "target-left", "inactive-chapter"],
)
def test_privacy_former_or_inactive_chapter_does_not_count(viewer, membership):
    target = _pair(viewer, **membership)
    assert selectors.visible_fields(viewer, target) == frozenset()
    assert selectors.directory_entry(viewer, target.pk).city is None


def test_privacy_levels_include_earlier_ones_for_classmates(viewer):
    school_class = SchoolClassFactory()
    EnrollmentFactory(person=viewer, college=school_class.college, school_class=school_class)
    target = PersonFactory(
        show_in_directory=True,
        privacy_contacts=Visibility.CHAPTERS,
        privacy_employment=Visibility.VERIFIED_ALUMNI,
        privacy_location=Visibility.CLASSMATES,
    )
    EnrollmentFactory(person=target, college=school_class.college, school_class=school_class)
    assert selectors.visible_fields(viewer, target) == {"contacts", "employment", "location"}


@pytest.mark.parametrize(
    "hidden", [{"show_in_directory": False}, {"is_deceased": True}], ids=["not-listed", "deceased"]
)
def test_privacy_only_listed_living_people_appear(api_client, client, viewer, hidden):
    target = PersonFactory(
        name=TARGET_NAME, privacy_contacts=Visibility.VERIFIED_ALUMNI, **{"show_in_directory": True, **hidden}
    )
    api_client.force_authenticate(viewer.user)
    assert api_client.get(reverse("api-directory"), {"q": TARGET_NAME}).json()["results"] == []
    client.force_login(viewer.user)
    assert client.get(reverse("portal:directory-person", args=[target.pk])).status_code == 404
    assert client.get(reverse("portal:message-compose", args=[target.pk])).status_code == 404
    assert selectors.directory_entry(viewer, target.pk) is None


def test_privacy_directory_never_searches_contacts(api_client, viewer):
    """Digits and addresses are not search terms: a phone search must not reveal whose phone it is."""
    target = PersonFactory(name=TARGET_NAME, show_in_directory=True)
    ContactChannelFactory(person=target, kind=ContactChannel.Kind.MOBILE, value="13912345678")
    EnrollmentFactory(person=target, student_id="2011990001")
    api_client.force_authenticate(viewer.user)
    for term in ["13912345678", "2011990001", "secret@example.com"]:
        assert api_client.get(reverse("api-directory"), {"q": term}).json()["results"] == [], term


def test_privacy_my_data_is_complete_for_me(viewer):
    ContactChannelFactory(person=viewer, kind=ContactChannel.Kind.ADDRESS, value=ADDRESS)
    data = selectors.my_data(viewer)
    assert ADDRESS in json.dumps(data, ensure_ascii=False)
    assert selectors.visible_fields(viewer, viewer) == {"contacts", "employment", "location"}
