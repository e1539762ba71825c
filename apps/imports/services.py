"""Import jobs and API tokens: every write of the imports app.

The life of a job: ``import_job_create`` stores the upload under a UUID name and queues the
preview; ``import_job_preview`` (a task) asks for a column mapping or classifies every row without
writing; ``import_job_apply_start`` (staff) moves a previewed job to "applying" with a conditional
UPDATE and queues ``import_job_apply`` (a task), which writes all rows in one transaction.

Exactly once: the apply transaction first takes a per-job PostgreSQL advisory lock (a second copy
of the task gives up at once) and re-reads ``applied_at``, which the same transaction sets together
with the rows. A task delivered twice, retried after a failure, or redelivered after its worker
died therefore writes the file's rows once; a failed or killed apply leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core import audit
from apps.core.errors import ApplicationError

from .models import ApiToken, ImportJob
from .parsing import CANONICAL_FIELDS, FileRefused, open_roster
from .pipeline import Outcome, Progress, run_roster
from .pipeline import progress as live_progress

logger = logging.getLogger(__name__)

Status = ImportJob.Status
_LOCK_NAMESPACE = 0x1A7B  # first key of the two-key advisory lock: "import job"
TRANSIENT_ERRORS = (OperationalError, InterfaceError)


def _enqueue(task_name: str, job_id: int) -> None:
    from . import tasks

    task = getattr(tasks, task_name)
    transaction.on_commit(lambda: task.delay(job_id))


NO_LIMIT = 1 << 62


def _max_upload_bytes() -> int:
    return settings.IMPORT_MAX_BYTES or NO_LIMIT


# --- upload and mapping -------------------------------------------------------------------------
def import_job_create(
    *,
    upload,
    actor,
    source: str = ImportJob.Source.ADMIN,
    api_token: ApiToken | None = None,
    mapping: dict[str, str] | None = None,
) -> ImportJob:
    """Store an uploaded roster under a UUID name and queue its preview; raises ValidationError if too big.

    ``upload`` is a Django UploadedFile (or any File with ``name`` and ``size``). The size was
    already bounded while receiving (see ``uploads.LimitedUploadHandler``); it is checked again.
    """
    limit = _max_upload_bytes()
    if upload.size > limit:
        raise ValidationError(
            _("The file is larger than the limit of %(limit)s MB.") % {"limit": limit // (1024 * 1024)},
            code="too_large",
        )
    original_name = os.path.basename(upload.name or "")[:255] or "roster"
    job = ImportJob(
        original_name=original_name,
        file_size=upload.size,
        source=source,
        uploaded_by=actor if getattr(actor, "is_authenticated", False) else None,
        api_token=api_token,
        mapping=_clean_mapping(mapping or {}),
    )
    job.file.save(original_name, upload, save=False)
    with transaction.atomic():
        job.save()
        audit.record(actor=actor, action="import.upload", target=job, reason=source)
        _enqueue("import_job_preview_task", job.pk)
    return job


def _clean_mapping(mapping: dict[str, str]) -> dict[str, str]:
    cleaned = {}
    for header, target in mapping.items():
        if not isinstance(header, str) or not isinstance(target, str):
            raise ValidationError(_("The column mapping must map column names to field names."), code="mapping")
        if target and target not in CANONICAL_FIELDS:
            raise ValidationError(
                _("“%(field)s” is not a field that can be imported.") % {"field": target}, code="mapping"
            )
        cleaned[header] = target
    used = [t for t in cleaned.values() if t]
    if len(used) != len(set(used)):
        raise ValidationError(_("Two columns are mapped to the same field."), code="mapping")
    return cleaned


@transaction.atomic
def import_job_mapping_save(*, job: ImportJob, mapping: dict[str, str], actor) -> ImportJob:
    """Record staff's column mapping and check the file again; only while the job waits for it."""
    cleaned = _clean_mapping(mapping)
    updated = ImportJob.objects.filter(pk=job.pk, status=Status.MAPPING_NEEDED).update(
        mapping=cleaned, mapping_confirmed=True, status=Status.UPLOADED, updated_at=timezone.now()
    )
    if not updated:
        raise ApplicationError(_("This import is not waiting for a column mapping."), code="not_mapping")
    audit.record(
        actor=actor,
        action="import.mapping",
        target=job,
        changes=[{"field": "mapping", "old": job.mapping, "new": cleaned}],
    )
    _enqueue("import_job_preview_task", job.pk)
    job.refresh_from_db()
    return job


