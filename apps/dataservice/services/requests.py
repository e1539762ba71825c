"""Data requests: draft → submitted → approved (fields possibly trimmed) / refused → producing →
delivered → expired. Every step is audited; production is idempotent."""

import tempfile
from collections.abc import Iterable, Sequence
from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import transaction
from django.db.models import Max
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from apps.alumni.exports import (
    PROFILE_FIELDS,
    export_fields_check,
    export_header,
    export_records,
    profile_records,
)
from apps.core import audit
from apps.core.errors import ApplicationError
from apps.core.exporting import XlsxProperties, write_xlsx
from apps.core.locks import advisory_xact_lock

from ..models import DataRequest, ExportJob, ProvisionRecord
from ..permissions import can_approve_datarequest
from ..selectors import datarequest_people, visible_recipients

Status = DataRequest.Status
_FILTER_FIELDS = (
    "filter_degree_levels",
    "filter_enrollment_year_from",
    "filter_enrollment_year_to",
    "filter_graduation_year_from",
    "filter_graduation_year_to",
    "filter_honour_kinds",
    "filter_provinces",
)


# --- drafts -----------------------------------------------------------------------------------


def _next_number(year: int) -> tuple[int, str]:
    # Serialises numbering across processes; the unique (year, sequence) constraint is the last guard.
    advisory_xact_lock("dataservice.datarequest.number")
    last = DataRequest.objects.filter(year=year).aggregate(last=Max("sequence"))["last"] or 0
    sequence = last + 1
    return sequence, f"{settings.DATA_REQUEST_NUMBER_PREFIX}-{year}-{sequence:04d}"


def _spec(request: DataRequest) -> dict:
    """What was asked for, as the audit log keeps it."""
    spec = {
        "recipient": request.recipient_id,
        "kind": request.kind,
        "purpose": request.purpose,
        "legal_basis": request.legal_basis,
        "legal_basis_detail": request.legal_basis_detail,
        "requested_fields": request.requested_fields,
        "retention_until": request.retention_until,
        **{name: getattr(request, name) for name in _FILTER_FIELDS},
    }
    if request.pk:
        spec["filter_colleges"] = sorted(request.filter_colleges.values_list("pk", flat=True))
        spec["people"] = sorted(request.people.values_list("pk", flat=True))
    return spec


def _validate_draft(request: DataRequest, actor) -> None:
    errors: dict[str, list] = {}
    allowed = PROFILE_FIELDS if request.kind == DataRequest.Kind.PROFILE_SHEETS else None
    if request.kind == DataRequest.Kind.PROFILE_SHEETS and "name" not in request.requested_fields:
        request.requested_fields = ["name", *request.requested_fields]
    try:
        request.requested_fields = export_fields_check(None, request.requested_fields or [], allowed_keys=allowed)
    except ValidationError as exc:
        errors["requested_fields"] = exc.messages
    if request.legal_basis == DataRequest.LegalBasis.OTHER and not request.legal_basis_detail.strip():
        errors["legal_basis_detail"] = [_("State the basis when it is neither consent nor a statutory duty.")]
    if request.recipient_id and not visible_recipients(actor).filter(pk=request.recipient_id, is_active=True).exists():
        errors["recipient"] = [_("Choose one of your active recipients.")]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def datarequest_save_draft(*, instance: DataRequest, actor) -> DataRequest:
    """Create or update a draft (numbering new ones); ApplicationError once it has been submitted."""
    if instance.pk is not None:
        current = DataRequest.objects.select_for_update().get(pk=instance.pk)
        if current.status != Status.DRAFT:
            raise ApplicationError(_("Only drafts can be changed."), code="not_draft")
        before = _spec(current)
    else:
        before = {}
        instance.created_by = actor
        instance.year = timezone.localdate().year
        instance.sequence, instance.number = _next_number(instance.year)
    _validate_draft(instance, actor)
    instance.full_clean(exclude=["requested_fields"])
    instance.save()
    audit.record(
        actor=actor,
        action="datarequest.create" if not before else "datarequest.update",
        target=instance,
        changes=audit.field_changes(before, _spec(instance)),
    )
    return instance


