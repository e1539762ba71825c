"""Admin: upload a roster, map its columns, read the preview, apply it, watch it run; API tokens.

Only whole-school staff (office staff and office admins) import: a roster names any college, so
college staff get 403 on every page here (their role has no imports permission) and the job
queryset is empty for them anyway (``visible_import_jobs``).
"""

from urllib.parse import quote

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from apps.core.errors import ApplicationError

from . import services
from .api.uploads import guard_upload, upload_limit
from .models import ApiToken, ImportJob
from .parsing import CANONICAL_FIELDS
from .selectors import import_job_list, import_job_progress, visible_import_jobs

IGNORE = ""


def content_disposition(filename: str) -> str:
    """RFC 6266: an ASCII fallback plus the real (UTF-8) name, never raw user text in the header."""
    ascii_name = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in filename)
    return f"attachment; filename=\"{ascii_name or 'download'}\"; filename*=UTF-8''{quote(filename, safe='')}"


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Roster file"),
        help_text=gettext_lazy("CSV (UTF-8 or GBK) or Excel workbook (.xlsx); the first row names the columns."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,.txt"}),
    )


class MappingForm(forms.Form):
    """One choice per column of the file: the field it holds, or ignore it."""

    def __init__(self, *args, headers: list[str], initial_mapping: dict[str, str], unknown: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(IGNORE, _("— ignore this column —"))] + [(name, label) for name, label in CANONICAL_FIELDS.items()]
        self.headers = headers
        for index, header in enumerate(headers):
            if not header:
                continue
            self.fields[f"col_{index}"] = forms.ChoiceField(
                label=header,
                choices=choices,
                required=False,
                initial=initial_mapping.get(header, IGNORE),
            )
            self.fields[f"col_{index}"].unknown = header in unknown

    def clean(self):
        cleaned = super().clean()
        chosen = [v for k, v in cleaned.items() if k.startswith("col_") and v]
        if len(chosen) != len(set(chosen)):
            raise ValidationError(_("Each field can be chosen for one column only."), code="mapping")
        return cleaned

    def mapping(self) -> dict[str, str]:
        return {
            header: self.cleaned_data.get(f"col_{index}", IGNORE) for index, header in enumerate(self.headers) if header
        }


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "original_name",
        "source",
        "status",
        "created_count",
        "updated_count",
        "unchanged_count",
        "flagged_count",
        "error_count",
        "uploaded_by",
        "created_at",
    ]
    list_display_links = ["id", "original_name"]
    list_filter = ["status", "source"]
    list_select_related = ["uploaded_by"]
    show_full_result_count = False
    ordering = ["-created_at", "-id"]

    # --- scope and permissions ------------------------------------------------------------
    def get_queryset(self, request):
        return import_job_list(request.user)

    def _job(self, request, object_id) -> ImportJob:
        try:
            return visible_import_jobs(request.user).get(pk=int(object_id))
        except (ValueError, ImportJob.DoesNotExist) as exc:
            raise Http404(_("No such import.")) from exc

    def has_delete_permission(self, request, obj=None):
        return False  # jobs are the record of what was imported

    def _require(self, request, action: str) -> None:
        if not request.user.has_perm(f"imports.{action}_importjob"):
            raise PermissionDenied

    # --- URLs -----------------------------------------------------------------------------
    def get_urls(self):
        view = self.admin_site.admin_view
        # Exempt before admin_view, so neither it nor the CSRF middleware reads the body before the
        # size guard is installed; upload_entry applies csrf_protect itself afterwards.
        upload = view(csrf_exempt(self.upload_entry))
        return [
            path("upload/", upload, name="imports_importjob_upload"),
            path("<path:object_id>/mapping/", view(self.mapping_view), name="imports_importjob_mapping"),
            path("<path:object_id>/apply/", view(self.apply_view), name="imports_importjob_apply"),
            path("<path:object_id>/cancel/", view(self.cancel_view), name="imports_importjob_cancel"),
            path("<path:object_id>/progress/", view(self.progress_view), name="imports_importjob_progress"),
            path("<path:object_id>/report/", view(self.report_view), name="imports_importjob_report"),
            path("<path:object_id>/file/", view(self.file_view), name="imports_importjob_file"),
            *super().get_urls(),
        ]

    def add_view(self, request, form_url="", extra_context=None):
        self._require(request, "add")
        return redirect("admin:imports_importjob_upload")

    # --- upload ---------------------------------------------------------------------------
    def upload_entry(self, request):
        """The size guard must be in place before CSRF checking reads the body."""
        self._require(request, "add")
        handler = None
        if request.method == "POST":
            handler = guard_upload(request)
            if handler.limit == 0:
                # Declared too large: answer without reading the body (and so without a CSRF check,
                # which would read it; nothing is done with the request).
                return self._upload_page(request, UploadForm(), too_large=True, status=413)
        return csrf_protect(self._upload)(request, handler)

    def _upload(self, request, handler):
        form = UploadForm()
        if request.method == "POST":
            if handler is not None and handler.exceeded:
                return self._upload_page(request, form, too_large=True, status=413)
            form = UploadForm(request.POST, request.FILES)
            if form.is_valid():
                try:
                    job = services.import_job_create(upload=form.cleaned_data["file"], actor=request.user)
                except ValidationError as exc:
                    form.add_error("file", exc)
                else:
                    return redirect("admin:imports_importjob_change", job.pk)
        return self._upload_page(request, form)

    def _upload_page(self, request, form, *, too_large: bool = False, status: int = 200):
        limit = upload_limit()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Import alumni"),
            "form": form,
            "too_large": too_large,
            "limit_mb": limit // (1024 * 1024) if limit else None,
            "fields": list(CANONICAL_FIELDS.values()),
        }
        return TemplateResponse(request, "admin/imports/importjob/upload.html", context, status=status)

    # --- the job page ---------------------------------------------------------------------
    def change_view(self, request, object_id, form_url="", extra_context=None):
        self._require(request, "view")
        job = self._job(request, object_id)
        mapping_form = None
        if job.status == ImportJob.Status.MAPPING_NEEDED:
            mapping_form = self._mapping_form(job)
        return self._job_page(request, job, mapping_form)

    def _mapping_form(self, job: ImportJob, data=None) -> MappingForm:
        preview = job.preview or {}
        return MappingForm(
            data,
            headers=preview.get("headers", []),
            initial_mapping=job.mapping or preview.get("mapping", {}),
            unknown=preview.get("unknown", []),
        )

    def _job_page(self, request, job: ImportJob, mapping_form=None):
        summary = (job.result if job.status == ImportJob.Status.DONE else job.preview) or {}
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Import #%(id)s") % {"id": job.pk},
            "job": job,
            "summary": _present(summary),
            "progress": import_job_progress(job),
            "mapping_form": mapping_form,
            "missing_fields": [
                CANONICAL_FIELDS[f] for f in (job.preview or {}).get("missing", []) if f in CANONICAL_FIELDS
            ],
            "can_apply": request.user.has_perm("imports.change_importjob")
            and job.status in (ImportJob.Status.PREVIEWED, ImportJob.Status.FAILED)
            and job.previewed_at is not None
            and job.applied_at is None,
            "can_cancel": request.user.has_perm("imports.change_importjob")
            and job.status
            in (
                ImportJob.Status.UPLOADED,
                ImportJob.Status.MAPPING_NEEDED,
                ImportJob.Status.PREVIEWED,
                ImportJob.Status.FAILED,
            ),
        }
        return TemplateResponse(request, "admin/imports/importjob/job.html", context)

    def mapping_view(self, request, object_id):
        self._require(request, "change")
        job = self._job(request, object_id)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        form = self._mapping_form(job, request.POST)
        if form.is_valid():
            try:
                services.import_job_mapping_save(job=job, mapping=form.mapping(), actor=request.user)
            except (ValidationError, ApplicationError) as exc:
                self.message_user(request, getattr(exc, "message", None) or "; ".join(exc.messages), messages.ERROR)
            return redirect("admin:imports_importjob_change", job.pk)
        return self._job_page(request, job, form)

    def apply_view(self, request, object_id):
        self._require(request, "change")
        job = self._job(request, object_id)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if services.import_job_apply_start(job=job, actor=request.user):
            self.message_user(request, _("The import is being applied."))
        else:
            self.message_user(request, _("This import cannot be applied now."), messages.WARNING)
        return redirect("admin:imports_importjob_change", job.pk)

    def cancel_view(self, request, object_id):
        self._require(request, "change")
        job = self._job(request, object_id)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if services.import_job_cancel(job=job, actor=request.user):
            self.message_user(request, _("The import was cancelled; nothing was written."))
        else:
            self.message_user(request, _("This import can no longer be cancelled."), messages.WARNING)
        return redirect("admin:imports_importjob_change", job.pk)

    def progress_view(self, request, object_id):
        self._require(request, "view")
        job = self._job(request, object_id)
        return JsonResponse(import_job_progress(job))

    # --- downloads ------------------------------------------------------------------------
    def report_view(self, request, object_id):
        self._require(request, "view")
        job = self._job(request, object_id)
        if not job.error_report:
            raise Http404(_("This import has no error report."))
        stem = job.original_name.rsplit(".", 1)[0]
        return self._download(job.error_report, _("%(name)s - errors.xlsx") % {"name": stem})

    def file_view(self, request, object_id):
        self._require(request, "view")
        job = self._job(request, object_id)
        if not job.file:
            raise Http404(_("This import kept no file."))
        return self._download(job.file, job.original_name)

    def _download(self, field_file, filename: str):
        try:
            handle = field_file.open("rb")
        except FileNotFoundError as exc:
            raise Http404(_("The file is no longer available.")) from exc
        response = FileResponse(handle, content_type="application/octet-stream")
        if filename.lower().endswith(".xlsx"):
            response["Content-Type"] = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        elif filename.lower().endswith(".csv"):
            response["Content-Type"] = "text/csv"
        response["Content-Disposition"] = content_disposition(filename)
        response["X-Content-Type-Options"] = "nosniff"
        return response


