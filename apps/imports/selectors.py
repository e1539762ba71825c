from django.db.models import QuerySet

from apps.core.scoping import scope_for

from .models import ApiToken, ImportJob
from .pipeline import progress as live_progress


def visible_import_jobs(user) -> QuerySet[ImportJob]:
    """Jobs ``user`` may see: every job for whole-school staff, none for anyone else.

    Imports write across colleges (a roster names any college), so only the office imports;
    college staff, liaisons and chapter leaders see no jobs at all.
    """
    if scope_for(user).whole_school:
        return ImportJob.objects.all()
    return ImportJob.objects.none()


def import_job_list(user) -> QuerySet[ImportJob]:
    return visible_import_jobs(user).select_related("uploaded_by", "api_token").defer("preview", "result")


def token_import_jobs(token: ApiToken) -> QuerySet[ImportJob]:
    """The jobs an API token created (a token never sees another token's jobs)."""
    return ImportJob.objects.filter(api_token=token).defer("preview", "result")


def import_job_progress(job: ImportJob) -> dict:
    """Status, counts and live progress of a job, for the polling page and the API.

    While a job runs, its row is written only at the end of its transaction; the live figures
    come from the cache (and, on PostgreSQL, from a side connection that updates the row).
    """
    rows_done, rows_total, phase = job.rows_done, job.rows_total, job.phase
    if job.is_running:
        live = live_progress.read(job.pk)
        if live and live.get("status") == job.status:
            rows_done, rows_total, phase = live["rows_done"], live["rows_total"], live["phase"]
    rows_total = max(rows_total, rows_done)
    # The model's rule (``UploadJob.percent``) over the live figures, on an unsaved copy.
    percent = ImportJob(status=job.status, rows_done=rows_done, rows_total=rows_total).percent
    return {
        "id": job.pk,
        "status": job.status,
        "status_display": str(job.get_status_display()),
        "phase": phase,
        "rows_done": rows_done,
        "rows_total": rows_total,
        "percent": percent,
        "counts": job.counts(),
        "finished": job.status
        not in (
            ImportJob.Status.UPLOADED,
            ImportJob.Status.PREVIEWING,
            ImportJob.Status.APPLYING,
        ),
        "failure": job.failure_message,
    }
