"""Exports of person lists: streamed (small lists), written to a file (command) or run as a job (large)."""

import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import timedelta

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from apps.alumni.exports import (
    export_fields_check,
    export_header,
    export_records_for_ids,
    export_rows,
)
from apps.alumni.models import Person
from apps.alumni.selectors import visible_people
from apps.core import audit
from apps.core.errors import ApplicationError
from apps.core.exporting import ExportResult, csv_chunks, write_csv, write_xlsx

from ..models import ExportJob

CSV, XLSX = ExportJob.Format.CSV, ExportJob.Format.XLSX
_PROGRESS_EVERY = 2000


def _audit_export(*, actor, result: ExportResult, keys, filters, fmt, channel: str, target=None) -> None:
    details = {
        "channel": channel,
        "format": fmt,
        "filters": filters,
        "fields": list(keys),
        "rows": result.rows,
        "sha256": result.sha256,
        "bytes": result.size,
    }
    if not result.complete:
        details["complete"] = False
    audit.record(
        actor=actor,
        action="person.export",
        target=target,
        target_type="alumni.person",
        target_repr=f"{fmt} · {result.rows} rows",
        changes=[{"field": name, "old": None, "new": value} for name, value in details.items()],
    )


def export_file_name(fmt: str, *, when=None) -> str:
    """The name staff see for an export, e.g. 校友-20260301-1030.xlsx (in the active language)."""
    stamp = timezone.localtime(when or timezone.now()).strftime("%Y%m%d-%H%M")
    return f"{_('alumni')}-{stamp}.{fmt}"


def _check(actor, fields, fmt) -> list[str]:
    if fmt not in (CSV, XLSX):
        raise ApplicationError(_("Unknown export format %(format)s.") % {"format": fmt}, code="export_format")
    return export_fields_check(actor, fields)


def person_export_csv_stream(
    *, actor, queryset: QuerySet[Person], fields: Sequence[str], filters: dict, channel: str = "admin"
) -> Iterator[bytes]:
    """CSV bytes (UTF-8 with BOM) of ``queryset``; the audit row, with the hash of exactly the
    bytes sent, is written once the last chunk has gone out (or with complete=False if cut short).

    Raises ValidationError before any byte is produced when a field is unknown or not allowed.
    """
    keys = _check(actor, fields, CSV)
    rows = export_rows(queryset, keys)

    def finish(result: ExportResult) -> None:
        _audit_export(actor=actor, result=result, keys=keys, filters=filters, fmt=CSV, channel=channel)

    return csv_chunks(export_header(keys), rows, on_finish=finish)


def person_export_xlsx(
    *, actor, queryset: QuerySet[Person], fields: Sequence[str], filters: dict, channel: str = "admin"
) -> tuple[File, ExportResult]:
    """An XLSX of ``queryset`` in an anonymous temporary file (gone when closed), already audited."""
    keys = _check(actor, fields, XLSX)
    tmp = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the response, which closes it
    try:
        result = write_xlsx(tmp, export_header(keys), export_rows(queryset, keys), sheet_title=_("Alumni"))
    except BaseException:
        tmp.close()
        raise
    _audit_export(actor=actor, result=result, keys=keys, filters=filters, fmt=XLSX, channel=channel)
    return File(tmp), result


def person_export_to_file(
    *, actor, queryset: QuerySet[Person], fields: Sequence[str], fmt: str, fileobj, filters: dict
) -> ExportResult:
    """Write the export to a seekable binary file (the command line) and audit it."""
    keys = _check(actor, fields, fmt)
    header, rows = export_header(keys), export_rows(queryset, keys)
    if fmt == XLSX:
        result = write_xlsx(fileobj, header, rows, sheet_title=_("Alumni"))
    else:
        result = write_csv(fileobj, header, rows)
    _audit_export(actor=actor, result=result, keys=keys, filters=filters, fmt=fmt, channel="command")
    return result


# --- jobs -------------------------------------------------------------------------------------


def _ranges(ids: Iterable[int]) -> list[list[int]]:
    """Sorted ids as [first, last] runs: a whole-school export of contiguous ids stores one pair."""
    runs: list[list[int]] = []
    for pk in ids:
        if runs and pk == runs[-1][1] + 1:
            runs[-1][1] = pk
        else:
            runs.append([pk, pk])
    return runs