def _field_labels() -> dict[str, str]:
    labels = {name: str(label) for name, label in CANONICAL_FIELDS.items()}
    labels.update(
        {
            "hometown_province": _("Hometown province"),
            "hometown_city": _("Hometown city"),
            "employment": _("Employer"),
            "enrollment": _("New enrolment"),
            "note": _("Note"),
        }
    )
    return labels


def _present(summary: dict) -> dict:
    """The stored preview/result, with labels for fields, kinds and degree levels for the template."""
    from apps.alumni.models import Enrollment

    if not summary or "counts" not in summary:
        return summary
    labels = _field_labels()
    degrees = dict(Enrollment.DegreeLevel.choices)
    kinds = {"new_person": _("New person"), "new_enrollment": _("New enrolment of an existing person")}
    headers = {canonical: header for header, canonical in (summary.get("mapping") or {}).items() if canonical}
    return {
        **summary,
        # The column as the file names it (the stored field is the canonical name).
        "errors": [
            {**e, "column": headers.get(e.get("field"), labels.get(e.get("field"), e.get("field", "")))}
            for e in summary.get("errors", [])
        ],
        "creates": [
            {**c, "kind_label": kinds.get(c.get("kind"), ""), "degree_label": degrees.get(c.get("degree_level"), "")}
            for c in summary.get("creates", [])
        ],
        "updates": [
            {
                **u,
                "changes": [
                    {**ch, "label": labels.get(ch.get("field"), ch.get("field"))} for ch in u.get("changes", [])
                ],
            }
            for u in summary.get("updates", [])
        ],
    }


