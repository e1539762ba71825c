"""Matching jobs: upload, the run (a Celery task, also run inline by the command), the stored result.

``match_job_create`` stores the upload under a UUID name and queues ``match_job_run``, which reads
the list, finds and scores candidates, and writes all rows and candidates in one transaction
together with the job's "done" state, so a job is either finished or has no rows. A second delivery
of the task finds the job locked (PostgreSQL advisory lock) or already done, and does nothing.
Earlier decisions on the same entries (by fingerprint) are carried over onto the new candidates.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.alumni.models import Honour
from apps.core import audit

from ..matcher import RowResult, match_list_rows
from ..models import Band, MatchCandidate, MatchDecision, MatchJob, MatchRow
from ..parsing import Defaults, ListRefused, Vocabulary, open_list
from ..selectors import catalogue_load
from .decisions import resolution_for

logger = logging.getLogger(__name__)

Status = MatchJob.Status
TRANSIENT_ERRORS = (OperationalError, InterfaceError)
_LOCK_NAMESPACE = 0x3A7C  # first key of the two-key advisory lock: "match job"


def vocabulary_load(catalogue=None) -> Vocabulary:
    """Our school's names (settings) and our colleges' and majors' names, for reading biographies."""
    catalogue = catalogue or catalogue_load()
    return Vocabulary(
        school_names=tuple(n for n in settings.MATCHING_SCHOOL_NAMES if n),
        college_names=tuple(sorted(set(catalogue.colleges.values()), key=len, reverse=True)),
        major_names=tuple(sorted({name for name, _college in catalogue.majors.values()}, key=len, reverse=True)),
    )


def _defaults(job: MatchJob) -> Defaults:
    return Defaults(
        honour_kind=job.honour_kind or Honour.Kind.OTHER,
        honour_title=job.honour_title,
        honour_year=job.honour_year,
        source_url=job.source_url,
    )


# --- jobs -----------------------------------------------------------------------------------------
def max_upload_bytes() -> int:
    return settings.MATCHING_MAX_BYTES or (1 << 62)


def match_job_create(
    *,
    upload,
    actor,
    honour_kind: str = Honour.Kind.OTHER,
    honour_title: str = "",
    honour_year: int | None = None,
    source_name: str = "",
    source_url: str = "",
    tag_name: str = "",
) -> MatchJob:
    """Store an uploaded list under a UUID name and queue its matching; ValidationError if too big."""
    limit = max_upload_bytes()
    if upload.size > limit:
        raise ValidationError(
            _("The file is larger than the limit of %(limit)s MB.") % {"limit": limit // (1024 * 1024)},
            code="too_large",
        )
    original_name = os.path.basename(upload.name or "")[:255] or "list"
    job = MatchJob(
        original_name=original_name,
        file_size=upload.size,
        source=MatchJob.Source.ADMIN,
        created_by=actor,
        honour_kind=honour_kind or Honour.Kind.OTHER,
        honour_title=honour_title[:200],
        honour_year=honour_year,
        source_name=source_name[:200],
        source_url=source_url[:200],
        tag_name=tag_name[:50],
    )
    job.full_clean(exclude=["file", "created_by"])
    job.file.save(original_name, upload, save=False)
    with transaction.atomic():
        job.save()
        audit.record(actor=actor, action="matching.upload", target=job)
        transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def _enqueue(job_id: int) -> None:
    from ..tasks import match_job_run_task

    match_job_run_task.delay(job_id)


@contextmanager
def _local_path(job: MatchJob) -> Iterator[Path]:
    """The stored upload as a local file (a temporary copy when the storage is remote)."""
    try:
        yield Path(job.file.path)
        return
    except NotImplementedError:
        pass
    with job.file.open("rb") as source, tempfile.NamedTemporaryFile(suffix=Path(job.file.name).suffix) as copy:
        shutil.copyfileobj(source, copy)
        copy.flush()
        yield Path(copy.name)


@contextmanager
def _job_lock(job_id: int) -> Iterator[bool]:
    """Exclusive right to run ``job_id`` while the block runs; on PostgreSQL a session advisory lock
    (released if the worker dies with its connection), elsewhere always granted (one process)."""
    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_LOCK_NAMESPACE, job_id])
        got = bool(cursor.fetchone()[0])
    try:
        yield got
    finally:
        if got:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_LOCK_NAMESPACE, job_id])


def _fail(job_id: int, status: str, *, code: str, message: str) -> None:
    MatchJob.objects.filter(pk=job_id, status=Status.RUNNING).update(
        status=status, failure_code=code[:64], failure_message=message[:4000], finished_at=timezone.now(),
        updated_at=timezone.now(),
    )  # fmt: skip


def match_job_run(*, job_id: int) -> str:
    """Match a queued job's list and store the result; returns the new status ('' if nothing ran).

    Idempotent: it only runs a job that is queued, or "running" with no live worker holding its lock
    (a worker that died mid-run), and writes the rows in the same transaction that marks it done.
    """
    with _job_lock(job_id) as got:
        if not got:
            return ""
        claimed = MatchJob.objects.filter(pk=job_id, status__in=[Status.QUEUED, Status.RUNNING]).update(
            status=Status.RUNNING, started_at=timezone.now(), rows_done=0, attempts=F("attempts") + 1,
            failure_code="", failure_message="", updated_at=timezone.now(),
        )  # fmt: skip
        if not claimed:
            return ""
        job = MatchJob.objects.select_related("created_by").get(pk=job_id)
        try:
            if not job.file:
                raise ListRefused("no_file", _("The list file is no longer available."))
            with _local_path(job) as path:
                _run(job, path, user=job.created_by)
        except ListRefused as exc:
            _fail(job_id, Status.REFUSED, code=exc.code, message=exc.message)
            return Status.REFUSED
        except TRANSIENT_ERRORS:
            MatchJob.objects.filter(pk=job_id, status=Status.RUNNING).update(status=Status.QUEUED)
            raise
        except Exception as exc:
            logger.exception("match job %s failed", job_id)
            message = _("Matching stopped because of an internal error (%(error)s). Run it again.") % {
                "error": type(exc).__name__
            }
            _fail(job_id, Status.FAILED, code="error", message=message)
            return Status.FAILED
        return Status.DONE