def datarequest_create(
    *,
    actor,
    recipient,
    purpose: str,
    legal_basis: str,
    requested_fields: Sequence[str],
    retention_until: date,
    kind: str = DataRequest.Kind.SPREADSHEET,
    legal_basis_detail: str = "",
    impact_assessment: str = "",
    filters: dict | None = None,
    colleges: Iterable = (),
    people: Iterable = (),
) -> DataRequest:
    """A new draft request with its filters (``filters`` keys are the model's ``filter_*`` names)."""
    with transaction.atomic():
        request = DataRequest(
            recipient=recipient,
            kind=kind,
            purpose=purpose,
            legal_basis=legal_basis,
            legal_basis_detail=legal_basis_detail,
            impact_assessment=impact_assessment,
            requested_fields=list(requested_fields),
            retention_until=retention_until,
            **{name: value for name, value in (filters or {}).items() if name in _FILTER_FIELDS},
        )
        datarequest_save_draft(instance=request, actor=actor)
        request.filter_colleges.set(colleges)
        request.people.set(people)
    return request


@transaction.atomic
def datarequest_delete_draft(*, request: DataRequest, actor) -> None:
    """Delete a draft (submitted requests are records and stay); ApplicationError otherwise."""
    request = _locked(request, Status.DRAFT)
    changes = [{"field": name, "old": value, "new": None} for name, value in _spec(request).items()]
    audit.record(actor=actor, action="datarequest.delete", target=request, changes=changes)
    request.delete()


# --- decisions --------------------------------------------------------------------------------


def _locked(request: DataRequest, *expected: str) -> DataRequest:
    current = DataRequest.objects.select_for_update().get(pk=request.pk)
    if current.status not in expected:
        raise ApplicationError(
            _("This request is %(status)s; that step is not possible now.") % {"status": current.get_status_display()},
            code="wrong_status",
        )
    return current


@transaction.atomic
def datarequest_submit(*, request: DataRequest, actor) -> DataRequest:
    """Send a draft for approval; the audit row keeps the whole request as submitted."""
    request = _locked(request, Status.DRAFT)
    _validate_draft(request, actor)
    request.status = Status.SUBMITTED
    request.submitted_at = timezone.now()
    request.save(update_fields=["status", "submitted_at", "requested_fields", "updated_at"])
    audit.record(
        actor=actor,
        action="datarequest.submit",
        target=request,
        changes=[{"field": name, "old": None, "new": value} for name, value in _spec(request).items()],
    )
    return request


@transaction.atomic
def datarequest_approve(
    *, request: DataRequest, actor, fields: Sequence[str] | None = None, note: str = ""
) -> DataRequest:
    """Approve with the requested fields or fewer; the file is produced after commit.

    Raises PermissionDenied without the approval right, ValidationError for fields that were not
    requested or that the approver may not export.
    """
    if not can_approve_datarequest(actor):
        raise PermissionDenied
    request = _locked(request, Status.SUBMITTED)
    keys = export_fields_check(actor, fields or request.requested_fields, allowed_keys=request.requested_fields)
    if request.kind == DataRequest.Kind.PROFILE_SHEETS and "name" not in keys:
        keys = ["name", *keys]
    request.approved_fields = keys
    request.status = Status.APPROVED
    request.decided_by = actor
    request.decided_at = timezone.now()
    request.decision_note = note.strip()
    request.save(update_fields=["approved_fields", "status", "decided_by", "decided_at", "decision_note", "updated_at"])
    audit.record(
        actor=actor,
        action="datarequest.approve",
        target=request,
        changes=[
            {"field": "approved_fields", "old": request.requested_fields, "new": keys},
            {"field": "trimmed_fields", "old": None, "new": [k for k in request.requested_fields if k not in keys]},
        ],
        reason=request.decision_note,
    )
    _queue_production(request)
    _notify_approved(request, actor)
    return request


