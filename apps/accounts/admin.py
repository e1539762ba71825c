from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.sessions.models import Session
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from apps.core import audit

from . import services
from .models import RoleAssignment, User


class RoleAssignmentInline(admin.TabularInline):
    model = RoleAssignment
    extra = 0
    fields = ["role", "college", "school_class"]
    autocomplete_fields = ["college", "school_class"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "display_name", "is_staff", "is_active", "last_login"]
    search_fields = ["email", "display_name"]
    readonly_fields = ["last_login", "date_joined", "is_staff"]
    inlines = [RoleAssignmentInline]
    actions = ["end_sessions"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (_("Personal info"), {"fields": ["display_name", "first_name", "last_name"]}),
        (_("Access"), {"fields": ["is_active", "is_staff", "is_superuser"]}),
        (_("Important dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]
    filter_horizontal = []
    list_filter = ["is_staff", "is_active", "role_assignments__role"]

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            # Only a superuser may create another: office admins work through roles.
            readonly.append("is_superuser")
        return readonly

    def save_formset(self, request, form, formset, change):
        if formset.model is not RoleAssignment:
            return super().save_formset(request, form, formset, change)
        # Role changes go through the services, so each one is audited.
        for assignment in formset.save(commit=False):
            if assignment.pk is None:
                services.role_assign(
                    user=form.instance,
                    role=assignment.role,
                    college=assignment.college,
                    school_class=assignment.school_class,
                    actor=request.user,
                )
            else:
                assignment.save()
                audit.record(actor=request.user, action="role.update", target=assignment)
        for assignment in formset.deleted_objects:
            services.role_revoke(assignment=assignment, actor=request.user)
        return None

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # Groups and admin access follow the role assignments just edited.
        services.user_access_sync(user=form.instance)

    @admin.action(description=_("End all sessions of the selected users"))
    def end_sessions(self, request, queryset):
        ids = {str(pk) for pk in queryset.values_list("pk", flat=True)}
        ended = 0
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
            if session.get_decoded().get("_auth_user_id") in ids:
                session.delete()
                ended += 1
        self.message_user(request, ngettext("%(n)d session ended.", "%(n)d sessions ended.", ended) % {"n": ended})
