"""Turn a user's roles into the ids they govern. The only place that knows how roles scope data.

This module knows ids only; each domain app applies a scope in its own ``visible_<plural>(user)``
selector. A later app that adds a governed kind of object (chapters, say) adds its role to
``ROLE_SCOPE_FIELDS`` and a field of the same name to ``RoleAssignment``.
"""

from dataclasses import dataclass

from django.apps import apps

WHOLE_SCHOOL_ROLES = frozenset({"office_admin", "office_staff"})

# role -> (Scope attribute, RoleAssignment attribute holding the governed id)
ROLE_SCOPE_FIELDS: dict[str, tuple[str, str]] = {
    "college_staff": ("college_ids", "college_id"),
    "class_liaison": ("class_ids", "school_class_id"),
}

_CACHE_ATTR = "_alumni_scope"


@dataclass(frozen=True)
class Scope:
    whole_school: bool = False
    college_ids: frozenset[int] = frozenset()
    class_ids: frozenset[int] = frozenset()
    chapter_ids: frozenset[int] = frozenset()

    @property
    def governs_anything(self) -> bool:
        return self.whole_school or bool(self.college_ids or self.class_ids or self.chapter_ids)


NOTHING = Scope()


def scope_for(user) -> Scope:
    """The ids ``user`` governs through active role assignments; empty for anonymous users."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return NOTHING
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    scope = _compute(user)
    setattr(user, _CACHE_ATTR, scope)
    return scope


def forget_scope(user) -> None:
    """Drop the per-object cache after a user's roles change."""
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def _compute(user) -> Scope:
    if user.is_superuser:
        return Scope(whole_school=True)
    assignment_model = apps.get_model("accounts", "RoleAssignment")
    ids: dict[str, set[int]] = {"college_ids": set(), "class_ids": set(), "chapter_ids": set()}
    whole_school = False
    for assignment in assignment_model.objects.filter(user=user):
        if assignment.role in WHOLE_SCHOOL_ROLES:
            whole_school = True
            continue
        target = ROLE_SCOPE_FIELDS.get(assignment.role)
        if target is None:
            continue
        value = getattr(assignment, target[1], None)
        if value is not None:
            ids[target[0]].add(value)
    if whole_school:
        return Scope(whole_school=True)
    return Scope(**{name: frozenset(values) for name, values in ids.items()})
