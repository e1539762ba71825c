from django import forms
from django.contrib import admin, messages
from django.contrib.admin import widgets as admin_widgets
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.core.errors import ApplicationError
from apps.core.names import id_number_is_valid
from apps.core.paginator import EstimatedCountPaginator
from apps.core.scoping import scope_for

from .. import services
from ..models import College, ContactChannel, Employment, Enrollment, Honour, Major, Person, SchoolClass, StaffNote, Tag
from ..selectors import person_search, person_search_terms, visible_people
from .exports import PersonExportMixin
from .filters import (
    CollegeFilter,
    ContactStatusFilter,
    DegreeFilter,
    GraduationYearFilter,
    HonourFilter,
    ProvinceFilter,
)


class AuditedInlineMixin:
    """Inline rows of personal data: scoped through the parent, and audited like the parent."""

    extra = 0
    show_change_link = False

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and (obj is None or _in_scope(request, obj))

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (obj is None or _in_scope(request, obj))


def _in_scope(request, person) -> bool:
    return visible_people(request.user).filter(pk=person.pk).exists()


class EnrollmentInlineForm(forms.ModelForm):
    college_ids: frozenset[int] | None = None  # the colleges the user may assign; None: all

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        college_id = self.instance.college_id
        if self.college_ids is None or college_id is None or college_id in self.college_ids:
            return
        # A shared person's degree at another college: shown and kept as it is, not editable here
        # (otherwise its college, missing from the choices, would fail every save of the page).
        if "college" in self.fields:
            self.fields["college"].queryset = College.objects.filter(pk=college_id)
        for field in self.fields.values():
            field.disabled = True


