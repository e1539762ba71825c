import pytest
from django.contrib.auth.models import Group, Permission
from django.db import IntegrityError, transaction

from apps.accounts import services
from apps.accounts.models import ADMIN_ROLES, Role, RoleAssignment, User
from apps.accounts.services import ROLE_PERMISSIONS
from apps.core.models import AuditEvent
from tests.accounts.factories import UserFactory
from tests.alumni.factories import SchoolClassFactory

pytestmark = pytest.mark.django_db


def _fresh(user: User) -> User:
    # Permission checks cache on the instance; a fresh one sees the database as it is now.
    return User.objects.get(pk=user.pk)


def _group_permission_names(group: Group) -> set[str]:
    return {
        f"{app}.{codename}" for app, codename in group.permissions.values_list("content_type__app_label", "codename")
    }


def test_role_assign_creates_assignment_and_audit_row(office_admin):
    user = UserFactory()
    assignment = services.role_assign(user=user, role=Role.OFFICE_STAFF, actor=office_admin)
    assert RoleAssignment.objects.filter(user=user, role=Role.OFFICE_STAFF).get() == assignment
    event = AuditEvent.objects.get(action="role.assign", target_id=str(assignment.pk))
    assert event.actor == office_admin
    assert event.target_type == "accounts.roleassignment"


def test_role_assign_idempotent(office_admin, college):
    user = UserFactory()
    first = services.role_assign(user=user, role=Role.COLLEGE_STAFF, college=college, actor=office_admin)
    second = services.role_assign(user=user, role=Role.COLLEGE_STAFF, college=college, actor=office_admin)
    assert first.pk == second.pk
    assert RoleAssignment.objects.filter(user=user).count() == 1
    assert AuditEvent.objects.filter(action="role.assign", target_id=str(first.pk)).count() == 1
    assert list(_fresh(user).groups.values_list("name", flat=True)) == [Role.COLLEGE_STAFF]


def test_role_assign_same_role_other_college_is_a_second_assignment(college, other_college):
    user = UserFactory()
    services.role_assign(user=user, role=Role.COLLEGE_STAFF, college=college, actor=None)
    services.role_assign(user=user, role=Role.COLLEGE_STAFF, college=other_college, actor=None)
    assert set(RoleAssignment.objects.filter(user=user).values_list("college_id", flat=True)) == {
        college.pk,
        other_college.pk,
    }


@pytest.mark.parametrize("role", sorted(ADMIN_ROLES))
def test_role_assign_staff_role_opens_admin_with_group_permissions(role, college, school_class):
    binding = {Role.COLLEGE_STAFF: {"college": college}, Role.CLASS_LIAISON: {"school_class": school_class}}
    user = UserFactory()
    assert not user.is_staff
    services.role_assign(user=user, role=role, actor=None, **binding.get(role, {}))
    user = _fresh(user)
    assert user.is_staff
    assert not user.is_superuser
    assert set(user.groups.values_list("name", flat=True)) == {role}
    assert user.get_all_permissions() == set(ROLE_PERMISSIONS[role])


def test_role_assign_alumnus_never_staff():
    user = UserFactory()
    services.role_assign(user=user, role=Role.ALUMNUS, actor=None)
    user = _fresh(user)
    assert not user.is_staff
    assert set(user.groups.values_list("name", flat=True)) == {Role.ALUMNUS}
    assert user.get_all_permissions() == set()


def test_role_assign_alumnus_keeps_staff_member_staff(staff):
    services.role_assign(user=staff, role=Role.ALUMNUS, actor=None)
    staff = _fresh(staff)
    assert staff.is_staff
    assert set(staff.groups.values_list("name", flat=True)) == {Role.OFFICE_STAFF, Role.ALUMNUS}


def test_role_permissions_office_admin_manages_users_college_staff_does_not(office_admin, college_staff, alumnus):
    assert office_admin.has_perm("accounts.change_user")
    assert office_admin.has_perm("alumni.view_id_number")
    assert not college_staff.has_perm("accounts.view_user")
    assert not college_staff.has_perm("alumni.delete_person")
    assert not college_staff.has_perm("alumni.view_id_number")
    assert college_staff.has_perm("alumni.change_person")
    assert not alumnus.has_perm("alumni.view_person")


def test_role_revoke_removes_access_and_is_audited(office_admin, college_staff):
    assignment = RoleAssignment.objects.get(user=college_staff)
    assignment_pk = assignment.pk
    services.role_revoke(assignment=assignment, actor=office_admin)
    user = _fresh(college_staff)
    assert not RoleAssignment.objects.filter(pk=assignment_pk).exists()
    assert not user.is_staff
    assert not user.groups.exists()
    assert user.get_all_permissions() == set()
    event = AuditEvent.objects.get(action="role.revoke")
    assert event.actor == office_admin
    assert event.target_id == str(assignment_pk)


