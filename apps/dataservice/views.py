"""Downloads under /data/: delivered data requests and export jobs. Out-of-scope objects answer 404."""

from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_GET
from django.views.generic import DetailView, ListView

from apps.core.errors import ApplicationError
from apps.core.exporting import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE, content_disposition
from apps.core.scoping import scope_for

from . import services
from .models import ExportJob
from .selectors import visible_datarequests, visible_recipients

_CONTENT_TYPES = {"csv": CSV_CONTENT_TYPE, "xlsx": XLSX_CONTENT_TYPE, "pdf": "application/pdf"}


def _file_response(fieldfile, filename: str) -> FileResponse:
    extension = filename.rpartition(".")[2]
    response = FileResponse(fieldfile.open("rb"), content_type=_CONTENT_TYPES.get(extension))
    response["Content-Disposition"] = content_disposition(filename)
    response["Cache-Control"] = "no-store, private"
    return response


def _gone(request, message: str):
    return TemplateResponse(request, "dataservice/link_expired.html", {"message": message}, status=410)


class DataRequestListView(LoginRequiredMixin, ListView):
    """The requests a recipient's users (and college or office staff) may follow and download."""

    template_name = "dataservice/datarequest_list.html"
    context_object_name = "requests"
    paginate_by = 50

    def dispatch(self, request, *args, **kwargs):
        user = request.user
        if user.is_authenticated and not (scope_for(user).governs_anything or visible_recipients(user).exists()):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_queryset(self):
        return visible_datarequests(self.request.user).select_related("recipient").order_by("-year", "-sequence")


@login_required
@require_GET
def datarequest_download(request, public_id):
    data_request = get_object_or_404(visible_datarequests(request.user), public_id=public_id)
    try:
        data_request = services.datarequest_download(request=data_request, actor=request.user)
    except ApplicationError as exc:
        if exc.code == "expired":
            return _gone(request, exc.message)
        raise Http404(exc.message) from exc
    return _file_response(data_request.file, f"{data_request.number}.{data_request.file_extension}")


def _own_job(request, public_id) -> ExportJob:
    # An export was cut to its creator's scope and fields: nobody else may see or fetch it.
    return get_object_or_404(ExportJob, public_id=public_id, created_by=request.user)


class ExportJobDetailView(LoginRequiredMixin, DetailView):
    template_name = "dataservice/exportjob_detail.html"
    context_object_name = "job"

    def get_object(self, queryset=None):
        return _own_job(self.request, self.kwargs["public_id"])


@login_required
@require_GET
def exportjob_status(request, public_id):
    job = _own_job(request, public_id)
    data = {
        "status": job.status,
        "status_label": job.get_status_display(),
        "progress": job.progress,
        "total": job.total,
        "percent": job.percent,
        "error": job.error,
        "download_url": None,
        "expires_at": job.expires_at.isoformat() if job.expires_at else None,
    }
    if job.status == ExportJob.Status.DONE:
        data["download_url"] = reverse("dataservice:exportjob-download", args=[job.public_id])
    return JsonResponse(data, headers={"Cache-Control": "no-store, private"})


@login_required
@require_GET
def exportjob_download(request, public_id):
    job = _own_job(request, public_id)
    try:
        services.export_job_download(job=job, actor=request.user)
    except ApplicationError as exc:
        if exc.code == "expired":
            return _gone(request, exc.message)
        raise Http404(exc.message) from exc
    return _file_response(job.file, job.file_name or f"export.{job.format}")