@transaction.atomic
def import_job_cancel(*, job: ImportJob, actor) -> bool:
    """Cancel a job that has not started applying; False if it is past that point."""
    cancellable = [Status.UPLOADED, Status.MAPPING_NEEDED, Status.PREVIEWED, Status.FAILED, Status.REFUSED]
    updated = ImportJob.objects.filter(pk=job.pk, status__in=cancellable, applied_at__isnull=True).update(
        status=Status.CANCELLED, finished_at=timezone.now(), updated_at=timezone.now()
    )
    if updated:
        audit.record(actor=actor, action="import.cancel", target=job)
    return bool(updated)


# --- files --------------------------------------------------------------------------------------
@contextmanager
def _local_path(job: ImportJob) -> Iterator[Path]:
    """The uploaded file as a local path (a temporary copy when the storage has no local files)."""
    try:
        yield Path(job.file.path)
        return
    except NotImplementedError:
        pass
    with job.file.open("rb") as source, tempfile.NamedTemporaryFile(suffix=Path(job.file.name).suffix) as copy:
        shutil.copyfileobj(source, copy, 1 << 20)
        copy.flush()
        yield Path(copy.name)


def _store_report(job: ImportJob, outcome: Outcome) -> str:
    """Move the outcome's temporary report into storage; returns the stored name ('' if none)."""
    if outcome.report_path is None:
        return ""
    try:
        with outcome.report_path.open("rb") as handle:
            return job.error_report.storage.save(job.error_report.field.upload_to(job, "report.xlsx"), File(handle))
    finally:
        outcome.report_path.unlink(missing_ok=True)


def _counts_fields(outcome: Outcome) -> dict[str, int]:
    counts = outcome.counts
    return {
        "created_count": counts["created"],
        "updated_count": counts["updated"],
        "unchanged_count": counts["unchanged"],
        "flagged_count": counts["flagged"],
        "error_count": counts["errors"],
        "rows_total": outcome.rows_total,
        "rows_done": outcome.rows_total,
    }


def _fail(job_id: int, status: str, *, from_statuses: list[str], code: str, message: str) -> None:
    ImportJob.objects.filter(pk=job_id, status__in=from_statuses, applied_at__isnull=True).update(
        status=status,
        failure_code=code[:64],
        failure_message=message[:4000],
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )
    live_progress.clear(job_id)


