from .models import ADMIN_ROLES, RoleAssignment


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
