"""Exports from the person list: "export selected" (an action) and "export this list" (a link that
keeps the list's filters and search). Both start from the admin's scoped queryset, so college
staff export only their college, and offer only the fields the user may export."""

from django.conf import settings
from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.options import IS_POPUP_VAR, IncorrectLookupParameters
from django.contrib.admin.views.main import ERROR_FLAG
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.core.exporting import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE, content_disposition
from apps.dataservice import services as data_services
from apps.dataservice.forms import PersonExportForm
from apps.dataservice.models import ExportJob
from apps.dataservice.services.exports import export_file_name

from ..exports import can_export_people

_CONFIRM = "export_confirm"


def _query(params) -> dict:
    """The changelist's filters and search, as the audit row keeps them."""
    return {key: values[0] if len(values) == 1 else values for key, values in params.lists()}


class PersonExportMixin:
    """Export actions for the person list."""

    change_list_template = "admin/alumni/person/change_list.html"

    def get_actions(self, request):
        actions = super().get_actions(request)
        if self.actions is not None and IS_POPUP_VAR not in request.GET and can_export_people(request.user):
            func, name, description = self.get_action("export_selected")
            actions[name] = (func, name, description)
        return actions

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_export": can_export_people(request.user)}
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        export = path("export/", self.admin_site.admin_view(self.export_list_view), name="alumni_person_export")
        return [export, *super().get_urls()]

    @admin.action(description=gettext_lazy("Export selected alumni"))
    def export_selected(self, request, queryset):
        if not can_export_people(request.user):
            raise PermissionDenied
        select_across = request.POST.get("select_across") == "1"
        selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        form = PersonExportForm(request.POST if _CONFIRM in request.POST else None, user=request.user)
        if form.is_valid():
            filters = {"query": _query(request.GET), "selected": None if select_across else selected}
            return self._export_response(request, queryset, form, filters)
        hidden = [("action", "export_selected"), ("select_across", "1" if select_across else "0")]
        hidden += [(helpers.ACTION_CHECKBOX_NAME, pk) for pk in selected]
        return self._export_page(request, queryset, form, hidden)

    def export_list_view(self, request):
        """The person list with its current filters and search, as a file."""
        if not (self.has_view_permission(request) and can_export_people(request.user)):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return HttpResponseRedirect(f"{reverse('admin:alumni_person_changelist')}?{ERROR_FLAG}=1")
        queryset = changelist.get_queryset(request)
        form = PersonExportForm(request.POST if request.method == "POST" else None, user=request.user)
        if form.is_valid():
            return self._export_response(request, queryset, form, {"query": _query(request.GET)})
        return self._export_page(request, queryset, form, [])

    def _export_page(self, request, queryset, form, hidden):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Export alumni"),
            "form": form,
            "hidden": hidden,
            "confirm_name": _CONFIRM,
            "count": queryset.count(),
            "sync_max": settings.EXPORT_SYNC_MAX_ROWS,
            "query": request.GET.urlencode(),
        }
        return TemplateResponse(request, "dataservice/admin/person_export.html", context)

    def _export_response(self, request, queryset, form, filters):
        fmt, fields = form.cleaned_data["format"], form.cleaned_data["fields"]
        actor = request.user
        if queryset.count() > settings.EXPORT_SYNC_MAX_ROWS:
            job = data_services.export_job_create(
                actor=actor, queryset=queryset, fields=fields, fmt=fmt, filters=filters
            )
            return redirect(reverse("dataservice:exportjob-detail", args=[job.public_id]))
        if fmt == ExportJob.Format.CSV:
            chunks = data_services.person_export_csv_stream(
                actor=actor, queryset=queryset, fields=fields, filters=filters
            )
            response = StreamingHttpResponse(chunks, content_type=CSV_CONTENT_TYPE)
        else:
            file, _result = data_services.person_export_xlsx(
                actor=actor, queryset=queryset, fields=fields, filters=filters
            )
            response = FileResponse(file, content_type=XLSX_CONTENT_TYPE)
        response["Content-Disposition"] = content_disposition(export_file_name(fmt))
        response["Cache-Control"] = "no-store, private"
        return response