class EnrollmentInline(AuditedInlineMixin, admin.TabularInline):
    model = Enrollment
    form = EnrollmentInlineForm
    fields = [
        "student_id",
        "degree_level",
        "college",
        "major",
        "school_class",
        "enrollment_year",
        "graduation_year",
        "status",
    ]
    autocomplete_fields = ["major", "school_class"]

    def get_formset(self, request, obj=None, **kwargs):
        scope = scope_for(request.user)
        if not scope.whole_school:
            kwargs["form"] = type("EnrollmentInlineForm", (self.form,), {"college_ids": scope.college_ids})
        return super().get_formset(request, obj, **kwargs)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "college":
            scope = scope_for(request.user)
            if not scope.whole_school:
                kwargs["queryset"] = College.objects.filter(pk__in=scope.college_ids)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class SplitDateTimeWithSeconds(admin_widgets.AdminSplitDateTime):
    """zh-hans shows times as H:M; keep the seconds, or re-saving an untouched row would change it."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.widgets[1].format = "%H:%M:%S"


class ContactInline(AuditedInlineMixin, admin.TabularInline):
    model = ContactChannel
    fields = ["kind", "value", "status", "verified_at", "source"]
    formfield_overrides = {models.DateTimeField: {"widget": SplitDateTimeWithSeconds}}


class EmploymentInline(AuditedInlineMixin, admin.TabularInline):
    model = Employment
    fields = ["organisation", "title", "city", "start_date", "end_date"]


class HonourInline(AuditedInlineMixin, admin.TabularInline):
    model = Honour
    fields = ["kind", "title", "year", "source", "source_url"]


class StaffNoteInline(AuditedInlineMixin, admin.StackedInline):
    model = StaffNote
    fields = ["text", "author", "created_at"]
    readonly_fields = ["author", "created_at"]


class PersonForm(forms.ModelForm):
    class Meta:
        model = Person
        fields = ["name", "id_number"]  # the admin widens this to its fieldsets

    def clean_id_number(self):
        value = (self.cleaned_data.get("id_number") or "").strip().upper()
        if value and not id_number_is_valid(value):
            raise ValidationError(gettext_lazy("This is not a valid 18-character ID-card number."), code="id_number")
        return value


@admin.register(Person)
class PersonAdmin(PersonExportMixin, admin.ModelAdmin):
    form = PersonForm
    list_display = ["name", "gender", "student_ids", "colleges", "graduation_years", "province", "city", "updated_at"]
    list_filter = [CollegeFilter, DegreeFilter, GraduationYearFilter, ProvinceFilter, ContactStatusFilter, HonourFilter]
    search_fields = ["name"]  # the search itself is person_search(); this only shows the box
    search_help_text = gettext_lazy("Name, pinyin (zhangwei) or initials (zw), student ID, phone or email.")
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # per-choice counts would each scan the table
    paginator = EstimatedCountPaginator
    list_per_page = 50
    autocomplete_fields = ["tags"]
    readonly_fields = ["name_pinyin", "name_initials", "id_number_display", "audit_trail", "user"]
    inlines = [EnrollmentInline, ContactInline, EmploymentInline, HonourInline, StaffNoteInline]
    actions = ["merge_two_records"]

    class Media:
        js = ["core/admin_filters.js"]

    fieldsets = [
        (None, {"fields": ["name", "former_names", "name_pinyin", "name_initials", "gender", "birth_date", "photo"]}),
        (gettext_lazy("Places"), {"fields": ["hometown_province", "hometown_city", "country", "province", "city"]}),
        (gettext_lazy("Identity"), {"fields": ["id_number", "id_number_display", "is_deceased", "user"]}),
        (
            gettext_lazy("Privacy"),
            {"fields": ["privacy_contacts", "privacy_employment", "privacy_location", "show_in_directory"]},
        ),
        (gettext_lazy("Tags and history"), {"fields": ["tags", "audit_trail"]}),
    ]

    # --- scoping ------------------------------------------------------------------------
    def get_queryset(self, request):
        return visible_people(request.user).prefetch_related(
            Prefetch(
                "enrollments", queryset=Enrollment.objects.select_related("college").order_by("enrollment_year", "id")
            )
        )

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            # Out of scope and missing look the same: never reveal that a record exists.
            raise Http404(_("No such record."))
        return obj

    def get_fieldsets(self, request, obj=None):
        if request.user.has_perm("alumni.view_id_number"):
            return self.fieldsets
        return [
            (name, {**opts, "fields": [f for f in opts["fields"] if f != "id_number"]}) for name, opts in self.fieldsets
        ]

    def get_readonly_fields(self, request, obj=None):
        readonly = list(self.readonly_fields)
        if not request.user.has_perm("alumni.view_id_number"):
            readonly.append("id_number")
        return readonly

    def get_exclude(self, request, obj=None):
        # Not an ``exclude`` kwarg to get_form: that would replace the read-only fields' exclusion.
        exclude = list(super().get_exclude(request, obj) or [])
        if not request.user.has_perm("alumni.view_id_number"):
            exclude.append("id_number")
        return exclude or None

    def get_search_results(self, request, queryset, search_term):
        for term in person_search_terms(search_term):
            queryset = person_search(queryset, term)
        return queryset, False

    # --- display ------------------------------------------------------------------------
    @admin.display(description=gettext_lazy("student IDs"))
    def student_ids(self, person):
        return ", ".join(e.student_id for e in person.enrollments.all())

    @admin.display(description=gettext_lazy("colleges"))
    def colleges(self, person):
        return ", ".join(dict.fromkeys(e.college.name for e in person.enrollments.all()))

    @admin.display(description=gettext_lazy("graduation years"))
    def graduation_years(self, person):
        return ", ".join(str(e.graduation_year) for e in person.enrollments.all() if e.graduation_year)

    @admin.display(description=gettext_lazy("ID-card number"))
    def id_number_display(self, person):
        return person.id_number_masked or "-"

    @admin.display(description=gettext_lazy("audit trail"))
    def audit_trail(self, person):
        if person.pk is None:
            return "-"
        url = (
            reverse("admin:core_auditevent_changelist")
            + "?"
            + urlencode({"target_type": "alumni.person", "target_id": person.pk})
        )
        return format_html('<a href="{}">{}</a>', url, _("Every change to this record"))

    # --- writes -------------------------------------------------------------------------
    def save_model(self, request, obj, form, change):
        services.personal_data_save(instance=obj, old=services.snapshot(obj) if change else {}, actor=request.user)

    def delete_model(self, request, obj):
        services.personal_data_delete(instance=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            services.personal_data_delete(instance=obj, actor=request.user)

    def save_formset(self, request, form, formset, change):
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            services.personal_data_delete(instance=obj, actor=request.user)
        for obj in instances:
            if isinstance(obj, StaffNote) and obj.author_id is None:
                obj.author = request.user
            services.personal_data_save(instance=obj, old=services.snapshot(obj), actor=request.user)
        formset.save_m2m()

    # --- merge --------------------------------------------------------------------------
    @admin.action(description=gettext_lazy("Merge two records of the same person"), permissions=["merge"])
    def merge_two_records(self, request, queryset):
        people = list(queryset[:3])
        if len(people) != 2:
            self.message_user(request, _("Select exactly two records to merge."), messages.ERROR)
            return None
        people.sort(key=lambda p: p.pk)
        query = urlencode({"keep": people[0].pk, "other": people[1].pk})
        return redirect(reverse("admin:alumni_person_merge") + "?" + query)

    def has_merge_permission(self, request):
        return request.user.has_perm("alumni.merge_person")

    def get_urls(self):
        from django.urls import path

        return [
            path("merge/", self.admin_site.admin_view(self.merge_view), name="alumni_person_merge"),
            *super().get_urls(),
        ]

    def merge_view(self, request):
        if not self.has_merge_permission(request):
            raise PermissionDenied
        params = request.POST if request.method == "POST" else request.GET
        visible = self.get_queryset(request)
        try:
            keep = visible.get(pk=int(params.get("keep", "")))
            other = visible.get(pk=int(params.get("other", "")))
        except (ValueError, Person.DoesNotExist) as exc:
            raise Http404(_("No such record.")) from exc
        if request.method == "POST" and "confirm" in request.POST:
            swap = params.get("swap") == "1"
            if swap:
                keep, other = other, keep
            # The radio values name the page's columns; after a swap the "keep" column is ``other``.
            wanted = "keep" if swap else "other"
            take = [f for f in services.MERGE_FIELDS if request.POST.get(f"field_{f}") == wanted]
            try:
                merged = services.person_merge(keep=keep, other=other, actor=request.user, take_from_other=take)
            except (ValidationError, ApplicationError) as exc:
                self.message_user(request, getattr(exc, "message", None) or "; ".join(exc.messages), messages.ERROR)
            else:
                self.message_user(request, _("The two records were merged into %(name)s.") % {"name": merged.name})
                return redirect(reverse("admin:alumni_person_change", args=[merged.pk]))
        rows = [
            {
                "name": f,
                "label": Person._meta.get_field(f).verbose_name,
                "keep": self._merge_value(request, keep, f),
                "other": self._merge_value(request, other, f),
            }
            for f in services.MERGE_FIELDS
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Merge two records"),
            "keep": keep,
            "other": other,
            "rows": rows,
        }
        return TemplateResponse(request, "admin/alumni/person/merge.html", context)

    def _merge_value(self, request, person, field):
        if field == "id_number" and not request.user.has_perm("alumni.view_id_number"):
            return person.id_number_masked
        value = getattr(person, f"get_{field}_display", None)
        return value() if callable(value) else getattr(person, field)


class ReferenceAdmin(admin.ModelAdmin):
    """Colleges, majors and classes are reference data every staff role may look up."""

    search_fields = ["name", "code"]


@admin.register(College)
class CollegeAdmin(ReferenceAdmin):
    list_display = ["code", "name", "name_en"]


@admin.register(Major)
class MajorAdmin(ReferenceAdmin):
    list_display = ["code", "name", "college"]
    list_filter = ["college"]
    list_select_related = ["college"]


@admin.register(SchoolClass)
class SchoolClassAdmin(ReferenceAdmin):
    list_display = ["name", "college", "major", "graduation_year"]
    list_filter = ["college"]
    list_select_related = ["college", "major"]
    search_fields = ["name"]
    autocomplete_fields = ["major"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ["name"]


from . import duplicates  # noqa: E402, F401  (registers its admin classes)