def test_role_revoke_one_of_two_roles_keeps_the_other(college):
    user = UserFactory()
    kept = services.role_assign(user=user, role=Role.OFFICE_STAFF, actor=None)
    dropped = services.role_assign(user=user, role=Role.COLLEGE_STAFF, college=college, actor=None)
    services.role_revoke(assignment=dropped, actor=None)
    user = _fresh(user)
    assert list(RoleAssignment.objects.filter(user=user)) == [kept]
    assert user.is_staff
    assert set(user.groups.values_list("name", flat=True)) == {Role.OFFICE_STAFF}


def test_role_revoke_superuser_stays_staff():
    user = UserFactory(is_superuser=True, is_staff=True)
    assignment = services.role_assign(user=user, role=Role.OFFICE_STAFF, actor=None)
    services.role_revoke(assignment=assignment, actor=None)
    assert _fresh(user).is_staff


def test_role_assignment_college_staff_without_college_rejected_by_database():
    user = UserFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        RoleAssignment.objects.create(user=user, role=Role.COLLEGE_STAFF)
    assert not RoleAssignment.objects.filter(user=user).exists()


def test_role_assignment_liaison_without_class_rejected_by_database():
    user = UserFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        RoleAssignment.objects.create(user=user, role=Role.CLASS_LIAISON)


def test_role_assign_college_staff_without_college_rejected_by_service():
    user = UserFactory()
    with pytest.raises(IntegrityError):
        services.role_assign(user=user, role=Role.COLLEGE_STAFF, actor=None)
    # The service's transaction rolled back: no audit row and no access.
    assert not AuditEvent.objects.filter(action="role.assign").exists()
    assert not _fresh(user).is_staff


def test_role_assignment_duplicate_plain_rejected_by_database():
    user = UserFactory()
    RoleAssignment.objects.create(user=user, role=Role.OFFICE_STAFF)
    with pytest.raises(IntegrityError), transaction.atomic():
        RoleAssignment.objects.create(user=user, role=Role.OFFICE_STAFF)
    assert RoleAssignment.objects.filter(user=user).count() == 1


def test_role_assignment_duplicate_college_rejected_by_database(college):
    user = UserFactory()
    RoleAssignment.objects.create(user=user, role=Role.COLLEGE_STAFF, college=college)
    with pytest.raises(IntegrityError), transaction.atomic():
        RoleAssignment.objects.create(user=user, role=Role.COLLEGE_STAFF, college=college)


def test_role_assignment_duplicate_class_rejected_by_database(college):
    school_class = SchoolClassFactory(college=college)
    user = UserFactory()
    RoleAssignment.objects.create(user=user, role=Role.CLASS_LIAISON, school_class=school_class)
    with pytest.raises(IntegrityError), transaction.atomic():
        RoleAssignment.objects.create(user=user, role=Role.CLASS_LIAISON, school_class=school_class)


def test_role_permissions_name_existing_permissions():
    # role_groups_sync skips unknown names silently, so a typo would quietly drop a right.
    existing = {
        f"{app}.{codename}" for app, codename in Permission.objects.values_list("content_type__app_label", "codename")
    }
    for role, names in ROLE_PERMISSIONS.items():
        assert set(names) <= existing, role


def test_role_groups_exist_after_migrate_with_listed_permissions():
    for role in Role:
        group = Group.objects.get(name=role)
        assert _group_permission_names(group) == set(ROLE_PERMISSIONS[role])


def test_role_groups_sync_restores_tampered_groups(college_staff):
    extra = Permission.objects.get(content_type__app_label="accounts", codename="delete_user")
    college_group = Group.objects.get(name=Role.COLLEGE_STAFF)
    college_group.permissions.add(extra)
    Group.objects.get(name=Role.OFFICE_STAFF).permissions.clear()
    Group.objects.filter(name=Role.CLASS_LIAISON).delete()
    assert _fresh(college_staff).has_perm("accounts.delete_user")

    services.role_groups_sync()

    for role in Role:
        assert _group_permission_names(Group.objects.get(name=role)) == set(ROLE_PERMISSIONS[role])
    assert Group.objects.get(name=Role.COLLEGE_STAFF).pk == college_group.pk
    assert not _fresh(college_staff).has_perm("accounts.delete_user")
    assert _fresh(college_staff).has_perm("alumni.view_person")


def test_user_access_sync_follows_direct_assignment_edits(college):
    user = UserFactory()
    RoleAssignment.objects.create(user=user, role=Role.COLLEGE_STAFF, college=college)
    assert not _fresh(user).is_staff
    services.user_access_sync(user=user)
    user = _fresh(user)
    assert user.is_staff
    assert set(user.groups.values_list("name", flat=True)) == {Role.COLLEGE_STAFF}
    RoleAssignment.objects.filter(user=user).delete()
    services.user_access_sync(user=user)
    user = _fresh(user)
    assert not user.is_staff
    assert not user.groups.exists()
