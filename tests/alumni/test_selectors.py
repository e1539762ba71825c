"""Reads: who sees which people (visible_people), how a search term finds them, contact-rate rows."""

import pytest

from apps.accounts.models import Role
from apps.alumni import services
from apps.alumni.models import Enrollment, Person
from apps.alumni.selectors import (
    contact_rate_list,
    person_search,
    person_search_terms,
    visible_enrollments,
    visible_people,
)
from tests.alumni.factories import (
    ContactChannelFactory,
    EnrollmentFactory,
    PersonFactory,
    SchoolClassFactory,
    alumnus_in,
    user_with_role,
)

pytestmark = pytest.mark.django_db


def _names(queryset) -> set[str]:
    return set(queryset.values_list("name", flat=True))


# --- visible_people -----------------------------------------------------------------------


@pytest.fixture
def people(college, other_college, school_class):
    """One person per situation the scope rules distinguish, named after it."""
    classmate = PersonFactory(name="同班")
    EnrollmentFactory(person=classmate, college=college, school_class=school_class)
    same_college = alumnus_in(college, name="同院")
    elsewhere = alumnus_in(other_college, name="外院")
    both = alumnus_in(other_college, name="双学位")
    EnrollmentFactory(person=both, college=college, degree_level=Enrollment.DegreeLevel.MASTER)
    no_degree = PersonFactory(name="无学籍")
    return classmate, same_college, elsewhere, both, no_degree


def test_visible_people_office_staff_sees_everyone(staff, office_admin, people):
    assert _names(visible_people(staff)) == {"同班", "同院", "外院", "双学位", "无学籍"}
    assert _names(visible_people(office_admin)) == {"同班", "同院", "外院", "双学位", "无学籍"}


def test_visible_people_college_staff_sees_own_college_once(college_staff, people):
    visible = visible_people(college_staff)
    assert _names(visible) == {"同班", "同院", "双学位"}
    assert visible.count() == 3  # the person with two degrees in the college is not doubled


def test_visible_people_two_colleges_staff_each_see_shared_person(college_staff, other_college, people):
    other_staff = user_with_role(Role.COLLEGE_STAFF, college=other_college)
    assert _names(visible_people(other_staff)) == {"外院", "双学位"}
    assert "双学位" in _names(visible_people(college_staff))


def test_visible_people_liaison_sees_only_own_class(liaison, college, people):
    SchoolClassFactory(college=college, name="计算机2011级2班")
    assert _names(visible_people(liaison)) == {"同班"}


@pytest.mark.parametrize("role_fixture", ["alumnus", "chapter_leader"])
def test_visible_people_without_scope_is_empty(request, people, role_fixture):
    user = request.getfixturevalue(role_fixture)
    assert not visible_people(user).exists()
    assert not visible_enrollments(user).exists()


def test_visible_people_anonymous_and_inactive_see_nothing(college_staff, people):
    from django.contrib.auth.models import AnonymousUser

    assert not visible_people(AnonymousUser()).exists()
    assert not visible_people(None).exists()
    college_staff.is_active = False
    assert not visible_people(college_staff).exists()


def test_visible_enrollments_follow_visible_people(college_staff, people):
    classmate, same_college, _elsewhere, both, _no_degree = people
    visible = set(visible_enrollments(college_staff))
    # The shared person's degree at the other college comes along with the person.
    assert visible == set(Enrollment.objects.filter(person__in=[classmate, same_college, both]))


# --- person_search ------------------------------------------------------------------------


@pytest.fixture
def directory(college):
    """People with hand-picked names, so no generated name can match a search by accident."""
    zhang = alumnus_in(college, name="张伟")
    EnrollmentFactory(person=zhang, college=college, student_id="2019880001", degree_level="master")
    ContactChannelFactory(person=zhang, value="13800138000")
    ContactChannelFactory(person=zhang, kind="email", value="Zhang.Wei@Example.COM")
    zhao = alumnus_in(college, name="赵伟")
    ContactChannelFactory(person=zhao, kind="landline", value="010-6275 1234")
    li = alumnus_in(college, name="李娜")
    ContactChannelFactory(person=li, value="+86 139-1234-5678")
    return {"张伟": zhang, "赵伟": zhao, "李娜": li}


