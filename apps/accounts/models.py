from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from apps.core.models import TimeStampedModel


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)


class User(AbstractUser):
    """A person who signs in: office staff, college staff, liaisons, chapter leaders, alumni."""

    username = None
    email = models.EmailField(_("email address"), unique=True)
    display_name = models.CharField(_("display name"), max_length=100, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.email


class Role(models.TextChoices):
    OFFICE_ADMIN = "office_admin", _("Office administrator")
    OFFICE_STAFF = "office_staff", _("Office staff")
    COLLEGE_STAFF = "college_staff", _("College staff")
    CLASS_LIAISON = "class_liaison", _("Class liaison")
    CHAPTER_LEADER = "chapter_leader", _("Chapter leader")
    ALUMNUS = "alumnus", _("Alumnus")


# Roles that work in the Django admin (alumni use the portal only).
ADMIN_ROLES = frozenset(
    {Role.OFFICE_ADMIN, Role.OFFICE_STAFF, Role.COLLEGE_STAFF, Role.CLASS_LIAISON, Role.CHAPTER_LEADER}
)


class RoleAssignment(TimeStampedModel):
    """A user holds a role, bound to the college or class it governs where the role needs one."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_assignments", verbose_name=_("user"))
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    college = models.ForeignKey(
        "alumni.College", on_delete=models.CASCADE, null=True, blank=True, verbose_name=_("college")
    )
    school_class = models.ForeignKey(
        "alumni.SchoolClass",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        verbose_name=pgettext_lazy("school class", "class"),
    )

    class Meta:
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        constraints = [
            models.CheckConstraint(
                condition=~Q(role="college_staff") | Q(college__isnull=False),
                name="accounts_roleassignment_college_staff_has_college",
            ),
            models.CheckConstraint(
                condition=~Q(role="class_liaison") | Q(school_class__isnull=False),
                name="accounts_roleassignment_liaison_has_class",
            ),
            models.UniqueConstraint(
                fields=["user", "role"],
                condition=Q(college__isnull=True, school_class__isnull=True),
                name="accounts_roleassignment_unique_plain",
            ),
            models.UniqueConstraint(
                fields=["user", "role", "college"],
                condition=Q(college__isnull=False),
                name="accounts_roleassignment_unique_college",
            ),
            models.UniqueConstraint(
                fields=["user", "role", "school_class"],
                condition=Q(school_class__isnull=False),
                name="accounts_roleassignment_unique_class",
            ),
        ]

    def __str__(self) -> str:
        target = self.college or self.school_class
        label = self.get_role_display()
        return f"{label} · {target}" if target else str(label)