# --- preview ------------------------------------------------------------------------------------
def import_job_preview(*, job_id: int) -> str:
    """Check and classify a job's file without writing; returns the job's new status ('' if nothing ran).

    Safe to run twice: it only writes the job row, and only while the job is uploaded or checking.
    """
    claimed = ImportJob.objects.filter(
        pk=job_id, status__in=[Status.UPLOADED, Status.PREVIEWING], applied_at__isnull=True
    ).update(status=Status.PREVIEWING, phase="reading", rows_done=0, failure_code="", failure_message="",
             updated_at=timezone.now())  # fmt: skip
    if not claimed:
        return ""
    job = ImportJob.objects.get(pk=job_id)
    progress = Progress(job.pk, status=Status.PREVIEWING, every=settings.IMPORT_PROGRESS_EVERY)
    try:
        with _local_path(job) as path:
            roster = open_roster(
                path, original_name=job.original_name, mapping=job.mapping or None, max_bytes=_max_upload_bytes(),
                check_required=False,
            )  # fmt: skip
            if roster.missing_required or (roster.unknown_headers and not job.mapping_confirmed):
                ImportJob.objects.filter(pk=job_id, status=Status.PREVIEWING).update(
                    status=Status.MAPPING_NEEDED,
                    mapping={**roster.mapping, **(job.mapping or {})},
                    preview={
                        "headers": roster.headers,
                        "mapping": roster.mapping,
                        "unknown": roster.unknown_headers,
                        "missing": roster.missing_required,
                    },
                    updated_at=timezone.now(),
                )
                live_progress.clear(job_id)
                return Status.MAPPING_NEEDED
            outcome = run_roster(
                path,
                original_name=job.original_name,
                mapping=job.mapping or None,
                dry_run=True,
                progress=progress,
                max_bytes=_max_upload_bytes(),
            )
    except FileRefused as exc:
        _fail(job_id, Status.REFUSED, from_statuses=[Status.PREVIEWING], code=exc.code, message=exc.message)
        return Status.REFUSED
    except TRANSIENT_ERRORS:
        ImportJob.objects.filter(pk=job_id, status=Status.PREVIEWING).update(status=Status.UPLOADED)
        raise
    except Exception as exc:
        logger.exception("import job %s: preview failed", job_id)
        _fail(job_id, Status.FAILED, from_statuses=[Status.PREVIEWING], code="error", message=_failure_text(exc))
        return Status.FAILED
    finally:
        progress.close()
    try:
        report = _store_report(job, outcome)
        ImportJob.objects.filter(pk=job_id, status=Status.PREVIEWING).update(
            status=Status.PREVIEWED,
            preview=outcome.summary(),
            mapping=outcome.mapping,
            error_report=report,
            previewed_at=timezone.now(),
            phase="",
            updated_at=timezone.now(),
            **_counts_fields(outcome),
        )
    finally:
        outcome.close()
    live_progress.clear(job_id)
    return Status.PREVIEWED


def _failure_text(exc: BaseException) -> str:
    return _(
        "The import stopped because of an internal error (%(error)s). Nothing was written; it can be applied again."
    ) % {"error": type(exc).__name__}


# --- apply --------------------------------------------------------------------------------------
@transaction.atomic
def import_job_apply_start(*, job: ImportJob, actor) -> bool:
    """Queue the apply of a previewed (or failed) job; False if another request already started it."""
    started = ImportJob.objects.filter(
        pk=job.pk,
        status__in=[Status.PREVIEWED, Status.FAILED],
        previewed_at__isnull=False,
        applied_at__isnull=True,
    ).update(
        status=Status.APPLYING,
        applied_by=actor,
        apply_requested_at=timezone.now(),
        apply_token=uuid.uuid4(),
        phase="queued",
        rows_done=0,
        failure_code="",
        failure_message="",
        updated_at=timezone.now(),
    )
    if started:
        _enqueue("import_job_apply_task", job.pk)
    return bool(started)


