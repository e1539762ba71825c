"""Demo staff accounts, one per staff role, with a fixed password printed by ``seed_demo``.

For development and demonstrations only: ``seed_demo`` creates them under DEBUG or when asked
explicitly. Existing accounts are left as they are (their passwords too).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count

from apps.accounts.models import Role, RoleAssignment, User
from apps.accounts.services import role_assign, user_email_mark_verified

from ..models import College, Enrollment, SchoolClass
from . import reference as ref

DEMO_PASSWORD = "alumni-demo-2026"  # noqa: S105 - published on purpose: demo accounts only
DEMO_DOMAIN = "demo.alumni.edu"


@dataclass(frozen=True)
class DemoAccount:
    email: str
    role: str
    scope: str  # what the role is bound to, for the printout
    created: bool


@transaction.atomic
def demo_users_ensure(*, password: str = DEMO_PASSWORD) -> list[DemoAccount]:
    """An office admin (also superuser), office staff, staff of 计算机学院 and a liaison of one of
    its classes. Idempotent: existing accounts and their role assignments are kept as they are."""
    accounts = [
        _ensure("admin", "校友办管理员", Role.OFFICE_ADMIN, password, superuser=True),
        _ensure("staff", "校友办工作人员", Role.OFFICE_STAFF, password),
    ]
    college = College.objects.filter(name=ref.COMPUTER_COLLEGE).first()
    if college is not None:
        accounts.append(_ensure("college", "计算机学院校友工作", Role.COLLEGE_STAFF, password, college=college))
        accounts.append(
            _ensure("liaison", "班级联络员", Role.CLASS_LIAISON, password, school_class=lambda: _liaison_class(college))
        )
    return [a for a in accounts if a is not None]


def _ensure(
    local: str, display_name: str, role: str, password: str, *, superuser=False, college=None, school_class=None
) -> DemoAccount | None:
    email = f"{local}@{DEMO_DOMAIN}"
    user = User.objects.filter(email=email).first()
    created = user is None
    if created:
        make = User.objects.create_superuser if superuser else User.objects.create_user
        user = make(email=email, password=password, display_name=display_name)
        # Staff sign in through allauth, which wants a verified address first.
        user_email_mark_verified(user=user)
    assignment = RoleAssignment.objects.filter(user=user, role=role).select_related("college", "school_class").first()
    if assignment is None or (college is not None and assignment.college_id != college.pk):
        if callable(school_class):  # chosen once; kept later even if another class grows bigger
            school_class = school_class()
            if school_class is None:
                return None
        assignment = role_assign(user=user, role=role, actor=None, college=college, school_class=school_class)
    return DemoAccount(
        email=email, role=role, scope=str(assignment.college or assignment.school_class or "全校"), created=created
    )


def _liaison_class(college: College) -> SchoolClass | None:
    """The class of ``college`` with the most people (the one a liaison demo shows best)."""
    top = (
        Enrollment.objects.filter(college=college, school_class__isnull=False)
        .values("school_class")
        .annotate(n=Count("id"))
        .order_by("-n", "school_class")
        .first()
    )
    if top is None:
        return SchoolClass.objects.filter(college=college).order_by("name").first()
    return SchoolClass.objects.get(pk=top["school_class"])