class ApiTokenForm(forms.ModelForm):
    scope_import = forms.BooleanField(label=gettext_lazy("May push rosters (import)"), required=False, initial=True)

    class Meta:
        model = ApiToken
        fields = ["name"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens for the roster feed. The key is shown once, right after creation, and never again."""

    form = ApiTokenForm
    list_display = ["name", "key_prefix", "scopes", "created_by", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["key_prefix", "scopes", "created_by", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def has_delete_permission(self, request, obj=None):
        return False  # jobs point at their token; revoke instead

    def get_queryset(self, request):
        if not request.user.has_perm("imports.view_apitoken"):
            return ApiToken.objects.none()
        return super().get_queryset(request).select_related("created_by")

    def get_fields(self, request, obj=None):
        return ["name", "scope_import"] if obj is None else ["name", *self.readonly_fields]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["name", *self.readonly_fields]

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            form = ApiTokenForm(request.POST)
            if form.is_valid():
                scopes = [ApiToken.Scope.IMPORT] if form.cleaned_data["scope_import"] else []
                token, key = services.api_token_create(
                    name=form.cleaned_data["name"], actor=request.user, scopes=scopes
                )
                context = {
                    **self.admin_site.each_context(request),
                    "opts": self.model._meta,
                    "title": _("API token created"),
                    "token": token,
                    "key": key,
                }
                return TemplateResponse(request, "admin/imports/apitoken/created.html", context)
        return super().add_view(request, form_url, extra_context)

    @admin.action(description=gettext_lazy("Revoke the selected tokens"), permissions=["change"])
    def revoke(self, request, queryset):
        for token in queryset:
            services.api_token_revoke(token=token, actor=request.user)
        self.message_user(request, _("The tokens were revoked."))
