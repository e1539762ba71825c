from importlib import import_module

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from apps.core import audit
from apps.core.errors import ApplicationError

from . import services
from .claim.services import claim_approve, claim_reject
from .models import ClaimRequest, RoleAssignment, User
from .selectors import visible_claims


class RoleAssignmentInline(admin.TabularInline):
    model = RoleAssignment
    extra = 0
    fields = ["role", "college", "school_class"]
    autocomplete_fields = ["college", "school_class"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "phone", "display_name", "is_staff", "is_active", "last_login"]
    search_fields = ["email", "phone", "display_name"]
    readonly_fields = ["last_login", "date_joined", "is_staff"]
    inlines = [RoleAssignmentInline]
    actions = ["end_sessions"]
    fieldsets = [
        (None, {"fields": ["email", "phone", "phone_verified", "password"]}),
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
                # Through the session engine, so a cached copy (cached_db sessions) goes too.
                _session_store()(session_key=session.session_key).delete()
                ended += 1
        self.message_user(request, ngettext("%(n)d session ended.", "%(n)d sessions ended.", ended) % {"n": ended})


class ClaimStatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("open", _("Open (code or review)")), *ClaimRequest.Status.choices]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(status__in=ClaimRequest.OPEN_STATUSES)
        if self.value():
            return queryset.filter(status=self.value())
        return queryset


@admin.register(ClaimRequest)
class ClaimRequestAdmin(admin.ModelAdmin):
    """Staff review of record claims; office staff see all, college staff their colleges' claims."""

    list_display = ["created_at", "name", "user", "status", "outcome", "matched_person", "student_id", "college"]
    list_filter = [ClaimStatusFilter, "outcome"]
    list_select_related = ["user", "matched_person", "college"]
    search_fields = ["name", "student_id"]
    date_hierarchy = "created_at"
    autocomplete_fields = ["matched_person"]
    actions = ["approve_claims", "reject_claims"]
    fieldsets = [
        (_("Evidence given"), {"fields": ["user", "name", "birth_date", "student_id", "college", "graduation_year"]}),
        (
            _("Matching"),
            {"fields": ["status", "outcome", "matched_person", "channel", "code_sent_at", "code_attempts"]},
        ),
        (_("Decision"), {"fields": ["review_note", "decided_by", "decided_at", "ip_address", "created_at"]}),
    ]
    readonly_fields = [
        "user",
        "name",
        "birth_date",
        "student_id",
        "college",
        "graduation_year",
        "status",
        "outcome",
        "channel",
        "code_sent_at",
        "code_attempts",
        "decided_by",
        "decided_at",
        "ip_address",
        "created_at",
    ]

    def get_queryset(self, request):
        return visible_claims(request.user).select_related("user", "matched_person", "college")

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and not obj.is_open:
            readonly += ["matched_person", "review_note"]
        return readonly

    def has_add_permission(self, request):
        return False  # claims come from alumni

    def has_delete_permission(self, request, obj=None):
        return False  # the record of who claimed what stays

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "matched_person":
            # Staff may only point a claim at someone they govern (a forged id is a form error).
            from apps.alumni.selectors import visible_people

            kwargs["queryset"] = visible_people(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        old = {name: form.initial.get(name) for name in ("matched_person", "review_note")}
        new = {"matched_person": obj.matched_person_id, "review_note": obj.review_note}
        changes = audit.field_changes(old, new)
        if changes:
            audit.record(actor=request.user, action="claim.update", target=obj, changes=changes)

    def _decide(self, request, queryset, decide, done_message):
        done = 0
        for claim in queryset:
            try:
                decide(claim=claim, actor=request.user)
            except (ValidationError, ApplicationError, PermissionDenied) as exc:
                reason = getattr(exc, "message", None) or "; ".join(getattr(exc, "messages", [])) or _("Not allowed.")
                self.message_user(request, f"{claim}: {reason}", level=messages.WARNING)
            else:
                done += 1
        self.message_user(request, done_message(done))

    @admin.action(description=_("Approve: link the account to the matched alumnus"), permissions=["change"])
    def approve_claims(self, request, queryset):
        self._decide(
            request,
            queryset,
            claim_approve,
            lambda n: ngettext("%(n)d claim approved.", "%(n)d claims approved.", n) % {"n": n},
        )

    @admin.action(description=_("Reject the selected claims"), permissions=["change"])
    def reject_claims(self, request, queryset):
        self._decide(
            request,
            queryset,
            claim_reject,
            lambda n: ngettext("%(n)d claim rejected.", "%(n)d claims rejected.", n) % {"n": n},
        )


def _session_store():
    return import_module(settings.SESSION_ENGINE).SessionStore