def _notify_approved(request: DataRequest, actor) -> None:
    """Tell the requester (outbox row and portal notice in the approval transaction)."""
    from django.urls import reverse

    from apps.notifications.rendering import absolute_url
    from apps.notifications.services import notify

    if request.created_by_id is None:
        return
    notify(
        request.created_by,
        "dataservice.request_approved",
        {"number": request.number, "approver": str(actor)},
        url=absolute_url(reverse("admin:dataservice_datarequest_change", args=[request.pk])),
        dedupe_key=f"dataservice.request_approved:{request.pk}",
    )


def _queue_production(request: DataRequest) -> None:
    from ..tasks import datarequest_produce_task

    transaction.on_commit(lambda: datarequest_produce_task.delay(request.pk))


@transaction.atomic
def datarequest_refuse(*, request: DataRequest, actor, reason: str) -> DataRequest:
    """Refuse a submitted request; ValidationError without a reason."""
    if not can_approve_datarequest(actor):
        raise PermissionDenied
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Give the reason for refusing.")]}, code="reason_required")
    request = _locked(request, Status.SUBMITTED)
    request.status = Status.REFUSED
    request.refusal_reason = reason
    request.decided_by = actor
    request.decided_at = timezone.now()
    request.save(update_fields=["status", "refusal_reason", "decided_by", "decided_at", "updated_at"])
    audit.record(actor=actor, action="datarequest.refuse", target=request, reason=reason)
    return request


@transaction.atomic
def datarequest_produce_again(*, request: DataRequest, actor) -> DataRequest:
    """Queue production again after a failure (an approved request whose file is missing)."""
    if not can_approve_datarequest(actor):
        raise PermissionDenied
    request = _locked(request, Status.APPROVED)
    audit.record(actor=actor, action="datarequest.produce_again", target=request)
    _queue_production(request)
    return request


# --- production -------------------------------------------------------------------------------


def _write_spreadsheet(request: DataRequest, people, fileobj, ids: list[int]):
    keys = request.approved_fields
    stamp = timezone.localtime().strftime("%Y-%m-%d %H:%M")
    preamble = [
        [
            _("Data request %(number)s for %(recipient)s, produced %(when)s. Keep until %(until)s, then delete.")
            % {
                "number": request.number,
                "recipient": request.recipient.name,
                "when": stamp,
                "until": request.retention_until.isoformat(),
            }
        ]
    ]
    header = [*export_header(keys), _("Request number")]

    def rows():
        for pk, cells in export_records(people, keys):
            ids.append(pk)
            yield [*cells, request.number]

    properties = XlsxProperties(
        title=request.number,
        subject=request.purpose[:200],
        keywords=request.number,
        identifier=request.number,
        description=_("For %(recipient)s only. Keep until %(until)s.")
        % {"recipient": request.recipient.name, "until": request.retention_until.isoformat()},
    )
    return write_xlsx(
        fileobj,
        header,
        rows(),
        preamble=preamble,
        sheet_title=request.number,
        properties=properties,
        hidden_columns=[len(keys)],  # the request number on every row: a watermark that survives copying
    )


def _write_profiles(request: DataRequest, people, fileobj, ids: list[int]):
    from ..pdf import write_profile_sheets

    def profiles():
        for profile in profile_records(people, request.approved_fields):
            ids.append(profile.person_id)
            yield profile

    return write_profile_sheets(fileobj, profiles(), number=request.number, recipient=request.recipient.name)


