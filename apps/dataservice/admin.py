from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.alumni.exports import FIELDS
from apps.core.errors import ApplicationError

from . import services
from .forms import ConfirmForm, DataRequestApproveForm, DataRequestForm, DataRequestRefuseForm
from .models import DataRequest, ExportJob, ProvisionRecord, Recipient
from .permissions import can_approve_datarequest, can_edit_datarequest, can_submit_datarequest
from .selectors import (
    datarequest_people,
    datarequest_summary,
    delivery_stats,
    visible_datarequests,
    visible_export_jobs,
    visible_recipients,
)


def _field_labels(keys) -> str:
    return ", ".join(str(FIELDS[k].label) if k in FIELDS else k for k in keys) or "-"


class _ScopedAdmin(admin.ModelAdmin):
    """Out of scope and missing look the same: 404, never a redirect that says the row exists."""

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404(_("No such record."))
        return obj


@admin.register(Recipient)
class RecipientAdmin(_ScopedAdmin):
    list_display = ["name", "kind", "college", "contact_person", "contact_phone", "is_active"]
    list_filter = ["kind", "is_active"]
    list_select_related = ["college"]
    search_fields = ["name", "contact_person"]
    autocomplete_fields = ["college", "users"]

    def get_queryset(self, request):
        return visible_recipients(request.user)


