from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from apps.core import audit
from apps.core.errors import ApplicationError
from apps.core.scoping import forget_scope

from .models import ADMIN_ROLES, Role, RoleAssignment, User

# Model-level rights per role; row-level scope comes from apps.core.scoping.
_ALUMNI_MODELS = ["person", "enrollment", "contactchannel", "employment", "honour", "staffnote"]
_REFERENCE_MODELS = ["college", "major", "schoolclass", "tag"]


def _crud(app: str, models: list[str], verbs=("view", "add", "change", "delete")) -> list[str]:
    return [f"{app}.{verb}_{model}" for model in models for verb in verbs]


ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.OFFICE_ADMIN: [
        *_crud("alumni", _ALUMNI_MODELS + _REFERENCE_MODELS),
        "alumni.merge_person",
        "alumni.view_id_number",
        "alumni.view_contactratesnapshot",
        "alumni.view_duplicatepair",
        "alumni.change_duplicatepair",
        "alumni.view_duplicatescan",
        "alumni.add_duplicatescan",
        "alumni.check_identity",
        "core.view_auditevent",
        *_crud("accounts", ["user", "roleassignment"]),
        *_crud("accounts", ["claimrequest"], ("view", "change")),
        "dataservice.export_people",
        *_crud("dataservice", ["recipient", "datarequest"]),
        "dataservice.approve_datarequest",
        "dataservice.view_provisionrecord",
        "dataservice.view_exportjob",
        *_crud("imports", ["importjob"], ("view", "add", "change")),
        *_crud("imports", ["apitoken"], ("view", "add", "change")),
    ],
    Role.OFFICE_STAFF: [
        *_crud("alumni", _ALUMNI_MODELS, ("view", "add", "change")),
        *_crud("alumni", _REFERENCE_MODELS, ("view", "add", "change")),
        "alumni.delete_contactchannel",
        "alumni.delete_employment",
        "alumni.delete_honour",
        "alumni.merge_person",
        "alumni.view_contactratesnapshot",
        "alumni.view_duplicatepair",
        "alumni.change_duplicatepair",
        "alumni.view_duplicatescan",
        "alumni.add_duplicatescan",
        "alumni.check_identity",
        "core.view_auditevent",
        "dataservice.export_people",
        *_crud("dataservice", ["recipient", "datarequest"], ("view", "add", "change")),
        "dataservice.view_provisionrecord",
        "dataservice.view_exportjob",
        *_crud("accounts", ["claimrequest"], ("view", "change")),
        # Rosters name any college, so imports are the office's: college staff get none of these.
        *_crud("imports", ["importjob"], ("view", "add", "change")),
    ],
    Role.COLLEGE_STAFF: [
        "alumni.view_person",
        "alumni.change_person",
        *_crud("alumni", ["enrollment"], ("view", "add", "change")),
        *_crud("alumni", ["contactchannel", "employment", "honour"]),
        *_crud("alumni", ["staffnote"], ("view", "add")),
        *_crud("alumni", _REFERENCE_MODELS, ("view",)),
        "alumni.view_contactratesnapshot",
        # Pairs and checks limited to the people of their colleges; no scans of the whole school.
        "alumni.view_duplicatepair",
        "alumni.change_duplicatepair",
        "alumni.check_identity",
        "dataservice.export_people",
        "dataservice.view_recipient",
        *_crud("dataservice", ["datarequest"], ("view", "add", "change")),
        "dataservice.view_exportjob",
        # Record claims naming their colleges' people (accounts.selectors.visible_claims).
        *_crud("accounts", ["claimrequest"], ("view", "change")),
    ],
    Role.CLASS_LIAISON: [
        "alumni.view_person",
        "alumni.view_enrollment",
        *_crud("alumni", ["contactchannel", "employment"], ("view", "add", "change")),
        *_crud("alumni", _REFERENCE_MODELS, ("view",)),
    ],
    Role.CHAPTER_LEADER: ["alumni.view_person", "alumni.view_enrollment"],
    Role.ALUMNUS: [],
}


def role_groups_sync() -> None:
    """Make one Group per role hold exactly the permissions listed in ROLE_PERMISSIONS."""
    by_name = {
        f"{app_label}.{codename}": pk
        for pk, app_label, codename in Permission.objects.values_list("pk", "content_type__app_label", "codename")
    }
    for role, perm_names in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role)
        group.permissions.set([by_name[name] for name in perm_names if name in by_name])


def role_groups_sync_after_migrate(**kwargs) -> None:
    # Runs after each app's migrations, because permissions appear app by app.
    role_groups_sync()


def _user_access_sync(user: User) -> None:
    roles = set(RoleAssignment.objects.filter(user=user).values_list("role", flat=True))
    user.groups.set(Group.objects.filter(name__in=roles))
    is_staff = user.is_superuser or bool(roles & ADMIN_ROLES)
    if user.is_staff != is_staff:
        user.is_staff = is_staff
        user.save(update_fields=["is_staff"])
    forget_scope(user)
    user.__dict__.pop("_alumni_roles", None)


@transaction.atomic
def role_assign(*, user: User, role: str, actor, college=None, school_class=None) -> RoleAssignment:
    """Give ``user`` a role (idempotent); staff roles open the admin, alumni roles never do."""
    assignment, created = RoleAssignment.objects.get_or_create(
        user=user, role=role, college=college, school_class=school_class
    )
    if created:
        audit.record(actor=actor, action="role.assign", target=assignment)
    _user_access_sync(user)
    return assignment


@transaction.atomic
def role_revoke(*, assignment: RoleAssignment, actor) -> None:
    user = assignment.user
    audit.record(actor=actor, action="role.revoke", target=assignment)
    assignment.delete()
    _user_access_sync(user)


def user_access_sync(*, user: User) -> None:
    """Recompute groups and admin access after assignments were edited in bulk (admin inlines)."""
    _user_access_sync(user)


def user_email_mark_verified(*, user: User) -> None:
    """Record the user's address as verified, for accounts whose address the office vouches for."""
    from allauth.account.models import EmailAddress

    EmailAddress.objects.update_or_create(user=user, email=user.email, defaults={"verified": True, "primary": True})


@transaction.atomic
def claim_link(*, person, user: User, actor, reason: str = ""):
    """Link ``user``'s account to ``person`` and make them an alumnus (idempotent for the same pair).

    A person already linked to another account is never relinked, and an account holds one person:
    both raise ApplicationError (codes ``person_linked`` / ``account_linked``). The link is audited.
    After it, ``hasattr(user, "person")`` is what "verified alumnus" means across the portal.
    """
    from apps.alumni.models import Person

    person = Person.objects.select_for_update().get(pk=person.pk)
    if person.user_id == user.pk:
        return person
    if person.user_id is not None:
        raise ApplicationError(_("This record is already linked to another account."), code="person_linked")
    if Person.objects.filter(user=user).exists():
        raise ApplicationError(_("This account is already linked to a record."), code="account_linked")
    person.user = user
    person.save(update_fields=["user", "updated_at"])
    user._state.fields_cache.pop("person", None)  # so hasattr(user, "person") sees the link
    audit.record(
        actor=actor,
        action="person.link_account",
        target=person,
        changes=[{"field": "user", "old": None, "new": user.pk}],
        reason=reason,
    )
    role_assign(user=user, role=Role.ALUMNUS, actor=actor)
    return person