def _run(job: MatchJob, path: Path, *, user) -> list[RowResult]:
    """Read, match and store; the caller holds the job's lock and has marked it running."""
    catalogue = catalogue_load()
    listing = open_list(path, original_name=job.original_name, max_bytes=max_upload_bytes())
    rows = list(listing.rows(vocabulary_load(catalogue), _defaults(job)))
    MatchJob.objects.filter(pk=job.pk).update(rows_total=len(rows), columns=listing.columns.as_json())
    fingerprints = {row.fingerprint for row in rows}
    decided: dict[str, set[int]] = defaultdict(set)
    for fingerprint, person_id in MatchDecision.objects.filter(fingerprint__in=fingerprints).values_list(
        "fingerprint", "person_id"
    ):
        decided[fingerprint].add(person_id)
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        MatchJob.objects.filter(pk=job.pk, status=Status.RUNNING).update(rows_done=done)

    results = match_list_rows(rows, user=user, decided=decided, progress=advance, catalogue=catalogue)
    _store(job, results)
    return results


@transaction.atomic
def _store(job: MatchJob, results: list[RowResult]) -> None:
    """Write all rows and candidates, with earlier decisions carried over, and mark the job done."""
    job = MatchJob.objects.select_for_update().get(pk=job.pk)
    if job.status != Status.RUNNING:
        return
    MatchRow.objects.filter(job=job).delete()
    # Read again, not taken from _run: staff may have decided these entries while the list was matched.
    decisions = {
        (d.fingerprint, d.person_id): d
        for d in MatchDecision.objects.filter(fingerprint__in={r.fingerprint for r in results})
    }
    rows = MatchRow.objects.bulk_create(
        [
            MatchRow(
                job=job,
                row=result.row.row,
                name=result.row.name,
                fingerprint=result.fingerprint,
                raw=result.row.raw,
                hints=result.row.hints(),
                band=result.band,
                top_score=result.candidates[0].score if result.candidates else None,
            )
            for result in results
        ],
        batch_size=1000,
    )
    candidates = []
    carried = 0
    for stored, result in zip(rows, results, strict=True):
        states = []
        for rank, scored in enumerate(result.candidates, start=1):
            decision = decisions.get((result.fingerprint, scored.person.id))
            candidate = MatchCandidate(
                row=stored, person_id=scored.person.id, rank=rank, score=scored.score, evidence=scored.evidence
            )
            if decision is not None:
                candidate.decision = decision.decision
                candidate.decided_by_id = decision.decided_by_id
                candidate.decided_at = decision.decided_at
                candidate.honour_id = decision.honour_id
                carried += 1
            states.append(candidate.decision)
            candidates.append(candidate)
        stored.resolution = resolution_for(states)
    MatchCandidate.objects.bulk_create(candidates, batch_size=2000)
    MatchRow.objects.bulk_update(
        [r for r in rows if r.resolution != MatchRow.Resolution.PENDING], ["resolution"], batch_size=1000
    )
    counts = {band: sum(1 for r in results if r.band == band) for band in Band.values}
    MatchJob.objects.filter(pk=job.pk).update(
        status=Status.DONE,
        rows_total=len(results),
        rows_done=len(results),
        high_count=counts[Band.HIGH],
        review_count=counts[Band.REVIEW],
        none_count=counts[Band.NONE],
        carried_count=carried,
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )


@dataclass
class CommandResult:
    job: MatchJob | None
    results: list[RowResult]
    refused: ListRefused | None = None


def match_file_run(
    *,
    path: str | os.PathLike,
    actor=None,
    save: bool = True,
    honour_kind: str = Honour.Kind.OTHER,
    honour_title: str = "",
    honour_year: int | None = None,
    source_url: str = "",
) -> CommandResult:
    """Match a list file in this process (the command and the benchmark), as the whole school when
    ``actor`` is None. With ``save`` the job and its rows are kept (source "command") and earlier
    decisions are carried over; without, nothing at all is written."""
    path = Path(path)
    job = MatchJob(
        original_name=path.name[:255],
        file_size=path.stat().st_size,
        source=MatchJob.Source.COMMAND,
        created_by=actor,
        honour_kind=honour_kind or Honour.Kind.OTHER,
        honour_title=honour_title[:200],
        honour_year=honour_year,
        source_url=source_url[:200],
        status=Status.RUNNING,
        started_at=timezone.now(),
    )
    if not save:
        catalogue = catalogue_load()
        try:
            listing = open_list(path, original_name=path.name)
            rows = list(listing.rows(vocabulary_load(catalogue), _defaults(job)))
        except ListRefused as exc:
            return CommandResult(job=None, results=[], refused=exc)
        return CommandResult(job=None, results=match_list_rows(rows, user=actor, catalogue=catalogue))
    job.save()
    audit.record(actor=actor, action="matching.run", target=job, reason="command")
    try:
        results = _run(job, path, user=actor)
    except ListRefused as exc:
        _fail(job.pk, Status.REFUSED, code=exc.code, message=exc.message)
        job.refresh_from_db()
        return CommandResult(job=job, results=[], refused=exc)
    except Exception as exc:
        _fail(job.pk, Status.FAILED, code="error", message=type(exc).__name__)
        raise
    job.refresh_from_db()
    return CommandResult(job=job, results=results)