@admin.register(DataRequest)
class DataRequestAdmin(_ScopedAdmin):
    form = DataRequestForm
    list_display = ["number", "recipient", "kind", "status", "legal_basis", "row_count", "submitted_at", "produced_at"]
    list_filter = ["status", "kind", "legal_basis", "recipient__kind"]
    list_select_related = ["recipient"]
    search_fields = ["number", "recipient__name"]
    autocomplete_fields = ["recipient", "filter_colleges", "people"]
    change_form_template = "dataservice/admin/datarequest_change_form.html"
    change_list_template = "dataservice/admin/datarequest_change_list.html"
    show_full_result_count = False
    _workflow_fields = [
        "number",
        "status",
        "created_by",
        "submitted_at",
        "approved_fields_display",
        "decided_by",
        "decided_at",
        "decision_note",
        "refusal_reason",
        "row_count",
        "sha256",
        "produced_at",
        "link_expires_at",
        "download_count",
        "production_error",
        "download_link",
    ]
    fieldsets = [
        (None, {"fields": ["recipient", "kind", "purpose"]}),
        (gettext_lazy("Legal basis"), {"fields": ["legal_basis", "legal_basis_detail", "impact_assessment"]}),
        (gettext_lazy("Fields"), {"fields": ["requested_fields"]}),
        (
            gettext_lazy("Which alumni"),
            {
                "fields": [
                    "filter_colleges",
                    "filter_degree_levels",
                    ("filter_enrollment_year_from", "filter_enrollment_year_to"),
                    ("filter_graduation_year_from", "filter_graduation_year_to"),
                    "filter_honour_kinds",
                    "filter_provinces",
                    "people",
                ]
            },
        ),
        (gettext_lazy("Retention"), {"fields": ["retention_until"]}),
    ]

    # --- scoping and rights -----------------------------------------------------------------
    def get_queryset(self, request):
        return visible_datarequests(request.user).select_related("recipient")

    def has_change_permission(self, request, obj=None):
        # Once submitted, a request is a record: shown read-only, changed only by the workflow steps.
        return super().has_change_permission(request, obj) and (obj is None or can_edit_datarequest(request.user, obj))

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (obj is None or obj.status == DataRequest.Status.DRAFT)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self.fieldsets
        fieldsets = self.fieldsets
        if not can_edit_datarequest(request.user, obj):
            fieldsets = [
                (name, {**opts, "fields": [self._readable(f) for f in opts["fields"]]}) for name, opts in fieldsets
            ]
        return [(gettext_lazy("Workflow"), {"fields": self._workflow_fields}), *fieldsets]

    @staticmethod
    def _readable(field):
        return "requested_fields_display" if field == "requested_fields" else field

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [*self._workflow_fields, "requested_fields_display"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        return type(form.__name__, (form,), {"user": request.user})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "recipient":
            kwargs["queryset"] = visible_recipients(request.user).filter(is_active=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    # --- display ----------------------------------------------------------------------------
    @admin.display(description=gettext_lazy("requested fields"))
    def requested_fields_display(self, obj):
        return _field_labels(obj.requested_fields)

    @admin.display(description=gettext_lazy("approved fields"))
    def approved_fields_display(self, obj):
        return _field_labels(obj.approved_fields)

    @admin.display(description=gettext_lazy("download"))
    def download_link(self, obj):
        if obj.status != DataRequest.Status.DELIVERED:
            return "-"
        url = reverse("dataservice:datarequest-download", args=[obj.public_id])
        return format_html('<a href="{}">{}</a>', url, _("Download the file"))

    # --- writes -----------------------------------------------------------------------------
    def save_model(self, request, obj, form, change):
        services.datarequest_save_draft(instance=obj, actor=request.user)

    def delete_model(self, request, obj):
        services.datarequest_delete_draft(request=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)

    # --- workflow views ---------------------------------------------------------------------
    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("report/", view(self.report_view), name="dataservice_datarequest_report"),
            path("<path:object_id>/submit/", view(self.submit_view), name="dataservice_datarequest_submit"),
            path("<path:object_id>/approve/", view(self.approve_view), name="dataservice_datarequest_approve"),
            path("<path:object_id>/refuse/", view(self.refuse_view), name="dataservice_datarequest_refuse"),
            path("<path:object_id>/produce/", view(self.produce_view), name="dataservice_datarequest_produce"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        approver = can_approve_datarequest(request.user)
        submitted = obj.status == DataRequest.Status.SUBMITTED
        extra_context = {
            **(extra_context or {}),
            "can_submit": can_submit_datarequest(request.user, obj),
            "can_decide": approver and submitted,
            "can_produce_again": approver and obj.status == DataRequest.Status.APPROVED and bool(obj.production_error),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def _decision(self, request, object_id, *, allowed, form, title, button, act, done):
        obj = self.get_object(request, object_id)
        if not allowed(obj):
            raise PermissionDenied
        bound = form(request.POST, obj) if request.method == "POST" else form(None, obj)
        if request.method == "POST" and bound.is_valid():
            try:
                act(obj, bound.cleaned_data)
            except (ValidationError, ApplicationError) as exc:
                message = getattr(exc, "message", None) or "; ".join(exc.messages)
                self.message_user(request, message, messages.ERROR)
            else:
                self.message_user(request, done % {"number": obj.number})
                return redirect(reverse("admin:dataservice_datarequest_change", args=[obj.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title % {"number": obj.number},
            "object": obj,
            "summary": datarequest_summary(obj),
            # What approving would deliver now: the approver's scope narrowed by the filters.
            "matching": datarequest_people(obj, approver=request.user).count(),
            "form": bound,
            "button": button,
        }
        return TemplateResponse(request, "dataservice/admin/datarequest_decide.html", context)

    def submit_view(self, request, object_id):
        return self._decision(
            request,
            object_id,
            allowed=lambda obj: can_submit_datarequest(request.user, obj),
            form=lambda data, obj: ConfirmForm(data),
            title=_("Submit %(number)s for approval"),
            button=_("Submit for approval"),
            act=lambda obj, data: services.datarequest_submit(request=obj, actor=request.user),
            done=_("Request %(number)s was submitted for approval."),
        )

    def approve_view(self, request, object_id):
        return self._decision(
            request,
            object_id,
            allowed=lambda obj: can_approve_datarequest(request.user) and obj.status == DataRequest.Status.SUBMITTED,
            form=lambda data, obj: DataRequestApproveForm(data, request=obj, user=request.user),
            title=_("Approve %(number)s"),
            button=_("Approve and produce the file"),
            act=lambda obj, data: services.datarequest_approve(
                request=obj, actor=request.user, fields=data["fields"], note=data["note"]
            ),
            done=_("Request %(number)s was approved; the file is being produced."),
        )

    def refuse_view(self, request, object_id):
        return self._decision(
            request,
            object_id,
            allowed=lambda obj: can_approve_datarequest(request.user) and obj.status == DataRequest.Status.SUBMITTED,
            form=lambda data, obj: DataRequestRefuseForm(data),
            title=_("Refuse %(number)s"),
            button=_("Refuse"),
            act=lambda obj, data: services.datarequest_refuse(request=obj, actor=request.user, reason=data["reason"]),
            done=_("Request %(number)s was refused."),
        )

    def produce_view(self, request, object_id):
        return self._decision(
            request,
            object_id,
            allowed=lambda obj: can_approve_datarequest(request.user) and obj.status == DataRequest.Status.APPROVED,
            form=lambda data, obj: ConfirmForm(data),
            title=_("Produce the file of %(number)s again"),
            button=_("Produce again"),
            act=lambda obj, data: services.datarequest_produce_again(request=obj, actor=request.user),
            done=_("The file of %(number)s is being produced again."),
        )

    def report_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        rows = delivery_stats(request.user)
        years: dict[int, dict] = {}
        for row in rows:
            year = years.setdefault(row["delivered_year"], {"year": row["delivered_year"], "rows": []})
            year["rows"].append(row)
        peak = max((row["records"] or 0 for row in rows), default=0)
        for row in rows:
            row["percent"] = round(100 * (row["records"] or 0) / peak, 1) if peak else 0
        for year in years.values():
            year["batches"] = sum(r["batches"] for r in year["rows"])
            year["records"] = sum(r["records"] or 0 for r in year["rows"])
            year["recipients"] = len(year["rows"])
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Data delivered per recipient and year"),
            "years": list(years.values()),
        }
        return TemplateResponse(request, "dataservice/admin/delivery_report.html", context)


@admin.register(ExportJob)
class ExportJobAdmin(_ScopedAdmin):
    list_display = ["__str__", "created_by", "format", "status", "total", "row_count", "created_at", "expires_at"]
    list_filter = ["status", "format"]
    list_select_related = ["created_by"]
    readonly_fields = [
        "public_id",
        "created_by",
        "status",
        "format",
        "fields",
        "filters",
        "language",
        "total",
        "progress",
        "row_count",
        "file_name",
        "sha256",
        "started_at",
        "finished_at",
        "expires_at",
        "error",
        "progress_page",
    ]
    fields = readonly_fields

    def get_queryset(self, request):
        return visible_export_jobs(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=gettext_lazy("progress page"))
    def progress_page(self, obj):
        # The page and its download answer only the job's creator; others get a 404 there.
        url = reverse("dataservice:exportjob-detail", args=[obj.public_id])
        return format_html('<a href="{}">{}</a>', url, _("Open"))


@admin.register(ProvisionRecord)
class ProvisionRecordAdmin(_ScopedAdmin):
    """The provision log (who received whose data): read-only, for answering access requests."""

    list_display = ["request", "person", "person_pk", "created_at"]
    list_select_related = ["request", "person"]
    search_fields = ["=person_pk", "=request__number"]
    show_full_result_count = False
    fields = list_display
    readonly_fields = list_display

    def get_queryset(self, request):
        return ProvisionRecord.objects.filter(request__in=visible_datarequests(request.user))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
