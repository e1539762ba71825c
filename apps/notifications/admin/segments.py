from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _

from ..filters import filter_kinds, params_from_cleaned
from ..models import Segment
from ..selectors import segment_count, segment_preview, visible_segments
from ..services import segment_delete, segment_save


class ScopedAdmin(admin.ModelAdmin):
    """Out of scope and missing look the same: 404."""

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404(_("No such record."))
        return obj


class SegmentForm(forms.ModelForm):
    """Name and description, plus one group of fields per registered filter kind (``<kind>__<param>``)."""

    user = None

    class Meta:
        model = Segment
        fields = ["name", "description"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        current = {entry["kind"]: entry["params"] for entry in (self.instance.filters or []) if "kind" in entry}
        for kind in filter_kinds():
            for name, field in kind.form_fields(self.user).items():
                self.fields[f"{kind.key}__{name}"] = field
                if kind.key in current and name in current[kind.key]:
                    self.initial[f"{kind.key}__{name}"] = current[kind.key][name]

    def filters(self) -> list[dict]:
        entries = []
        for kind in filter_kinds():
            params = params_from_cleaned(kind, self.user, self.cleaned_data)
            if params:
                entries.append({"kind": kind.key, "params": params})
        return entries

    def clean(self):
        cleaned = super().clean()
        if not self.errors:
            entries = self.filters()
            if not entries:
                raise ValidationError(_("Choose at least one filter; a segment of everybody is not allowed."))
            self.instance.filters = entries
        return cleaned


@admin.register(Segment)
class SegmentAdmin(ScopedAdmin):
    form = SegmentForm
    list_display = ["name", "created_by", "updated_at"]
    search_fields = ["name"]
    change_form_template = "notifications/admin/segment_change_form.html"

    def get_queryset(self, request):
        return visible_segments(request.user).select_related("created_by")

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["fields"] = ["name", "description"]  # the filter fields are added by SegmentForm itself
        base = super().get_form(request, obj, change, **kwargs)
        return type(base.__name__, (base,), {"user": request.user})

    def get_fieldsets(self, request, obj=None):
        fieldsets = [(None, {"fields": ["name", "description"]})]
        for kind in filter_kinds():
            fields = [f"{kind.key}__{name}" for name in kind.form_fields(request.user)]
            fieldsets.append((kind.label, {"fields": fields, "classes": ["segment-filter"]}))
        return fieldsets

    def change_view(self, request, object_id, form_url="", extra_context=None):
        segment = visible_segments(request.user).filter(pk=object_id).first() if str(object_id).isdigit() else None
        extra_context = {**(extra_context or {}), "count_url": reverse("admin:notifications_segment_count")}
        if segment is not None:
            extra_context["audience"] = segment_count(segment.filters, request.user)
            extra_context["preview_url"] = reverse("admin:notifications_segment_preview", args=[segment.pk])
        return super().change_view(request, object_id, form_url, extra_context)

    def add_view(self, request, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "count_url": reverse("admin:notifications_segment_count")}
        return super().add_view(request, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        segment_save(segment=obj, actor=request.user)

    def delete_model(self, request, obj):
        segment_delete(segment=obj, actor=request.user)

    def get_urls(self):
        return [
            path("count/", self.admin_site.admin_view(self.count_view), name="notifications_segment_count"),
            path(
                "<int:pk>/preview/", self.admin_site.admin_view(self.preview_view), name="notifications_segment_preview"
            ),
            *super().get_urls(),
        ]

    def count_view(self, request):
        """Live count of the form's filters as they are edited (POST of the change form)."""
        if request.method != "POST" or not self.has_view_or_change_permission(request):
            return JsonResponse({"error": "forbidden"}, status=403)
        form = self.get_form(request)(data=request.POST)
        form.is_valid()
        if any(key.count("__") for key in form.errors):
            return JsonResponse({"count": None, "error": _("Check the filters.")}, status=400)
        filters = []
        for kind in filter_kinds():
            params = params_from_cleaned(kind, request.user, getattr(form, "cleaned_data", {}))
            if params:
                filters.append({"kind": kind.key, "params": params})
        if not filters:
            return JsonResponse({"count": None})
        return JsonResponse({"count": segment_count(filters, request.user)})

    def preview_view(self, request, pk):
        segment = visible_segments(request.user).filter(pk=pk).first()
        if segment is None or not self.has_view_or_change_permission(request, segment):
            raise Http404(_("No such record."))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "segment": segment,
            "title": _("Preview of %(name)s") % {"name": segment.name},
            "count": segment_count(segment.filters, request.user),
            "people": segment_preview(segment.filters, request.user),
        }
        return TemplateResponse(request, "notifications/admin/segment_preview.html", context)
