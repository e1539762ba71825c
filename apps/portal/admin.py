"""Staff side of the portal: correction and deletion requests, and the directory lookup report."""

from datetime import timedelta

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext_lazy as _

from apps.alumni.selectors import visible_people
from apps.core.errors import ApplicationError

from . import selectors, services
from .models import DataRightsRequest, LookupStat


@admin.register(DataRightsRequest)
class DataRightsRequestAdmin(admin.ModelAdmin):
    """Requests from alumni to correct or delete their data; staff see those of the people they govern."""

    list_display = ["id", "created_at", "person", "kind", "field_list", "status", "handled_by", "handled_at"]
    list_filter = ["status", "kind"]
    list_select_related = ["person", "handled_by"]
    search_fields = ["=person__id", "person__name"]
    readonly_fields = [
        "person",
        "requested_by",
        "kind",
        "fields",
        "message",
        "status",
        "handled_by",
        "handled_at",
        "created_at",
    ]
    fields = [*readonly_fields, "response"]
    actions = ["mark_done", "mark_refused"]
    show_full_result_count = False

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(person__in=visible_people(request.user).values("pk"))
            .select_related("person", "handled_by")
        )

    @admin.display(description=_("fields"))
    def field_list(self, obj):
        return ", ".join(obj.fields)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        # Only the answer is editable; closing goes through the actions (audited).
        DataRightsRequest.objects.filter(pk=obj.pk, status=DataRightsRequest.Status.OPEN).update(
            response=form.cleaned_data.get("response", "")
        )

    def _close(self, request, queryset, status):
        done = 0
        for rights_request in queryset:
            try:
                services.rights_request_handle(
                    request=rights_request, status=status, response=rights_request.response, actor=request.user
                )
                done += 1
            except (ApplicationError, ValidationError):
                continue
        self.message_user(request, _("%(n)s requests closed.") % {"n": done}, messages.SUCCESS)

    @admin.action(description=_("Mark as done"), permissions=["change"])
    def mark_done(self, request, queryset):
        self._close(request, queryset, DataRightsRequest.Status.DONE)

    @admin.action(description=_("Refuse"), permissions=["change"])
    def mark_refused(self, request, queryset):
        self._close(request, queryset, DataRightsRequest.Status.REFUSED)


@admin.register(LookupStat)
class LookupStatAdmin(admin.ModelAdmin):
    """Directory lookups per day, kind and result size, with a summary over a period (the office's report)."""

    list_display = ["day", "kind", "bucket", "count"]
    list_filter = ["kind", "bucket"]
    date_hierarchy = "day"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        report = self.admin_site.admin_view(self.report_view)
        return [path("report/", report, name="portal_lookupstat_report"), *super().get_urls()]

    def report_view(self, request):
        if not self.has_view_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        today = timezone.localdate()
        since = parse_date(request.GET.get("since", "")) or today - timedelta(days=29)
        until = parse_date(request.GET.get("until", "")) or today
        rows = selectors.lookup_stats(since=since, until=until)
        kinds = dict(LookupStat.Kind.choices)
        buckets = list(LookupStat.Bucket.choices)
        table = {}
        for row in rows:
            table.setdefault(row["kind"], {})[row["bucket"]] = row["total"]
        lines = [
            {
                "kind": kinds.get(kind, kind),
                "cells": [table[kind].get(bucket, 0) for bucket, _label in buckets],
                "total": sum(table[kind].values()),
            }
            for kind in kinds
            if kind in table
        ]
        total = sum(row["total"] for row in rows)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Directory lookups"),
            "opts": self.model._meta,
            "since": since,
            "until": until,
            "buckets": [label for _bucket, label in buckets],
            "lines": lines,
            "total": total,
        }
        return TemplateResponse(request, "portal/admin/lookup_report.html", context)