def _expand(runs: list[list[int]]) -> Iterator[int]:
    for first, last in runs:
        yield from range(first, last + 1)


@transaction.atomic
def export_job_create(
    *, actor, queryset: QuerySet[Person], fields: Sequence[str], fmt: str, filters: dict
) -> ExportJob:
    """Record which people are listed now and queue the export; the task re-applies the scope."""
    keys = _check(actor, fields, fmt)
    ids = list(queryset.order_by("pk").values_list("pk", flat=True))
    job = ExportJob.objects.create(
        created_by=actor,
        format=fmt,
        fields=keys,
        filters=filters,
        person_ranges=_ranges(ids),
        total=len(ids),
        language=translation.get_language() or settings.LANGUAGE_CODE,
        file_name=export_file_name(fmt),
    )
    from ..tasks import export_job_run_task

    transaction.on_commit(lambda: export_job_run_task.delay(job.pk))
    return job


def _with_progress(records: Iterator[tuple[int, list]], job_id: int) -> Iterator[list]:
    for done, (_pk, cells) in enumerate(records, 1):
        yield cells
        if done % _PROGRESS_EVERY == 0:
            ExportJob.objects.filter(pk=job_id).update(progress=done)


def export_job_run(*, job_id: int) -> None:
    """Write the job's file; safe to run twice (a finished job is left alone, a crashed one restarts)."""
    claimed = ExportJob.objects.filter(
        pk=job_id, status__in=[ExportJob.Status.PENDING, ExportJob.Status.RUNNING]
    ).update(status=ExportJob.Status.RUNNING, started_at=timezone.now(), progress=0)
    if not claimed:
        return
    job = ExportJob.objects.select_related("created_by").get(pk=job_id)
    actor = job.created_by
    with translation.override(job.language or settings.LANGUAGE_CODE), tempfile.TemporaryFile() as tmp:
        keys = _check(actor, job.fields, job.format)  # rights withdrawn since the request: the job fails
        records = export_records_for_ids(visible_people(actor), _expand(job.person_ranges), keys)
        header, rows = export_header(keys), _with_progress(records, job.pk)
        if job.format == XLSX:
            result = write_xlsx(tmp, header, rows, sheet_title=_("Alumni"))
        else:
            result = write_csv(tmp, header, rows)
        if job.file:
            job.file.delete(save=False)
        job.file.save(f"export.{job.format}", File(tmp), save=False)
    now = timezone.now()
    job.status = ExportJob.Status.DONE
    job.progress = job.row_count = result.rows
    job.sha256 = result.sha256
    job.finished_at = now
    job.expires_at = now + timedelta(hours=settings.EXPORT_LINK_HOURS)
    job.error = ""
    with transaction.atomic():
        job.save()
        _audit_export(
            actor=actor, result=result, keys=keys, filters=job.filters, fmt=job.format, channel="job", target=job
        )


def export_job_fail(*, job_id: int, error: str) -> None:
    """Mark a job failed (the page shows the message); its partial file, if any, is removed."""
    job = ExportJob.objects.filter(pk=job_id).first()
    if job is None or job.status == ExportJob.Status.DONE:
        return
    if job.file:
        job.file.delete(save=False)
    job.status = ExportJob.Status.FAILED
    job.error = error[:2000]
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "error", "finished_at", "file", "updated_at"])


def export_job_download(*, job: ExportJob, actor) -> ExportJob:
    """Audit one download of a finished job; ApplicationError 'not_ready' or 'expired' otherwise."""
    if job.status == ExportJob.Status.DONE and job.expires_at and job.expires_at <= timezone.now():
        _job_expire(job)
    if job.status == ExportJob.Status.EXPIRED:
        raise ApplicationError(_("This download link has expired."), code="expired")
    if job.status != ExportJob.Status.DONE or not job.file:
        raise ApplicationError(_("The file is not ready yet."), code="not_ready")
    audit.record(actor=actor, action="person.export.download", target=job)
    return job


def _job_expire(job: ExportJob) -> None:
    if job.file:
        job.file.delete(save=False)
    job.status = ExportJob.Status.EXPIRED
    job.save(update_fields=["status", "file", "updated_at"])