def _try_job_lock(job_id: int) -> bool:
    """Exclusive right to apply ``job_id`` until this transaction ends.

    PostgreSQL: a per-job advisory lock, taken without waiting. SQLite: a conditional UPDATE of
    the job row (SQLite lets one writer in at a time; the row count says whether it is still ours).
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, job_id])
            return bool(cursor.fetchone()[0])
    return bool(
        ImportJob.objects.filter(pk=job_id, status=Status.APPLYING, applied_at__isnull=True).update(phase="writing")
    )


def import_job_apply(*, job_id: int) -> str:
    """Write a job's rows, exactly once; returns what happened ('done', 'busy', 'noop', 'failed', ...).

    Runs in the worker. A failed attempt leaves the job "failed" with nothing written; running the
    task again (a retry, a second delivery) applies it then.
    """
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None or job.applied_at is not None or job.apply_requested_at is None:
        return "noop"
    if job.status == Status.FAILED:
        # A retry after a failed attempt: take the job back (only one retry gets it).
        if not ImportJob.objects.filter(pk=job_id, status=Status.FAILED, applied_at__isnull=True).update(
            status=Status.APPLYING, failure_code="", failure_message="", updated_at=timezone.now()
        ):
            return "noop"
    elif job.status != Status.APPLYING:
        return "noop"
    ImportJob.objects.filter(pk=job_id, status=Status.APPLYING).update(apply_attempts=F("apply_attempts") + 1)
    actor = job.applied_by
    progress = Progress(job.pk, status=Status.APPLYING, every=settings.IMPORT_PROGRESS_EVERY)
    stored_report = ""

    def finish(outcome: Outcome) -> None:
        nonlocal stored_report
        stored_report = _store_report(job, outcome)
        now = timezone.now()
        ImportJob.objects.filter(pk=job_id).update(
            status=Status.DONE,
            applied_at=now,
            finished_at=now,
            result=outcome.summary(),
            error_report=stored_report or job.error_report.name,
            phase="",
            updated_at=now,
            **_counts_fields(outcome),
        )
        _audit_apply(job, outcome, actor)
        _notify_finished(job, outcome, actor)

    try:
        with transaction.atomic():
            if not _try_job_lock(job_id):
                return "busy"
            current = ImportJob.objects.filter(pk=job_id).values("status", "applied_at").first()
            if current is None or current["applied_at"] is not None or current["status"] != Status.APPLYING:
                return "noop"
            with _local_path(job) as path:
                outcome = run_roster(
                    path,
                    original_name=job.original_name,
                    mapping=job.mapping or None,
                    dry_run=False,
                    actor_id=actor.pk if actor else None,
                    source=f"import:{job.pk}",
                    audit_reason=_("Roster import #%(job)s (%(name)s)") % {"job": job.pk, "name": job.original_name},
                    progress=progress,
                    max_bytes=_max_upload_bytes(),
                    on_written=finish,
                )
    except FileRefused as exc:
        _fail(job_id, Status.FAILED, from_statuses=[Status.APPLYING], code=exc.code, message=exc.message)
        return "failed"
    except TRANSIENT_ERRORS as exc:
        _fail(job_id, Status.FAILED, from_statuses=[Status.APPLYING], code="transient", message=_failure_text(exc))
        raise
    except Exception as exc:
        logger.exception("import job %s: apply failed", job_id)
        _fail(job_id, Status.FAILED, from_statuses=[Status.APPLYING], code="error", message=_failure_text(exc))
        return "failed"
    finally:
        progress.close()
    outcome.close()
    live_progress.clear(job_id)
    return "done"


def _notify_finished(job: ImportJob, outcome: Outcome, actor) -> None:
    """Tell whoever applied the import that it is done (outbox row in the apply transaction)."""
    if actor is None:
        return
    from django.urls import reverse

    from apps.notifications.rendering import absolute_url
    from apps.notifications.services import notify

    notify(
        actor,
        "imports.job_finished",
        {"job": job.pk, "name": job.original_name, **outcome.counts},
        url=absolute_url(reverse("admin:imports_importjob_change", args=[job.pk])),
        dedupe_key=f"imports.job_finished:{job.pk}",
    )


def _audit_apply(job: ImportJob, outcome: Outcome, actor) -> None:
    """The one audit row per job: what the import did, in counts (per-person rows come from the pipeline)."""
    audit.record(
        actor=actor,
        action="import.apply",
        target=job,
        changes=[{"field": name, "old": None, "new": value} for name, value in outcome.counts.items()]
        + [{"field": f"written.{name}", "old": None, "new": value} for name, value in outcome.written.items()],
        reason=job.original_name,
    )


# --- command line -------------------------------------------------------------------------------
@dataclass
class CommandResult:
    outcome: Outcome | None
    job: ImportJob | None
    refused: FileRefused | None = None
    missing_fields: list[str] = field(default_factory=list)  # canonical fields, when columns are missing


def _refused_result(exc: FileRefused, path: Path, mapping, job: ImportJob | None) -> CommandResult:
    missing: list[str] = []
    if exc.code == "missing_columns":
        try:
            roster = open_roster(
                path, original_name=path.name, mapping=mapping, max_bytes=NO_LIMIT, check_required=False
            )
            missing = list(roster.missing_required)
        except FileRefused:
            missing = []
    return CommandResult(outcome=None, job=job, refused=exc, missing_fields=missing)


def import_file_run(
    *, path: str | Path, dry_run: bool, mapping: dict[str, str] | None = None, actor=None
) -> CommandResult:
    """Import a file on the server synchronously (``manage.py import_alumni``); a dry run writes nothing.

    A real run keeps an ImportJob row (source "command") for the record; a refused file leaves
    only that row, marked refused.
    """
    path = Path(path)
    mapping = _clean_mapping(mapping) if mapping else None
    max_bytes = settings.IMPORT_COMMAND_MAX_BYTES or NO_LIMIT
    if dry_run:
        try:
            outcome = run_roster(
                path, original_name=path.name, mapping=mapping, dry_run=True, max_bytes=max_bytes, with_report=False
            )
            return CommandResult(outcome=outcome, job=None)
        except FileRefused as exc:
            return _refused_result(exc, path, mapping, None)
    now = timezone.now()
    job = ImportJob.objects.create(
        original_name=path.name[:255],
        file_size=path.stat().st_size if path.exists() else 0,
        source=ImportJob.Source.COMMAND,
        uploaded_by=actor,
        applied_by=actor,
        mapping=mapping or {},
        mapping_confirmed=bool(mapping),
        status=Status.APPLYING,
        apply_requested_at=now,
        apply_token=uuid.uuid4(),
        apply_attempts=1,
    )
    progress = Progress(job.pk, status=Status.APPLYING, every=settings.IMPORT_PROGRESS_EVERY)

    def finish(outcome: Outcome) -> None:
        done = timezone.now()
        ImportJob.objects.filter(pk=job.pk).update(
            status=Status.DONE,
            applied_at=done,
            finished_at=done,
            previewed_at=done,
            result=outcome.summary(),
            mapping=outcome.mapping,
            error_report=_store_report(job, outcome),
            phase="",
            updated_at=done,
            **_counts_fields(outcome),
        )
        _audit_apply(job, outcome, actor)

    try:
        outcome = run_roster(
            path,
            original_name=path.name,
            mapping=mapping,
            dry_run=False,
            actor_id=actor.pk if actor else None,
            source=f"import:{job.pk}",
            audit_reason=_("Roster import #%(job)s (%(name)s)") % {"job": job.pk, "name": path.name},
            progress=progress,
            max_bytes=max_bytes,
            on_written=finish,
        )
    except FileRefused as exc:
        _fail(job.pk, Status.REFUSED, from_statuses=[Status.APPLYING], code=exc.code, message=exc.message)
        job.refresh_from_db()
        return _refused_result(exc, path, mapping, job)
    except BaseException as exc:
        _fail(job.pk, Status.FAILED, from_statuses=[Status.APPLYING], code="error", message=_failure_text(exc))
        raise
    finally:
        progress.close()
    live_progress.clear(job.pk)
    job.refresh_from_db()
    return CommandResult(outcome=outcome, job=job)


# --- API tokens ---------------------------------------------------------------------------------
def api_key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, name: str, actor, scopes: list[str] | None = None) -> tuple[ApiToken, str]:
    """A new token; returns it with its key, which is shown once and never stored (only its SHA-256)."""
    scopes = list(scopes if scopes is not None else [ApiToken.Scope.IMPORT])
    unknown = set(scopes) - set(ApiToken.Scope.values)
    if unknown:
        raise ValidationError(_("Unknown scope: %(scopes)s") % {"scopes": ", ".join(sorted(unknown))}, code="scope")
    key = "ap_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        name=name, key_prefix=key[:10], key_hash=api_key_hash(key), scopes=scopes, created_by=actor
    )
    audit.record(actor=actor, action="api_token.create", target=token)
    return token, key


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor) -> None:
    if ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now()):
        audit.record(actor=actor, action="api_token.revoke", target=token)


def api_token_authenticate(*, key: str) -> ApiToken | None:
    """The active token for ``key`` (its creator still active), recording when it was last used."""
    if not key:
        return None
    token = (
        ApiToken.objects.select_related("created_by")
        .filter(key_hash=api_key_hash(key), revoked_at__isnull=True, created_by__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        try:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        except DatabaseError:
            logger.warning("api token %s: last_used_at not recorded", token.pk, exc_info=True)
        token.last_used_at = now
    return token
