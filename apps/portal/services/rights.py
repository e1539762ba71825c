"""Requests to correct or delete some of my data, handled by the office."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.alumni.models import Person
from apps.core import audit
from apps.core.errors import ApplicationError

from ..models import DataRightsRequest

# Fields (or groups of fields) an alumnus may name in a request.
REQUESTABLE_FIELDS = (
    "name",
    "former_names",
    "gender",
    "birth_date",
    "hometown",
    "id_number",
    "photo",
    "enrollments",
    "contacts",
    "employments",
    "honours",
    "chapters",
    "address",
    "city",
)


@transaction.atomic
def rights_request_create(*, person: Person, kind: str, fields: list[str], message: str, actor) -> DataRightsRequest:
    """File a correction or deletion request for the office (audited)."""
    if kind not in DataRightsRequest.Kind.values:
        raise ValidationError(_("Choose correction or deletion."), code="invalid_choice")
    unknown = [f for f in fields if f not in REQUESTABLE_FIELDS]
    if unknown or not fields:
        raise ValidationError(_("Choose the fields the request is about."), code="fields")
    request = DataRightsRequest.objects.create(
        person=person, requested_by=actor, kind=kind, fields=sorted(set(fields)), message=(message or "")[:2000]
    )
    audit.record(actor=actor, action=f"portal.rights_{kind}_request", target=person, reason=f"#{request.pk}")
    return request


@transaction.atomic
def rights_request_handle(*, request: DataRightsRequest, status: str, response: str, actor) -> DataRightsRequest:
    """Close a request as done or refused, with the answer the alumnus will read (audited)."""
    request = DataRightsRequest.objects.select_for_update().get(pk=request.pk)
    if request.status != DataRightsRequest.Status.OPEN:
        raise ApplicationError(_("This request has already been handled."), code="handled")
    if status not in (DataRightsRequest.Status.DONE, DataRightsRequest.Status.REFUSED):
        raise ValidationError(_("Choose done or refused."), code="invalid_choice")
    request.status, request.response = status, (response or "")[:2000]
    request.handled_by, request.handled_at = actor, timezone.now()
    request.save(update_fields=["status", "response", "handled_by", "handled_at", "updated_at"])
    audit.record(actor=actor, action=f"portal.rights_request_{status}", target=request.person, reason=f"#{request.pk}")
    return request
