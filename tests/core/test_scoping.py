import pytest
from django.contrib.auth.models import AnonymousUser

from apps.accounts import services as account_services
from apps.accounts.models import Role, RoleAssignment
from apps.core.scoping import NOTHING, Scope, forget_scope, scope_for
from tests.accounts.factories import UserFactory
from tests.alumni.factories import CollegeFactory, SchoolClassFactory

pytestmark = pytest.mark.django_db


def test_scope_for_office_admin_whole_school(office_admin):
    scope = scope_for(office_admin)
    assert scope == Scope(whole_school=True)
    assert scope.governs_anything


def test_scope_for_office_staff_whole_school(staff):
    assert scope_for(staff) == Scope(whole_school=True)


def test_scope_for_college_staff_own_college_only(college_staff, college, other_college):
    scope = scope_for(college_staff)
    assert not scope.whole_school
    assert scope.college_ids == frozenset({college.pk})
    assert other_college.pk not in scope.college_ids
    assert scope.class_ids == frozenset()
    assert scope.chapter_ids == frozenset()
    assert scope.governs_anything


def test_scope_for_liaison_own_class_only(liaison, school_class):
    scope = scope_for(liaison)
    assert not scope.whole_school
    assert scope.class_ids == frozenset({school_class.pk})
    # The class belongs to a college, but a liaison does not govern the whole college.
    assert scope.college_ids == frozenset()


def test_scope_for_chapter_leader_governs_nothing_until_chapters_exist(chapter_leader):
    # Chapters are not modelled yet, so the role carries no ids (see ROLE_SCOPE_FIELDS).
    assert scope_for(chapter_leader) == NOTHING
    assert not scope_for(chapter_leader).governs_anything


def test_scope_for_alumnus_nothing(alumnus):
    assert scope_for(alumnus) == NOTHING


def test_scope_for_anonymous_and_none_nothing():
    assert scope_for(AnonymousUser()) == NOTHING
    assert scope_for(None) == NOTHING


def test_scope_for_user_without_roles_nothing():
    assert scope_for(UserFactory()) == NOTHING


def test_scope_for_inactive_user_nothing(office_admin, college_staff):
    for user in (office_admin, college_staff):
        user.is_active = False
        user.save(update_fields=["is_active"])
        user.refresh_from_db()
        assert scope_for(user) == NOTHING


def test_scope_for_inactive_superuser_nothing():
    user = UserFactory(is_superuser=True, is_staff=True, is_active=False)
    assert scope_for(user) == NOTHING


def test_scope_for_superuser_whole_school_without_roles():
    user = UserFactory(is_superuser=True, is_staff=True)
    assert not RoleAssignment.objects.filter(user=user).exists()
    assert scope_for(user) == Scope(whole_school=True)


def test_scope_for_multiple_colleges(college, other_college):
    third = CollegeFactory()
    user = UserFactory()
    for target in (college, other_college):
        account_services.role_assign(user=user, role=Role.COLLEGE_STAFF, college=target, actor=None)
    scope = scope_for(user)
    assert scope.college_ids == frozenset({college.pk, other_college.pk})
    assert third.pk not in scope.college_ids


def test_scope_for_mixed_college_and_class_roles(college, other_college):
    school_class = SchoolClassFactory(college=other_college)
    user = UserFactory()
    account_services.role_assign(user=user, role=Role.COLLEGE_STAFF, college=college, actor=None)
    account_services.role_assign(user=user, role=Role.CLASS_LIAISON, school_class=school_class, actor=None)
    assert scope_for(user) == Scope(college_ids=frozenset({college.pk}), class_ids=frozenset({school_class.pk}))


def test_scope_for_whole_school_role_wins_over_college_role(college):
    user = UserFactory()
    account_services.role_assign(user=user, role=Role.COLLEGE_STAFF, college=college, actor=None)
    account_services.role_assign(user=user, role=Role.OFFICE_STAFF, actor=None)
    assert scope_for(user) == Scope(whole_school=True)


def test_scope_for_cached_on_user_object(college_staff, django_assert_num_queries):
    scope_for(college_staff)
    with django_assert_num_queries(0):
        assert scope_for(college_staff).college_ids


def test_scope_for_forgotten_after_role_assign(college, other_college):
    user = UserFactory()
    account_services.role_assign(user=user, role=Role.COLLEGE_STAFF, college=college, actor=None)
    assert scope_for(user).college_ids == frozenset({college.pk})
    account_services.role_assign(user=user, role=Role.COLLEGE_STAFF, college=other_college, actor=None)
    assert scope_for(user).college_ids == frozenset({college.pk, other_college.pk})


def test_scope_for_forgotten_after_role_revoke(college_staff, college):
    assert scope_for(college_staff).college_ids == frozenset({college.pk})
    assignment = RoleAssignment.objects.get(user=college_staff)
    assignment.user = college_staff  # the service forgets the scope of the instance it is given
    account_services.role_revoke(assignment=assignment, actor=None)
    assert scope_for(college_staff) == NOTHING


def test_forget_scope_recomputes_after_direct_change(college, other_college):
    user = UserFactory()
    account_services.role_assign(user=user, role=Role.COLLEGE_STAFF, college=college, actor=None)
    assert scope_for(user).college_ids == frozenset({college.pk})
    RoleAssignment.objects.create(user=user, role=Role.COLLEGE_STAFF, college=other_college)
    # Cached until forgotten: the cache lives on the user object for one request.
    assert scope_for(user).college_ids == frozenset({college.pk})
    forget_scope(user)
    assert scope_for(user).college_ids == frozenset({college.pk, other_college.pk})
