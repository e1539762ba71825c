from django.db.models import Q, QuerySet

from apps.core.scoping import scope_for

from .models import ADMIN_ROLES, ClaimRequest, RoleAssignment


def user_roles(user) -> set[str]:
    """The roles a user holds (superusers count as office administrators)."""
    if not getattr(user, "is_authenticated", False):
        return set()
    cached = getattr(user, "_alumni_roles", None)
    if cached is None:
        cached = set(RoleAssignment.objects.filter(user=user).values_list("role", flat=True))
        if user.is_superuser:
            cached.add("office_admin")
        user._alumni_roles = cached
    return cached


def user_has_admin_role(user) -> bool:
    return bool(user_roles(user) & ADMIN_ROLES)


def user_needs_mfa(user, required_roles) -> bool:
    return bool(user_roles(user) & set(required_roles))


def visible_claims(user) -> QuerySet[ClaimRequest]:
    """Record claims a member of staff may review: all for the office; for college staff, claims
    matched to their colleges' people or naming one of their colleges."""
    from apps.alumni.selectors import visible_people

    scope = scope_for(user)
    if scope.whole_school:
        return ClaimRequest.objects.all()
    if not scope.college_ids:
        return ClaimRequest.objects.none()
    people = visible_people(user).values("pk")
    return ClaimRequest.objects.filter(Q(matched_person__in=people) | Q(college_id__in=scope.college_ids))


def claim_current(user) -> ClaimRequest | None:
    """The user's latest claim (open or decided), or None."""
    if not getattr(user, "is_authenticated", False):
        return None
    return ClaimRequest.objects.filter(user=user).order_by("-created_at", "-pk").first()


def user_is_verified_alumnus(user) -> bool:
    """An active account linked to an alumni record (through a confirmed claim or staff approval)."""
    return bool(getattr(user, "is_authenticated", False) and user.is_active and hasattr(user, "person"))