def datarequest_produce(*, request_id: int) -> None:
    """Write the approved file, log one provision per person, open the download link.

    Safe to run twice: a delivered request is left alone; one interrupted while producing starts
    over, overwriting its one file, and the unique (request, person) log absorbs repeated rows.
    """
    claimed = DataRequest.objects.filter(pk=request_id, status__in=[Status.APPROVED, Status.PRODUCING]).update(
        status=Status.PRODUCING, production_error=""
    )
    if not claimed:
        return
    request = DataRequest.objects.select_related("recipient", "decided_by").get(pk=request_id)
    people = datarequest_people(request, approver=request.decided_by)
    ids: list[int] = []
    with translation.override(settings.LANGUAGE_CODE), tempfile.TemporaryFile() as tmp:
        if request.kind == DataRequest.Kind.PROFILE_SHEETS:
            result = _write_profiles(request, people, tmp, ids)
        else:
            result = _write_spreadsheet(request, people, tmp, ids)
        request.file.save(f"{request.number}.{request.file_extension}", File(tmp), save=False)
    now = timezone.now()
    with transaction.atomic():
        ProvisionRecord.objects.bulk_create(
            [ProvisionRecord(request=request, person_id=pk, person_pk=pk) for pk in ids],
            ignore_conflicts=True,
            batch_size=2000,
        )
        request.status = Status.DELIVERED
        request.sha256 = result.sha256
        request.row_count = result.rows
        request.produced_at = now
        request.link_expires_at = now + timedelta(hours=settings.DATA_REQUEST_LINK_HOURS)
        request.save(
            update_fields=["status", "file", "sha256", "row_count", "produced_at", "link_expires_at", "updated_at"]
        )
        audit.record(
            actor=request.decided_by,
            action="datarequest.deliver",
            target=request,
            changes=[
                {"field": "fields", "old": None, "new": request.approved_fields},
                {"field": "rows", "old": None, "new": result.rows},
                {"field": "sha256", "old": None, "new": result.sha256},
                {"field": "link_expires_at", "old": None, "new": request.link_expires_at.isoformat()},
            ],
        )


def datarequest_production_failed(*, request_id: int, error: str) -> None:
    """Put a request whose production failed back to approved, with the error shown to staff."""
    with transaction.atomic():
        request = DataRequest.objects.select_for_update().filter(pk=request_id, status=Status.PRODUCING).first()
        if request is None:
            return
        request.status = Status.APPROVED
        request.production_error = error[:2000]
        request.save(update_fields=["status", "production_error", "updated_at"])
        audit.record(actor=None, action="datarequest.production_failed", target=request, reason=error)


# --- delivery ---------------------------------------------------------------------------------


def datarequest_download(*, request: DataRequest, actor) -> DataRequest:
    """Count and audit one download of a delivered file.

    Access (the recipient's users, its college's staff, office staff) is checked by the caller
    through ``visible_datarequests``; this raises ApplicationError 'expired' or 'not_ready'.
    """
    with transaction.atomic():
        current = DataRequest.objects.select_for_update().get(pk=request.pk)
        if current.status == Status.DELIVERED and current.link_expires_at <= timezone.now():
            _expire_request(current)
        problem = None
        if current.status == Status.EXPIRED:
            problem = ApplicationError(_("This download link has expired."), code="expired")
        elif current.status != Status.DELIVERED or not current.file:
            problem = ApplicationError(_("The file is not ready yet."), code="not_ready")
        else:
            current.download_count += 1
            current.save(update_fields=["download_count", "updated_at"])
            audit.record(actor=actor, action="datarequest.download", target=current)
    if problem is not None:
        raise problem
    return current


def _expire_request(request: DataRequest) -> None:
    name = request.file.name
    request.status = Status.EXPIRED
    request.file = ""
    request.save(update_fields=["status", "file", "updated_at"])
    audit.record(actor=None, action="datarequest.expire", target=request)
    if name:
        storage = request.file.storage
        transaction.on_commit(lambda: storage.delete(name))


def data_links_expire() -> int:
    """Close every delivery and export link past its time and delete the files; returns how many."""
    now = timezone.now()
    expired = 0
    for pk in DataRequest.objects.filter(status=Status.DELIVERED, link_expires_at__lte=now).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            request = DataRequest.objects.select_for_update().get(pk=pk)
            if request.status == Status.DELIVERED:
                _expire_request(request)
                expired += 1
    for job in ExportJob.objects.filter(status=ExportJob.Status.DONE, expires_at__lte=now):
        if job.file:
            job.file.delete(save=False)
        job.status = ExportJob.Status.EXPIRED
        job.save(update_fields=["status", "file", "updated_at"])
        expired += 1
    return expired