def _search(term: str) -> set[str]:
    return _names(person_search(Person.objects.all(), term))


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("zhangwei", {"张伟"}),
        ("ZhangWei", {"张伟"}),
        ("zhang wei", {"张伟"}),
        ("ｚｈａｎｇｗｅｉ", {"张伟"}),
        ("zhang", {"张伟"}),
        ("zw", {"张伟", "赵伟"}),  # initials are ambiguous by nature
        ("ZW", {"张伟", "赵伟"}),
        ("lina", {"李娜"}),
    ],
)
def test_person_search_pinyin_and_initials(directory, term, expected):
    assert _search(term) == expected


@pytest.mark.parametrize(
    ("term", "expected"), [("张伟", {"张伟"}), ("張偉", {"张伟"}), ("张", {"张伟"}), ("李", {"李娜"})]
)
def test_person_search_chinese_name_prefix_in_any_script(directory, term, expected):
    assert _search(term) == expected


@pytest.mark.parametrize("term", ["2019880001", "201988", "２０１９８８０００１", "２０１９８８"])
def test_person_search_student_id_prefix_in_any_width(directory, term):
    assert _search(term) == {"张伟"}


@pytest.mark.parametrize(
    "term",
    [
        "13800138000",
        "+86 138-0013-8000",
        "+8613800138000",
        "0086 138 0013 8000",
        "138-0013-8000",
        "１３８００１３８０００",
    ],
)
def test_person_search_mobile_in_any_format(directory, term):
    assert _search(term) == {"张伟"}


def test_person_search_finds_phone_stored_with_formatting(directory):
    assert _search("13912345678") == {"李娜"}
    assert _search("010-62751234") == {"赵伟"}


@pytest.mark.parametrize("term", ["zhang.wei@example.com", "ZHANG.WEI@EXAMPLE.COM", "Zhang.Wei@Example.COM"])
def test_person_search_email_in_any_case(directory, term):
    assert _search(term) == {"张伟"}


@pytest.mark.parametrize("term", ["qianduoduo", "qdd", "钱多多", "19999999", "nobody@example.com", "2019889"])
def test_person_search_non_matching_term_finds_nothing(directory, term):
    assert _search(term) == set()


def test_person_search_blank_term_keeps_queryset(directory):
    assert _search("  ") == {"张伟", "赵伟", "李娜"}


def test_person_search_narrows_the_given_queryset(directory, other_college):
    elsewhere = alumnus_in(other_college, name="张伟")
    in_college = Person.objects.exclude(pk=elsewhere.pk)
    assert set(person_search(in_college, "zhangwei")) == {directory["张伟"]}
    assert set(person_search(Person.objects.all(), "zhangwei")) == {directory["张伟"], elsewhere}


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("+86 138 0013 8000", ["+86 138 0013 8000"]),
        ("138-0013-8000", ["138-0013-8000"]),
        ("zhang wei", ["zhang wei"]),
        ("张伟　2019880001", ["张伟", "2019880001"]),  # ideographic space
        ("张伟 zw", ["张伟", "zw"]),
        ("   ", []),
    ],
)
def test_person_search_terms_split_search_box(text, terms):
    assert person_search_terms(text) == terms


# --- contact_rate_list --------------------------------------------------------------------


def test_contact_rate_list_scoped_to_user_colleges(staff, college_staff, liaison, college, other_college):
    alumnus_in(college)
    alumnus_in(other_college)
    services.contact_rate_refresh()
    assert {(r.college_id, r.graduation_year) for r in contact_rate_list(staff)} == {
        (college.pk, 2015),
        (college.pk, None),
        (other_college.pk, 2015),
        (other_college.pk, None),
        (None, None),
    }
    assert {(r.college_id, r.graduation_year) for r in contact_rate_list(college_staff)} == {
        (college.pk, 2015),
        (college.pk, None),
    }
    assert not contact_rate_list(liaison).exists()
